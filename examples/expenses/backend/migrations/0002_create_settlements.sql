-- Added with `POST /api/settle`: one line per settlement, written after the response by the
-- route's deferred task. A new migration, never an edit of 0001: installed apps have run that one.
CREATE TABLE settlements (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    expenses     INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,
    settled_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
