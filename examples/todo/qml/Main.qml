// The todo app's window: list, add, toggle, delete on a RestModel over the backend's `todos`
// resource; connection state and mode in the header; the Offline overlay on top when the backend
// is gone for good.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QmlBridge

ApplicationWindow {
    id: window

    width: 480
    height: 640
    visible: true
    title: qsTr("qmlbridge todo")

    // A property rather than a child: Qt 6.4's qmllint cannot tell that the cxx-qt type is a
    // QObject (its qmltypes carry no prototype) and rejects it as a default-property child.
    readonly property RestModel todos: RestModel {
        resource: "todos"
        roles: ["title", "done"]
        keyRole: "todoId"
    }

    header: ToolBar {
        RowLayout {
            anchors.fill: parent
            anchors.leftMargin: 12
            anchors.rightMargin: 12

            Label {
                text: qsTr("Todos")
                font.pixelSize: 20
                font.bold: true
                Layout.fillWidth: true
            }
            Label {
                objectName: "modeLabel"
                text: BackendConnection.mode === BackendConnection.Dev ? qsTr("dev") : qsTr("bundled")
                textFormat: Text.PlainText
                opacity: 0.7
            }
            StatusIndicator {
                objectName: "statusIndicator"
            }
        }
    }

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: 12
        spacing: 8

        UpdateBanner {
            objectName: "updateBanner"
            Layout.fillWidth: true
        }

        RowLayout {
            Layout.fillWidth: true

            TextField {
                id: titleField

                objectName: "titleField"
                placeholderText: qsTr("What needs doing?")
                Layout.fillWidth: true
                onAccepted: window.addTodo()
            }
            Button {
                objectName: "addButton"
                text: qsTr("Add")
                enabled: titleField.text.trim().length > 0
                onClicked: window.addTodo()
            }
        }

        ListView {
            id: list

            objectName: "todoList"
            model: window.todos
            clip: true
            spacing: 2
            Layout.fillWidth: true
            Layout.fillHeight: true

            delegate: TodoDelegate {
                id: row

                width: ListView.view.width
                onToggled: row.ListView.view.model.update(row.todoId, { "done": !row.done })
                onRemoved: row.ListView.view.model.remove(row.todoId)
            }

            Label {
                anchors.centerIn: parent
                visible: list.count === 0
                text: qsTr("Nothing to do.")
                opacity: 0.6
            }
        }

        Label {
            objectName: "modelError"
            visible: window.todos.error.length > 0
            text: window.todos.error
            // The backend's problem detail may quote what a client sent: text, never markup.
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

    function addTodo() {
        const title = titleField.text.trim();
        if (title.length > 0)
            window.todos.create({ "title": title });
        titleField.clear();
    }
}
