// One expense in the list: paid checkbox, label, category, date, amount, delete button.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts

ItemDelegate {
    id: root

    required property var expenseId
    required property string label
    required property real amount_cents
    required property bool paid
    required property string spent_on
    required property int category_id
    // The category's name, looked up by the list (its id is a JS number: `===` matches).
    property string categoryName: ""

    signal toggled
    signal removed

    contentItem: RowLayout {
        CheckBox {
            objectName: "paidBox"
            checked: root.paid
            onClicked: root.toggled()
            Accessible.name: qsTr("Paid")
        }
        Label {
            text: root.label
            // Any client writes labels: `<img src=...>` must stay text (docs/qml.md).
            textFormat: Text.PlainText
            elide: Text.ElideRight
            Layout.fillWidth: true
        }
        Label {
            text: root.categoryName
            textFormat: Text.PlainText
            opacity: 0.7
        }
        Label {
            text: root.spent_on
            textFormat: Text.PlainText
            opacity: 0.7
        }
        Label {
            text: (root.amount_cents / 100).toFixed(2)
            textFormat: Text.PlainText
            font.strikeout: root.paid
            horizontalAlignment: Text.AlignRight
            Layout.minimumWidth: 64
        }
        ToolButton {
            text: "\u2715"
            onClicked: root.removed()
            Accessible.name: qsTr("Delete")
        }
    }
}
