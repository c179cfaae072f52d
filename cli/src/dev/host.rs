//! The host process of a `qmlbridge dev` session: started with the session's environment, told
//! to reload (`SIGUSR2`) or swap its backend (`SIGUSR1`), replaced after a host build, stopped
//! gracefully (SIGTERM: it closes its window and stops its backend).

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use qmlbridge_supervisor::Secret;

use super::layout::Layout;
use super::say;
use crate::{Error, Result};

/// How long a host gets to close its window and stop its backend before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

pub(crate) struct Host {
    layout: Layout,
    attach: Option<String>,
    /// Bundled: the session's backend token (every spawn gets it; the host's `fixed_token`).
    token: Option<Secret>,
    /// Bundled: the session's port (`PORT` of every host), so a new host keeps the URL.
    port: Option<u16>,
    child: Option<Child>,
}

impl Host {
    /// A session's host, not started yet. Bundled: the session token is written to
    /// `<data>/var/dev-token` (0600) for the developer's own tools.
    pub(crate) fn new(layout: &Layout, attach: Option<String>) -> Result<Host> {
        let (token, port) = match attach {
            Some(_) => (None, None),
            None => (Some(session_token(layout)?), Some(session_port()?)),
        };
        Ok(Host {
            layout: layout.clone(),
            attach,
            token,
            port,
            child: None,
        })
    }

    pub(crate) fn attached(&self) -> bool {
        self.attach.is_some()
    }

    pub(crate) fn running(&self) -> bool {
        self.child.is_some()
    }

    /// The host's exit status once it ended by itself (then it is no longer running).
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status)
    }

    fn signal(&self, signal: Signal) -> bool {
        let Some(child) = &self.child else {
            return false;
        };
        kill(Pid::from_raw(child.id() as i32), signal).is_ok()
    }

    pub(crate) fn reload_qml(&self) {
        if self.signal(Signal::SIGUSR2) {
            say("qml saved: reloading the window");
        }
    }

    pub(crate) fn swap_backend(&self) {
        if self.signal(Signal::SIGUSR1) {
            say("swapping the backend in");
        }
    }

    /// A new host from the latest build (the running one stopped first: one backend per data dir).
    pub(crate) fn restart(&mut self) {
        self.stop();
        let mut cmd = Command::new(self.layout.host_bin());
        if std::env::var_os("BRIDGE_LOG").is_none() {
            // The terminal is the developer's: QML's console output and warnings, and the
            // backend's warnings and errors (a 500's cause: the backend inherits this filter,
            // so it writes warn and up, and the host relays its lines as `backend` at debug),
            // not the host's routine (host.log keeps nothing less than this either; BRIDGE_LOG
            // overrides).
            cmd.env("BRIDGE_LOG", "warn,qt=debug,backend=debug");
        }
        cmd.current_dir(&self.layout.manifest.root)
            .env("QMLBRIDGE_DEV", "1")
            .env("QMLBRIDGE_DEV_PARENT", std::process::id().to_string())
            .env("QMLBRIDGE_DEV_QML_DIR", &self.layout.qml_dir);
        match (&self.attach, &self.token) {
            (Some(url), _) => {
                // Dev mode: the developer's server and token (BRIDGE_TOKEN as they set it).
                cmd.env("BRIDGE_URL", url);
            }
            (None, token) => {
                if let Some(port) = self.port {
                    cmd.env("PORT", port.to_string());
                }
                cmd.env_remove("BRIDGE_URL")
                    .env("BRIDGE_BACKEND_BIN", self.layout.backend_bin())
                    .env("BRIDGE_BACKEND_DIR", &self.layout.backend_dir)
                    .env("BRIDGE_CADDYFILE", &self.layout.caddyfile);
                if let Some(token) = token {
                    cmd.env("BRIDGE_TOKEN", token.expose());
                }
            }
        }
        match cmd.spawn() {
            Ok(child) => {
                say(&format!("window started (pid {})", child.id()));
                self.child = Some(child);
            }
            Err(e) => eprintln!(
                "qmlbridge dev: cannot start {}: {e}",
                self.layout.host_bin().display()
            ),
        }
    }

    /// SIGTERM, then SIGKILL after [`STOP_GRACE`]; reaped either way.
    pub(crate) fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() >= deadline => {
                    eprintln!(
                        "qmlbridge dev: the host did not stop within {STOP_GRACE:?}; killing it"
                    );
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `PORT` when the developer set one, else a port free now: every host of the session binds it
/// (the supervisor's socket, docs/contract.md §3), so the URL outlives host restarts too.
fn session_port() -> Result<u16> {
    let given = std::env::var("PORT").ok().filter(|p| !p.trim().is_empty());
    let port = match given {
        Some(p) => p
            .trim()
            .parse::<u16>()
            .map_err(|_| Error::Usage(format!("PORT={p}: not a port number")))?,
        None => 0,
    };
    if port != 0 {
        return Ok(port);
    }
    // The host binds it again at once (std's listeners set SO_REUSEADDR).
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::Usage(format!("cannot find a free port for the session: {e}")))
}

/// `BRIDGE_TOKEN` when the developer set one, else a fresh one; written to `<data>/var/dev-token`.
fn session_token(layout: &Layout) -> Result<Secret> {
    let given = std::env::var("BRIDGE_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    let token = match given {
        Some(token) => Secret::new(token),
        None => qmlbridge_supervisor::fresh_token()
            .map_err(|e| Error::Usage(format!("cannot make the session token: {e}")))?,
    };
    let var = layout.data_dir()?.join("var");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&var)
        .map_err(Error::io(&var))?;
    let file: PathBuf = var.join("dev-token");
    write_token(&file, &token)?;
    say(&format!(
        "the backend's token for your own tools: {} (Authorization: Bearer <it>)",
        file.display()
    ));
    Ok(token)
}

/// Writes `token` to `file`, private (0600) every time, also over a file that was readable by
/// others (`files::write_replacing`).
fn write_token(file: &Path, token: &Secret) -> Result<()> {
    crate::files::write_replacing(file, token.expose().as_bytes(), 0o600)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A token file left readable by others (0644, e.g. by an older tool or a copy) is 0600 after
    /// a session writes its token: the mode is the file's every time, not only when created.
    #[test]
    fn the_token_file_is_private_even_when_it_existed_readable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("dev-token");
        std::fs::write(&file, "old-token-that-is-longer-than-the-new-one").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_token(&file, &Secret::new("fresh".to_owned())).unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode {mode:o}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "fresh");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left: {left:?}");
    }
}
