// One row of the todo list: done checkbox, title, delete button.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts

ItemDelegate {
    id: root

    required property var todoId
    required property string title
    required property bool done

    signal toggled
    signal removed

    contentItem: RowLayout {
        CheckBox {
            checked: root.done
            onClicked: root.toggled()
        }
        Label {
            text: root.title
            // Any client writes titles: `<img src=...>` must stay text (docs/qml.md).
            textFormat: Text.PlainText
            font.strikeout: root.done
            opacity: root.done ? 0.55 : 1
            elide: Text.ElideRight
            Layout.fillWidth: true
        }
        ToolButton {
            text: "\u2715"
            onClicked: root.removed()
            Accessible.name: qsTr("Delete")
        }
    }
}
