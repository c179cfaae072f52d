-- Categories and the expenses filed under them (docs/contract.md §7). Timestamps are RFC 3339 UTC
-- text, amounts whole cents (no floating point for money), `spent_on` a calendar date.
CREATE TABLE categories (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- A category in use cannot be deleted: the foreign key refuses it (409).
CREATE TABLE expenses (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    category_id  INTEGER NOT NULL REFERENCES categories (id),
    label        TEXT    NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    amount_cents INTEGER NOT NULL,
    paid         INTEGER NOT NULL DEFAULT 0 CHECK (paid IN (0, 1)),
    -- `date()` gives NULL for a text that is no date, and `IS` (unlike `=`) fails on NULL.
    spent_on     TEXT    NOT NULL DEFAULT (date('now')) CHECK (date(spent_on) IS spent_on),
    created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX expenses_by_category ON expenses (category_id, paid);

-- What a new user starts with.
INSERT INTO categories (name) VALUES ('Food'), ('Transport'), ('Home');
