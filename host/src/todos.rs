//! The todo list as plain data (docs/contract.md §7, §8): the wire type, the changes the network
//! produces, and the row operations that turn one list into the next for `QAbstractListModel`.

use serde::Deserialize;

/// One todo as the backend returns it (extra fields such as timestamps are ignored).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Todo {
    pub id: i64,
    pub title: String,
    pub done: bool,
}

/// What a request or a Mercure update did to the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The whole list (`GET /api/todos`).
    Replace(Vec<Todo>),
    /// One todo was created or updated.
    Upsert(Todo),
    /// One todo was deleted.
    Removed(i64),
}

/// The data of a Mercure update on `/api/todos` (§8): a todo, or `{"id": N, "deleted": true}`.
pub fn parse_update(data: &str) -> Option<Change> {
    #[derive(Deserialize)]
    struct Deleted {
        id: i64,
        deleted: bool,
    }
    if let Ok(d) = serde_json::from_str::<Deleted>(data)
        && d.deleted
    {
        return Some(Change::Removed(d.id));
    }
    serde_json::from_str::<Todo>(data).ok().map(Change::Upsert)
}

/// The list after `change`, ordered by id like the backend's (§7).
pub fn applied(current: &[Todo], change: Change) -> Vec<Todo> {
    let mut next = match change {
        Change::Replace(list) => list,
        Change::Upsert(todo) => {
            let mut list: Vec<Todo> = current
                .iter()
                .filter(|t| t.id != todo.id)
                .cloned()
                .collect();
            list.push(todo);
            list
        }
        Change::Removed(id) => current.iter().filter(|t| t.id != id).cloned().collect(),
    };
    next.sort_by_key(|t| t.id);
    next.dedup_by_key(|t| t.id);
    next
}

/// A row operation, with row numbers valid at the moment it is applied (in order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowOp {
    Remove(usize),
    Insert(usize, Todo),
    Update(usize, Todo),
}

/// The operations that turn `old` into `new`; both ordered by id. Rows that did not change
/// produce nothing, so a ListView keeps its delegates and scroll position.
pub fn diff(old: &[Todo], new: &[Todo]) -> Vec<RowOp> {
    let (mut i, mut j, mut row) = (0, 0, 0);
    let mut ops = Vec::new();
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) if o.id == n.id => {
                if o != n {
                    ops.push(RowOp::Update(row, n.clone()));
                }
                (i, j, row) = (i + 1, j + 1, row + 1);
            }
            (Some(o), Some(n)) if o.id < n.id => {
                ops.push(RowOp::Remove(row));
                i += 1;
            }
            (Some(_), None) => {
                ops.push(RowOp::Remove(row));
                i += 1;
            }
            (_, Some(n)) => {
                ops.push(RowOp::Insert(row, n.clone()));
                (j, row) = (j + 1, row + 1);
            }
            (None, None) => break,
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: i64, title: &str, done: bool) -> Todo {
        Todo {
            id,
            title: title.into(),
            done,
        }
    }

    fn replay(old: &[Todo], ops: &[RowOp]) -> Vec<Todo> {
        let mut list = old.to_vec();
        for op in ops {
            match op {
                RowOp::Remove(r) => {
                    list.remove(*r);
                }
                RowOp::Insert(r, todo) => list.insert(*r, todo.clone()),
                RowOp::Update(r, todo) => list[*r] = todo.clone(),
            }
        }
        list
    }

    #[test]
    fn diff_replays_to_the_new_list() {
        let old = vec![t(1, "a", false), t(2, "b", false), t(4, "d", false)];
        let new = vec![
            t(2, "b", true),
            t(3, "c", false),
            t(4, "d", false),
            t(5, "e", false),
        ];
        let ops = diff(&old, &new);
        assert_eq!(replay(&old, &ops), new);
        assert_eq!(ops.len(), 4, "{ops:?}"); // remove 1, update 2, insert 3, insert 5
        assert!(diff(&new, &new).is_empty());
        assert_eq!(replay(&new, &diff(&new, &[])), Vec::<Todo>::new());
        assert_eq!(replay(&[], &diff(&[], &new)), new);
    }

    #[test]
    fn changes_keep_the_list_ordered_and_unique() {
        let list = applied(
            &[],
            Change::Replace(vec![t(3, "c", false), t(1, "a", false)]),
        );
        assert_eq!(list.iter().map(|t| t.id).collect::<Vec<_>>(), [1, 3]);
        let list = applied(&list, Change::Upsert(t(2, "b", false)));
        let list = applied(&list, Change::Upsert(t(3, "c2", true)));
        assert_eq!(list, [t(1, "a", false), t(2, "b", false), t(3, "c2", true)]);
        assert_eq!(applied(&list, Change::Removed(2)).len(), 2);
    }

    #[test]
    fn mercure_payloads() {
        let todo = r#"{"id":7,"title":"x","done":true,"created_at":"2026-11-23T15:00:00Z"}"#;
        assert_eq!(parse_update(todo), Some(Change::Upsert(t(7, "x", true))));
        assert_eq!(
            parse_update(r#"{"id":7,"deleted":true}"#),
            Some(Change::Removed(7))
        );
        assert_eq!(parse_update("not json"), None);
    }
}
