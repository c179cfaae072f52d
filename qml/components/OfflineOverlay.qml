// Shown when the backend is Offline: the supervisor's error, the tail of
// var/log/backend.log, and Retry, which calls BackendConnection.restart(). After a failed
// upgrade (BackendConnection.recovery: the data was restored as it was) it says so, and when the
// update kept the previous image, offers to restart into it (Updater.rollBack()).
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QmlBridge

Rectangle {
    id: root

    // On top of the window whenever the backend is Offline (an app may bind it otherwise).
    visible: BackendConnection.connectionState === BackendConnection.Offline

    // Opaque: the list underneath must not show through.
    color: "#fafafa"

    // Swallow clicks so the list underneath cannot be used while Offline.
    MouseArea {
        anchors.fill: parent
        hoverEnabled: true
    }

    onVisibleChanged: if (visible) BackendConnection.refreshLogTail()

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: 24
        spacing: 12

        Label {
            text: qsTr("The backend is offline")
            font.pixelSize: 22
            font.bold: true
            color: "#c62828"
            Layout.fillWidth: true
        }
        Label {
            objectName: "offlineError"
            text: BackendConnection.error.length > 0 ? BackendConnection.error : qsTr("No reason given.")
            // The supervisor's error may quote the backend: text, never markup (docs/qml.md).
            textFormat: Text.PlainText
            wrapMode: Text.Wrap
            Layout.fillWidth: true
        }
        ColumnLayout {
            objectName: "recovery"
            visible: BackendConnection.recovery.length > 0
            spacing: 6
            Layout.fillWidth: true

            Label {
                text: Updater.previousVersion.length > 0
                    ? qsTr("This version (%1) could not upgrade your data. Your data is as it was before the upgrade, and version %2 can still open it.").arg(Updater.currentVersion).arg(Updater.previousVersion)
                    : qsTr("This version could not upgrade your data. Your data is as it was before the upgrade.")
                textFormat: Text.PlainText
                font.bold: true
                wrapMode: Text.Wrap
                Layout.fillWidth: true
            }
            Label {
                objectName: "recoveryDetail"
                text: BackendConnection.recovery
                // It quotes the migration's error: text, never markup.
                textFormat: Text.PlainText
                wrapMode: Text.Wrap
                opacity: 0.7
                Layout.fillWidth: true
            }
            Button {
                objectName: "rollBackButton"
                visible: Updater.previousVersion.length > 0
                text: qsTr("Restart into %1").arg(Updater.previousVersion)
                highlighted: true
                onClicked: Updater.rollBack()
            }
        }
        Label {
            text: BackendConnection.mode === BackendConnection.Dev
                ? qsTr("Dev mode: the backend's log is in the terminal that runs it (%1).").arg(BackendConnection.url)
                : qsTr("Last lines of %1/var/log/backend.log:").arg(BackendConnection.dataDir)
            textFormat: Text.PlainText
            wrapMode: Text.Wrap
            opacity: 0.7
            Layout.fillWidth: true
        }
        ScrollView {
            visible: BackendConnection.logTail.length > 0
            clip: true
            Layout.fillWidth: true
            Layout.fillHeight: true

            TextArea {
                objectName: "logTail"
                text: BackendConnection.logTail
                // The backend's log holds whatever clients sent: text, never markup.
                textFormat: TextEdit.PlainText
                readOnly: true
                wrapMode: TextEdit.WrapAnywhere
                font.family: "monospace"
                font.pixelSize: 11
                background: Rectangle {
                    color: "#f0f0f0"
                    border.color: "#d0d0d0"
                    radius: 4
                }
            }
        }
        Item {
            visible: BackendConnection.logTail.length === 0
            Layout.fillHeight: true
        }
        Button {
            objectName: "retryButton"
            text: qsTr("Retry")
            highlighted: true
            Layout.alignment: Qt.AlignHCenter
            onClicked: BackendConnection.restart()
        }
    }
}
