//! The todo example's backend: one resource, `todos` (see `API.md`), on the public API of
//! `qmlbridge-backend`. The command line, lifecycle, hub and SQL are the framework's.

use qmlbridge_backend::{Backend, Datetime, Resource};

/// A todo: `{"id", "title", "done", "created_at", "updated_at"}`.
#[derive(Resource)]
#[resource(name = "todos")]
#[allow(dead_code)] // the fields describe the resource; the framework reads its schema
pub struct Todo {
    id: i64,
    #[resource(non_blank, max_chars = 1000)]
    title: String,
    #[resource(default, filter)]
    done: bool,
    #[resource(created_at)]
    created_at: Datetime,
    #[resource(updated_at)]
    updated_at: Datetime,
}

/// The todo backend: what `main` runs and the tests drive.
pub fn backend() -> Backend {
    Backend::new("todo", env!("CARGO_PKG_VERSION"))
        .migrations(qmlbridge_backend::migrations!())
        .resource::<Todo>()
}
