//! The live-update seam: every change a backend publishes goes through a [`Live`] handle into
//! the Mercure hub (`docs/contract.md` §8), or nowhere when the Caddyfile has no `mercure` block.
//! Resources publish each committed change with the database writer still held, so updates go
//! out in commit order; custom routes publish any update they like through the same handle.

use std::sync::Arc;

/// One update for the hub: what a Mercure publisher would `POST` (spec: "Publication").
///
/// ```
/// use qmlbridge_backend::LiveUpdate;
///
/// let update = LiveUpdate::new(vec!["expenses/summary".to_owned()], r#"{"total_cents":1250}"#)
///     .event_type("summary")
///     .id("summary-7");
/// assert_eq!(update.topics, ["expenses/summary"]);
/// assert!(!update.private);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveUpdate {
    /// The topics, canonical first.
    pub topics: Vec<String>,
    /// The payload (`data`).
    pub data: String,
    /// Only for subscribers whose token allows one of the topics.
    pub private: bool,
    /// The SSE `id`; `None` lets the hub generate a `urn:uuid:`.
    pub id: Option<String>,
    /// The SSE `event` type; `None` fires `onmessage`.
    pub event_type: Option<String>,
}

impl LiveUpdate {
    /// A public update of `data` on `topics` (canonical first), without an event type: it
    /// fires `onmessage`, and QML's `MercureSubscription.update` gets an empty `kind`.
    ///
    /// ```
    /// let update = qmlbridge_backend::LiveUpdate::new(vec!["notes/alerts".into()], "disk full");
    /// assert_eq!((update.data.as_str(), update.event_type), ("disk full", None));
    /// ```
    pub fn new(topics: Vec<String>, data: impl Into<String>) -> Self {
        LiveUpdate {
            topics,
            data: data.into(),
            private: false,
            id: None,
            event_type: None,
        }
    }

    /// Marks it private: only subscribers whose token allows one of its topics get it.
    ///
    /// ```
    /// let update = qmlbridge_backend::LiveUpdate::new(vec!["notes/audit".into()], "{}").private();
    /// assert!(update.private);
    /// ```
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }

    /// Gives it an SSE `event` type: QML's `MercureSubscription.update(id, kind, data)` gets it
    /// as `kind`.
    ///
    /// ```
    /// let update = qmlbridge_backend::LiveUpdate::new(vec!["notes/alerts".into()], "1")
    ///     .event_type("over-budget");
    /// assert_eq!(update.event_type.as_deref(), Some("over-budget"));
    /// ```
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = Some(event_type.into());
        self
    }

    /// Gives it an id of the caller's (not starting with `#`), instead of a generated
    /// `urn:uuid:`; a reconnecting subscriber resumes after it (`Last-Event-ID`).
    ///
    /// ```
    /// let update = qmlbridge_backend::LiveUpdate::new(vec!["notes/alerts".into()], "1").id("alert-1");
    /// assert_eq!(update.id.as_deref(), Some("alert-1"));
    /// ```
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

/// Receives published updates. Implementations must not block: resources call it right after
/// a commit, with the database writer held. The framework's are the hub and
/// [`TestBackend`](crate::TestBackend)'s recorder; one of your own serves a [`Live`] in a test
/// of code that publishes.
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use qmlbridge_backend::{Live, LiveUpdate, Publisher};
///
/// #[derive(Default)]
/// struct Topics(Mutex<Vec<String>>);
///
/// impl Publisher for Topics {
///     fn publish(&self, update: LiveUpdate) {
///         self.0.lock().unwrap().extend(update.topics);
///     }
/// }
///
/// let seen = Arc::new(Topics::default());
/// let live = Live::new(seen.clone());
/// live.publish(LiveUpdate::new(vec!["notes/alerts".into()], "hi"));
/// assert_eq!(*seen.0.lock().unwrap(), ["notes/alerts"]);
/// ```
pub trait Publisher: Send + Sync + 'static {
    /// Hands one update on.
    fn publish(&self, update: LiveUpdate);
}

/// The handle handlers publish through ([`Context::live`](crate::Context::live)). Cheap to
/// clone; a no-op without a hub.
///
/// ```
/// use qmlbridge_backend::{Live, LiveUpdate};
///
/// let live = Live::disabled(); // a Caddyfile without a `mercure` block
/// assert!(!live.is_enabled());
/// live.publish(LiveUpdate::new(vec!["notes/alerts".into()], "nobody hears this"));
/// ```
#[derive(Clone, Default)]
pub struct Live(Option<Arc<dyn Publisher>>);

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Live").field(&self.0.is_some()).finish()
    }
}

impl Live {
    /// Publishing into `publisher` (see [`Publisher`] for an example).
    pub fn new(publisher: Arc<dyn Publisher>) -> Self {
        Live(Some(publisher))
    }

    /// Publishing nowhere (no `mercure` block).
    ///
    /// ```
    /// assert!(!qmlbridge_backend::Live::disabled().is_enabled());
    /// ```
    pub fn disabled() -> Self {
        Live(None)
    }

    /// Whether updates reach a hub.
    ///
    /// ```
    /// let app = qmlbridge_backend::Backend::new("notes", "1.0.0").test(None, "t").unwrap();
    /// assert!(app.context().live().is_enabled()); // the test's recorder
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.0.is_some()
    }

    /// Publishes `update` now (nothing without a hub). Inside a write, publish through
    /// [`Context::write_with`](crate::Context::write_with) or
    /// [`Hook::publish`](crate::Hook::publish) instead: they wait for the commit.
    ///
    /// ```
    /// use qmlbridge_backend::{Backend, LiveUpdate};
    ///
    /// let app = Backend::new("notes", "1.0.0").test(None, "t").unwrap();
    /// app.context().live().publish(LiveUpdate::new(vec!["notes/alerts".into()], "hi"));
    /// assert_eq!(app.published().len(), 1);
    /// ```
    pub fn publish(&self, update: LiveUpdate) {
        if let Some(p) = &self.0 {
            p.publish(update);
        }
    }
}
