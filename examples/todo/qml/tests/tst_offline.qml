// Dev mode against a dead port with a short offline threshold (examples/todo/host/tests/qml_tests.rs,
// scenario offline): the real Main.qml shows the Offline overlay with the error and a Retry button.
import QtQuick
import QtTest
import QmlBridge

TestCase {
    id: test

    property var window: null

    name: "Offline"
    when: windowShown

    function initTestCase() {
        const component = Qt.createComponent("qrc:/qt/qml/Todo/qml/Main.qml");
        compare(component.status, Component.Ready, component.errorString());
        test.window = component.createObject(null);
        verify(test.window !== null);
    }

    function cleanupTestCase() {
        if (test.window)
            test.window.destroy();
    }

    function test_overlay_shows_the_error_and_retry() {
        compare(BackendConnection.mode, BackendConnection.Dev);
        tryCompare(BackendConnection, "connectionState", BackendConnection.Offline, 30000);
        verify(BackendConnection.error.length > 0, "an error names the failing step");
        const overlay = findChild(test.window.contentItem.parent, "offlineOverlay");
        verify(overlay !== null, "overlay exists");
        tryCompare(overlay, "visible", true, 5000);
        const error = findChild(overlay, "offlineError");
        compare(error.text, BackendConnection.error);
        const retry = findChild(overlay, "retryButton");
        verify(retry !== null && retry.visible);
        const indicator = findChild(test.window.contentItem.parent, "statusIndicator");
        verify(indicator !== null);
        compare(indicator.connectionState, BackendConnection.Offline);
        // Retry calls BackendConnection.restart(): it returns at once, and the supervisor probes
        // again (Dev mode), which leaves Offline until the threshold passes once more.
        const states = [];
        BackendConnection.connectionStateChanged.connect(() => states.push(BackendConnection.connectionState));
        retry.clicked();
        tryVerify(() => states.length > 0, 20000, "a state change after Retry");
        verify(states[0] !== BackendConnection.Offline, JSON.stringify(states));
        tryCompare(BackendConnection, "connectionState", BackendConnection.Offline, 30000);
        compare(indicator.connectionState, BackendConnection.Offline);
    }
}
