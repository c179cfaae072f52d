// Bundled mode: the supervisor spawns the real backend (host/tests/qml_tests.rs, scenario
// bundled). The harness SIGKILLs the backend when test_1 asks for it (through a todo);
// tokenRotated must fire with the new token, and the model must keep working with it without
// any QML code.
import QtQuick
import QtQml.Models
import QtTest
import QmlBridge
import "env.js" as Env

TestCase {
    id: test

    name: "BundledMode"

    // A property rather than a child: see Main.qml (qmllint and cxx-qt's qmltypes).
    readonly property TodoModel todos: TodoModel {}

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
    property string firstToken: ""

    SignalSpy {
        id: rotated

        target: test.backend
        signalName: "tokenRotated"
    }

    function test_1_bundled_mode_comes_online() {
        compare(BackendConnection.mode, BackendConnection.Bundled);
        compare(BackendConnection.dataDir, Env.env.dataDir);
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 60000);
        verify(/^http:\/\/127\.0\.0\.1:\d+$/.test(BackendConnection.url), BackendConnection.url);
        compare(BackendConnection.token.length, 43);
        compare(rotated.count, 0);
        test.firstToken = BackendConnection.token;
        // Ask the harness to SIGKILL the backend (it polls the API for this todo).
        test.todos.add(Env.env.killMarker);
    }

    function test_2_token_rotates_after_the_backend_is_killed() {
        tryVerify(() => rotated.count > 0, 60000, "tokenRotated after the kill");
        const newToken = rotated.signalArguments[rotated.count - 1][0];
        compare(newToken.length, 43);
        verify(newToken !== test.firstToken, "a new token");
        compare(BackendConnection.token, newToken);
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 60000);
        compare(rotated.count, 1, "one kill, one rotation");
    }

    function test_3_requests_use_the_new_token() {
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 60000);
        const before = rows.count;
        test.todos.add("after rotation");
        tryCompare(rows, "count", before + 1, 20000);
        compare(test.todos.error, "");
    }

    function test_4_live_updates_resume_on_the_new_backend() {
        // The hub stream died with the old backend; the model subscribes to the new one (with the
        // same subscriber key) and refetched, so the todo from before the kill is still listed.
        tryCompare(test.todos, "live", true, 60000);
        let titles = [];
        for (let i = 0; i < rows.count; ++i)
            titles.push(rows.objectAt(i).title);
        verify(titles.indexOf(Env.env.killMarker) >= 0, JSON.stringify(titles));
    }
}
