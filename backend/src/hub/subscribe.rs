//! `GET /.well-known/mercure`: the subscription stream (spec: "Subscription", "Reconciliation").

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Extension;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream;
use tokio::time::{Instant, Sleep};

use super::Hub;
use super::auth::{self, Claims};
use super::registry::{Inbox, Subscribed};
use super::reply::{denied, query_pairs, refused, status};
use super::selector;
use super::update::{OPEN_COMMENT, new_id};
use crate::conn::Conn;

/// The subscribe handler. On `serve`'s connections (`conn`), a `GET` over HTTP/1.1 (a chunked
/// response) is written to directly once its head is out (see [`super::mailbox`]).
pub async fn handler(
    State(hub): State<Hub>,
    method: Method,
    version: Version,
    conn: Option<Extension<Arc<Conn>>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = query_pairs(raw.as_deref());
    let claims = match auth::authorize(
        hub.subscriber_verifier(),
        &Method::GET,
        &headers,
        &query,
        &[],
    ) {
        Ok(Some(claims)) => Some(claims),
        Ok(None) if hub.config().anonymous => None,
        Ok(None) => return denied(auth::Denied::Unauthorized),
        Err(d) => return denied(d),
    };
    let topics: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "topic")
        .map(|(_, v)| v.clone())
        .collect();
    if topics.is_empty() {
        return status(StatusCode::BAD_REQUEST, "Missing \"topic\" parameter\n");
    }
    let (max_topics, max_length) = (hub.config().max_topics, hub.config().max_topic_length);
    if let Err(why) = selector::check_all(&topics, max_topics, max_length) {
        return refused("\"topic\" parameter", why);
    }
    let mercure = claims.as_ref().map(Claims::mercure);
    let claimed = mercure.as_ref().and_then(|m| m.subscribe.as_deref());
    if let Err(why) = selector::check_all(claimed.unwrap_or_default(), max_topics, max_length) {
        return refused("\"mercure.subscribe\" claim", why);
    }
    // The header wins over the query parameter (spec: "Reconciliation"); an empty value is no
    // value, as in the Mercure.rocks hub. Read as UTF-8, not only visible ASCII: `EventSource`
    // sends the id it was given, and ids need not be ASCII.
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            query
                .iter()
                .find(|(k, v)| k == "lastEventID" && !v.is_empty())
                .map(|(_, v)| v.clone())
        });

    let subscriber =
        match super::subscriber_record(&hub, new_id().into(), &topics, mercure.as_ref()) {
            Ok(subscriber) => Arc::new(subscriber),
            Err(why) => return refused("\"topic\" parameter", why),
        };
    // Half of the replay is prepared outside the registry's lock: the history is taken (shared),
    // then filtered by this subscriber's selectors; registering catches up on the rest.
    let replay = last_event_id.as_deref().map(|id| {
        let mut replay = hub.registry().replay_from(id);
        let work = replay.len() * (subscriber.topics.len() + claimed.map_or(0, <[_]>::len));
        if work > super::OFFLOAD_ABOVE {
            super::offload(|| replay.filter(&subscriber));
        } else {
            replay.filter(&subscriber);
        }
        replay
    });
    let header = replay.as_ref().map(|r| r.last_event_id.clone());
    let inbox = match hub.registry().subscribe(Arc::clone(&subscriber), replay) {
        Subscribed::Live(inbox) => inbox,
        Subscribed::Overflow => {
            tracing::debug!(target: "qmlbridge_backend::hub", subscriber = %subscriber.iri, "replay larger than subscriber_queue: disconnected");
            return ended_stream();
        }
        Subscribed::Closed => {
            return status(StatusCode::SERVICE_UNAVAILABLE, "Shutting down\n");
        }
    };
    tracing::debug!(target: "qmlbridge_backend::hub", subscriber = %subscriber.iri, topics = topics.len(), "subscribed");
    let guard = Guard {
        hub: hub.clone(),
        key: inbox.key,
    };
    for event in super::subscriptions::events(&hub, &subscriber, true) {
        hub.dispatch(event);
    }

    let first = Bytes::from_static(OPEN_COMMENT);
    let now = Instant::now();
    let end_after = deadline(
        claims.as_ref().and_then(|c| c.exp),
        hub.config().write_timeout,
    );
    let heartbeat = hub.config().heartbeat;
    let direct = (method == Method::GET && version == Version::HTTP_11)
        .then_some(conn)
        .flatten()
        .map(|Extension(conn)| conn);
    let state = Stream {
        first: Some(first),
        conn: direct,
        inbox,
        heartbeat,
        beat_at: (!heartbeat.is_zero()).then(|| now + heartbeat),
        end_at: end_after.map(|d| now + d),
        timer: None,
        _guard: guard,
    };

    let mut response = event_stream(Body::from_stream(stream::unfold(state, Stream::next)));
    // Always a valid header value: the requested id is echoed only when found in the history,
    // and a publisher's id is refused unless it is one (`update::is_field_value`).
    if let Some(id) = header.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response.headers_mut().insert("last-event-id", id);
    }
    response
}

