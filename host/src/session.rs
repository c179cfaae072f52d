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

/// Organisation and application names: the data dir is `<XDG_DATA_HOME>/<org>/<app>`.
pub const ORG: &str = "qmlbridge";
/// See [`ORG`].
pub const APP: &str = "todo";

/// The shared state; see [`get`].
pub struct Session {
    supervisor: Mutex<Option<Supervisor>>,
    runtime: Runtime,
    http: reqwest::Client,
}

static SESSION: OnceLock<Session> = OnceLock::new();

/// The supervisor options from the environment: the defaults, the data dir the host locks and
/// logs into ([`data_dir`], the supervisor's one data-dir rule), and `BRIDGE_OFFLINE_THRESHOLD_MS`
/// (how long without the backend before Offline; tests and `make screenshots` shorten it).
pub fn options_from_env() -> Options {
    let mut opts = Options::new(ORG, APP);
    opts.data_dir = data_dir(ORG, APP).ok();
    if let Some(ms) = std::env::var("BRIDGE_OFFLINE_THRESHOLD_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        opts.offline_threshold = Duration::from_millis(ms);
    }
    opts
}

/// Starts the session with `opts` unless it already runs; returns it.
pub fn start(opts: Options) -> &'static Session {
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
        }
    })
}

/// The session, started from the environment if `main` (or a test) has not started it yet.
pub fn get() -> &'static Session {
    start(options_from_env())
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
