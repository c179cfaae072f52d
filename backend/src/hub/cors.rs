//! CORS for the hub (`cors_origins`): browsers on the listed origins may subscribe with
//! credentials (the `mercureAuthorization` cookie), publish, and read `Last-Event-ID`.
//!
//! Written out rather than `tower_http::cors::CorsLayer`, which adds its headers (`Vary`,
//! `Access-Control-Allow-Credentials`, ...) to every response, with or without `Origin`: hyper keeps
//! a finished response's header map for the connection's next request, which for an SSE stream
//! never comes, so every extra header costs each subscriber memory for the stream's whole life
//! (measured: about 4.5 KB per idle subscriber, `scripts/bench-hub.sh`). Here only requests that
//! carry an allowed `Origin` get CORS headers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::mercure::MercureConfig;

const METHODS: &str = "GET, POST, OPTIONS";
const HEADERS: &str = "authorization, cache-control, content-type, last-event-id";
const PREFLIGHT_VARY: &str =
    "origin, access-control-request-method, access-control-request-headers";

/// The origins of `cors_origins`; `*` allows any (the request's origin is echoed, since a literal
/// `*` forbids credentials).
#[derive(Debug, Clone)]
pub struct Origins {
    any: bool,
    list: Arc<[String]>,
}

impl Origins {
    /// `None` when `cors_origins` is empty (same-origin only: no CORS headers at all).
    pub fn new(config: &MercureConfig) -> Option<Self> {
        if config.cors_origins.is_empty() {
            return None;
        }
        Some(Self {
            any: config.cors_origins.iter().any(|o| o == "*"),
            list: config.cors_origins.iter().cloned().collect(),
        })
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        self.any
            || origin
                .to_str()
                .is_ok_and(|o| self.list.iter().any(|l| l == o))
    }
}

/// Answers preflights and adds the CORS headers to responses for an allowed `Origin`.
pub async fn middleware(State(origins): State<Origins>, request: Request, next: Next) -> Response {
    let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
        return next.run(request).await;
    };
    let allowed = origins.allows(&origin);
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        h.insert(header::VARY, HeaderValue::from_static(PREFLIGHT_VARY));
        if allowed {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(METHODS),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(HEADERS),
            );
        }
        return response;
    }
    let mut response = next.run(request).await;
    if allowed {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("last-event-id"),
        );
        h.append(header::VARY, HeaderValue::from_static("origin"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_or_any() {
        let config = |o: &[&str]| MercureConfig {
            cors_origins: o.iter().map(|s| s.to_string()).collect(),
            ..MercureConfig::default()
        };
        assert!(Origins::new(&config(&[])).is_none());
        let listed = Origins::new(&config(&["http://a:1"])).unwrap();
        assert!(listed.allows(&HeaderValue::from_static("http://a:1")));
        assert!(!listed.allows(&HeaderValue::from_static("http://b:1")));
        let any = Origins::new(&config(&["*"])).unwrap();
        assert!(any.allows(&HeaderValue::from_static("http://b:1")));
    }
}
