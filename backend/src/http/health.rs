//! `GET /healthz`: liveness and database check, without auth (`docs/contract.md` §7).

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::error::ApiError;

/// 200 `{"status":"ok","version":..}`, or 503 when the database does not answer.
pub async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let conn = state.db.reader();
    conn.query_row("SELECT count(*) FROM qmlbridge_migrations", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| ApiError::Unavailable(format!("health check: {e}")))?;
    Ok(Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
    })))
}
