//! [`Options`]: everything a supervisor is started with, and the documented defaults
//! (docs/contract.md §9).

use std::path::PathBuf;
use std::time::Duration;

/// Everything [`Supervisor::start`] needs. [`Options::new`] gives the documented defaults.
///
/// [`Supervisor::start`]: crate::Supervisor::start
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
    /// Bundled: every spawn gets this `BRIDGE_TOKEN` instead of a fresh one, so no
    /// `TokenRotated` follows a respawn. For a development session only (`qmlbridge dev`: the
    /// developer's own tools keep talking to the backend across swaps); `None` = rotate (§9).
    pub fixed_token: Option<crate::Secret>,
    /// Every backend runs in its dev error mode (`BRIDGE_ENV=dev`, docs/contract.md §2: a 500's
    /// body carries its cause instead of an opaque `instance` id). For a development session only
    /// (`qmlbridge dev`, `make run`); `false` = `prod`.
    pub dev_errors: bool,
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
            fixed_token: None,
            dev_errors: false,
        }
    }
}
