//! The process-wide session shared by every QML object: one supervisor (`qmlbridge-supervisor`),
//! one tokio runtime for HTTP and event forwarding, one HTTP client.
//!
//! Qt owns the main thread; everything asynchronous runs here and meets Qt only through
//! `qt_thread().queue(..)` (STYLE.md, cxx-qt habits).

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use qmlbridge_supervisor::{Event, Options, Snapshot, Supervisor, data_dir};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::broadcast;

use crate::Identity;

/// The shared state; see [`get`].
pub struct Session {
    supervisor: Mutex<Option<Supervisor>>,
    runtime: Runtime,
    http: reqwest::Client,
    identity: Option<Identity>,
}

static SESSION: OnceLock<Session> = OnceLock::new();

/// The supervisor options for `identity`, from the environment: the defaults, the backend binary's
/// name, the data dir the host locks and logs into ([`data_dir`], the supervisor's one data-dir
/// rule; a development session's own, `<app>-dev`), a development session's fixed token and dev
/// error mode (src/dev.rs), and `BRIDGE_OFFLINE_THRESHOLD_MS` (how long without the backend
/// before Offline; tests and `make screenshots` shorten it).
pub fn options(identity: &Identity) -> Options {
    let mut opts = Options::new(&identity.org, &identity.name);
    opts.backend_bin = identity.backend_bin.clone();
    opts.data_dir = data_dir(&identity.org, &identity.name).ok();
    opts.fixed_token = crate::dev::fixed_token(opts.data_dir.as_deref());
    // A release host (an installed image) never answers with error chains, whatever its
    // environment says (as it keeps its compiled-in QML: src/dev.rs).
    opts.dev_errors = crate::dev::active() && cfg!(debug_assertions);
    if let Some(ms) = std::env::var("BRIDGE_OFFLINE_THRESHOLD_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        opts.offline_threshold = Duration::from_millis(ms);
    }
    opts
}

/// Starts the session with `opts` unless it already runs; returns it. The `Updater` of a session
/// started this way has no app to update (state `Unavailable`): see [`start_app`].
pub fn start(opts: Options) -> &'static Session {
    start_with(opts, None)
}

/// Starts the session of the app `identity` with `opts` (usually [`options`]`(identity)`) unless
/// it already runs; returns it. Its `[update]` settings reach the `Updater`, and with
/// `rollback = "auto"` a failed upgrade restarts into the kept previous image (src/updates.rs).
pub fn start_app(identity: &Identity, opts: Options) -> &'static Session {
    let session = start_with(opts, Some(identity.clone()));
    crate::updates::watch_recovery(session, identity);
    session
}

fn start_with(opts: Options, identity: Option<Identity>) -> &'static Session {
    SESSION.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("qmlbridge-io")
            .enable_all()
            .build()
            // Without a runtime the host can do nothing at all; this is the one startup panic,
            // and it happens in main's first call, never inside a Qt callback.
            .expect("cannot start the tokio runtime");
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Session {
            supervisor: Mutex::new(Some(Supervisor::start(opts))),
            runtime,
            http,
            identity,
        }
    })
}

/// The session, once [`start`] ran (`App::run` starts it before any QML is loaded); `None`
/// otherwise, and the QML types then stay idle and say so.
pub fn get() -> Option<&'static Session> {
    SESSION.get()
}

impl Session {
    fn with<T>(&self, f: impl FnOnce(&Supervisor) -> T) -> Option<T> {
        let guard = self.supervisor.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().map(f)
    }

    /// The supervisor's current snapshot; `None` after [`shutdown`].
    pub fn snapshot(&self) -> Option<Snapshot> {
        self.with(Supervisor::snapshot)
    }

    /// A receiver of supervisor events; `None` after [`shutdown`].
    pub fn subscribe(&self) -> Option<broadcast::Receiver<Event>> {
        self.with(Supervisor::subscribe)
    }

    /// Asks the supervisor to restart (Bundled) or re-probe (Dev); returns at once.
    pub fn restart(&self) {
        self.with(Supervisor::restart);
    }

    /// The runtime on which HTTP requests and event loops run.
    pub fn runtime(&self) -> &Handle {
        self.runtime.handle()
    }

    /// The shared HTTP client (connection pool).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The app this session runs, when started with [`start_app`].
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }
}

/// Stops the backend gracefully (blocks for at most the supervisor's stop deadline). Later
/// snapshots are `None`; the event loops that watch them end.
pub fn shutdown() {
    let Some(session) = SESSION.get() else { return };
    let supervisor = session
        .supervisor
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(supervisor) = supervisor {
        supervisor.shutdown();
    }
}
