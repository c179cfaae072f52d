// Dev mode against a real `qmlbridge-backend serve` (host/tests/qml_tests.rs, scenario dev):
// BackendConnection follows the supervisor, TodoModel talks to the REST API, and a todo created
// by another client appears in the model.
import QtQuick
import QtQml.Models
import QtTest
import QmlBridge
import "env.js" as Env

TestCase {
    id: test

    name: "DevMode"

    // Properties rather than children: see Main.qml (qmllint and cxx-qt's qmltypes).
    readonly property TodoModel todos: TodoModel {}
    // A second window's model: its own hub subscription and requests.
    readonly property TodoModel otherWindow: TodoModel {}

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

    function test_1_connection_mirrors_the_supervisor() {
        compare(BackendConnection.mode, BackendConnection.Dev);
        compare(BackendConnection.url, Env.env.url);
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 20000);
        compare(BackendConnection.error, "");
        verify(BackendConnection.token.length > 0, "a dev token");
    }

    function test_2_add_toggle_remove() {
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 20000);
        test.todos.add("  write the tests  ");
        test.todos.add("   ");
        tryVerify(() => rowWithTitle("write the tests") !== null, 10000, "added row");
        const row = rowWithTitle("write the tests");
        compare(row.done, false);
        test.todos.toggle(row.todoId);
        tryVerify(() => rowWithTitle("write the tests").done === true, 10000, "toggled");
        const before = rows.count;
        test.todos.remove(row.todoId);
        tryCompare(rows, "count", before - 1, 10000);
        verify(rowWithTitle("write the tests") === null);
        compare(test.todos.error, "");
    }

    function test_3_other_clients_changes_arrive_live() {
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

    function test_4_two_windows_see_each_others_changes() {
        tryCompare(test.otherWindow, "live", true, 20000);
        tryCompare(test.todos, "live", true, 20000);
        const before = otherRows.count;
        test.todos.add("seen by the other window");
        tryCompare(otherRows, "count", before + 1, 20000);
        tryVerify(() => rowWithTitle("seen by the other window") !== null, 20000, "own add");
        // The other way round: a delete from the other window reaches this one through the hub.
        test.otherWindow.remove(rowWithTitle("seen by the other window").todoId);
        tryVerify(() => rowWithTitle("seen by the other window") === null, 20000, "other's delete");
        tryCompare(otherRows, "count", before, 20000);
    }

    function test_5_errors_are_reported_not_thrown() {
        test.todos.toggle(-42); // unknown id: nothing to do
        test.todos.remove(999999); // already gone counts as removed
        wait(300);
        compare(test.todos.error, "");
    }
}
