//! `GET /healthz`: liveness and database check, without auth (`docs/contract.md` §7).

use axum::Json;
use axum::extract::State;

use super::error::{ApiError, problem};
use crate::context::Context;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// 200 `{"status":"ok","version":..}`, or 503 when the database does not answer or its last
/// write could not be committed (until one is: a full disk makes every write fail while reads
/// still work). That failure was logged by the write; this does not log it again.
pub(super) async fn healthz(State(ctx): State<Context>) -> Result<Response, ApiError> {
    if let Some(failure) = ctx.db().write_failure() {
        let detail = format!("database writes are failing: {failure}");
        return Ok(problem(StatusCode::SERVICE_UNAVAILABLE, &detail));
    }
    let conn = ctx.db().reader();
    conn.query_row("SELECT count(*) FROM qmlbridge_migrations", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| ApiError::Unavailable(format!("health check: {e}")))?;
    Ok(Json(serde_json::json!({
        "status": "ok",
        "version": ctx.version(),
    }))
    .into_response())
}
