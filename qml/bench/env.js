// Values host/fixture/benches/model.rs chose for this run; it writes its own copy next to the
// staged file. These defaults only keep qmllint and editors happy.
.pragma library

var env = {
    "rows": 10000,
    "fetchRuns": 7,
    "updates": 100
};
