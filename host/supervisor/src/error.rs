//! The crate's one error type: each variant names the step that failed (docs/contract.md §9:
//! a failing step ends Offline with an error naming the step and the cause). Messages never
//! contain a secret.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can stop the supervisor from bringing a backend Online.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `BRIDGE_URL` is set but is not an absolute http/https URL.
    #[error("dev mode: BRIDGE_URL must be an http:// or https:// URL, got {0:?}")]
    DevUrl(String),
    /// Neither `XDG_DATA_HOME` nor `HOME` is an absolute path: no data directory.
    #[error("data dir: neither XDG_DATA_HOME nor HOME is set to an absolute path")]
    NoHome,
    /// Creating or securing the app data directory failed.
    #[error("data dir: {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The operating system's random source failed.
    #[error("secrets: the operating system's random source failed: {0}")]
    Random(String),
    /// A required file or directory was found at none of the candidate paths.
    #[error("paths: {what} not found; tried {}", list(.tried))]
    NotFound {
        what: &'static str,
        tried: Vec<PathBuf>,
    },
    /// `<backend> migrate` did not finish within the migration timeout.
    #[error("migrate: `{program} migrate` did not finish within {timeout:?}; its process group was killed{}", tail(.stderr))]
    MigrationTimeout {
        program: PathBuf,
        timeout: Duration,
        stderr: Vec<String>,
    },
    /// `<backend> migrate` exited unsuccessfully.
    #[error("migrate: `{program} migrate` {status}{}", tail(.stderr))]
    Migration {
        program: PathBuf,
        status: String,
        stderr: Vec<String>,
    },
    /// Binding the host's listening socket failed.
    #[error("socket: cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// Creating the readiness (NOTIFY_SOCKET) socket failed.
    #[error("notify socket: {0}")]
    Notify(#[source] std::io::Error),
    /// Starting a process (fork, exec, pipes, log file) failed.
    #[error("spawn: {what}: {source}")]
    Spawn {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The backend exited with a configuration or usage error: restarting cannot help.
    #[error("backend: {status} (configuration or usage error, not restarted){}", tail(.stderr))]
    Config { status: String, stderr: Vec<String> },
    /// The backend exited unexpectedly more often than the restart budget allows.
    #[error("backend exited {exits} times; last: {status}{}", tail(.stderr))]
    TooManyExits {
        exits: u32,
        status: String,
        stderr: Vec<String>,
    },
    /// The backend did not report ready within the ready timeout.
    #[error("ready: backend not ready within {0:?}")]
    ReadyTimeout(Duration),
    /// Dev mode: the server did not answer `/healthz` for the whole offline threshold.
    #[error("health: {url}/healthz failing for {threshold:?}: {last}")]
    Unhealthy {
        url: String,
        threshold: Duration,
        last: String,
    },
}

/// `Result` with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

fn tail(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("; last stderr lines:\n{}", lines.join("\n"))
    }
}
