//! The handle the Qt layer (and the CLI) holds: [`Supervisor::start`] returns at once and the work
//! runs on one dedicated thread with a current-thread tokio runtime. That thread is also the one
//! that forks the backend, because `PR_SET_PDEATHSIG` follows the forking *thread*.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

use crate::mode::Mode;
use crate::secrets::Secret;

/// Everything [`Supervisor::start`] needs. [`Options::new`] gives the documented defaults.
#[derive(Clone, Debug)]
pub struct Options {
    /// Organisation name: the first data-dir component (`qmlbridge`).
    pub org: String,
    /// Application name: the second data-dir component and the `share/<app>` fallbacks (`notes`).
    pub app: String,
    /// The backend binary's file name (`<app>-backend`).
    pub backend_bin: String,
    /// Failing health probes for this long -> Offline (Dev) or the backend is killed (Bundled).
    pub offline_threshold: Duration,
    /// `<backend> migrate` gets this long before its process group is killed.
    pub migrate_timeout: Duration,
    /// A spawned backend must be ready within this; otherwise it counts as a failed start.
    pub ready_timeout: Duration,
    /// Pause between health probes while running.
    pub probe_interval: Duration,
    /// The restart budget resets after the backend has been Online this long without a failure.
    pub healthy_reset: Duration,
    /// Where path resolution starts (`<exe_dir>`); `None` = the running executable's directory.
    pub exe_dir: Option<PathBuf>,
    /// The app data dir; `None` = `${XDG_DATA_HOME:-~/.local/share}/<org>/<app>`.
    pub data_dir: Option<PathBuf>,
    /// `backend.log` rotates before it would grow past this many bytes ([`LOG_MAX_BYTES`]).
    ///
    /// [`LOG_MAX_BYTES`]: crate::LOG_MAX_BYTES
    pub log_max_bytes: u64,
    /// Rotated logs kept (`backend.log.1` ..= `.N`; [`LOG_KEEP`]).
    ///
    /// [`LOG_KEEP`]: crate::LOG_KEEP
    pub log_keep: usize,
}

impl Options {
    /// The defaults: 30 s offline threshold, 60 s migrations, 30 s ready timeout, 2 s probes,
    /// budget reset after 60 s Online, 5 MB x 3 logs.
    pub fn new(org: impl Into<String>, app: impl Into<String>) -> Options {
        let app = app.into();
        Options {
            org: org.into(),
            backend_bin: format!("{app}-backend"),
            app,
            offline_threshold: Duration::from_secs(30),
            migrate_timeout: Duration::from_secs(60),
            ready_timeout: Duration::from_secs(30),
            probe_interval: Duration::from_secs(2),
            healthy_reset: Duration::from_secs(60),
            exe_dir: None,
            data_dir: None,
            log_max_bytes: crate::rotate::LOG_MAX_BYTES,
            log_keep: crate::rotate::LOG_KEEP,
        }
    }
}

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

/// The supervisor handle; `Send + Sync`. Dropping it is [`Supervisor::shutdown`].
pub struct Supervisor {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    first_subscriber: Mutex<Option<broadcast::Receiver<Event>>>,
    thread: Option<JoinHandle<()>>,
}

impl Supervisor {
    /// Decides the mode from the environment and starts supervising; returns at once.
    pub fn start(opts: Options) -> Supervisor {
        let env = |name: &str| std::env::var(name).ok();
        let mode = crate::mode::detect(&env);
        let (events, first) = broadcast::channel(256);
        let shared = Arc::new(Shared {
            snapshot: Mutex::new(Snapshot {
                mode,
                url: String::new(),
                token: None,
                state: ConnectionState::Connecting,
                error: None,
                data_dir: None,
                mercure_subscriber_key: None,
            }),
            events,
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("qmlbridge-supervisor".into())
            .spawn(move || crate::supervise::run(mode, opts, thread_shared, rx));
        let thread = match thread {
            Ok(handle) => Some(handle),
            Err(e) => {
                shared.update(|s| {
                    s.state = ConnectionState::Offline;
                    s.error = Some(format!("supervisor thread: {e}"));
                });
                None
            }
        };
        Supervisor {
            shared,
            commands: tx,
            first_subscriber: Mutex::new(Some(first)),
            thread,
        }
    }

    /// The current state.
    pub fn snapshot(&self) -> Snapshot {
        self.shared
            .snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A stream of changes. The first call's receiver holds every event since `start` (so the
    /// first `Child` is never missed); later calls see events from then on. A receiver that falls
    /// more than 256 events behind gets `RecvError::Lagged`: then read [`Supervisor::snapshot`].
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        let mut first = self
            .first_subscriber
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        first
            .take()
            .unwrap_or_else(|| self.shared.events.subscribe())
    }

    /// Bundled: stop the backend, reset the restart budget, migrate and respawn with a fresh
    /// token (also the way out of Offline). Dev: probe again now. Returns at once.
    pub fn restart(&self) {
        let _ = self.commands.send(Command::Restart);
    }

    /// Stops the backend's process group gracefully (SIGTERM, 5 s, SIGKILL) and waits for the
    /// supervision thread; blocks at most about 6 s.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_is_send_and_sync_and_snapshots_hide_secrets() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Supervisor>();
        send_sync::<Event>();
        let snap = Snapshot {
            mode: Mode::Bundled,
            url: "http://127.0.0.1:1".into(),
            token: Some(Secret::new("tok-123")),
            state: ConnectionState::Online,
            error: None,
            data_dir: None,
            mercure_subscriber_key: Some(Secret::new("key-456")),
        };
        let text = format!("{snap:?} {:?}", Event::State(snap.clone()));
        assert!(
            !text.contains("tok-123") && !text.contains("key-456"),
            "{text}"
        );
    }
}
