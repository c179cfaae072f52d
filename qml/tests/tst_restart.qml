// The library's QML types across a backend kill in Bundled mode (host/fixture/tests/qml.rs,
// scenario bundled): the harness SIGKILLs the backend once the marker item exists; the
// supervisor respawns it on the held socket with a new token. Requests sent all along (with
// whatever token they started with) succeed, the subscription reconnects and says the history
// was lost, and the model follows the new backend's hub.
import QtQuick
import QtTest
import QmlBridge
import "env.js" as Env

TestCase {
    id: test

    name: "Restart"

    // Properties rather than children: Qt 6.4's qmllint and cxx-qt's qmltypes (no prototype).
    readonly property RestModel items: RestModel {
        resource: "items"
        roles: ["title"]
        keyRole: "itemId"
    }
    readonly property MercureSubscription subscription: MercureSubscription {
        topics: ["/api/items"]
    }
    readonly property RestClient client: RestClient {}
    // The singleton as an untyped value: Qt 6.4's qmllint rejects binding the singleton itself to
    // the QObject `target` of a SignalSpy (cxx-qt's qmltypes carry no prototype).
    readonly property var backend: BackendConnection

    SignalSpy {
        id: rotated

        target: test.backend
        signalName: "tokenRotated"
    }
    SignalSpy {
        id: finished

        target: test.client
        signalName: "finished"
    }
    SignalSpy {
        id: updates

        target: test.subscription
        signalName: "update"
    }
    SignalSpy {
        id: lost

        target: test.subscription
        signalName: "historyLost"
    }
    Timer {
        id: pump

        interval: 25
        repeat: true
        onTriggered: test.client.send("GET", "/api/stats", undefined)
    }

    function titles() {
        const out = [];
        for (let i = 0; i < test.items.count; ++i)
            out.push(test.items.get(i).title);
        return out;
    }

    function test_requests_subscriptions_and_models_carry_on_across_a_kill() {
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 60000);
        tryCompare(test.items, "live", true, 60000);
        tryCompare(test.subscription, "connected", true, 60000);
        // An update before the kill, so the reconnect has a Last-Event-ID to resume from (the
        // marker's own update may die with the backend).
        test.items.create({ "title": "before the kill" });
        tryVerify(() => updates.count > 0, 20000, "an update before the kill");
        verify(test.subscription.lastEventId.length > 0);
        pump.start();
        test.items.create({ "title": Env.env.killMarker });

        tryVerify(() => rotated.count > 0, 60000, "tokenRotated after the kill");
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 60000);
        tryVerify(() => lost.count > 0, 60000, "historyLost: the new hub has no history");
        tryCompare(test.subscription, "connected", true, 60000);
        wait(500);
        pump.stop();
        tryCompare(test.client, "pending", 0, 30000);
        verify(finished.count > 5, "requests were sent across the kill: " + finished.count);
        for (let i = 0; i < finished.count; ++i) {
            const args = finished.signalArguments[i];
            compare(args[1], 200, "request " + i + ": " + args[3]);
        }

        tryCompare(test.items, "live", true, 60000);
        verify(titles().indexOf(Env.env.killMarker) >= 0, JSON.stringify(titles()));
        updates.clear();
        test.items.create({ "title": "after the restart" });
        tryVerify(() => titles().indexOf("after the restart") >= 0, 20000, JSON.stringify(titles()));
        tryVerify(() => updates.count > 0, 20000, "the subscription follows the new hub");
        compare(test.items.error, "");
    }
}
