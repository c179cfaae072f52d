// The library's QML types in Dev mode against the fixture backend with 1,205 seeded items
// (host/fixture/tests/qml.rs, scenario dev), imported beside the fixture app's own module.
// Each test stands alone: it creates what it needs and compares with the server's own answer.
import QtQuick
import QtQml.Models
import QtTest
import QmlBridge
import Fixture
import "env.js" as Env

TestCase {
    id: test

    name: "Library"

    Component {
        id: modelComponent

        RestModel {}
    }
    Component {
        id: clientComponent

        RestClient {}
    }
    Component {
        id: subscriptionComponent

        MercureSubscription {}
    }
    Component {
        id: spyComponent

        SignalSpy {}
    }
    Component {
        id: rowsComponent

        // What a delegate sees: the key role and an integer role, as the view gives them.
        Instantiator {
            delegate: QtObject {
                required property var itemId
                required property var model
            }
        }
    }
    Component {
        id: panelComponent

        Panel {}
    }

    function online() {
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 20000);
    }

    // One request with a fresh RestClient: {status, body, error} once `finished` came.
    function call(method, path, body) {
        const client = createTemporaryObject(clientComponent, test);
        const spy = createTemporaryObject(spyComponent, test, {
            "target": client,
            "signalName": "finished"
        });
        const id = client.send(method, path, body);
        tryCompare(spy, "count", 1, 20000);
        const args = spy.signalArguments[0];
        compare(args[0], id);
        return {
            "status": args[1],
            "body": args[2],
            "error": args[3]
        };
    }

    // The server's whole list (keyset pages), as another client sees it.
    function serverRows(query) {
        let rows = [];
        let after = 0;
        for (;;) {
            const r = call("GET", "/api/items?limit=1000&after=" + after + (query ? "&" + query : ""));
            compare(r.status, 200, r.error);
            rows = rows.concat(r.body);
            if (r.body.length < 1000)
                return rows;
            after = r.body[r.body.length - 1].id;
        }
    }

    function settled(model) {
        tryVerify(() => model.live && !model.loading, 30000, "live and loaded: " + model.error);
    }

    function modelRows(model) {
        const out = [];
        for (let i = 0; i < model.count; ++i)
            out.push(model.get(i));
        return out;
    }

    function sameRows(model, rows) {
        if (model.count !== rows.length)
            return false;
        for (let i = 0; i < rows.length; ++i) {
            const row = model.get(i);
            if (row.id !== rows[i].id || row.title !== rows[i].title || row.done !== rows[i].done)
                return false;
        }
        return true;
    }

    function test_rest_client_success() {
        online();
        const r = call("GET", "/api/stats");
        compare(r.status, 200);
        compare(r.error, "");
        verify(r.body.items >= Env.env.seeded, JSON.stringify(r.body));
    }

    function test_rest_client_problem_text() {
        online();
        const r = call("POST", "/api/items", { "title": "   " });
        compare(r.status, 422);
        verify(r.error.indexOf("must not be empty") >= 0, r.error);
        verify(r.error.endsWith("(422)"), r.error);
        compare(r.body.status, 422);
        const missing = call("GET", "/api/items/999999");
        compare(missing.status, 404);
        verify(missing.error.endsWith("(404)"), missing.error);
    }

    function test_rest_client_refuses_bad_input() {
        const method = call("FETCH", "/api/stats");
        compare(method.status, 0);
        verify(method.error.indexOf("not an HTTP method") >= 0, method.error);
        const path = call("GET", "api/stats");
        compare(path.status, 0);
        verify(path.error.indexOf("not a path") >= 0, path.error);
    }

    function test_subscription_delivers_updates() {
        online();
        const sub = createTemporaryObject(subscriptionComponent, test, {
            "topics": ["/api/tags"]
        });
        const spy = createTemporaryObject(spyComponent, test, {
            "target": sub,
            "signalName": "update"
        });
        tryCompare(sub, "connected", true, 20000);
        const r = call("POST", "/api/tags", { "label": "from the subscription test" });
        compare(r.status, 201, r.error);
        tryVerify(() => spy.count > 0, 20000, "an update");
        const args = spy.signalArguments[spy.count - 1];
        verify(args[0].length > 0, "an id");
        compare(args[1], "");
        compare(JSON.parse(args[2]).label, "from the subscription test");
        compare(sub.lastEventId, args[0]);
        sub.active = false;
        tryCompare(sub, "connected", false, 5000);
    }

    function test_rest_model_pages_past_one_thousand_rows() {
        online();
        const model = createTemporaryObject(modelComponent, test, {
            "resource": "items",
            "roles": ["title", "done"],
            "keyRole": "itemId"
        });
        settled(model);
        verify(model.count >= Env.env.seeded, "count " + model.count);
        compare(model.count, call("GET", "/api/stats").body.items);
        let last = 0;
        for (let i = 0; i < model.count; ++i) {
            const id = model.get(i).id;
            verify(id > last, "ascending keys, no double, at row " + i);
            last = id;
        }
        compare(model.error, "");
    }

    function test_rest_model_filter_follows_live_updates() {
        online();
        const model = createTemporaryObject(modelComponent, test, {
            "resource": "items",
            "roles": ["title", "done"],
            "keyRole": "itemId",
            "query": { "done": true }
        });
        settled(model);
        const expected = serverRows("done=true");
        verify(expected.length >= Env.env.seededDone, expected.length);
        verify(sameRows(model, expected), "the filtered list");
        const created = call("POST", "/api/items", { "title": "filter me" });
        compare(created.status, 201);
        const id = created.body.id;
        wait(200);
        compare(model.count, expected.length, "a row that does not match stays out");
        compare(call("PATCH", "/api/items/" + id, { "done": true }).status, 200);
        tryCompare(model, "count", expected.length + 1, 20000);
        compare(model.get(model.count - 1).id, id);
        compare(call("PATCH", "/api/items/" + id, { "done": false }).status, 200);
        tryCompare(model, "count", expected.length, 20000);
        compare(call("DELETE", "/api/items/" + id).status, 204);
    }

    // Whole numbers reach QML as JS numbers (docs/qml.md, "Numbers"): `===` matches the id the
    // server gave, and the value goes back into a request as the same integer.
    function test_rest_model_integers_are_numbers() {
        online();
        const created = call("POST", "/api/items", { "title": "a number" });
        compare(created.status, 201);
        const model = createTemporaryObject(modelComponent, test, {
            "resource": "items",
            "roles": ["id", "title"],
            "keyRole": "itemId"
        });
        settled(model);
        const rows = createTemporaryObject(rowsComponent, test, { "model": model });
        tryCompare(rows, "count", model.count, 20000);
        const last = rows.objectAt(rows.count - 1);
        compare(typeof last.itemId, "number", "the key role");
        compare(typeof last.model.id, "number", "an integer role");
        verify(last.itemId === created.body.id, "the key === the created id");
        verify(last.model.id === created.body.id, "the role === the created id");
        compare(call("PATCH", "/api/items/" + last.itemId, { "title": "a number, again" }).status, 200);
        compare(call("DELETE", "/api/items/" + last.model.id).status, 204);
    }

    function test_rest_model_updates_during_the_fetch_are_not_lost_or_doubled() {
        online();
        const own = [];
        for (let i = 0; i < 3; ++i)
            own.push(call("POST", "/api/items", { "title": "race " + i }).body.id);
        const writer = createTemporaryObject(clientComponent, test);
        const model = createTemporaryObject(modelComponent, test, {
            "resource": "items",
            "roles": ["title", "done"],
            "keyRole": "itemId"
        });
        // The moment the subscription is open and the first page is on its way: write.
        let sent = false;
        model.loadingChanged.connect(() => {
            if (!model.loading || sent)
                return;
            sent = true;
            writer.send("PATCH", "/api/items/" + own[0], { "title": "race renamed during the fetch" });
            writer.send("DELETE", "/api/items/" + own[1], undefined);
            writer.send("POST", "/api/items", { "title": "race created during the fetch" });
            writer.send("PATCH", "/api/items/1100", { "done": true });
            writer.send("PATCH", "/api/items/1100", { "done": false });
        });
        tryVerify(() => sent, 20000, "the fetch started");
        tryCompare(writer, "pending", 0, 20000);
        settled(model);
        const server = serverRows("");
        tryVerify(() => sameRows(model, server), 20000, "the model equals the server's list");
        compare(modelRows(model).filter(r => r.title === "race created during the fetch").length, 1);
        compare(modelRows(model).filter(r => r.id === own[1]).length, 0);
    }

    function test_app_module_beside_the_library() {
        online();
        const panel = createTemporaryObject(panelComponent, test);
        verify(panel !== null);
        const status = findChild(panel, "panelStatus");
        verify(status !== null, "the library's StatusIndicator inside the app's module");
        compare(status.connectionState, BackendConnection.Online);
        compare(call("POST", "/api/tags", { "label": "seen by the panel" }).status, 201);
        tryVerify(() => panel.tally.count > 0 && panel.tags.count > 0, 20000, "the app's type fed by the library's");
        compare(panel.tally.last, "tags: " + panel.tags.count);
    }
}
