//! The convention's live updates for a row (`docs/contract.md` §8): what a resource write
//! publishes, and what a custom write announces with [`Changes`] so that the `RestModel`s on
//! that resource follow it exactly as they follow the convention's own writes.

use rusqlite::Connection;

use super::Resource;
use super::schema::Schema;
use super::sqlite::{Record, Statements};
use crate::publish::LiveUpdate;

/// The topics of a change to row `id`: canonical first, then the collection (§8).
pub(crate) fn topics(schema: &Schema, id: i64) -> Vec<String> {
    let name = schema.name;
    vec![format!("/api/{name}/{id}"), format!("/api/{name}")]
}

/// A create's or update's update: the row's JSON.
pub(crate) fn changed(schema: &Schema, record: &Record) -> Option<LiveUpdate> {
    let id = record.get(schema.key())?.as_i64()?;
    let data = serde_json::to_string(record).ok()?;
    Some(LiveUpdate::new(topics(schema, id), data))
}

/// A delete's update: `{"id": N, "deleted": true}`.
pub(crate) fn deleted(schema: &Schema, id: i64) -> LiveUpdate {
    let data = serde_json::json!({ "id": id, "deleted": true }).to_string();
    LiveUpdate::new(topics(schema, id), data)
}

/// The rows of resources a custom write changed, collected in
/// [`Context::write_announcing`](crate::Context::write_announcing): once the write commits, each
/// gets the convention's update, as if a `PATCH` (the row as stored now; a create looks the
/// same) or a `DELETE` (the row is gone) had made the change.
///
/// ```
/// # use qmlbridge_backend::{Changes, Resource};
/// #[derive(Resource)]
/// #[resource(name = "expenses")]
/// struct Expense {
///     id: i64,
///     paid: bool,
/// }
///
/// let mut changes = Changes::default();
/// changes.rows::<Expense>([3, 4]);
/// changes.row::<Expense>(3); // announced once
/// assert_eq!(changes.len(), 2);
/// ```
#[derive(Debug, Default)]
pub struct Changes {
    rows: Vec<(&'static Schema, i64)>,
}

impl Changes {
    /// Announces row `id` of resource `R`.
    pub fn row<R: Resource>(&mut self, id: i64) {
        let schema = R::schema();
        if !self
            .rows
            .iter()
            .any(|(s, i)| *i == id && s.name == schema.name)
        {
            self.rows.push((schema, id));
        }
    }

    /// Announces rows `ids` of resource `R`, in order.
    pub fn rows<R: Resource>(&mut self, ids: impl IntoIterator<Item = i64>) {
        for id in ids {
            self.row::<R>(id);
        }
    }

    /// How many rows are announced.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row is announced.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The updates, read inside the write's transaction: each row as it stands, or deleted.
    pub(crate) fn updates(&self, conn: &Connection) -> rusqlite::Result<Vec<LiveUpdate>> {
        let mut out = Vec::with_capacity(self.rows.len());
        for &(schema, id) in &self.rows {
            let row = Statements::new(schema).get(conn, id)?;
            match row {
                Some(record) => out.extend(changed(schema, &record)),
                None => out.push(deleted(schema, id)),
            }
        }
        Ok(out)
    }
}
