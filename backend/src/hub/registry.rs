//! Subscribers and history under one lock, so that replay and live dispatch never overlap: a
//! subscriber is registered in the same critical section that computes its replay, and every
//! publish appends to the history and dispatches in one critical section.
//!
//! Backpressure (issue 4): each subscriber has a bounded [`Mailbox`] fed without waiting; a full one
//! disconnects that subscriber at once (its stream ends, it reconnects with `Last-Event-ID`),
//! so a slow reader costs the others nothing and memory stays bounded.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::mailbox::{Mailbox, Queued};
use super::selector::Selector;
use super::update::Update;

/// What the hub knows about one connected subscriber.
#[derive(Debug)]
pub struct Subscriber {
    /// The subscriber's IRI (`urn:uuid:...`), shared by its subscriptions.
    pub iri: Arc<str>,
    /// The `topic` selectors it asked for.
    pub topics: Vec<Arc<Selector>>,
    /// `mercure.subscribe` of its token; `None` without a token (public updates only).
    pub allowed: Option<Vec<Arc<Selector>>>,
    /// `mercure.payload` of its token, echoed in subscription events.
    pub payload: Option<serde_json::Value>,
}

impl Subscriber {
    /// Whether `update` goes to this subscriber: a topic selector matches one of its topics and,
    /// when private, a `mercure.subscribe` selector does too (spec: "Subscribers").
    pub fn wants(&self, update: &Update) -> bool {
        self.topics.iter().any(|s| s.matches_any(&update.topics))
            && (!update.private
                || self
                    .allowed
                    .as_ref()
                    .is_some_and(|allowed| allowed.iter().any(|s| s.matches_any(&update.topics))))
    }
}

struct Entry {
    subscriber: Arc<Subscriber>,
    /// Closed when the entry is removed: the stream ends without draining it.
    mailbox: Arc<Mailbox>,
}

/// The receiving half a stream owns. Dropping it closes the mailbox: nothing is written to a
/// connection after its stream is gone.
pub struct Inbox {
    pub key: u64,
    pub mailbox: Arc<Mailbox>,
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.mailbox.close();
    }
}

/// What one dispatch leaves to do once the registry's lock is released.
#[derive(Default)]
pub struct Dispatched {
    /// Subscribers dropped for overflow (their streams end at once).
    pub dropped: Vec<Arc<Subscriber>>,
    /// Mailboxes that write to their sockets themselves: [`Mailbox::flush`] each.
    pub flush: Vec<Arc<Mailbox>>,
}

/// The result of computing a replay for a new subscriber.
pub struct Replay {
    /// Frames of the missed updates, in order.
    pub frames: Vec<Bytes>,
    /// The `Last-Event-ID` response header (spec: "Reconciliation"), when one was requested.
    pub last_event_id: Option<String>,
}

struct State {
    history: VecDeque<Arc<Update>>,
    subscribers: HashMap<u64, Entry>,
    next_key: u64,
    last_event_id: Option<String>,
    closed: bool,
}

/// The hub's shared state.
pub struct Registry {
    state: Mutex<State>,
    history_size: usize,
    queue_size: usize,
}

