CREATE TABLE budget (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    cents INTEGER NOT NULL
);
