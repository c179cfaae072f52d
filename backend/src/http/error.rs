//! `ApiError`: every failure the HTTP layer reports, as `application/problem+json` (RFC 9457)
//! with a fixed status mapping. A client's mistake is a 4xx; 5xx details go to the log only.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use std::sync::atomic::{AtomicBool, Ordering};

use crate::db::WriteFailure;

/// `BRIDGE_ENV=prod`: a 500 shows an opaque `instance` id, not the error chain. Off (the chain
/// shown) only once `serve` has read `BRIDGE_ENV=dev`; an app built for tests reports like prod.
static PROD: AtomicBool = AtomicBool::new(true);

/// Sets how 500s report (`serve` calls it from `BRIDGE_ENV`).
pub(crate) fn set_prod(prod: bool) {
    PROD.store(prod, Ordering::Relaxed);
}

/// The `Content-Type` of every error body.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// An error response: `application/problem+json` with `type`, `title`, `status` and `detail`
/// (RFC 9457). A handler returns `Result<_, ApiError>`; the client's mistakes are 4xx with a
/// `detail` for a user to read, the server's are 5xx whose cause goes to the log only.
///
/// ```
/// use qmlbridge_backend::ApiError;
/// use qmlbridge_backend::axum::Json;
///
/// /// `GET /api/convert?cents=..`: refuses a negative amount with a 422 naming the field.
/// async fn convert(cents: i64) -> Result<Json<f64>, ApiError> {
///     if cents < 0 {
///         return Err(ApiError::field("cents", "must not be negative"));
///     }
///     Ok(Json(cents as f64 / 100.0))
/// }
///
/// assert_eq!(ApiError::Conflict("name is taken".into()).status(), 409);
/// assert_eq!(ApiError::NotFound.status(), 404);
/// # drop(convert(1));
/// ```
#[derive(Debug)]
pub enum ApiError {
    /// 400: malformed JSON or query.
    BadRequest(String),
    /// 401: missing or wrong bearer token.
    Unauthorized,
    /// 404.
    NotFound,
    /// 405.
    MethodNotAllowed,
    /// 406: `Accept` excludes JSON (and problem+json).
    NotAcceptable,
    /// 413: body over `request_body max_size`.
    PayloadTooLarge,
    /// 415: a body that is not `application/json`.
    UnsupportedMediaType,
    /// 421: a `Host` that is not ours (DNS-rebinding guard).
    MisdirectedRequest,
    /// 409: the write conflicts with stored rows: a `UNIQUE` value taken, a foreign key to no
    /// row, a row still referred to (`docs/contract.md` §7 "Constraints").
    Conflict(String),
    /// 422: well-formed JSON with invalid content (also a broken `CHECK` or `NOT NULL`, or an
    /// app hook's refusal: see [`ApiError::field`]).
    Unprocessable(String),
    /// 503: the database is unusable (details logged).
    Unavailable(String),
    /// 507: a write could not be committed for lack of space (details logged).
    InsufficientStorage(String),
    /// 500 (details logged).
    Internal(String),
}

impl ApiError {
    /// The status this error answers with.
    ///
    /// ```
    /// use qmlbridge_backend::ApiError;
    /// use qmlbridge_backend::axum::http::StatusCode;
    ///
    /// assert_eq!(ApiError::Unprocessable("cents must be positive".into()).status(), StatusCode::UNPROCESSABLE_ENTITY);
    /// assert_eq!(ApiError::InsufficientStorage("disk full".into()).status(), 507);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MisdirectedRequest => StatusCode::MISDIRECTED_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `detail` member shown to the client.
    fn detail(&self) -> &str {
        match self {
            ApiError::BadRequest(d) | ApiError::Conflict(d) | ApiError::Unprocessable(d) => d,
            ApiError::Unauthorized => "a valid Authorization: Bearer token is required",
            ApiError::NotFound => "no such resource",
            ApiError::MethodNotAllowed => "this method is not allowed on this resource",
            ApiError::NotAcceptable => {
                "this resource answers application/json only (see the Accept header)"
            }
            ApiError::PayloadTooLarge => "the request body is over the size limit",
            ApiError::UnsupportedMediaType => "the request body must be application/json",
            ApiError::MisdirectedRequest => "this server does not serve that Host",
            ApiError::Unavailable(_) => "the database is unavailable",
            ApiError::InsufficientStorage(_) => {
                "the change was not saved: the disk is full (nothing was changed)"
            }
            ApiError::Internal(_) => "internal error (details are in the server log)",
        }
    }

