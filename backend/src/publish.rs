//! The publish seam: every todo change goes through [`Publisher::publish`].
//!
//! The REST handlers call it once a change is committed, with the database writer still held, so
//! events arrive in commit order; the Mercure hub (`hub`) implements it and turns each event into
//! an update on the topics listed in `docs/contract.md` §8.

use serde::Serialize;

/// A todo as stored and as sent over the wire (`docs/contract.md` §7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Todo {
    pub id: i64,
    pub title: String,
    pub done: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

/// One committed change to the todo list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TodoEvent {
    Created(Todo),
    Updated(Todo),
    Deleted { id: i64 },
}

/// Receives every committed todo change, in commit order. Implementations must not block: they
/// are called right after the commit, with the database writer held.
pub trait Publisher: Send + Sync + 'static {
    fn publish(&self, event: TodoEvent);
}
