//! What the hub's three handlers ([`super::subscribe`], [`super::publish`],
//! [`super::subscriptions`]) share: the query string's pairs and the plain-text error answers
//! (the hub's errors are `text/plain`, as in Mercure.rocks; `docs/contract.md` §8).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth;

/// Parses a query string into its (decoded) pairs, keeping repeats (`topic` is repeated).
pub(super) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// A plain-text answer with `code` and `text`.
pub(super) fn status(code: StatusCode, text: &'static str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// A 400 for a parameter (or claim) beyond the hub's bounds, saying which bound.
pub(super) fn refused(what: &str, why: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("Invalid {what}: {why}\n"),
    )
        .into_response()
}

/// The answer to a request whose token (or origin) is refused: 401 or 403.
pub(super) fn denied(d: auth::Denied) -> Response {
    match d {
        auth::Denied::Unauthorized => status(StatusCode::UNAUTHORIZED, "Unauthorized\n"),
        auth::Denied::Origin => status(StatusCode::FORBIDDEN, "Origin not allowed\n"),
    }
}
