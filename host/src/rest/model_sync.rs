//! The network side of `RestModel`, Qt-free, on the session's runtime: one task per model keeps
//! the authoritative copy of one resource's list (docs/contract.md §7) and tells the model the
//! row operations that follow it.
//!
//! - **Fetching** pages with `after=<last id>` until a short page (keyset paging: nothing is
//!   skipped or repeated while other clients change the list), *after* the hub subscription is
//!   open, so no update falls between the two.
//! - **Updates during a fetch** are buffered and applied once the pages cover their row: a row
//!   not fetched yet would be overwritten (or brought back) by its page, so an update to it waits
//!   until that page is in; updates are applied in the hub's order, which is commit order (§8).
//! - **After every (re)connect** the list is refetched and diffed against what the model shows:
//!   a restarted backend has a new hub whose history does not reach back.
//! - **Writes** run concurrently; while live, their result arrives through the hub like any other
//!   change (applying the response too could undo a newer update that overtook it); without a
//!   hub the response is applied and the list is polled.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::http::{self, RequestError};
use super::live::{self, Backoff, Connect, Events};
use super::rows::{Filter, List, Row, RowOp, Update, parse_update};
use crate::session;

const TARGET: &str = "qmlbridge::rest";
/// The page size: the backend's largest `limit` (§7).
pub const PAGE: usize = 1000;
/// Without a hub (404) the list is polled at this interval instead.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Which list a model shows.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Spec {
    /// The resource's name: `GET /api/<resource>`, topic `/api/<resource>`.
    pub resource: String,
    /// Filter parameters, sent with every page and applied to live updates.
    pub filter: Filter,
}

impl Spec {
    /// The list of `resource` filtered by `query` (a JSON object of field values, or null);
    /// the error names what is wrong.
    pub fn new(resource: &str, query: &Value) -> Result<Spec, String> {
        if !valid_resource(resource) {
            return Err(format!(
                "{resource:?} is not a resource name ([a-z][a-z0-9_-]*)"
            ));
        }
        Ok(Spec {
            resource: resource.to_owned(),
            filter: filter_of(query)?,
        })
    }
}

/// Parameters the model sets itself while paging (§7).
const PAGING: [&str; 3] = ["limit", "offset", "after"];

/// A filter from a model's `query`: an object of scalar values (or nothing).
fn filter_of(query: &Value) -> Result<Filter, String> {
    let map = match query {
        Value::Null => return Ok(Filter::default()),
        Value::Object(map) => map,
        _ => return Err("query must be an object of field values".into()),
    };
    let mut filter = Vec::new();
    for (key, value) in map {
        if PAGING.contains(&key.as_str()) {
            return Err(format!(
                "query: `{key}` is set by RestModel itself (it pages by key)"
            ));
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(format!(
                    "query: `{key}` must be a string, number or boolean"
                ));
            }
        };
        filter.push((key.clone(), text));
    }
    Ok(Filter(filter))
}

/// A resource name the convention allows (§7), so a typo is named here, not a 404.
fn valid_resource(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && name.len() <= 64
}

/// What the model is told, on the GUI thread.
#[derive(Debug)]
pub enum Output {
    Ops(Vec<RowOp>),
    Loading(bool),
    /// The last request's error text for the user; empty after a success.
    Error(String),
    /// Following the hub right now: other clients' changes arrive without a refetch.
    Live(bool),
}

/// Delivers an output to the model; `false` when the model is gone (the task then stops).
pub type Deliver = Arc<dyn Fn(Output) -> bool + Send + Sync>;

enum Msg {
    Refresh,
    /// A write of ours succeeded with this result.
    Wrote(Update),
}

/// The running task of one model; dropping it stops the task (writes in flight still finish).
pub struct ModelSync {
    spec: Spec,
    deliver: Deliver,
    tx: mpsc::UnboundedSender<Msg>,
    task: AbortHandle,
}

impl ModelSync {
    /// Starts following `spec`; `None` without a session (nothing to talk to).
    pub fn start(spec: Spec, deliver: Deliver) -> Option<ModelSync> {
        let session = session::get()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let task = session
            .runtime()
            .spawn(run(spec.clone(), deliver.clone(), rx))
            .abort_handle();
        Some(ModelSync {
            spec,
            deliver,
            tx,
            task,
        })
    }

    /// Refetches the whole list.
    pub fn refresh(&self) {
        let _ = self.tx.send(Msg::Refresh);
    }

    /// `POST /api/<resource>` with `object`.
    pub fn create(&self, object: Value) {
        self.write(Method::POST, String::new(), Some(object), None);
    }