    /// A failure on the request path that is not the client's: answered 500, the cause
    /// (`context: err`) logged; in dev the `detail` shows it, in prod an `instance` id that is
    /// also on the log line.
    ///
    /// ```
    /// use qmlbridge_backend::ApiError;
    ///
    /// let err = serde_json::from_str::<i64>("x").map_err(|e| ApiError::internal("parsing the total", e));
    /// assert_eq!(err.unwrap_err().status(), 500);
    /// ```
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        ApiError::Internal(format!("{context}: {err}"))
    }

    /// A 422 naming `field`, as the convention's own checks answer: what a resource hook
    /// returns to refuse a write.
    ///
    /// ```
    /// use qmlbridge_backend::ApiError;
    ///
    /// let refusal = ApiError::field("amount", "must be positive");
    /// assert_eq!(refusal.status(), 422);
    /// ```
    pub fn field(field: &str, problem: &str) -> Self {
        ApiError::Unprocessable(format!("{field} {problem}"))
    }

    /// This error carried through a `rusqlite` closure (`Context::write`'s): the write rolls
    /// back and answers with `self`, not a 500 ([`ApiError::write`] unwraps it).
    ///
    /// ```
    /// use qmlbridge_backend::ApiError;
    ///
    /// let err = ApiError::field("title", "is taken").into_sqlite();
    /// assert_eq!(ApiError::write(err).status(), 422);
    /// ```
    pub fn into_sqlite(self) -> rusqlite::Error {
        rusqlite::Error::ToSqlConversionFailure(Box::new(Carried(self)))
    }

    /// A write that did not commit: 507 for a full disk, 503 for failing storage, else 500.
    /// Nothing was changed in either case (the transaction rolled back). An error made with
    /// [`ApiError::into_sqlite`] comes back as itself. [`Context::write`](crate::Context::write)
    /// calls it; a write of your own on [`Db::write`](crate::Db::write) can too.
    ///
    /// ```
    /// use qmlbridge_backend::ApiError;
    /// use qmlbridge_backend::rusqlite::Connection;
    ///
    /// let conn = Connection::open_in_memory().unwrap();
    /// let err = conn.execute("INSERT INTO nowhere VALUES (1)", []).unwrap_err();
    /// assert_eq!(ApiError::write(err).status(), 500);
    /// ```
    pub fn write(err: rusqlite::Error) -> Self {
        let err = match err {
            rusqlite::Error::ToSqlConversionFailure(boxed) => match boxed.downcast::<Carried>() {
                Ok(carried) => return carried.0,
                Err(other) => rusqlite::Error::ToSqlConversionFailure(other),
            },
            other => other,
        };
        if let Some(refusal) = constraint(&err) {
            tracing::info!(target: "qmlbridge_backend::http", "write refused: {err}");
            return refusal;
        }
        let detail = format!("write not committed: {err}");
        match WriteFailure::of(&err) {
            WriteFailure::Full => ApiError::InsufficientStorage(detail),
            WriteFailure::Storage => ApiError::Unavailable(detail),
            WriteFailure::Statement => ApiError::Internal(detail),
        }
    }
}

/// A constraint an app's own write broke, as the client's mistake the convention's routes answer
/// (`docs/contract.md` §7 "Constraints"): `UNIQUE`, the primary key and `FOREIGN KEY` 409,
/// `CHECK` and `NOT NULL` 422. Without the table's schema (the resource routes have it and say
/// more) the detail names the columns SQLite's message names and a `CHECK` by its name only, so
/// it never holds SQL text; `None` for any other error.
fn constraint(err: &rusqlite::Error) -> Option<ApiError> {
    use rusqlite::ffi;
    let rusqlite::Error::SqliteFailure(e, message) = err else {
        return None;
    };
    if e.code != rusqlite::ErrorCode::ConstraintViolation {
        return None;
    }
    let message = message.as_deref().unwrap_or_default();
    let tail = message.split_once(": ").map_or("", |(_, t)| t);
    // `UNIQUE constraint failed: expenses.label, expenses.day` -> `label, day`.
    let columns = || {
        tail.split(", ")
            .map(|c| c.rsplit_once('.').map_or(c, |(_, col)| col))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(match e.extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            let columns = columns();
            let what = if columns.contains(", ") {
                "values"
            } else {
                "value"
            };
            ApiError::Conflict(format!(
                "{columns} must be unique: another row has the same {what}"
            ))
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ApiError::Conflict(
            "a row it refers to does not exist, or other rows still refer to it".to_owned(),
        ),
        ffi::SQLITE_CONSTRAINT_NOTNULL => {
            ApiError::Unprocessable(format!("{} must not be null", columns()))
        }
        ffi::SQLITE_CONSTRAINT_CHECK => {
            let named = !tail.is_empty()
                && tail.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !tail.as_bytes()[0].is_ascii_digit();
            ApiError::Unprocessable(if named {
                format!("the values break the rule `{tail}`")
            } else {
                "the values break a rule of the table".to_owned()
            })
        }
        _ => return None,
    })
}

