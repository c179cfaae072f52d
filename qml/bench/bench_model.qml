// RestModel's numbers (host/fixture/benches/model.rs), on a real event loop (QtTest's waits
// process events only every 10 ms, which would quantise the latencies): fetch a 10,000-row
// resource into a new model (time to `count == 10000`, several runs), then live updates, each
// timed from sending its POST (from another client, a RestClient) to the model's rowsInserted.
// Prints them with their targets and exits; asserts nothing about time.
import QtQuick
import QmlBridge
import "env.js" as Env

Item {
    id: bench

    property var fetches: []
    property var latencies: []
    property var responses: []
    property int run: 0
    property double started: 0
    property double updatesStarted: 0
    property var model: null

    readonly property RestClient client: RestClient {
        onFinished: (id, status, body, error) => {
            if (status !== 201) {
                console.error("rest_model: POST failed: " + error);
                Qt.exit(1);
            }
            bench.responses.push(Date.now() - bench.started);
            bench.maybeNext();
        }
    }

    Component {
        id: modelComponent

        RestModel {
            resource: "items"
            roles: ["title", "done"]
            keyRole: "itemId"
        }
    }

    function percentile(values, p) {
        const sorted = values.slice().sort((a, b) => a - b);
        return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    }

    function report(what, value, target) {
        console.info("rest_model: " + what + ": " + value + " ms (target <= " + target + " ms, ratio " + (value / target).toFixed(2) + ")");
    }

    // One fetch: a new model until it holds every row.
    function fetchOnce() {
        bench.started = Date.now();
        const m = modelComponent.createObject(bench);
        m.countChanged.connect(() => {
            if (m.count < Env.env.rows || bench.model === m)
                return;
            bench.model = m;
            bench.fetches.push(Date.now() - bench.started);
            Qt.callLater(bench.fetched);
        });
    }

    function fetched() {
        bench.run += 1;
        if (bench.run < Env.env.fetchRuns) {
            bench.model.destroy();
            bench.model = null;
            return fetchOnce();
        }
        console.info("rest_model: fetch runs (ms): " + JSON.stringify(bench.fetches));
        report("fetch " + Env.env.rows + " rows, p50", percentile(bench.fetches, 0.5), 150);
        bench.model.rowsInserted.connect(() => {
            bench.latencies.push(Date.now() - bench.started);
            bench.maybeNext();
        });
        bench.updatesStarted = 0;
        waitLive();
    }

    function waitLive() {
        if (!bench.model.live || bench.model.loading)
            return liveTimer.start();
        post();
    }

    Timer {
        id: liveTimer

        interval: 20
        onTriggered: bench.waitLive()
    }

    function post() {
        bench.started = Date.now();
        if (bench.updatesStarted === 0)
            bench.updatesStarted = bench.started;
        bench.client.send("POST", "/api/items", { "title": "bench " + bench.latencies.length });
    }

    // The next POST once both the response and the row of the last one are in.
    function maybeNext() {
        const n = bench.latencies.length;
        if (n !== bench.responses.length)
            return;
        if (n < Env.env.updates)
            return post();
        report("live update POST -> rowsInserted, p50 of " + n, percentile(bench.latencies, 0.5), 10);
        // Date.now() counts whole milliseconds: the mean over the whole run has the fraction.
        const mean = (Date.now() - bench.updatesStarted) / n;
        console.info("rest_model: live update mean (POST, response and row, one after the other): " + mean.toFixed(2) + " ms");
        console.info("rest_model: live update p95: " + percentile(bench.latencies, 0.95) + " ms; the POST's own response p50: " + percentile(bench.responses, 0.5) + " ms");
        Qt.exit(0);
    }

    Component.onCompleted: {
        const go = () => {
            if (BackendConnection.connectionState === BackendConnection.Online && bench.run === 0 && bench.started === 0)
                bench.fetchOnce();
        };
        BackendConnection.connectionStateChanged.connect(go);
        go();
    }
}