    /// `PATCH /api/<resource>/<id>` with `patch`.
    pub fn update(&self, id: i64, patch: Value) {
        self.write(Method::PATCH, format!("/{id}"), Some(patch), None);
    }

    /// `DELETE /api/<resource>/<id>` (already gone counts as removed).
    pub fn remove(&self, id: i64) {
        self.write(Method::DELETE, format!("/{id}"), None, Some(id));
    }

    fn write(&self, method: Method, suffix: String, body: Option<Value>, removed: Option<i64>) {
        let Some(session) = session::get() else {
            return;
        };
        let path = format!("/api/{}{suffix}", self.spec.resource);
        let (tx, deliver) = (self.tx.clone(), self.deliver.clone());
        session.runtime().spawn(async move {
            let outcome = match http::send(method, &path, &[], body.as_ref()).await {
                Ok(r) if removed.is_some() && r.status == StatusCode::NOT_FOUND => {
                    Ok(removed.map(Update::Deleted))
                }
                Ok(r) => match r.error_text() {
                    Some(text) => Err(text),
                    None => Ok(removed
                        .map(Update::Deleted)
                        .or_else(|| Row::from_json(r.body).map(Update::Upsert))),
                },
                Err(e) => Err(e.to_string()),
            };
            match outcome {
                Ok(update) => {
                    deliver(Output::Error(String::new()));
                    if let Some(update) = update {
                        let _ = tx.send(Msg::Wrote(update));
                    }
                }
                Err(text) => {
                    tracing::warn!(target: TARGET, "{path}: {text}");
                    deliver(Output::Error(text));
                }
            }
        });
    }
}

impl Drop for ModelSync {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The model's task: connect, fetch, follow; reconnect and refetch after every loss.
async fn run(spec: Spec, deliver: Deliver, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let Some(session) = session::get() else {
        return;
    };
    let Some(mut states) = session.subscribe() else {
        return;
    };
    let topics = [format!("/api/{}", spec.resource)];
    let mut state = State {
        spec,
        deliver,
        list: List::default(),
        last_event_id: None,
    };
    let mut backoff = Backoff::default();
    loop {
        let Some(snapshot) = live::wait_online(session, &mut states).await else {
            return;
        };
        let last = state.last_event_id.clone();
        match live::connect(session, &snapshot, &topics, last.as_deref()).await {
            Connect::Open { mut events, .. } => {
                backoff.reset();
                if !state.refetch(Some(&mut events)).await {
                    // The failure is shown; try again after a pause, as for a failed subscribe.
                    if !state.idle(&mut rx, backoff_delay(&mut backoff)).await {
                        return;
                    }
                    continue;
                }
                if !(state.deliver)(Output::Live(true)) {
                    return;
                }
                if !state.follow(&mut events, &mut rx).await {
                    return;
                }
                tracing::debug!(target: TARGET, "hub stream ended; reconnecting");
                if !(state.deliver)(Output::Live(false)) {
                    return;
                }
            }
            Connect::NoHub => {
                // A backend without a hub still works, just not live: poll.
                state.refetch(None).await;
                if !state.idle(&mut rx, POLL_INTERVAL).await {
                    return;
                }
            }
            Connect::Failed(message) => {
                tracing::debug!(target: TARGET, "hub subscription failed: {message}");
                if !state.idle(&mut rx, backoff_delay(&mut backoff)).await {
                    return;
                }
            }
        }
    }
}

/// The next backoff delay (and doubles it for the time after).
fn backoff_delay(backoff: &mut Backoff) -> Duration {
    let delay = backoff.current();
    backoff.grow();
    delay
}

struct State {
    spec: Spec,
    deliver: Deliver,
    list: List,
    last_event_id: Option<String>,
}

impl State {
    /// Follows the open stream until it ends; `false` when the model is gone.
    async fn follow(&mut self, events: &mut Events, rx: &mut mpsc::UnboundedReceiver<Msg>) -> bool {
        loop {
            tokio::select! {
                event = events.next() => {
                    let Some(event) = event else { return true };
                    if !event.id.is_empty() {
                        self.last_event_id = Some(event.id);
                    }
                    if let Some(update) = parse_update(&event.data)
                        && let Some(op) = self.list.update(update, &self.spec.filter)
                        && !(self.deliver)(Output::Ops(vec![op]))
                    {
                        return false;
                    }
                }
                msg = rx.recv() => match msg {
                    None => return false,
                    Some(Msg::Refresh) => {
                        self.refetch(Some(events)).await;
                    }
                    // Live: the hub brings our own writes in commit order.
                    Some(Msg::Wrote(_)) => {}
                },
            }
        }
    }

