//! A resource's rows as plain data (docs/contract.md §7, §8): the wire form of a row, the live
//! updates on a resource's topic, the list kept in the key order the backend lists in, and the
//! batched row operations that turn one list into the next for a `QAbstractListModel` (so a view
//! keeps its delegates and scroll position).

use serde_json::{Map, Value};

/// One row as the backend returns it: its key and every member (the key included).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub id: i64,
    pub values: Map<String, Value>,
}

impl Row {
    /// A row from a JSON object with an integer `id`; `None` for anything else.
    pub fn from_json(value: Value) -> Option<Row> {
        let Value::Object(values) = value else {
            return None;
        };
        let id = values.get("id")?.as_i64()?;
        Some(Row { id, values })
    }
}

/// What a live update on `/api/<name>` says (§8): the row as stored, or that it was deleted.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    Upsert(Row),
    Deleted(i64),
}

impl Update {
    /// The row the update is about.
    pub fn id(&self) -> i64 {
        match self {
            Update::Upsert(row) => row.id,
            Update::Deleted(id) => *id,
        }
    }
}

/// The data of a live update: a row, or `{"id": N, "deleted": true}`; `None` for anything else
/// (an app's own updates on the same topic are not rows).
pub fn parse_update(data: &str) -> Option<Update> {
    let value: Value = serde_json::from_str(data).ok()?;
    if value.get("deleted").and_then(Value::as_bool) == Some(true) {
        return value.get("id")?.as_i64().map(Update::Deleted);
    }
    Row::from_json(value).map(Update::Upsert)
}

/// The list's filter (`query` without the paging parameters): `field = value` conditions the
/// backend applied to the list, applied here to live updates so a row that stops matching leaves
/// the model and one that starts matching enters it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter(pub Vec<(String, String)>);

impl Filter {
    /// Whether `row` satisfies every condition, compared the way the backend parses filter text
    /// (booleans `true`/`false`/`1`/`0`, numbers by value, text exactly).
    pub fn matches(&self, row: &Row) -> bool {
        self.0
            .iter()
            .all(|(field, text)| match row.values.get(field) {
                Some(Value::String(s)) => s == text,
                Some(Value::Bool(b)) => match text.as_str() {
                    "true" | "1" => *b,
                    "false" | "0" => !*b,
                    _ => false,
                },
                Some(Value::Number(n)) => match (n.as_f64(), text.parse::<f64>()) {
                    (Some(a), Ok(b)) => a == b,
                    _ => false,
                },
                // Null, and arrays or objects (never filter fields), match no filter text.
                _ => false,
            })
    }
}

/// A row operation on the model, with row numbers valid when it is applied (in order).
#[derive(Clone, Debug, PartialEq)]
pub enum RowOp {
    /// `count` rows from `row` on go.
    Remove { row: usize, count: usize },
    /// `rows` are inserted before `row`.
    Insert { row: usize, rows: Vec<Row> },
    /// The row at `row` has new values (same key).
    Update { row: usize, value: Row },
}

/// Applies `op` to `rows`, as the model does to its copy.
pub fn apply(rows: &mut Vec<Row>, op: RowOp) {
    match op {
        RowOp::Remove { row, count } => {
            rows.drain(row..row + count);
        }
        RowOp::Insert { row, rows: new } => {
            rows.splice(row..row, new);
        }
        RowOp::Update { row, value } => rows[row] = value,
    }
}

/// The operations that turn `old` into `new`, both ordered by key: contiguous inserts and removes
/// batched (one `beginInsertRows` for a whole page), unchanged rows untouched.
pub fn diff(old: &[Row], new: &[Row]) -> Vec<RowOp> {
    let (mut i, mut j, mut row) = (0, 0, 0);
    let mut ops: Vec<RowOp> = Vec::new();
    let push = |op: RowOp, ops: &mut Vec<RowOp>| {
        match (ops.last_mut(), op) {
            (Some(RowOp::Remove { row: r, count }), RowOp::Remove { row: r2, count: c2 })
                if *r == r2 =>
            {
                *count += c2;
            }
            (
                Some(RowOp::Insert { row: r, rows }),
                RowOp::Insert {
                    row: r2,
                    rows: more,
                },
            ) if *r + rows.len() == r2 => {
                rows.extend(more);
            }
            (_, op) => ops.push(op),
        };
    };
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) if o.id == n.id => {
                if o != n {
                    push(
                        RowOp::Update {
                            row,
                            value: n.clone(),
                        },
                        &mut ops,
                    );
                }
                (i, j, row) = (i + 1, j + 1, row + 1);
            }
            (Some(o), Some(n)) if o.id < n.id => {
                push(RowOp::Remove { row, count: 1 }, &mut ops);
                i += 1;
            }
            (Some(_), None) => {
                push(RowOp::Remove { row, count: 1 }, &mut ops);
                i += 1;
            }
            (_, Some(n)) => {
                push(
                    RowOp::Insert {
                        row,
                        rows: vec![n.clone()],
                    },
                    &mut ops,
                );
                (j, row) = (j + 1, row + 1);
            }
            (None, None) => break,
        }
    }
    ops
}

/// A list ordered by key, changed one update at a time; each change is the one operation that
/// the model applies to follow.
#[derive(Clone, Debug, Default)]
pub struct List {
    rows: Vec<Row>,
}

