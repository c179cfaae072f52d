//! The app's own routes beside the convention's: `GET /api/summary` (a read with SQL over both
//! tables) and `POST /api/settle` (a write over many expenses that announces each changed row,
//! so every `RestModel` on `expenses` follows, and defers its bookkeeping). Both are behind the
//! bearer token like every route under `/api`.

use qmlbridge_backend::axum::extract::{Query, State};
use qmlbridge_backend::axum::routing::{get, post};
use qmlbridge_backend::axum::{Json, Router};
use qmlbridge_backend::rusqlite::{self, Connection, OptionalExtension};
use qmlbridge_backend::{ApiError, Context, LiveUpdate, log};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Expense, SUMMARY_TOPIC};

/// Adds the app's routes to the framework's router.
pub fn routes(router: Router<Context>) -> Router<Context> {
    router
        .route("/api/summary", get(summary))
        .route("/api/settle", post(settle))
}

/// `GET /api/summary`: `{"total_cents", "unpaid_cents", "categories": [{"id", "name",
/// "total_cents", "unpaid_cents", "expenses"}], "settlements", "last_settled_at"}`, every
/// category listed by name (the empty ones with zeros).
async fn summary(State(ctx): State<Context>) -> Result<Json<Value>, ApiError> {
    let summary = ctx.read(read_summary)?;
    Ok(Json(summary))
}

fn read_summary(conn: &Connection) -> rusqlite::Result<Value> {
    let mut stmt = conn.prepare(
        "SELECT c.id, c.name, coalesce(sum(e.amount_cents), 0),
                coalesce(sum(CASE WHEN e.paid = 0 THEN e.amount_cents END), 0), count(e.id)
         FROM categories c LEFT JOIN expenses e ON e.category_id = c.id
         GROUP BY c.id ORDER BY c.name, c.id",
    )?;
    let categories = stmt
        .query_map([], |r| {
            Ok(json!({
                "id": r.get::<_, i64>(0)?,
                "name": r.get::<_, String>(1)?,
                "total_cents": r.get::<_, i64>(2)?,
                "unpaid_cents": r.get::<_, i64>(3)?,
                "expenses": r.get::<_, i64>(4)?,
            }))
        })?
        .collect::<rusqlite::Result<Vec<Value>>>()?;
    let (total, unpaid): (i64, i64) = conn.query_row(
        "SELECT coalesce(sum(amount_cents), 0),
                coalesce(sum(CASE WHEN paid = 0 THEN amount_cents END), 0)
         FROM expenses",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (settlements, last): (i64, Option<String>) = conn.query_row(
        "SELECT count(*), max(settled_at) FROM settlements",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(json!({
        "total_cents": total,
        "unpaid_cents": unpaid,
        "categories": categories,
        "settlements": settlements,
        "last_settled_at": last,
    }))
}

/// `POST /api/settle`'s query: `?category_id=N` settles one category only.
#[derive(Debug, Deserialize)]
struct SettleQuery {
    category_id: Option<i64>,
}

/// `POST /api/settle[?category_id=N]`: marks the unpaid expenses paid and answers
/// `{"settled": [ids], "amount_cents": N}` (404 for a category that does not exist).
///
/// The rows are announced with [`Context::write_announcing`]: once the write commits each one
/// gets the convention's own update, so a list of unpaid expenses drops them as it would after a
/// `PATCH`. The totals' topic is published after the write (a custom write announces rows, not
/// topics of its own); its data only says *that* the totals changed, so its order against other
/// writes' announcements does not matter: each makes the window fetch the summary again.
async fn settle(
    State(ctx): State<Context>,
    Query(query): Query<SettleQuery>,
) -> Result<Json<Value>, ApiError> {
    let category = query.category_id;
    let (ids, cents) = ctx
        .write_announcing(move |conn, changes| {
            if let Some(id) = category {
                let found = conn
                    .query_row("SELECT 1 FROM categories WHERE id = ?1", [id], |_| Ok(()))
                    .optional()?;
                if found.is_none() {
                    return Err(ApiError::NotFound.into_sqlite());
                }
            }
            let mut stmt = conn.prepare(
                "UPDATE expenses SET paid = 1,
                        updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                 WHERE paid = 0 AND (?1 IS NULL OR category_id = ?1)
                 RETURNING id, amount_cents",
            )?;
            let rows = stmt
                .query_map([category], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            changes.rows::<Expense>(rows.iter().map(|&(id, _)| id));
            let cents: i64 = rows.iter().map(|&(_, c)| c).sum();
            Ok((
                rows.into_iter().map(|(id, _)| id).collect::<Vec<_>>(),
                cents,
            ))
        })
        .await?;
    if !ids.is_empty() {
        let data = json!({ "resource": "expenses", "op": "settle", "ids": ids });
        ctx.live().publish(LiveUpdate::new(
            vec![SUMMARY_TOPIC.to_owned()],
            data.to_string(),
        ));
        record_settlement(&ctx, ids.len(), cents);
    }
    Ok(Json(json!({ "settled": ids, "amount_cents": cents })))
}

/// Writes the settlement's line in `settlements` after the response has gone out: bookkeeping
/// the user does not wait for (a second commit, a second fsync). The backend's shutdown waits
/// for it within its grace period; a failure is logged, the expenses stay settled.
fn record_settlement(ctx: &Context, count: usize, cents: i64) {
    let worker = ctx.clone();
    ctx.defer(async move {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        let written = worker
            .write_with(
                move |conn| {
                    conn.execute(
                        "INSERT INTO settlements (expenses, amount_cents) VALUES (?1, ?2)",
                        [count, cents],
                    )
                },
                |_| {
                    let data = json!({ "resource": "settlements", "op": "create" });
                    Some(LiveUpdate::new(
                        vec![SUMMARY_TOPIC.to_owned()],
                        data.to_string(),
                    ))
                },
            )
            .await;
        match written {
            Ok(_) => log::info!(expenses = count, cents, "settlement recorded"),
            Err(e) => log::error!("settlement of {count} expenses not recorded: {e:?}"),
        }
    });
}
