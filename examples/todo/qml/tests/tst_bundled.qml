// Bundled mode: the supervisor spawns the real backend (examples/todo/host/tests/qml_tests.rs,
// scenario bundled). The harness SIGKILLs the backend when the test asks for it (through a
// todo); tokenRotated must fire with the new token, the model must keep working with it without
// any QML code, and follow the new backend's hub. One test function: the steps depend on each
// other, and no test may depend on the order tests run in.
import QtQuick
import QtQml.Models
import QtTest
import QmlBridge
import "env.js" as Env

TestCase {
    id: test

    name: "BundledMode"

    // A property rather than a child: see Main.qml (qmllint and cxx-qt's qmltypes).
    readonly property RestModel todos: RestModel {
        resource: "todos"
        roles: ["title"]
        keyRole: "todoId"
    }

    Instantiator {
        id: rows

        model: test.todos
        delegate: QtObject {
            required property string title
        }
    }

    // The singleton as an untyped value: Qt 6.4's qmllint rejects binding the singleton itself to
    // the QObject `target` of a SignalSpy (cxx-qt's qmltypes carry no prototype), and that
    // warning cannot be silenced.
    readonly property var backend: BackendConnection

    SignalSpy {
        id: rotated

        target: test.backend
        signalName: "tokenRotated"
    }

    function titles() {
        const out = [];
        for (let i = 0; i < rows.count; ++i)
            out.push(rows.objectAt(i).title);
        return out;
    }

    function test_kill_respawn_rotates_the_token_and_the_model_follows() {
        compare(BackendConnection.mode, BackendConnection.Bundled);
        compare(BackendConnection.dataDir, Env.env.dataDir);
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 60000);
        verify(/^http:\/\/127\.0\.0\.1:\d+$/.test(BackendConnection.url), BackendConnection.url);
        compare(BackendConnection.token.length, 43);
        compare(rotated.count, 0);
        const firstToken = BackendConnection.token;
        // Ask the harness to SIGKILL the backend (it polls the API for this todo).
        tryCompare(test.todos, "live", true, 60000);
        test.todos.create({ "title": Env.env.killMarker });

        tryVerify(() => rotated.count > 0, 60000, "tokenRotated after the kill");
        const newToken = rotated.signalArguments[rotated.count - 1][0];
        compare(newToken.length, 43);
        verify(newToken !== firstToken, "a new token");
        compare(BackendConnection.token, newToken);
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 60000);
        compare(rotated.count, 1, "one kill, one rotation");

        // Requests use the new token without any QML code.
        tryCompare(test.todos, "live", true, 60000);
        const before = rows.count;
        test.todos.create({ "title": "after rotation" });
        tryCompare(rows, "count", before + 1, 20000);
        compare(test.todos.error, "");
        // The hub stream died with the old backend; the model subscribed to the new one and
        // refetched, so the todo from before the kill is still listed.
        verify(titles().indexOf(Env.env.killMarker) >= 0, JSON.stringify(titles()));
    }
}
