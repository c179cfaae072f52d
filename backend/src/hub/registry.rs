//! Subscribers and history under one lock, so that replay and live dispatch never overlap: a
//! subscriber is registered in the same critical section that completes its replay, and every
//! publish appends to the history and dispatches in one critical section.
//!
//! Backpressure (`docs/contract.md` §8): each subscriber has a bounded [`Mailbox`] fed without
//! waiting; a full one disconnects that subscriber at once (its stream ends, it reconnects with
//! `Last-Event-ID`), so a slow reader costs the others nothing and memory stays bounded. A replay
//! goes through the same mailbox, as shared frames: it counts against the bound and costs a
//! subscriber a reference per update, not a copy of the history.
//!
//! Matching stays out of the lock: a publish first evaluates every distinct live selector
//! ([`Registry::evaluate`]), a subscribe filters its replay before registering
//! ([`Registry::replay_from`]); in the critical sections only verdicts are read.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

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
        let hit = |s: &Arc<Selector>| s.matches_update(update.seq, &update.topics);
        self.topics.iter().any(hit)
            && (!update.private
                || self
                    .allowed
                    .as_ref()
                    .is_some_and(|allowed| allowed.iter().any(hit)))
    }

    /// Every selector it holds, claims included.
    fn selectors(&self) -> impl Iterator<Item = &Arc<Selector>> {
        self.topics.iter().chain(self.allowed.iter().flatten())
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

/// A replay being prepared: the first half of a subscribe with `Last-Event-ID`.
pub struct Replay {
    /// The history after the requested id, as it was: filtered outside the lock.
    updates: Vec<Arc<Update>>,
    /// How many updates had entered the history then: the rest is caught up when registering.
    appended: u64,
    /// Whether the id was found (or is `earliest`); otherwise nothing is replayed.
    found: bool,
    /// The `Last-Event-ID` response header (spec: "Reconciliation").
    pub last_event_id: String,
}

impl Replay {
    /// How many updates are left to filter (a large replay is filtered off the async workers).
    pub fn len(&self) -> usize {
        self.updates.len()
    }

    /// Whether nothing is left to filter.
    pub fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }

    /// Keeps the updates `subscriber` may see. Matches every selector: call it without any lock.
    pub fn filter(&mut self, subscriber: &Subscriber) {
        self.updates.retain(|u| subscriber.wants(u));
    }
}

/// How a subscribe ended.
pub enum Subscribed {
    /// Registered; the replay, if any, is queued in the mailbox.
    Live(Inbox),
    /// The replay was more than the mailbox holds: not registered, the stream ends at once
    /// (the subscriber is as far behind as one that overflowed).
    Overflow,
    /// The hub is shut down.
    Closed,
}

struct State {
    /// The updates kept for replay, each with its place in the sequence of all updates appended.
    history: VecDeque<(u64, Arc<Update>)>,
    /// Sum of [`Update::size`] over the history.
    history_bytes: usize,
    /// How many updates ever entered the history.
    appended: u64,
    subscribers: HashMap<u64, Entry>,
    /// The distinct selectors of the connected subscribers (by address) and how many hold each.
    live: HashMap<usize, (Arc<Selector>, usize)>,
    /// `live` as a list for [`Registry::evaluate`]; `None` when it changed since.
    live_list: Option<Arc<[Arc<Selector>]>>,
    next_key: u64,
    last_event_id: Option<String>,
    closed: bool,
}

impl State {
    fn hold(&mut self, subscriber: &Subscriber) {
        for s in subscriber.selectors().filter(|s| !s.is_any()) {
            let held = self
                .live
                .entry(Arc::as_ptr(s) as usize)
                .or_insert_with(|| (Arc::clone(s), 0));
            held.1 += 1;
            if held.1 == 1 {
                self.live_list = None;
            }
        }
    }

    fn release(&mut self, subscriber: &Subscriber) {
        for s in subscriber.selectors().filter(|s| !s.is_any()) {
            let key = Arc::as_ptr(s) as usize;
            if let Some(held) = self.live.get_mut(&key) {
                held.1 -= 1;
                if held.1 == 0 {
                    self.live.remove(&key);
                    self.live_list = None;
                }
            }
        }
    }

