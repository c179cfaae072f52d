//! The expense tracker example's backend, on the public API of `qmlbridge-backend`: two resources
//! (`categories`, `expenses`, see `README.md`), hooks on their writes ([`hooks`]), and two routes
//! of its own ([`routes`]): `GET /api/summary` (SQL over both tables) and `POST /api/settle` (a
//! custom write that live lists follow). The command line, lifecycle, hub and SQL plumbing are
//! the framework's; the tables are in `migrations/`.

pub mod hooks;
pub mod routes;

use qmlbridge_backend::{Backend, Datetime, Resource};

/// The topic every change of the totals is announced on: the summary's own URL, so a client
/// subscribes to what it fetches. Its data says what changed; the summary is fetched again.
pub const SUMMARY_TOPIC: &str = "/api/summary";

/// A category: `{"id", "name", "created_at"}`. Names are unique (a second `Food` is a 409).
#[derive(Resource)]
#[resource(name = "categories")]
#[allow(dead_code)] // the fields describe the resource; the framework reads its schema
pub struct Category {
    id: i64,
    #[resource(non_blank, max_chars = 100)]
    name: String,
    #[resource(created_at)]
    created_at: Datetime,
}

/// An expense: `{"id", "category_id", "label", "amount_cents", "paid", "spent_on",
/// "created_at", "updated_at"}`. `category_id` must name a category (the table's foreign key:
/// 409 otherwise); `amount_cents` must be positive (the before hooks: 422 otherwise).
#[derive(Resource)]
#[resource(name = "expenses")]
#[allow(dead_code)]
pub struct Expense {
    id: i64,
    /// `?category_id=N` lists one category's expenses.
    #[resource(filter)]
    category_id: i64,
    #[resource(non_blank, max_chars = 200)]
    label: String,
    amount_cents: i64,
    /// `?paid=false`: what the window's "unpaid only" toggle asks for.
    #[resource(default, filter)]
    paid: bool,
    /// `YYYY-MM-DD`, today when omitted (the column's default; its CHECK refuses a non-date: 422).
    #[resource(default)]
    spent_on: String,
    #[resource(created_at)]
    created_at: Datetime,
    #[resource(updated_at)]
    updated_at: Datetime,
}

/// The expenses backend: what `main` runs and the tests drive.
pub fn backend() -> Backend {
    Backend::new("expenses", env!("CARGO_PKG_VERSION"))
        .migrations(qmlbridge_backend::migrations!())
        .resource_with_hooks::<Category>()
        .resource_with_hooks::<Expense>()
        .routes(routes::routes)
}