    /// Waits `delay` while not live: our writes' results are applied, a refresh ends the wait.
    async fn idle(&mut self, rx: &mut mpsc::UnboundedReceiver<Msg>, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return true,
                msg = rx.recv() => match msg {
                    None => return false,
                    Some(Msg::Refresh) => return true,
                    Some(Msg::Wrote(update)) => {
                        if let Some(op) = self.list.update(update, &self.spec.filter)
                            && !(self.deliver)(Output::Ops(vec![op]))
                        {
                            return false;
                        }
                    }
                },
            }
        }
    }

    /// Fetches the whole list (buffering the stream's updates meanwhile) and hands the model the
    /// difference; `false` when the fetch failed (the error is delivered).
    async fn refetch(&mut self, events: Option<&mut Events>) -> bool {
        (self.deliver)(Output::Loading(true));
        let fetched = fetch_all(&self.spec, events, &mut self.last_event_id).await;
        let ok = match fetched {
            Ok(rows) => {
                let ops = self.list.replace(rows);
                if !ops.is_empty() {
                    (self.deliver)(Output::Ops(ops));
                }
                (self.deliver)(Output::Error(String::new()));
                true
            }
            Err(text) => {
                tracing::warn!(target: TARGET, "GET /api/{}: {text}", self.spec.resource);
                (self.deliver)(Output::Error(text));
                false
            }
        };
        (self.deliver)(Output::Loading(false));
        ok
    }
}

/// Every page of the list, with the stream's updates that arrived meanwhile applied where the
/// pages already cover their row (see the module docs).
async fn fetch_all(
    spec: &Spec,
    mut events: Option<&mut Events>,
    last_event_id: &mut Option<String>,
) -> Result<Vec<Row>, String> {
    let path = format!("/api/{}", spec.resource);
    let mut list = List::default();
    let mut buffered: Vec<Update> = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let mut query = spec.filter.0.clone();
        query.push(("limit".into(), PAGE.to_string()));
        if let Some(after) = after {
            query.push(("after".into(), after.to_string()));
        }
        let page = http::send(Method::GET, &path, &query, None);
        tokio::pin!(page);
        let page = loop {
            let Some(stream) = events.as_deref_mut() else {
                break page.await;
            };
            tokio::select! {
                biased;
                page = &mut page => break page,
                event = stream.next() => match event {
                    Some(event) => {
                        if !event.id.is_empty() {
                            *last_event_id = Some(event.id);
                        }
                        buffered.extend(parse_update(&event.data));
                    }
                    // The connection is gone: finish the fetch; the caller reconnects.
                    None => events = None,
                },
            }
        };
        let rows = parse_page(page)?;
        let full = rows.len() == PAGE;
        let last = rows.last().map(|r| r.id);
        list.append(rows);
        // The pages now cover every key up to `frontier`.
        let frontier = if full {
            last.unwrap_or(i64::MAX)
        } else {
            i64::MAX
        };
        let (now, later): (Vec<Update>, Vec<Update>) =
            buffered.drain(..).partition(|u| u.id() <= frontier);
        buffered = later;
        for update in now {
            list.update(update, &spec.filter);
        }
        if !full {
            return Ok(list.into_rows());
        }
        after = last;
    }
}

fn parse_page(page: Result<http::Response, RequestError>) -> Result<Vec<Row>, String> {
    let page = page.map_err(|e| e.to_string())?;
    if let Some(text) = page.error_text() {
        return Err(text);
    }
    let Value::Array(items) = page.body else {
        return Err("invalid response from the backend: not a JSON array".into());
    };
    items
        .into_iter()
        .map(|item| {
            Row::from_json(item)
                .ok_or_else(|| "invalid response from the backend: a row without an id".into())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_objects_become_filters_and_paging_keys_are_refused() {
        let f = filter_of(&json!({"done": false, "n": 2, "s": "x"})).unwrap();
        assert_eq!(f.0.len(), 3);
        assert!(f.0.contains(&("done".into(), "false".into())));
        assert_eq!(filter_of(&Value::Null).unwrap(), Filter::default());
        assert!(
            filter_of(&json!({"limit": 5}))
                .unwrap_err()
                .contains("`limit`")
        );
        assert!(filter_of(&json!({"a": [1]})).is_err());
        assert!(filter_of(&json!([1])).is_err());
    }

    #[test]
    fn resource_names_follow_the_convention() {
        assert!(
            valid_resource("bookmarks") && valid_resource("line_items") && valid_resource("a-1")
        );
        assert!(!valid_resource("") && !valid_resource("Bookmarks") && !valid_resource("a/b"));
    }
}
