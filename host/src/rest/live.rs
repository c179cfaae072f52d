//! Following the backend's Mercure hub (docs/contract.md §8) from the host: wait until the
//! supervisor says Online, subscribe with a freshly minted subscriber JWT and `Last-Event-ID`,
//! tell whether the hub still had the history after that id, and back off between failures.
//! Both `RestModel` and `MercureSubscription` are built on these pieces.

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{Event, Eventsource};
use futures_util::{Stream, StreamExt};
use qmlbridge_supervisor::{ConnectionState, Snapshot};
use reqwest::StatusCode;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::http::without_url;
use crate::session::Session;

/// Reconnect delays after a failed subscription.
const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The events of one open subscription; it ends when the connection does.
pub type Events = Pin<Box<dyn Stream<Item = Event> + Send>>;

/// The outcome of one subscribe.
pub enum Connect {
    Open {
        events: Events,
        /// A `Last-Event-ID` was sent and the hub answered with another one: the updates since
        /// were not kept (a restarted backend, an evicted history), so state must be refetched.
        history_lost: bool,
    },
    /// The backend has no hub (404): live updates are not available.
    NoHub,
    Failed(String),
}

/// Waits until the backend is Online; `None` once the session is shutting down.
pub async fn wait_online(
    session: &Session,
    events: &mut Receiver<qmlbridge_supervisor::Event>,
) -> Option<Snapshot> {
    loop {
        let snapshot = session.snapshot()?;
        if snapshot.state == ConnectionState::Online && !snapshot.url.is_empty() {
            // Drop the state events seen meanwhile: the snapshot is newer.
            while !matches!(
                events.try_recv(),
                Err(TryRecvError::Empty | TryRecvError::Closed)
            ) {}
            return Some(snapshot);
        }
        // Wake on the next state change (or after a second, whichever is first).
        if let Ok(Err(RecvError::Closed)) =
            tokio::time::timeout(Duration::from_secs(1), events.recv()).await
        {
            return None;
        }
    }
}

/// Subscribes to `topics` on the hub of the backend in `snapshot`.
pub async fn connect(
    session: &Session,
    snapshot: &Snapshot,
    topics: &[String],
    last_event_id: Option<&str>,
) -> Connect {
    let query: Vec<(&str, &str)> = topics.iter().map(|t| ("topic", t.as_str())).collect();
    let mut request = session
        .http()
        .get(format!("{}/.well-known/mercure", snapshot.url))
        .query(&query)
        .header(reqwest::header::ACCEPT, "text/event-stream");
    if let Some(key) = &snapshot.mercure_subscriber_key {
        match super::jwt::subscriber_jwt(key.expose()) {
            Ok(jwt) => request = request.bearer_auth(jwt),
            Err(e) => return Connect::Failed(format!("cannot sign the subscriber JWT: {e}")),
        }
    }
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return Connect::Failed(without_url(&e)),
    };
    match response.status() {
        s if s.is_success() => {
            let answered = response
                .headers()
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let history_lost = last_event_id.is_some_and(|sent| answered.as_deref() != Some(sent));
            let events = response
                .bytes_stream()
                .eventsource()
                .take_while(|event| std::future::ready(event.is_ok()))
                .filter_map(|event| std::future::ready(event.ok()))
                .fuse()
                .boxed();
            Connect::Open {
                events,
                history_lost,
            }
        }
        StatusCode::NOT_FOUND => Connect::NoHub,
        s => Connect::Failed(format!("the hub answered {s}")),
    }
}

/// Exponential reconnect delays, reset by a good connection.
#[derive(Debug)]
pub struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(MIN_BACKOFF)
    }
}

impl Backoff {
    pub fn reset(&mut self) {
        self.0 = MIN_BACKOFF;
    }

    /// The delay to wait now.
    pub fn current(&self) -> Duration {
        self.0
    }

    /// Doubles the delay (up to the maximum) for the next failure.
    pub fn grow(&mut self) {
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
    }
}
