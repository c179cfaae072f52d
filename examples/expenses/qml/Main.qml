// The expense tracker's window: the live totals in the header (SummaryHeader: RestClient +
// MercureSubscription), an add form (category, label, amount, date) that keeps its input when the
// backend refuses it, an "unpaid only" toggle (the list's RestModel with a `query`), a Settle
// button (POST /api/settle), and the list; the Offline overlay on top when the backend is gone.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QmlBridge

ApplicationWindow {
    id: window

    width: 720
    height: 720
    visible: true
    title: qsTr("qmlbridge Expenses")

    // Properties rather than children: Qt 6.4's qmllint cannot tell that a cxx-qt type is a
    // QObject (its qmltypes carry no prototype) and rejects it as a default-property child.
    readonly property RestModel categories: RestModel {
        resource: "categories"
        roles: ["name"]
        keyRole: "categoryId"
    }
    // The list: every expense, or with the toggle on only `?paid=false` ones. The filter holds
    // for live updates too: an expense settled or ticked paid anywhere leaves this list.
    readonly property RestModel expenses: RestModel {
        resource: "expenses"
        roles: ["label", "amount_cents", "paid", "spent_on", "category_id"]
        keyRole: "expenseId"
        query: unpaidOnly.checked ? ({ "paid": false }) : ({})
    }
    // The add form's POST and the Settle button's: their answers decide what the form does.
    readonly property RestClient api: RestClient {
        onFinished: (id, status, body, error) => window.answered(id, status, body, error)
    }
    // The requests in flight (-1: none) and the last refusal's text.
    property int adding: -1
    property int settling: -1
    property string addError: ""
    property string settleError: ""

    header: ToolBar {
        ColumnLayout {
            anchors.fill: parent
            anchors.leftMargin: 12
            anchors.rightMargin: 12
            spacing: 2

            RowLayout {
                Label {
                    text: window.title
                    textFormat: Text.PlainText
                    font.pixelSize: 20
                    font.bold: true
                    Layout.fillWidth: true
                }
                StatusIndicator {
                    objectName: "statusIndicator"
                }
            }
            SummaryHeader {
                id: summary

                objectName: "summary"
                Layout.fillWidth: true
            }
        }
    }

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: 12
        spacing: 8

        RowLayout {
            Layout.fillWidth: true

            ComboBox {
                id: categoryBox

                objectName: "categoryBox"
                model: window.categories
                textRole: "name"
                // The key role: a JS number, sent back as the integer `category_id`.
                valueRole: "categoryId"
                // The first category once the list has arrived (the model starts empty).
                onCountChanged: {
                    if (categoryBox.currentIndex < 0 && categoryBox.count > 0)
                        categoryBox.currentIndex = 0;
                }
            }
            TextField {
                id: labelField

                objectName: "labelField"
                placeholderText: qsTr("What for?")
                Layout.fillWidth: true
                onAccepted: window.add()
            }
            TextField {
                id: amountField

                objectName: "amountField"
                placeholderText: qsTr("12.50")
                // A sign is let through: the backend's hook refuses a negative amount, and the
                // refusal shows beside the form with the input kept.
                validator: RegularExpressionValidator {
                    regularExpression: /-?[0-9]{1,9}([.][0-9]{1,2})?/
                }
                Layout.preferredWidth: 90
                onAccepted: window.add()
            }
            TextField {
                id: dateField

                objectName: "dateField"
                placeholderText: qsTr("today")
                validator: RegularExpressionValidator {
                    regularExpression: /([0-9]{4}-[0-9]{2}-[0-9]{2})?/
                }
                Layout.preferredWidth: 110
            }
            Button {
                objectName: "addButton"
                text: qsTr("Add")
                enabled: window.ready() && window.adding < 0
                onClicked: window.add()
            }
        }

        Label {
            objectName: "addError"
            visible: window.addError.length > 0
            text: window.addError
            // The backend's problem detail may quote what was sent: text, never markup.
            textFormat: Text.PlainText
            color: "#b00020"
            wrapMode: Text.Wrap
            Layout.fillWidth: true
        }

        RowLayout {
            Layout.fillWidth: true

            Switch {
                id: unpaidOnly

                objectName: "unpaidOnly"
                text: qsTr("Unpaid only")
                Layout.fillWidth: true
            }
            Button {
                objectName: "settleButton"
                text: qsTr("Settle all")
                enabled: summary.unpaidCents > 0 && window.settling < 0
                onClicked: window.settle()
            }
        }

        Label {
            objectName: "settleError"
            visible: window.settleError.length > 0
            text: window.settleError
            textFormat: Text.PlainText
            color: "#b00020"
            wrapMode: Text.Wrap
            Layout.fillWidth: true
        }

        ListView {
            id: list

            objectName: "expenseList"
            model: window.expenses
            clip: true
            spacing: 2
            Layout.fillWidth: true
            Layout.fillHeight: true

            delegate: ExpenseDelegate {
                id: row

                width: ListView.view.width
                // Re-read when the categories change (their count is the dependency). The
                // window's id is in scope here at run time; Qt 6.4's qmllint cannot tell.
                categoryName: window.categoryName(row.category_id, window.categories.count) // qmllint disable unqualified
                onToggled: row.ListView.view.model.update(row.expenseId, { "paid": !row.paid })
                onRemoved: row.ListView.view.model.remove(row.expenseId)
            }

            Label {
                anchors.centerIn: parent
                visible: list.count === 0
                text: unpaidOnly.checked ? qsTr("Nothing left to pay.") : qsTr("No expenses yet.")
                textFormat: Text.PlainText
                opacity: 0.6
            }
        }

        Label {
            objectName: "modelError"
            visible: window.expenses.error.length > 0
            text: window.expenses.error
            textFormat: Text.PlainText
            color: "#b00020"
            wrapMode: Text.Wrap
            Layout.fillWidth: true
        }
    }

    OfflineOverlay {
        objectName: "offlineOverlay"
        anchors.fill: parent
    }

    // The name of category `id` (`count` only makes bindings re-read it when categories change).
    function categoryName(id, count) {
        for (let i = 0; i < count; ++i) {
            const category = window.categories.get(i);
            if (category.id === id)
                return category.name;
        }
        return "";
    }

    function ready() {
        return categoryBox.currentIndex >= 0 && labelField.text.trim().length > 0
            && amountField.acceptableInput && dateField.acceptableInput;
    }

    function add() {
        if (window.adding >= 0)
            return;
        const expense = {
            "category_id": categoryBox.currentValue,
            "label": labelField.text,
            "amount_cents": Math.round(Number(amountField.text) * 100)
        };
        if (dateField.text.length > 0)
            expense.spent_on = dateField.text;
        window.addError = "";
        window.adding = window.api.send("POST", "/api/expenses", expense);
    }

    function settle() {
        window.settleError = "";
        window.settling = window.api.send("POST", "/api/settle", undefined);
    }

    function answered(id, status, body, error) {
        if (id === window.settling) {
            window.settling = -1;
            window.settleError = status === 200 ? "" : error;
            return;
        }
        if (id !== window.adding)
            return;
        window.adding = -1;
        if (status !== 201) {
            // Refused: the input stays for the user to correct.
            window.addError = error;
            return;
        }
        labelField.clear();
        amountField.clear();
        dateField.clear();
    }
}
