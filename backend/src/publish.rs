//! The live-update seam: every change a backend publishes goes through a [`Live`] handle into
//! the Mercure hub (`docs/contract.md` §8), or nowhere when the Caddyfile has no `mercure` block.
//! Resources publish each committed change with the database writer still held, so updates go
//! out in commit order; custom routes publish any update they like through the same handle.

use std::sync::Arc;

/// One update for the hub: what a Mercure publisher would `POST` (spec: "Publication").
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
    /// A public update of `data` on `topics`.
    pub fn new(topics: Vec<String>, data: impl Into<String>) -> Self {
        LiveUpdate {
            topics,
            data: data.into(),
            private: false,
            id: None,
            event_type: None,
        }
    }

    /// Marks it private.
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }

    /// Gives it an SSE `event` type.
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = Some(event_type.into());
        self
    }

    /// Gives it an id of the caller's (not starting with `#`).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

/// Receives published updates. Implementations must not block: resources call it right after
/// a commit, with the database writer held.
pub trait Publisher: Send + Sync + 'static {
    /// Hands one update on.
    fn publish(&self, update: LiveUpdate);
}

/// The handle handlers publish through. Cheap to clone; a no-op without a hub.
#[derive(Clone, Default)]
pub struct Live(Option<Arc<dyn Publisher>>);

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Live").field(&self.0.is_some()).finish()
    }
}

impl Live {
    /// Publishing into `publisher`.
    pub fn new(publisher: Arc<dyn Publisher>) -> Self {
        Live(Some(publisher))
    }

    /// Publishing nowhere (no `mercure` block).
    pub fn disabled() -> Self {
        Live(None)
    }

    /// Whether updates reach a hub.
    pub fn is_enabled(&self) -> bool {
        self.0.is_some()
    }

    /// Publishes `update` (nothing without a hub).
    pub fn publish(&self, update: LiveUpdate) {
        if let Some(p) = &self.0 {
            p.publish(update);
        }
    }
}