/// An [`ApiError`] inside a `rusqlite::Error`.
#[derive(Debug)]
struct Carried(ApiError);

impl std::fmt::Display for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0.status(), self.0.detail())
    }
}

impl std::error::Error for Carried {}

/// A problem+json response with `status` and `detail`.
pub(crate) fn problem(status: StatusCode, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            return internal(detail);
        }
        if let ApiError::Unavailable(detail) | ApiError::InsufficientStorage(detail) = &self {
            tracing::error!(target: "qmlbridge_backend::http", "{detail}");
        }
        let mut resp = problem(self.status(), self.detail());
        if let ApiError::Unauthorized = self {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// A 500: in dev the error chain is the `detail`; in prod the client gets an opaque `instance`
/// id that is also on the log line, so a user's report can be matched to the log. The chain
/// comes from our own errors (SQLite's, serde's): never a token or key.
fn internal(chain: &str) -> Response {
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    let mut body = serde_json::json!({
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
    });
    if PROD.load(Ordering::Relaxed) {
        let instance = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        tracing::error!(target: "qmlbridge_backend::http", instance = %instance, "{chain}");
        body["detail"] =
            "internal error (the server log has the details under this instance)".into();
        body["instance"] = instance.into();
    } else {
        tracing::error!(target: "qmlbridge_backend::http", "{chain}");
        body["detail"] = chain.into();
    }
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    resp
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::Unprocessable(rejection.body_text()),
            _ => ApiError::BadRequest(rejection.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::ApiError;

    /// What `ApiError::write` answers for the error of `sql` on a table with every kind of
    /// constraint.
    fn answer(sql: &str) -> (u16, String) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parents (id INTEGER PRIMARY KEY);
             CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INTEGER, c INTEGER,
               parent_id INTEGER REFERENCES parents(id),
               CONSTRAINT b_positive CHECK (b > 0), CHECK (c < 10), UNIQUE (a, c));
             INSERT INTO parents VALUES (1);
             INSERT INTO t (id, a, b, c, parent_id) VALUES (1, 'x', 1, 1, 1);",
        )
        .unwrap();
        let err = conn.execute_batch(sql).unwrap_err();
        let e = ApiError::write(err);
        let detail = match &e {
            ApiError::Conflict(d) | ApiError::Unprocessable(d) | ApiError::Internal(d) => d.clone(),
            other => format!("{other:?}"),
        };
        (e.status().as_u16(), detail)
    }

    #[test]
    fn an_apps_own_write_that_breaks_a_constraint_is_the_clients_mistake() {
        let cases = [
            (
                "INSERT INTO t (a, b, c) VALUES ('x', 1, 1)",
                409,
                "a, c must be unique: another row has the same values",
            ),
            (
                "INSERT INTO t (id, a) VALUES (1, 'y')",
                409,
                "id must be unique: another row has the same value",
            ),
            (
                "INSERT INTO t (a, parent_id) VALUES ('y', 2)",
                409,
                "a row it refers to does not exist, or other rows still refer to it",
            ),
            (
                "DELETE FROM parents",
                409,
                "a row it refers to does not exist, or other rows still refer to it",
            ),
            ("INSERT INTO t (a) VALUES (NULL)", 422, "a must not be null"),
            (
                "INSERT INTO t (a, b) VALUES ('y', 0)",
                422,
                "the values break the rule `b_positive`",
            ),
            // An unnamed CHECK's message is its SQL text: never in the answer.
            (
                "INSERT INTO t (a, c) VALUES ('y', 11)",
                422,
                "the values break a rule of the table",
            ),
        ];
        for (sql, status, detail) in cases {
            assert_eq!(answer(sql), (status, detail.to_owned()), "{sql}");
        }
        // Anything else stays a 500.
        assert_eq!(answer("INSERT INTO nowhere VALUES (1)").0, 500);
    }
}