/// A `text/event-stream` response over `body`.
fn event_stream(body: Body) -> Response {
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache, no-store, must-revalidate, max-age=0"),
    );
    response
}

/// The stream of a subscriber disconnected before it began: the first comment, then the end.
fn ended_stream() -> Response {
    event_stream(Body::from(Bytes::from_static(OPEN_COMMENT)))
}

/// When the stream must end: the token's `exp` (spec: "Subscribers") or `write_timeout`,
/// whichever comes first.
fn deadline(exp: Option<u64>, write_timeout: Option<Duration>) -> Option<Duration> {
    let until_exp = exp.map(|exp| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Duration::from_secs(exp).saturating_sub(now)
    });
    match (until_exp, write_timeout.filter(|d| !d.is_zero())) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Unregisters the subscriber when its stream is dropped (client gone, deadline, overflow,
/// shutdown) and announces the end of its subscriptions.
struct Guard {
    hub: Hub,
    key: u64,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.hub.unsubscribed(self.key);
    }
}

/// The state of one subscriber's body stream.
struct Stream {
    first: Option<Bytes>,
    /// The connection the mailbox takes over once `first` is out.
    conn: Option<Arc<Conn>>,
    inbox: Inbox,
    /// The `heartbeat` interval; zero disables it.
    heartbeat: Duration,
    /// When the next heartbeat is due. A fixed schedule, not pushed back by writes: re-arming the
    /// timer on every update would cost a timer-wheel update per delivery.
    beat_at: Option<Instant>,
    /// When the stream ends (`exp`, `write_timeout`).
    end_at: Option<Instant>,
    /// One timer for both, so an idle subscriber holds a single timer entry.
    timer: Option<Pin<Box<Sleep>>>,
    _guard: Guard,
}

impl Stream {
    /// The next chunk for hyper: queued frames (several at once when they piled up), a
    /// heartbeat, or the end of the stream (closed mailbox or deadline). After a hand-over the
    /// mailbox writes frames and heartbeats itself, and this only waits for the end.
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        if let Some(first) = self.first.take() {
            return Some((Ok(first), self));
        }
        if let Some(conn) = self.conn.take() {
            self.inbox.mailbox.hand_over(&conn);
        }
        loop {
            match self.wait().await? {
                Some(chunk) => return Some((Ok(chunk), self)),
                None => continue,
            }
        }
    }

    /// `None`: the stream ends; `Some(None)`: a heartbeat the mailbox wrote itself.
    async fn wait(&mut self) -> Option<Option<Bytes>> {
        let Self {
            inbox,
            heartbeat,
            beat_at,
            end_at,
            timer,
            ..
        } = self;
        let wake = match (*beat_at, *end_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match (wake, timer.as_mut()) {
            (Some(at), Some(t)) if t.deadline() != at => t.as_mut().reset(at),
            (Some(at), None) => *timer = Some(Box::pin(tokio::time::sleep_until(at))),
            _ => {}
        }
        let fired = async {
            match timer.as_mut() {
                Some(t) if wake.is_some() => t.as_mut().await,
                _ => std::future::pending().await,
            }
        };
        // The timer first, so a busy stream still ends at its deadline.
        tokio::select! {
            biased;
            () = fired => {
                let now = Instant::now();
                if end_at.is_some_and(|end| end <= now) {
                    // Closed before the body ends, so no write is left half done.
                    inbox.mailbox.close();
                    return None;
                }
                *beat_at = Some(now + *heartbeat);
                Some(inbox.mailbox.heartbeat())
            }
            chunk = inbox.mailbox.recv() => Some(Some(chunk?)),
        }
    }
}
