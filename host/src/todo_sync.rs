//! The network side of the todo model, Qt-free, on the session's tokio runtime:
//! a worker that runs REST requests one at a time with the *current* bearer token (a rotation
//! needs no QML code), and a live loop that follows the Mercure hub (docs/contract.md §8),
//! reconnecting with `Last-Event-ID` and refetching after every (re)connect.

use std::sync::Arc;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use qmlbridge_supervisor::{ConnectionState, Snapshot};
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::session;
use crate::todos::{Change, Todo, parse_update};

const TARGET: &str = "qmlbridge::todos";
/// One REST request never takes longer than this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Without a hub (404) the live loop polls at this interval instead.
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Reconnect delays to the hub after a failed subscription.
const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What QML asked for.
#[derive(Debug)]
pub enum Command {
    Refresh,
    Add(String),
    SetDone(i64, bool),
    Remove(i64),
}

/// What happened; delivered to the model on the GUI thread.
#[derive(Debug)]
pub enum Outcome {
    Changed(Change),
    /// A request failed; the text is for the user (never contains a secret).
    Failed(String),
    /// The live stream from the hub was opened (`true`, after the refetch) or lost.
    Live(bool),
}

/// Delivers an outcome to the model; `false` when the model is gone (the loops then stop).
pub type Deliver = Arc<dyn Fn(Outcome) -> bool + Send + Sync>;

/// The running tasks of one model; dropping it stops them.
pub struct SyncTasks {
    commands: mpsc::UnboundedSender<Command>,
    tasks: Vec<AbortHandle>,
}

impl SyncTasks {
    /// Starts the worker and the live loop for one model.
    pub fn start(deliver: Deliver) -> SyncTasks {
        let runtime = session::get().runtime();
        let (commands, rx) = mpsc::unbounded_channel();
        let worker = runtime.spawn(worker(rx, deliver.clone()));
        let live = runtime.spawn(live(deliver));
        SyncTasks {
            commands,
            tasks: vec![worker.abort_handle(), live.abort_handle()],
        }
    }

    /// Queues a command; never blocks.
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }
}

impl Drop for SyncTasks {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn worker(mut commands: mpsc::UnboundedReceiver<Command>, deliver: Deliver) {
    while let Some(command) = commands.recv().await {
        let outcome = match request(command).await {
            Ok(change) => Outcome::Changed(change),
            Err(message) => {
                tracing::warn!(target: TARGET, "{message}");
                Outcome::Failed(message)
            }
        };
        if !deliver(outcome) {
            break;
        }
    }
}

/// The URL and bearer token to use right now.
fn target() -> Result<(String, String), String> {
    let snapshot = session::get()
        .snapshot()
        .ok_or("the host is shutting down")?;
    if snapshot.url.is_empty() {
        return Err("the backend is not running yet".into());
    }
    let token = snapshot.token.as_ref().map(|t| t.expose().to_owned());
    Ok((snapshot.url, token.unwrap_or_default()))
}

async fn request(command: Command) -> Result<Change, String> {
    let (url, token) = target()?;
    let http = session::get().http();
    let api = format!("{url}/api/todos");
    let builder = match &command {
        Command::Refresh => http.get(&api).query(&[("limit", "1000")]),
        Command::Add(title) => http.post(&api).json(&json!({ "title": title })),
        Command::SetDone(id, done) => http
            .patch(format!("{api}/{id}"))
            .json(&json!({ "done": done })),
        Command::Remove(id) => http.delete(format!("{api}/{id}")),
    };
    let response = builder
        .bearer_auth(token)
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("backend unreachable: {}", without_url(&e)))?;
    let status = response.status();
    if let Command::Remove(id) = command {
        // 404: someone else deleted it first; either way it is gone.
        if status.is_success() || status == StatusCode::NOT_FOUND {
            return Ok(Change::Removed(id));
        }
    }
    if !status.is_success() {
        return Err(problem(response).await);
    }
    let invalid =
        |e: reqwest::Error| format!("invalid response from the backend: {}", without_url(&e));
    match command {
        Command::Refresh => Ok(Change::Replace(
            response.json::<Vec<Todo>>().await.map_err(invalid)?,
        )),
        _ => Ok(Change::Upsert(
            response.json::<Todo>().await.map_err(invalid)?,
        )),
    }
}

