//! Requests to the backend with whatever URL and bearer token the supervisor holds *now*
//! (docs/contract.md §7, §9): a token rotation needs no QML code, and a request that meets 401
//! because the backend was respawned with a new token meanwhile is sent once more with it.
//! Failures become one user-facing text: the problem+json `detail` or `title`, never a secret.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

use crate::session::{self, Session};

/// One request never takes longer than this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a 401 waits for the supervisor to announce a new token before it is the answer.
const ROTATION_WAIT: Duration = Duration::from_secs(3);

/// Why a request has no response to show.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("the host is shutting down")]
    ShuttingDown,
    #[error("the backend is not running yet")]
    NotRunning,
    #[error("backend unreachable: {0}")]
    Unreachable(String),
    #[error("invalid response from the backend: {0}")]
    Invalid(String),
}

/// A finished request: its status and body (parsed JSON; `Null` when empty or not JSON).
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub body: Value,
    /// The body when it was not JSON (text as received, lossy UTF-8).
    pub text: Option<String>,
}

impl Response {
    /// The user-facing error text of a non-2xx response (§7: problem+json), else `None`.
    pub fn error_text(&self) -> Option<String> {
        if self.status.is_success() {
            return None;
        }
        let text = self.body["detail"]
            .as_str()
            .filter(|s| !s.is_empty())
            .or(self.body["title"].as_str())
            .map(str::to_owned)
            .or_else(|| self.text.clone().filter(|t| !t.trim().is_empty()))
            .unwrap_or_else(|| {
                self.status
                    .canonical_reason()
                    .unwrap_or("request failed")
                    .to_owned()
            });
        Some(format!("{} ({})", text.trim(), self.status.as_u16()))
    }
}

/// The URL and bearer token to use right now.
fn target(session: &Session) -> Result<(String, String), RequestError> {
    let snapshot = session.snapshot().ok_or(RequestError::ShuttingDown)?;
    if snapshot.url.is_empty() {
        return Err(RequestError::NotRunning);
    }
    let token = snapshot.token.as_ref().map(|t| t.expose().to_owned());
    Ok((snapshot.url, token.unwrap_or_default()))
}

/// reqwest's message without the URL (it could carry a query with a secret one day).
pub fn without_url(error: &reqwest::Error) -> String {
    let mut error = error.to_string();
    if let Some(at) = error.find(" for url (") {
        error.truncate(at);
    }
    error
}

/// Sends `method path?query` with an optional JSON body to the backend.
pub async fn send(
    method: Method,
    path: &str,
    query: &[(String, String)],
    body: Option<&Value>,
) -> Result<Response, RequestError> {
    let session = session::get().ok_or(RequestError::ShuttingDown)?;
    // Subscribe before the first attempt, so a rotation announced meanwhile is not missed.
    let mut events = session.subscribe();
    let (url, token) = target(session)?;
    let (response, token) = match attempt(session, &method, &url, &token, path, query, body).await {
        // A backend killed mid-request resets the connection; the supervisor respawns it on the
        // same socket (§3), so a request that may be repeated (RFC 9110 §9.2.2) is, once.
        Err(RequestError::Unreachable(_)) if method.is_idempotent() => {
            wait_online(session, events.as_mut()).await;
            let (url, token) = target(session)?;
            let response = attempt(session, &method, &url, &token, path, query, body).await?;
            (response, token)
        }
        other => (other?, token),
    };
    if response.status() != StatusCode::UNAUTHORIZED {
        return read(response).await;
    }
    // §9: a respawned backend has a new token; the 401 may be the old one's.
    let deadline = tokio::time::Instant::now() + ROTATION_WAIT;
    loop {
        let (url2, token2) = target(session)?;
        if token2 != token {
            let retried = attempt(session, &method, &url2, &token2, path, query, body).await?;
            return read(retried).await;
        }
        let Some(rx) = events.as_mut() else {
            return read(response).await;
        };
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) | Err(_) => return read(response).await,
        }
    }
}

/// Waits (at most [`ROTATION_WAIT`]) until the supervisor reports Online again.
async fn wait_online(
    session: &Session,
    mut events: Option<&mut tokio::sync::broadcast::Receiver<qmlbridge_supervisor::Event>>,
) {
    let deadline = tokio::time::Instant::now() + ROTATION_WAIT;
    loop {
        let online = session
            .snapshot()
            .is_some_and(|s| s.state == qmlbridge_supervisor::ConnectionState::Online);
        let Some(rx) = events.as_deref_mut() else {
            return;
        };
        if online {
            return;
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) | Err(_) => return,
        }
    }
}

async fn attempt(
    session: &Session,
    method: &Method,
    url: &str,
    token: &str,
    path: &str,
    query: &[(String, String)],
    body: Option<&Value>,
) -> Result<reqwest::Response, RequestError> {
    let mut request = session
        .http()
        .request(method.clone(), format!("{url}{path}"))
        .bearer_auth(token)
        .timeout(REQUEST_TIMEOUT);
    if !query.is_empty() {
        request = request.query(query);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request
        .send()
        .await
        .map_err(|e| RequestError::Unreachable(without_url(&e)))
}

async fn read(response: reqwest::Response) -> Result<Response, RequestError> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| RequestError::Invalid(without_url(&e)))?;
    if bytes.is_empty() {
        return Ok(Response {
            status,
            body: Value::Null,
            text: None,
        });
    }
    Ok(match serde_json::from_slice(&bytes) {
        Ok(body) => Response {
            status,
            body,
            text: None,
        },
        Err(_) => Response {
            status,
            body: Value::Null,
            text: Some(String::from_utf8_lossy(&bytes).into_owned()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(status: u16, body: Value, text: Option<&str>) -> Response {
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            body,
            text: text.map(str::to_owned),
        }
    }

    #[test]
    fn error_text_prefers_the_problem_detail_then_title_then_text() {
        let detail = json!({"title": "Unprocessable Entity", "detail": "title must not be empty"});
        assert_eq!(
            response(422, detail, None).error_text().unwrap(),
            "title must not be empty (422)"
        );
        let title = json!({"title": "Not Found", "detail": ""});
        assert_eq!(
            response(404, title, None).error_text().unwrap(),
            "Not Found (404)"
        );
        let hub = response(400, Value::Null, Some("too many topics\n"));
        assert_eq!(hub.error_text().unwrap(), "too many topics (400)");
        assert_eq!(
            response(503, Value::Null, None).error_text().unwrap(),
            "Service Unavailable (503)"
        );
        assert!(response(201, json!({}), None).error_text().is_none());
    }
}
