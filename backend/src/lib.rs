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

/// `#[derive(Resource)]` and `migrations!()`.
pub use qmlbridge_backend_macros::{Resource, migrations};

/// The HTTP framework the routes are written in.
pub use axum;
/// The SQLite binding the framework uses, for custom SQL in an app's routes.
pub use rusqlite;
/// The logging the framework uses; [`log`] has its macros with the app's target.
pub use tracing;
