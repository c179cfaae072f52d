// The app's self-update in one strip (docs/qml.md, "Updates"): a release that is available
// (version, notes, Download), the download's progress and the bytes the delta saved, Ready ->
// "Restart to update", a failure or an image that cannot be replaced where it is (the error),
// and once, what happened last time (Updater.notice: a rollback). Hidden when there is nothing
// to say: up to date, never checked, or updates off (a development build).
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QmlBridge

Rectangle {
    id: root

    readonly property bool hasNews: Updater.state === Updater.Available
        || Updater.state === Updater.Downloading || Updater.state === Updater.Ready
        || Updater.state === Updater.Failed || Updater.state === Updater.NotWritable
    readonly property bool problem: Updater.state === Updater.Failed
        || Updater.state === Updater.NotWritable

    /// Bytes as people read them: 1.4 MB, 820 kB.
    function bytes(n) {
        if (n >= 1e6)
            return qsTr("%1 MB").arg((n / 1e6).toFixed(1));
        if (n >= 1e3)
            return qsTr("%1 kB").arg(Math.round(n / 1e3));
        return qsTr("%1 bytes").arg(n);
    }

    visible: hasNews || Updater.notice.length > 0
    implicitHeight: visible ? column.implicitHeight + 16 : 0
    color: problem ? "#fdecea" : "#e8f0fe"

    ColumnLayout {
        id: column
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.verticalCenter: parent.verticalCenter
        anchors.margins: 8
        spacing: 6

        RowLayout {
            visible: Updater.notice.length > 0
            Layout.fillWidth: true

            Label {
                objectName: "updateNotice"
                text: Updater.notice
                // The notice quotes the supervisor's error: text, never markup.
                textFormat: Text.PlainText
                wrapMode: Text.Wrap
                Layout.fillWidth: true
            }
            Button {
                text: qsTr("OK")
                onClicked: Updater.dismissNotice()
            }
        }

        RowLayout {
            visible: root.hasNews
            Layout.fillWidth: true
            spacing: 12

            Label {
                objectName: "updateHeadline"
                text: {
                    switch (Updater.state) {
                    case Updater.Available:
                        return qsTr("Version %1 is available (you have %2).").arg(Updater.version).arg(Updater.currentVersion);
                    case Updater.Downloading:
                        return qsTr("Downloading %1: %2 %").arg(Updater.version).arg(Math.floor(Updater.progress * 100));
                    case Updater.Ready:
                        return qsTr("Version %1 is installed; it starts with the app.").arg(Updater.version);
                    case Updater.NotWritable:
                        return qsTr("Version %1 is available but cannot be installed here.").arg(Updater.version);
                    default:
                        return qsTr("The update failed; nothing was changed.");
                    }
                }
                textFormat: Text.PlainText
                font.bold: true
                wrapMode: Text.Wrap
                Layout.fillWidth: true
            }
            Button {
                objectName: "updateDownload"
                visible: Updater.state === Updater.Available
                text: qsTr("Download")
                highlighted: true
                onClicked: Updater.download()
            }
            Button {
                objectName: "updateRestart"
                visible: Updater.state === Updater.Ready
                text: qsTr("Restart to update")
                highlighted: true
                onClicked: Updater.restartToApply()
            }
            Button {
                visible: Updater.state === Updater.Failed
                text: qsTr("Try again")
                onClicked: Updater.download()
            }
        }

        ProgressBar {
            visible: Updater.state === Updater.Downloading
            value: Updater.progress
            Layout.fillWidth: true
        }
        Label {
            objectName: "updateBytes"
            visible: Updater.state === Updater.Downloading || Updater.state === Updater.Ready
            text: Updater.bytesSaved > 0
                ? qsTr("%1 fetched, %2 reused from this version (of %3)").arg(root.bytes(Updater.bytesFetched)).arg(root.bytes(Updater.bytesSaved)).arg(root.bytes(Updater.size))
                : qsTr("%1 of %2 fetched").arg(root.bytes(Updater.bytesFetched)).arg(root.bytes(Updater.size))
            textFormat: Text.PlainText
            opacity: 0.7
            Layout.fillWidth: true
        }
        Label {
            objectName: "updateNotes"
            visible: Updater.state === Updater.Available && Updater.notes.length > 0
            // Release notes come from the feed: text, never markup.
            text: Updater.notes
            textFormat: Text.PlainText
            wrapMode: Text.Wrap
            maximumLineCount: 6
            elide: Text.ElideRight
            Layout.fillWidth: true
        }
        Label {
            objectName: "updateError"
            visible: root.problem
            text: Updater.error
            // Errors quote URLs and paths: text, never markup.
            textFormat: Text.PlainText
            wrapMode: Text.Wrap
            Layout.fillWidth: true
        }
    }
}
