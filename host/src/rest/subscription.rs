//! The network side of `MercureSubscription`, Qt-free: follows the given topics on the backend's
//! hub (docs/contract.md §8) for as long as the object lives, across backend restarts: reconnect
//! with backoff and `Last-Event-ID`, and say so when the hub no longer had the updates since.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::task::AbortHandle;

use super::live::{self, Backoff, Connect};
use crate::session;

const TARGET: &str = "qmlbridge::mercure";

/// What the object is told, on the GUI thread.
#[derive(Debug)]
pub enum Output {
    Connected(bool),
    /// One update: its id, its `type` (empty for the default `message`) and data.
    Update {
        id: String,
        kind: String,
        data: String,
    },
    /// The reconnect could not resume after the last id: updates were missed.
    HistoryLost,
}

/// Delivers an output; `false` when the object is gone (the task then stops).
pub type Deliver = Arc<dyn Fn(Output) -> bool + Send + Sync>;

/// The running subscription; dropping it ends it.
pub struct Subscription(AbortHandle);

impl Subscription {
    /// Follows `topics`, resuming after `last_event_id` when given; `None` without a session.
    pub fn start(
        topics: Vec<String>,
        last_event_id: Option<String>,
        deliver: Deliver,
    ) -> Option<Subscription> {
        let session = session::get()?;
        let task = session.runtime().spawn(run(topics, last_event_id, deliver));
        Some(Subscription(task.abort_handle()))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn run(topics: Vec<String>, mut last_event_id: Option<String>, deliver: Deliver) {
    let Some(session) = session::get() else {
        return;
    };
    let Some(mut states) = session.subscribe() else {
        return;
    };
    let mut backoff = Backoff::default();
    loop {
        let Some(snapshot) = live::wait_online(session, &mut states).await else {
            return;
        };
        let last = last_event_id.clone();
        match live::connect(session, &snapshot, &topics, last.as_deref()).await {
            Connect::Open {
                mut events,
                history_lost,
            } => {
                backoff.reset();
                if !deliver(Output::Connected(true))
                    || (history_lost && !deliver(Output::HistoryLost))
                {
                    return;
                }
                while let Some(event) = events.next().await {
                    if !event.id.is_empty() {
                        last_event_id = Some(event.id.clone());
                    }
                    let kind = if event.event == "message" {
                        String::new()
                    } else {
                        event.event
                    };
                    let update = Output::Update {
                        id: event.id,
                        kind,
                        data: event.data,
                    };
                    if !deliver(update) {
                        return;
                    }
                }
                tracing::debug!(target: TARGET, "hub stream ended; reconnecting");
                if !deliver(Output::Connected(false)) {
                    return;
                }
            }
            Connect::NoHub => {
                tracing::warn!(target: TARGET, "the backend has no Mercure hub (404)");
                tokio::time::sleep(backoff.current()).await;
                backoff.grow();
            }
            Connect::Failed(message) => {
                tracing::debug!(target: TARGET, "hub subscription failed: {message}");
                tokio::time::sleep(backoff.current()).await;
                backoff.grow();
            }
        }
    }
}
