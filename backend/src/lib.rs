//! `qmlbridge-backend`: the library every qmlbridge app's backend is built on.
//!
//! An app's `main` is a few lines:
//!
//! ```ignore
//! use qmlbridge_backend::{Backend, Resource};
//!
//! #[derive(Resource)]
//! #[resource(name = "notes")]
//! struct Note {
//!     id: i64,
//!     #[resource(non_blank, max_chars = 200)]
//!     text: String,
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     Backend::new("notes", env!("CARGO_PKG_VERSION"))
//!         .migrations(qmlbridge_backend::migrations!())
//!         .resource::<Note>()
//!         .run()
//! }
//! ```
//!
//! [`Backend::run`] is the command line and lifecycle of the host↔backend contract
//! (`docs/contract.md`): `migrate`, `serve --config`, socket activation, readiness, graceful
//! shutdown, exit codes. Behind it: the Caddyfile (`config`), the HTTP/1 connection loop
//! (`conn`), SQLite with checked migrations (`db`), guards and problem+json (`http`), resources
//! (`resource`), the Mercure hub (`hub`) and live updates (`publish`).
//!
//! Every public item below has an example. The guide, `docs/writing-an-app.md` in the
//! framework's repository, takes one app through every task (a resource and its migration, a
//! route with SQL, writes that publish, defer or announce rows, hooks, errors, logging, tests,
//! the QML side); its code is the framework's test `backend/tests/guide.rs`.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

// `config`, `conn`, `hub`, `secret` and `settings` are reachable (hidden) only for the
// framework's own tests and benchmarks, which drive the hub and the Caddyfile reader directly;
// they are not part of the API.

mod app;
mod backend;
mod cli;
#[doc(hidden)]
pub mod config;
#[doc(hidden)]
pub mod conn;
mod context;
mod db;
mod deferred;
mod error;
mod http;
#[doc(hidden)]
pub mod hub;
mod listen;
pub mod log;
mod publish;
mod resource;
#[doc(hidden)]
pub mod secret;
mod serve;
#[doc(hidden)]
pub mod settings;
mod testing;

pub use backend::Backend;
pub use context::Context;
pub use db::{Db, Migration, WriteFailure};
pub use error::{EXIT_CONFIG, EXIT_FAILURE, EXIT_USAGE, Error, Result};
pub use http::error::ApiError;
pub use publish::{Live, LiveUpdate, Publisher};
pub use resource::{
    Changes, DEFAULT_LIMIT, Datetime, Field, FieldKind, FieldRole, Hook, MAX_LIMIT, Resource,
    ResourceHooks, Schema,
};
pub use testing::TestBackend;

/// `#[derive(Resource)]`: a struct as a resource of the convention (`docs/contract.md` §7).
///
/// ```
/// use qmlbridge_backend::{Backend, Datetime, Migration, Resource};
///
/// #[derive(Resource)]
/// #[resource(name = "bookmarks")] // URL segment and table (`table = ".."` to differ)
/// struct Bookmark {
///     id: i64, // the key: a field named `id`, or `#[resource(key)]`
///     #[resource(non_blank, max_chars = 200)]
///     title: String,
///     #[resource(filter, default)] // `?done=true`; may be omitted on create
///     done: bool,
///     #[resource(min = 0, max = 5)]
///     stars: Option<i64>, // nullable, may be omitted
///     #[resource(created_at)]
///     created_at: Datetime,
///     #[resource(updated_at)]
///     updated_at: Datetime,
/// }
///
/// static MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_create_bookmarks", "
///     CREATE TABLE bookmarks (
///         id INTEGER PRIMARY KEY, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0,
///         stars INTEGER,
///         created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
///         updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))")];
///
/// let app = Backend::new("bookmarks", "1.0.0").migrations(MIGRATIONS).resource::<Bookmark>();
/// assert!(app.test(None, "t").is_ok());
/// ```
///
/// Field types: `String`, `i64`/`i32`, `f64`, `bool`, [`Datetime`], and `Option` of those.
/// Field attributes: `key`, `created_at`, `updated_at`, `default` (the column has a SQL
/// default), `filter`, `non_blank`, `min_chars = N`, `max_chars = N`, `min = N`, `max = N`.
pub use qmlbridge_backend_macros::Resource;

/// `migrations!()`: the crate's `migrations/NNNN_name.sql` files, embedded in order as a
/// `&'static [`[`Migration`]`]` for [`Backend::migrations`]; `migrations!("dir")` reads another
/// directory of the crate. A bad name, a gap or a repeated number is a compile error naming the
/// file. For cargo to notice a *new* file, the crate's `build.rs` says
/// `println!("cargo::rerun-if-changed=migrations");` (`qmlbridge new` writes it).
///
/// ```
/// use qmlbridge_backend::Backend;
///
/// // This crate's test fixture has three: 0001_create_items.sql, 0002_.., 0003_...
/// let migrations = qmlbridge_backend::migrations!("examples/fixture/migrations");
/// assert_eq!(migrations[0].name(), "0001_create_items");
/// let backend = Backend::new("fixture", "1.0.0").migrations(migrations);
/// # drop(backend);
/// ```
pub use qmlbridge_backend_macros::migrations;

/// The HTTP framework the routes are written in.
pub use axum;
/// The SQLite binding the framework uses, for custom SQL in an app's routes.
pub use rusqlite;
/// The logging the framework uses; [`log`] has its macros with the app's target.
pub use tracing;