    fn remove(&mut self, key: u64) -> Option<Entry> {
        let entry = self.subscribers.remove(&key)?;
        self.release(&entry.subscriber);
        Some(entry)
    }
}

/// The history's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// `history_size`: updates kept.
    pub history_size: usize,
    /// `history_max_bytes`: bytes kept ([`Update::size`]).
    pub history_bytes: usize,
    /// `subscriber_queue`: frames a mailbox holds, replay included.
    pub queue_size: usize,
}

/// The hub's shared state.
pub struct Registry {
    state: Mutex<State>,
    bounds: Bounds,
}

impl Registry {
    pub fn new(bounds: Bounds) -> Self {
        Self {
            state: Mutex::new(State {
                history: VecDeque::with_capacity(bounds.history_size.min(4096)),
                history_bytes: 0,
                appended: 0,
                subscribers: HashMap::new(),
                live: HashMap::new(),
                live_list: None,
                next_key: 0,
                last_event_id: None,
                closed: false,
            }),
            bounds: Bounds {
                queue_size: bounds.queue_size.max(1),
                ..bounds
            },
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first half of a subscribe with `Last-Event-ID`: the history after `requested`
    /// (`earliest`: all of it), shared, not copied. Unknown ids and `earliest` follow the spec:
    /// the response header is the id preceding the first event sent, else `earliest`.
    pub fn replay_from(&self, requested: &str) -> Replay {
        let state = self.lock();
        let start = if requested == "earliest" {
            Some(0)
        } else {
            state
                .history
                .iter()
                .position(|(_, u)| u.id == requested)
                .map(|i| i + 1)
        };
        let last_event_id = match start {
            Some(i) if i > 0 => requested.to_owned(),
            // The id is gone from the history (or never existed): nothing can be replayed; the
            // client sees a header different from what it sent and refetches.
            _ => "earliest".to_owned(),
        };
        Replay {
            updates: start.map_or_else(Vec::new, |i| {
                state
                    .history
                    .iter()
                    .skip(i)
                    .map(|(_, u)| Arc::clone(u))
                    .collect()
            }),
            appended: state.appended,
            found: start.is_some(),
            last_event_id,
        }
    }

    /// Registers `subscriber`, after queueing its (filtered) `replay` and whatever entered the
    /// history since [`Registry::replay_from`], in one critical section with dispatch: no gap, no
    /// duplicate.
    pub fn subscribe(&self, subscriber: Arc<Subscriber>, replay: Option<Replay>) -> Subscribed {
        let mut state = self.lock();
        if state.closed {
            return Subscribed::Closed;
        }
        let mailbox = Arc::new(Mailbox::default());
        if let Some(replay) = replay.filter(|r| r.found) {
            let caught_up: Vec<&Arc<Update>> = state
                .history
                .iter()
                .filter(|(i, _)| *i >= replay.appended)
                .map(|(_, u)| u)
                .collect();
            if caught_up.len() as u64 != state.appended - replay.appended {
                // Some update since was not kept (evicted, or too large): it cannot be replayed.
                return Subscribed::Overflow;
            }
            let caught_up = caught_up.into_iter();
            let frames = replay
                .updates
                .iter()
                .chain(caught_up.filter(|u| subscriber.wants(u)))
                .map(|u| u.frame.clone());
            for frame in frames {
                if mailbox.push(frame, self.bounds.queue_size).is_err() {
                    return Subscribed::Overflow;
                }
            }
        }
        let key = state.next_key;
        state.next_key += 1;
        state.hold(&subscriber);
        let entry = Entry {
            subscriber,
            mailbox: Arc::clone(&mailbox),
        };
        state.subscribers.insert(key, entry);
        Subscribed::Live(Inbox { key, mailbox })
    }

    /// Removes a subscriber; returns it when it was still registered.
    pub fn unsubscribe(&self, key: u64) -> Option<Arc<Subscriber>> {
        self.lock().remove(key).map(|e| e.subscriber)
    }

    /// The distinct selectors of the connected subscribers, for [`Registry::evaluate`].
    pub fn live_selectors(&self) -> Arc<[Arc<Selector>]> {
        let mut state = self.lock();
        if let Some(list) = &state.live_list {
            return Arc::clone(list);
        }
        let list: Arc<[Arc<Selector>]> = state.live.values().map(|(s, _)| Arc::clone(s)).collect();
        state.live_list = Some(Arc::clone(&list));
        list
    }

    /// Evaluates each of `selectors` once for `update`, without the lock: [`Registry::dispatch`]
    /// then reads the verdicts.
    pub fn evaluate(selectors: &[Arc<Selector>], update: &Update) {
        for s in selectors {
            s.evaluate(update.seq, &update.topics);
        }
    }

    /// Appends to the history and queues the frame for every interested subscriber without
    /// waiting. The writes themselves happen after the lock: see [`Dispatched`].
    pub fn dispatch(&self, update: Arc<Update>) -> Dispatched {
        let mut state = self.lock();
        state.last_event_id = Some(update.id.clone());
        self.remember(&mut state, &update);
        let mut gone = Vec::new();
        let mut flush = Vec::with_capacity(state.subscribers.len());
        for (key, entry) in &state.subscribers {
            if !entry.subscriber.wants(&update) {
                continue;
            }
            match entry
                .mailbox
                .push(update.frame.clone(), self.bounds.queue_size)
            {
                Ok(Queued::Flush) => flush.push(Arc::clone(&entry.mailbox)),
                Ok(Queued::Done) => {}
                // Full (too slow) or closed (stream already gone): either way it leaves now.
                Err(_) => gone.push(*key),
            }
        }
        let mut dropped = Vec::with_capacity(gone.len());
        for key in gone {
            if let Some(entry) = state.remove(key) {
                entry.mailbox.close();
                dropped.push(entry.subscriber);
            }
        }
        Dispatched { dropped, flush }
    }

    /// Appends to the history, evicting the oldest past `history_size` updates or
    /// `history_max_bytes` bytes; an update larger than the byte bound is not kept at all.
    fn remember(&self, state: &mut State, update: &Arc<Update>) {
        let Bounds {
            history_size,
            history_bytes,
            ..
        } = self.bounds;
        let size = update.size();
        let index = state.appended;
        state.appended += 1;
        if history_size == 0 || size > history_bytes {
            return;
        }
        while state.history.len() >= history_size || state.history_bytes + size > history_bytes {
            let Some((_, old)) = state.history.pop_front() else {
                break;
            };
            state.history_bytes -= old.size();
        }
        state.history_bytes += size;
        state.history.push_back((index, Arc::clone(update)));
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
        state.live.clear();
        state.live_list = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::update::Draft;

    fn sel(topic: &str) -> Arc<Selector> {
        Arc::new(Selector::new(topic).expect("within bounds"))
    }

    fn sub(topic: &str) -> Arc<Subscriber> {
        Arc::new(Subscriber {
            iri: "urn:uuid:s".into(),
            topics: vec![sel(topic)],
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

    fn registry(history_size: usize, queue_size: usize) -> Registry {
        Registry::new(Bounds {
            history_size,
            history_bytes: usize::MAX,
            queue_size,
        })
    }

    /// Subscribes with `last_event_id` the way the handler does; the inbox and the header.
    fn subscribe(r: &Registry, s: Arc<Subscriber>, last_event_id: &str) -> (Inbox, String) {
        let mut replay = r.replay_from(last_event_id);
        replay.filter(&s);
        let header = replay.last_event_id.clone();
        match r.subscribe(s, Some(replay)) {
            Subscribed::Live(inbox) => (inbox, header),
            _ => panic!("not registered"),
        }
    }

    fn queued(inbox: &Inbox) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let mut frames = Vec::new();
        while let Ok(Some(chunk)) = rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_millis(1), inbox.mailbox.recv()).await
        }) {
            frames.push(String::from_utf8_lossy(&chunk).into_owned());
        }
        frames
    }

    #[test]
    fn history_is_bounded_and_replays_after_the_id() {
        let r = registry(3, 10);
        for i in 0..5 {
            r.dispatch(update(&format!("u{i}"), "/t"));
        }
        let (inbox, header) = subscribe(&r, sub("/t"), "u2");
        assert_eq!(header, "u2");
        let frames = queued(&inbox).concat();
        assert!(frames.contains("id: u3") && frames.contains("id: u4") && !frames.contains("u2"));
        let (inbox, header) = subscribe(&r, sub("/t"), "u0");
        assert!(queued(&inbox).is_empty());
        assert_eq!(header, "earliest");
        let (inbox, _) = subscribe(&r, sub("/t"), "earliest");
        assert_eq!(queued(&inbox).concat().matches("id: ").count(), 3);
    }

    #[test]
    fn history_is_bounded_by_bytes() {
        let r = Registry::new(Bounds {
            history_size: 100,
            history_bytes: 3 * update("u0", "/t").size(),
            queue_size: 100,
        });
        for i in 0..5 {
            r.dispatch(update(&format!("u{i}"), "/t"));
        }
        let (inbox, _) = subscribe(&r, sub("/t"), "earliest");
        let frames = queued(&inbox).concat();
        assert_eq!(frames.matches("id: ").count(), 3, "{frames}");
        assert!(
            frames.starts_with("id: u2"),
            "the oldest went first: {frames}"
        );
    }

    #[test]
    fn replays_share_the_history_and_count_against_the_mailbox() {
        let r = registry(10, 2);
        let first = update("u0", "/t");
        r.dispatch(Arc::clone(&first));
        assert!(
            Arc::ptr_eq(&r.lock().history[0].1, &first),
            "kept, not copied"
        );
        let (inbox, _) = subscribe(&r, sub("/t"), "earliest");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let frame = rt.block_on(inbox.mailbox.recv()).unwrap();
        assert_eq!(
            frame.as_ptr(),
            first.frame.as_ptr(),
            "the replayed frame is shared"
        );

        r.dispatch(update("u1", "/t"));
        r.dispatch(update("u2", "/t"));
        let mut replay = r.replay_from("earliest");
        let s = sub("/t");
        replay.filter(&s);
        assert!(matches!(r.subscribe(s, Some(replay)), Subscribed::Overflow));
        assert_eq!(r.len(), 1, "only the first subscriber is registered");
    }

    #[test]
    fn updates_between_the_halves_of_a_subscribe_are_caught_up() {
        let r = registry(10, 10);
        r.dispatch(update("u0", "/t"));
        let s = sub("/t");
        let mut replay = r.replay_from("u0");
        r.dispatch(update("u1", "/t"));
        replay.filter(&s);
        let Subscribed::Live(inbox) = r.subscribe(s, Some(replay)) else {
            panic!("not registered")
        };
        r.dispatch(update("u2", "/t"));
        let frames = queued(&inbox).concat();
        assert_eq!(frames.matches("id: ").count(), 2, "{frames}");
        assert!(frames.find("u1") < frames.find("u2"));
    }

    #[test]
    fn live_selectors_follow_subscribers() {
        let r = registry(0, 10);
        let shared = sel("/t/{id}");
        let mk = || {
            Arc::new(Subscriber {
                iri: "urn:uuid:s".into(),
                topics: vec![Arc::clone(&shared), sel("*")],
                allowed: Some(vec![sel("/p")]),
                payload: None,
            })
        };
        let Subscribed::Live(a) = r.subscribe(mk(), None) else {
            panic!()
        };
        let Subscribed::Live(b) = r.subscribe(mk(), None) else {
            panic!()
        };
        assert_eq!(r.live_selectors().len(), 3, "`*` needs no evaluation");
        r.unsubscribe(a.key);
        assert_eq!(r.live_selectors().len(), 2);
        r.unsubscribe(b.key);
        assert!(r.live_selectors().is_empty());
    }

    #[test]
    fn overflow_drops_only_the_full_subscriber() {
        let r = registry(0, 2);
        let Subscribed::Live(fast) = r.subscribe(sub("/t"), None) else {
            panic!()
        };
        let Subscribed::Live(slow) = r.subscribe(sub("/t"), None) else {
            panic!()
        };
        let mut dropped = 0;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for i in 0..5 {
            let u = update(&format!("u{i}"), "/t");
            Registry::evaluate(&r.live_selectors(), &u);
            dropped += r.dispatch(u).dropped.len();
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
            topics: vec![sel("*")],
            allowed: None,
            payload: None,
        };
        let mut u = Update::new(Draft {
            topics: vec!["/a".into(), "/b".into()],
            ..Draft::default()
        });
        u.private = true;
        assert!(!s.wants(&u));
        s.allowed = Some(vec![sel("/c")]);
        assert!(!s.wants(&u));
        s.allowed = Some(vec![sel("/b")]);
        assert!(s.wants(&u));
    }
}