/// A user-facing text for an error response: the problem+json `detail` or `title` (§7).
async fn problem(response: reqwest::Response) -> String {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let text = body["detail"]
        .as_str()
        .or(body["title"].as_str())
        .unwrap_or("request failed");
    format!("{text} ({})", status.as_u16())
}

/// reqwest's message without the URL (it could carry a query with a secret one day).
fn without_url(error: &reqwest::Error) -> String {
    let mut error = error.to_string();
    if let Some(at) = error.find(" for url (") {
        error.truncate(at);
    }
    error
}

/// Follows the hub while the backend is Online. After every (re)connect it refetches the whole
/// list *after* the subscription is open (a restart, a token rotation or a lost connection may
/// have dropped updates), then applies the buffered stream in order, so nothing falls between
/// the two.
async fn live(deliver: Deliver) {
    let Some(mut events) = session::get().subscribe() else {
        return;
    };
    let mut last_event_id: Option<String> = None;
    let mut backoff = MIN_BACKOFF;
    loop {
        let Some(snapshot) = session::get().snapshot() else {
            return;
        };
        if snapshot.state != ConnectionState::Online || snapshot.url.is_empty() {
            // Wake on the next state change (or after a second, whichever is first).
            let next = tokio::time::timeout(Duration::from_secs(1), events.recv()).await;
            if let Ok(Err(RecvError::Closed)) = next {
                return;
            }
            continue;
        }
        match subscribe(&snapshot, last_event_id.as_deref()).await {
            Ok(response) => {
                backoff = MIN_BACKOFF;
                let mut stream = response.bytes_stream().eventsource();
                if !refetch(&deliver).await || !deliver(Outcome::Live(true)) {
                    return;
                }
                while let Some(event) = stream.next().await {
                    let Ok(event) = event else { break };
                    if !event.id.is_empty() {
                        last_event_id = Some(event.id);
                    }
                    if let Some(change) = parse_update(&event.data)
                        && !deliver(Outcome::Changed(change))
                    {
                        return;
                    }
                }
                tracing::debug!(target: TARGET, "hub stream ended; reconnecting");
                if !deliver(Outcome::Live(false)) {
                    return;
                }
            }
            Err(Subscribe::NoHub) => {
                // A backend without a hub still works, just not live: poll.
                if !refetch(&deliver).await {
                    return;
                }
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            Err(Subscribe::Failed(message)) => {
                tracing::debug!(target: TARGET, "hub subscription failed: {message}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        // Drop the state events seen meanwhile; the snapshot above is re-read anyway.
        while !matches!(
            events.try_recv(),
            Err(TryRecvError::Empty | TryRecvError::Closed)
        ) {}
    }
}

/// `GET /api/todos` with the current token, delivered as a `Replace`; `false` when the model is
/// gone.
async fn refetch(deliver: &Deliver) -> bool {
    let outcome = match request(Command::Refresh).await {
        Ok(change) => Outcome::Changed(change),
        Err(message) => {
            tracing::warn!(target: TARGET, "{message}");
            Outcome::Failed(message)
        }
    };
    deliver(outcome)
}

enum Subscribe {
    /// The backend has no hub (404): poll instead.
    NoHub,
    Failed(String),
}

async fn subscribe(
    snapshot: &Snapshot,
    last_event_id: Option<&str>,
) -> Result<reqwest::Response, Subscribe> {
    let mut request = session::get()
        .http()
        .get(format!("{}/.well-known/mercure", snapshot.url))
        .query(&[("topic", "/api/todos")])
        .header(reqwest::header::ACCEPT, "text/event-stream");
    if let Some(key) = &snapshot.mercure_subscriber_key {
        let jwt = crate::mercure::subscriber_jwt(key.expose())
            .map_err(|e| Subscribe::Failed(format!("cannot sign the subscriber JWT: {e}")))?;
        request = request.bearer_auth(jwt);
    }
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request
        .send()
        .await
        .map_err(|e| Subscribe::Failed(without_url(&e)))?;
    match response.status() {
        s if s.is_success() => Ok(response),
        StatusCode::NOT_FOUND => Err(Subscribe::NoHub),
        s => Err(Subscribe::Failed(format!("hub answered {s}"))),
    }
}
