//! What the handle ([`crate::Supervisor`]) and the supervision thread share: the
//! [`Snapshot`] the UI mirrors, the [`Event`]s it subscribes to, and the [`Command`]s the handle
//! sends. Both sides depend on this module; neither names the other's internals.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::mode::Mode;
use crate::secrets::Secret;

/// Where the connection to the backend stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ConnectionState {
    /// Starting (Bundled: preparing, migrating, spawning; Dev: first probe pending).
    Connecting,
    /// Ready: requests to `url` with `token` should work.
    Online,
    /// Lost and being restored (respawn with backoff, or failing probes under the threshold).
    Reconnecting,
    /// Given up; `error` says why. `restart()` tries again.
    Offline,
}

/// The current state, as the UI mirrors it.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub mode: Mode,
    /// `http://127.0.0.1:PORT` (no trailing slash); empty until the socket is bound (Bundled).
    pub url: String,
    /// The bearer for `/api/*`; rotates on every (re)spawn in Bundled mode.
    pub token: Option<Secret>,
    pub state: ConnectionState,
    /// Human-readable, names the failing step; never contains a secret.
    pub error: Option<String>,
    /// Bundled: the app data dir (`var/log/backend.log` inside).
    pub data_dir: Option<PathBuf>,
    /// The HS256 key for minting Mercure subscriber JWTs.
    pub mercure_subscriber_key: Option<Secret>,
    /// Bundled: what the host did to protect the data when an upgrade failed (docs/contract.md
    /// §9, "Recovery"), e.g. `restored the database from <snapshot> after migrate failed: ...`;
    /// the last one of this host session. Never contains a secret.
    pub recovery: Option<String>,
}

/// What subscribers receive.
#[derive(Clone, Debug)]
pub enum Event {
    /// The snapshot changed (any field); carries the whole new snapshot.
    State(Snapshot),
    /// A new token replaced a previous one (every respawn in Bundled mode).
    TokenRotated(Secret),
    /// A backend process was spawned (not sent for `migrate`).
    Child { pid: u32 },
}

/// What the handle asks of the supervision thread.
pub(crate) enum Command {
    Restart,
    Shutdown,
}

/// State shared between the handle and the supervision thread.
pub(crate) struct Shared {
    pub snapshot: Mutex<Snapshot>,
    pub events: broadcast::Sender<Event>,
}

impl Shared {
    /// Applies `change`; publishes an [`Event::State`] (and logs) when something changed.
    pub fn update(&self, change: impl FnOnce(&mut Snapshot)) {
        let mut snap = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        let before = snap.clone();
        change(&mut snap);
        if *snap != before {
            if snap.state != before.state || snap.error != before.error {
                tracing::info!(
                    target: "qmlbridge::supervisor",
                    state = ?snap.state,
                    error = snap.error.as_deref().unwrap_or(""),
                    "state"
                );
            }
            let _ = self.events.send(Event::State(snap.clone()));
        }
    }

    pub fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_and_events_hide_secrets() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Event>();
        let snap = Snapshot {
            mode: Mode::Bundled,
            url: "http://127.0.0.1:1".into(),
            token: Some(Secret::new("tok-123")),
            state: ConnectionState::Online,
            error: None,
            data_dir: None,
            mercure_subscriber_key: Some(Secret::new("key-456")),
            recovery: None,
        };
        let text = format!("{snap:?} {:?}", Event::State(snap.clone()));
        assert!(
            !text.contains("tok-123") && !text.contains("key-456"),
            "{text}"
        );
    }
}
