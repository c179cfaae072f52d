// After an upgrade whose migration failed (host/fixture/tests/qml/recovery.rs): the supervisor
// restored the database, BackendConnection.recovery says so, and the Offline overlay tells the
// user; when an update kept the previous image (env.previous), it offers to restart into it.
import QtQuick
import QtTest
import QmlBridge
import "env.js" as Env

TestCase {
    id: test

    name: "Recovery"
    when: windowShown
    width: 640
    height: 480

    readonly property var backend: BackendConnection
    readonly property var updater: Updater

    // A window of its own: a TestCase is an invisible Item, so its children never are visible.
    readonly property Window window: Window {
        width: 640
        height: 480
        visible: true

        OfflineOverlay {
            id: overlay

            anchors.fill: parent
        }
    }

    function child(item, name) {
        if (item.objectName === name)
            return item;
        for (let i = 0; i < item.children.length; ++i) {
            const found = child(item.children[i], name);
            if (found)
                return found;
        }
        return null;
    }

    function test_recovery() {
        tryCompare(test.backend, "connectionState", BackendConnection.Offline, 120000);
        const recovery = BackendConnection.recovery;
        verify(recovery.indexOf("restored the database from ") === 0, recovery);
        verify(recovery.indexOf("after migrate failed") > 0, recovery);
        verify(recovery.indexOf("0003_create_chores") > 0, recovery);
        verify(overlay.visible);
        verify(child(overlay, "recovery").visible);
        const detail = child(overlay, "recoveryDetail");
        compare(detail.text, recovery);
        compare(detail.textFormat, Text.PlainText);
        tryCompare(test.updater, "previousVersion", Env.env.previous, 10000);
        const button = child(overlay, "rollBackButton");
        compare(button.visible, Env.env.previous.length > 0);
        if (Env.env.previous.length > 0)
            compare(button.text, "Restart into " + Env.env.previous);
    }
}