impl Registry {
    pub fn new(history_size: usize, queue_size: usize) -> Self {
        Self {
            state: Mutex::new(State {
                history: VecDeque::with_capacity(history_size.min(4096)),
                subscribers: HashMap::new(),
                next_key: 0,
                last_event_id: None,
                closed: false,
            }),
            history_size,
            queue_size: queue_size.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `subscriber` and computes the replay after `last_event_id` (`earliest`: the whole
    /// history) atomically; `None` once the hub is shut down.
    pub fn subscribe(
        &self,
        subscriber: Arc<Subscriber>,
        last_event_id: Option<&str>,
    ) -> Option<(Inbox, Replay)> {
        let mut state = self.lock();
        if state.closed {
            return None;
        }
        let replay = match last_event_id {
            None => Replay {
                frames: Vec::new(),
                last_event_id: None,
            },
            Some(requested) => replay(&state.history, &subscriber, requested),
        };
        let mailbox = Arc::new(Mailbox::default());
        let key = state.next_key;
        state.next_key += 1;
        let entry = Entry {
            subscriber,
            mailbox: Arc::clone(&mailbox),
        };
        state.subscribers.insert(key, entry);
        Some((Inbox { key, mailbox }, replay))
    }

    /// Removes a subscriber; returns it when it was still registered.
    pub fn unsubscribe(&self, key: u64) -> Option<Arc<Subscriber>> {
        self.lock().subscribers.remove(&key).map(|e| e.subscriber)
    }

    /// Appends to the history and queues the frame for every interested subscriber without
    /// waiting. The writes themselves happen after the lock: see [`Dispatched`].
    pub fn dispatch(&self, update: Arc<Update>) -> Dispatched {
        let mut state = self.lock();
        state.last_event_id = Some(update.id.clone());
        if self.history_size > 0 {
            if state.history.len() >= self.history_size {
                state.history.pop_front();
            }
            state.history.push_back(Arc::clone(&update));
        }
        let mut gone = Vec::new();
        let mut flush = Vec::with_capacity(state.subscribers.len());
        for (key, entry) in &state.subscribers {
            if !entry.subscriber.wants(&update) {
                continue;
            }
            match entry.mailbox.push(update.frame.clone(), self.queue_size) {
                Ok(Queued::Flush) => flush.push(Arc::clone(&entry.mailbox)),
                Ok(Queued::Done) => {}
                // Full (too slow) or closed (stream already gone): either way it leaves now.
                Err(_) => gone.push(*key),
            }
        }
        let mut dropped = Vec::with_capacity(gone.len());
        for key in gone {
            if let Some(entry) = state.subscribers.remove(&key) {
                entry.mailbox.close();
                dropped.push(entry.subscriber);
            }
        }
        Dispatched { dropped, flush }
    }

    /// The id of the last update dispatched, `earliest` when none yet (subscription API).
    pub fn last_event_id(&self) -> String {
        self.lock()
            .last_event_id
            .clone()
            .unwrap_or_else(|| "earliest".to_owned())
    }

    /// The connected subscribers (subscription API).
    pub fn subscribers(&self) -> Vec<Arc<Subscriber>> {
        self.lock()
            .subscribers
            .values()
            .map(|e| Arc::clone(&e.subscriber))
            .collect()
    }

    /// How many subscribers are connected.
    pub fn len(&self) -> usize {
        self.lock().subscribers.len()
    }

    /// Whether no subscriber is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ends every stream and refuses new subscribers (backend shutdown, `docs/contract.md` §5).
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        for (_, entry) in state.subscribers.drain() {
            entry.mailbox.close();
        }
    }
}

/// Events after `requested` that `subscriber` may see. Unknown ids and `earliest` follow the
/// spec: the response header is the id preceding the first event sent, else `earliest`.
fn replay(history: &VecDeque<Arc<Update>>, subscriber: &Subscriber, requested: &str) -> Replay {
    let start = if requested == "earliest" {
        Some(0)
    } else {
        history
            .iter()
            .position(|u| u.id == requested)
            .map(|i| i + 1)
    };
    let (frames, header) = match start {
        Some(start) => {
            let frames = history
                .iter()
                .skip(start)
                .filter(|u| subscriber.wants(u))
                .map(|u| u.frame.clone())
                .collect();
            let header = if start == 0 {
                "earliest".to_owned()
            } else {
                requested.to_owned()
            };
            (frames, header)
        }
        // The id is gone from the history (or never existed): nothing can be replayed; the
        // client sees a header different from what it sent and refetches.
        None => (Vec::new(), "earliest".to_owned()),
    };
    Replay {
        frames,
        last_event_id: Some(header),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::update::Draft;

    fn sub(topic: &str) -> Arc<Subscriber> {
        Arc::new(Subscriber {
            iri: "urn:uuid:s".into(),
            topics: vec![Arc::new(Selector::new(topic))],
            allowed: None,
            payload: None,
        })
    }

    fn update(id: &str, topic: &str) -> Arc<Update> {
        Arc::new(Update::new(Draft {
            topics: vec![topic.into()],
            id: Some(id.into()),
            ..Draft::default()
        }))
    }

    #[test]
    fn history_is_bounded_and_replays_after_the_id() {
        let r = Registry::new(3, 10);
        for i in 0..5 {
            r.dispatch(update(&format!("u{i}"), "/t"));
        }
        let (_, replay) = r.subscribe(sub("/t"), Some("u2")).unwrap();
        assert_eq!(replay.frames.len(), 2);
        assert_eq!(replay.last_event_id.as_deref(), Some("u2"));
        let (_, replay) = r.subscribe(sub("/t"), Some("u0")).unwrap();
        assert!(replay.frames.is_empty());
        assert_eq!(replay.last_event_id.as_deref(), Some("earliest"));
        let (_, replay) = r.subscribe(sub("/t"), Some("earliest")).unwrap();
        assert_eq!(replay.frames.len(), 3);
    }

    #[test]
    fn overflow_drops_only_the_full_subscriber() {
        let r = Registry::new(0, 2);
        let (fast, _) = r.subscribe(sub("/t"), None).unwrap();
        let (slow, _) = r.subscribe(sub("/t"), None).unwrap();
        let mut dropped = 0;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for i in 0..5 {
            dropped += r.dispatch(update(&format!("u{i}"), "/t")).dropped.len();
            assert!(rt.block_on(fast.mailbox.recv()).is_some());
        }
        assert_eq!(dropped, 1);
        assert_eq!(r.len(), 1);
        assert_eq!(
            rt.block_on(slow.mailbox.recv()),
            None,
            "the slow stream ends"
        );
    }

    #[test]
    fn private_needs_a_matching_claim() {
        let mut s = Subscriber {
            iri: "urn:uuid:s".into(),
            topics: vec![Arc::new(Selector::new("*"))],
            allowed: None,
            payload: None,
        };
        let mut u = Update::new(Draft {
            topics: vec!["/a".into(), "/b".into()],
            ..Draft::default()
        });
        u.private = true;
        assert!(!s.wants(&u));
        s.allowed = Some(vec![Arc::new(Selector::new("/c"))]);
        assert!(!s.wants(&u));
        s.allowed = Some(vec![Arc::new(Selector::new("/b"))]);
        assert!(s.wants(&u));
    }
}
