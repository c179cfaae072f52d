// Values the test harness (examples/todo/host/tests/qml_tests.rs) chose for this run; it writes its own copy
// next to the staged test file. These defaults only keep qmllint and editors happy.
.pragma library

var env = {
    "url": "http://127.0.0.1:8765",
    "dataDir": "",
    "killMarker": "kill the backend now"
};
