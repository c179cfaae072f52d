// Dev mode against a real `todo-backend serve` (examples/todo/host/tests/qml_tests.rs, scenario
// dev): BackendConnection follows the supervisor, the window's RestModel talks to the REST API,
// and a todo created by another client appears in the model. Each test stands alone.
import QtQuick
import QtQml.Models
import QtTest
import QmlBridge
import "env.js" as Env

TestCase {
    id: test

    name: "DevMode"

    // Properties rather than children: see Main.qml (qmllint and cxx-qt's qmltypes).
    readonly property RestModel todos: RestModel {
        resource: "todos"
        roles: ["title", "done"]
        keyRole: "todoId"
    }
    // A second window's model: its own hub subscription and requests.
    readonly property RestModel otherWindow: RestModel {
        resource: "todos"
        roles: ["title", "done"]
        keyRole: "todoId"
    }

    Instantiator {
        id: otherRows

        model: test.otherWindow
        delegate: QtObject {}
    }

    SignalSpy {
        id: liveChanges

        target: test.todos
        signalName: "liveChanged"
    }

    // The model's rows as objects, to read the roles back.
    Instantiator {
        id: rows

        model: test.todos
        delegate: QtObject {
            required property var todoId
            required property string title
            required property bool done
        }
    }

    function titles() {
        const out = [];
        for (let i = 0; i < rows.count; ++i)
            out.push(rows.objectAt(i).title);
        return out;
    }

    function rowWithTitle(title) {
        for (let i = 0; i < rows.count; ++i) {
            if (rows.objectAt(i).title === title)
                return rows.objectAt(i);
        }
        return null;
    }

    // Another client: a plain HTTP request with the dev token.
    function postAsOtherClient(title) {
        const xhr = new XMLHttpRequest(); // qmllint disable unqualified
        xhr.open("POST", BackendConnection.url + "/api/todos");
        xhr.setRequestHeader("Authorization", "Bearer " + BackendConnection.token);
        xhr.setRequestHeader("Content-Type", "application/json");
        xhr.send(JSON.stringify({ "title": title }));
        return xhr;
    }

    function test_connection_mirrors_the_supervisor() {
        compare(BackendConnection.mode, BackendConnection.Dev);
        compare(BackendConnection.url, Env.env.url);
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 20000);
        compare(BackendConnection.error, "");
        verify(BackendConnection.token.length > 0, "a dev token");
    }

    function test_create_update_remove() {
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 20000);
        tryCompare(test.todos, "live", true, 20000);
        test.todos.create({ "title": "write the tests" });
        tryVerify(() => rowWithTitle("write the tests") !== null, 10000, "created row");
        const row = rowWithTitle("write the tests");
        compare(row.done, false);
        test.todos.update(row.todoId, { "done": true });
        tryVerify(() => rowWithTitle("write the tests").done === true, 10000, "updated");
        const before = rows.count;
        test.todos.remove(row.todoId);
        tryCompare(rows, "count", before - 1, 10000);
        verify(rowWithTitle("write the tests") === null);
        compare(test.todos.error, "");
    }

    function test_other_clients_changes_arrive_live() {
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 20000);
        // Subscribed to the hub: after this, only the Mercure stream can bring the new row (the
        // model refetches only on a (re)connect, which would flip `live` and count in the spy).
        tryCompare(test.todos, "live", true, 20000);
        liveChanges.clear();
        const started = Date.now();
        const xhr = postAsOtherClient("from another client");
        tryVerify(() => xhr.readyState === XMLHttpRequest.DONE, 10000);
        compare(xhr.status, 201, xhr.responseText);
        tryVerify(() => rowWithTitle("from another client") !== null, 20000, "live update");
        console.log("other client's todo visible after " + (Date.now() - started) + " ms");
        compare(liveChanges.count, 0, "no reconnect (and so no refetch) while waiting");
        compare(test.todos.live, true);
    }

    function test_two_windows_see_each_others_changes() {
        tryCompare(test.otherWindow, "live", true, 20000);
        tryCompare(test.todos, "live", true, 20000);
        const before = otherRows.count;
        test.todos.create({ "title": "seen by the other window" });
        tryCompare(otherRows, "count", before + 1, 20000);
        tryVerify(() => rowWithTitle("seen by the other window") !== null, 20000, "own add");
        // The other way round: a delete from the other window reaches this one through the hub.
        test.otherWindow.remove(rowWithTitle("seen by the other window").todoId);
        tryVerify(() => rowWithTitle("seen by the other window") === null, 20000, "other's delete");
        tryCompare(otherRows, "count", before, 20000);
    }

    function test_errors_are_reported_not_thrown() {
        tryCompare(test.todos, "live", true, 20000);
        // The backend's problem+json detail becomes the error text.
        test.todos.create({ "title": "   " });
        tryVerify(() => test.todos.error.indexOf("must not be empty") >= 0, 10000, test.todos.error);
        verify(test.todos.error.indexOf("(422)") > 0, test.todos.error);
        test.todos.update(999999, { "done": true });
        tryVerify(() => test.todos.error.indexOf("(404)") > 0, 10000, test.todos.error);
        // Already gone counts as removed, and a success clears the error.
        test.todos.remove(999999);
        tryCompare(test.todos, "error", "", 10000);
    }
}