impl List {
    #[cfg(test)]
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn into_rows(self) -> Vec<Row> {
        self.rows
    }

    /// Appends a page whose keys all follow the list's (keyset paging).
    pub fn append(&mut self, rows: Vec<Row>) {
        debug_assert!(match (self.rows.last(), rows.first()) {
            (Some(a), Some(b)) => a.id < b.id,
            _ => true,
        });
        self.rows.extend(rows);
    }

    /// Applies a live update under `filter`: a row that matches is inserted or updated, one that
    /// does not (or was deleted) is removed. `None` when nothing changes.
    pub fn update(&mut self, update: Update, filter: &Filter) -> Option<RowOp> {
        let id = update.id();
        let at = self.rows.binary_search_by_key(&id, |r| r.id);
        let op = match (update, at) {
            (Update::Upsert(row), Ok(at)) if filter.matches(&row) => {
                if self.rows[at] == row {
                    return None;
                }
                RowOp::Update {
                    row: at,
                    value: row,
                }
            }
            (Update::Upsert(row), Err(at)) if filter.matches(&row) => RowOp::Insert {
                row: at,
                rows: vec![row],
            },
            (_, Ok(at)) => RowOp::Remove { row: at, count: 1 },
            (_, Err(_)) => return None,
        };
        apply(&mut self.rows, op.clone());
        Some(op)
    }

    /// Replaces the whole list (a fetch); the operations from the old list to the new.
    pub fn replace(&mut self, mut rows: Vec<Row>) -> Vec<RowOp> {
        rows.sort_by_key(|r| r.id);
        rows.dedup_by_key(|r| r.id);
        let ops = diff(&self.rows, &rows);
        self.rows = rows;
        ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(id: i64, title: &str) -> Row {
        Row::from_json(json!({ "id": id, "title": title, "done": false })).unwrap()
    }

    fn replay(old: &[Row], ops: &[RowOp]) -> Vec<Row> {
        let mut list = old.to_vec();
        for op in ops {
            apply(&mut list, op.clone());
        }
        list
    }

    #[test]
    fn diff_batches_runs_and_leaves_unchanged_rows_alone() {
        let old = vec![r(1, "a"), r(2, "b"), r(3, "c"), r(4, "d"), r(9, "z")];
        let new = vec![
            r(1, "a"),
            r(3, "C"),
            r(5, "e"),
            r(6, "f"),
            r(7, "g"),
            r(9, "z"),
        ];
        let ops = diff(&old, &new);
        assert_eq!(replay(&old, &ops), new);
        assert_eq!(
            ops.iter()
                .filter(|o| matches!(o, RowOp::Insert { .. }))
                .count(),
            1,
            "{ops:?}"
        );
        assert!(diff(&new, &new).is_empty());
        let empty: Vec<Row> = Vec::new();
        let big: Vec<Row> = (1..=10_000).map(|i| r(i, "x")).collect();
        let ops = diff(&empty, &big);
        assert_eq!(ops.len(), 1);
        assert_eq!(
            diff(&big, &empty),
            vec![RowOp::Remove {
                row: 0,
                count: 10_000
            }]
        );
    }

    #[test]
    fn live_updates_follow_the_filter() {
        let open = Filter(vec![("done".into(), "false".into())]);
        let mut list = List::default();
        list.replace(vec![r(3, "c"), r(1, "a")]);
        let ins = list.update(Update::Upsert(r(2, "b")), &open).unwrap();
        assert_eq!(
            ins,
            RowOp::Insert {
                row: 1,
                rows: vec![r(2, "b")]
            }
        );
        assert_eq!(list.update(Update::Upsert(r(2, "b")), &open), None);
        let mut done = r(2, "b");
        done.values.insert("done".into(), json!(true));
        assert_eq!(
            list.update(Update::Upsert(done.clone()), &open),
            Some(RowOp::Remove { row: 1, count: 1 })
        );
        assert_eq!(list.update(Update::Upsert(done), &open), None);
        assert_eq!(list.update(Update::Deleted(42), &open), None);
        assert!(list.update(Update::Deleted(1), &open).is_some());
        let ids: Vec<i64> = list.rows().iter().map(|r| r.id).collect();
        assert_eq!(ids, [3]);
    }

    #[test]
    fn filters_compare_like_the_backend_parses() {
        let row = Row::from_json(json!({"id": 1, "n": 2, "x": 2.5, "b": true, "s": "2"})).unwrap();
        let f = |k: &str, v: &str| Filter(vec![(k.into(), v.into())]).matches(&row);
        assert!(f("n", "2") && f("x", "2.5") && f("b", "1") && f("b", "true") && f("s", "2"));
        assert!(!f("n", "3") && !f("b", "false") && !f("s", "02") && !f("missing", "1"));
    }

    #[test]
    fn updates_parse_rows_and_deletions_only() {
        assert_eq!(
            parse_update(r#"{"id":4,"deleted":true}"#),
            Some(Update::Deleted(4))
        );
        assert_eq!(
            parse_update(r#"{"id":4,"title":"t","done":false}"#)
                .unwrap()
                .id(),
            4
        );
        assert_eq!(parse_update(r#"{"message":"hello"}"#), None);
        assert_eq!(parse_update("not json"), None);
    }
}
