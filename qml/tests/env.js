// Values the test harness (host/fixture/tests/qml.rs) chose for this run; it writes its own copy
// next to the staged test file. These defaults only keep qmllint and editors happy.
.pragma library

var env = {
    "url": "http://127.0.0.1:8765",
    "seeded": 1205,
    "seededDone": 401,
    "killMarker": "kill the backend now",
    "backend": "http://127.0.0.1:8765",
    "allowed": "http://127.0.0.1:8766",
    "refused": "http://127.0.0.1:8767"
};
