//! The resources' hooks ([`ResourceHooks`]): app rules and announcements inside the
//! convention's own writes (`POST`, `PATCH`, `DELETE` on `/api/expenses` and `/api/categories`).
//!
//! - An expense's amount must be positive: `before_create`/`before_update` refuse anything else
//!   with a 422 naming `amount_cents` (the derive's attributes have no such rule), and trim the
//!   label (a computed value, checked again by the field rules).
//! - Every committed change of either resource changes the totals: the `after_*` hooks publish on
//!   [`SUMMARY_TOPIC`], after the row's own update and in commit order, so the window's summary
//!   header fetches `GET /api/summary` again.

use qmlbridge_backend::{ApiError, Hook, LiveUpdate, ResourceHooks, log};
use serde_json::json;

use crate::{Category, Expense, SUMMARY_TOPIC};

impl ResourceHooks for Expense {
    fn before_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        check_amount(hook)?;
        trim_label(hook);
        Ok(())
    }

    fn before_update(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        check_amount(hook)?;
        trim_label(hook);
        Ok(())
    }

    fn after_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        log::info!(
            expense = hook.id(),
            cents = hook.get("amount_cents").and_then(|v| v.as_i64()),
            "expense added"
        );
        announce_totals(hook, "expenses", "create");
        Ok(())
    }

    fn after_update(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        announce_totals(hook, "expenses", "update");
        Ok(())
    }

    fn after_delete(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        announce_totals(hook, "expenses", "delete");
        Ok(())
    }
}

/// A new category is a new (empty) line of the summary; a renamed one changes its label there.
impl ResourceHooks for Category {
    fn after_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        announce_totals(hook, "categories", "create");
        Ok(())
    }

    fn after_update(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        announce_totals(hook, "categories", "update");
        Ok(())
    }

    fn after_delete(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        announce_totals(hook, "categories", "delete");
        Ok(())
    }
}

/// Refuses an amount below one cent. A `PATCH` that leaves the amount alone passes (the field
/// is then absent from the values).
fn check_amount(hook: &Hook<'_>) -> Result<(), ApiError> {
    match hook.get("amount_cents").and_then(|v| v.as_i64()) {
        Some(cents) if cents < 1 => Err(ApiError::field(
            "amount_cents",
            "must be positive (at least 1 cent)",
        )),
        _ => Ok(()),
    }
}

/// Stores the label as the user meant it, without surrounding spaces.
fn trim_label(hook: &mut Hook<'_>) {
    if let Some(label) = hook.get("label").and_then(|v| v.as_str()) {
        let trimmed = label.trim().to_owned();
        hook.set("label", trimmed);
    }
}

/// Publishes `{"resource", "op", "id"}` on [`SUMMARY_TOPIC`] once the write commits.
fn announce_totals(hook: &mut Hook<'_>, resource: &str, op: &str) {
    let data = json!({ "resource": resource, "op": op, "id": hook.id() });
    hook.publish(LiveUpdate::new(
        vec![SUMMARY_TOPIC.to_owned()],
        data.to_string(),
    ));
}
