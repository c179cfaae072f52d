//! Resources: a table behind the resource convention (`docs/contract.md` §7). An app declares
//! one with `#[derive(Resource)]` on a plain struct; the framework derives its routes, checks,
//! SQL ([`sqlite`]), list cache and live updates from the [`Schema`].

mod announce;
mod body;
mod columns;
mod constraint;
mod hooks;
mod query;
mod routes;
mod schema;
mod sqlite;

pub use announce::Changes;
pub use hooks::{Hook, ResourceHooks};
pub use query::{DEFAULT_LIMIT, MAX_LIMIT};
pub use schema::{Field, FieldKind, FieldRole, Schema};

pub(crate) use columns::check as check_columns;
pub(crate) use hooks::Hooks;
pub(crate) use routes::{Api, router};

/// A resource of the convention. `#[derive(Resource)]` implements it; an impl by hand builds
/// its [`Schema`] with the same `const fn`s (see [`Schema`]).
///
/// ```
/// use qmlbridge_backend::Resource;
///
/// #[derive(Resource)]
/// #[resource(name = "notes")]
/// struct Note {
///     id: i64,
///     text: String,
/// }
///
/// assert_eq!(Note::schema().name(), "notes");
/// ```
pub trait Resource: 'static {
    /// The resource's description.
    fn schema() -> &'static Schema;
}

/// An RFC 3339 UTC date-time as stored and sent (`2026-12-01T10:00:00Z`): the type of
/// `created_at`/`updated_at` fields and of `datetime` fields.
///
/// ```
/// use qmlbridge_backend::{Datetime, Resource};
///
/// #[derive(Resource)]
/// #[resource(name = "events")]
/// struct Event {
///     id: i64,
///     starts: Datetime,
///     #[resource(created_at)]
///     created_at: Datetime,
/// }
/// ```
pub type Datetime = String;
