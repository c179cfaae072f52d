CREATE TABLE expenses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    category_id INTEGER NOT NULL REFERENCES categories (id),
    label       TEXT    NOT NULL,
    cents       INTEGER NOT NULL CONSTRAINT cents_positive CHECK (cents > 0),
    paid        INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX expenses_category ON expenses (category_id);
