//! Development sessions: what `qmlbridge dev` asks of a host it starts (`QMLBRIDGE_DEV=1`).
//!
//! - **QML from disk** (debug builds only; a release host keeps its compiled-in QML and says so):
//!   `QMLBRIDGE_DEV_QML_DIR` replaces the window's qrc directory (cpp/dev.cpp), a load error shows
//!   an error window instead of ending the host, and `SIGUSR2` reloads the window.
//! - **Backend swap**: `SIGUSR1` is `restart()` (docs/contract.md §9): stop, migrate, spawn on the
//!   held socket.
//! - **A fixed token** (debug builds): `BRIDGE_TOKEN`, or one of its own written to
//!   `<data>/var/dev-token` (0600; `make run`), is every spawn's token, so the developer's own
//!   tools keep working across swaps (`Options::fixed_token`).
//! - **Its own data dir**, `<org>/<app>-dev` (the supervisor's `data_dir` rule under
//!   `QMLBRIDGE_DEV=1`), never the installed app's; and the backend in its **dev error mode**
//!   (`BRIDGE_ENV=dev`: a 500's body carries its cause; `Options::dev_errors`).
//! - **Files on disk in messages**: the window's `qrc:` directory is written as the directory the
//!   files are read from, in the error reports and in Qt's warnings (cpp/dev.cpp), so an editor
//!   can open them.
//! - **Reports** on stdout, one line each, prefixed `[dev] `: the window loaded (and how long it
//!   took) or its errors as `path:line:column: message`, and the backend's state changes with the
//!   time a swap took, from the request to Online.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use qmlbridge_supervisor::{ConnectionState, Event, Secret};
use tokio::sync::broadcast::error::RecvError;

use crate::session::Session;

const TARGET: &str = "qmlbridge::dev";

/// Whether `qmlbridge dev` started this host.
pub fn active() -> bool {
    std::env::var("QMLBRIDGE_DEV").is_ok_and(|v| v == "1")
}

/// Ties this host to the `qmlbridge dev` that started it (`QMLBRIDGE_DEV_PARENT`): SIGTERM when
/// it dies, which closes the window and stops the backend like Ctrl-C would. A host whose parent
/// is already gone ends at once.
pub fn bind_to_parent() {
    let Some(parent) = std::env::var("QMLBRIDGE_DEV_PARENT")
        .ok()
        .and_then(|p| p.parse::<i32>().ok())
    else {
        return;
    };
    if let Err(e) = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM) {
        tracing::warn!(target: TARGET, "cannot tie the host to qmlbridge dev: {e}");
    }
    // The parent may have died before the line above: then nobody would ever send the signal.
    if nix::unistd::getppid().as_raw() != parent {
        tracing::error!(target: TARGET, "qmlbridge dev is gone; not starting");
        std::process::exit(1);
    }
}

/// The app's `qml/` directory to load the window from, in a debug host of a development session.
pub fn qml_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("QMLBRIDGE_DEV_QML_DIR").filter(|_| active())?;
    if !cfg!(debug_assertions) {
        tracing::warn!(target: TARGET, "a release host keeps its compiled-in QML; QMLBRIDGE_DEV_QML_DIR ignored");
        return None;
    }
    let dir = PathBuf::from(dir);
    if !dir.is_dir() {
        tracing::error!(target: TARGET, dir = %dir.display(), "QMLBRIDGE_DEV_QML_DIR is not a directory; using the compiled-in QML");
        return None;
    }
    Some(std::path::absolute(&dir).unwrap_or(dir))
}

/// The session's fixed backend token, in a debug host of a development session that spawns its
/// backend: `BRIDGE_TOKEN` (`qmlbridge dev` sets it, and writes it for the developer's tools),
/// else a fresh one, written to `<data_dir>/var/dev-token` (0600) for the developer's own tools
/// (`make run`) with a report saying where.
pub fn fixed_token(data_dir: Option<&Path>) -> Option<Secret> {
    let bundled = std::env::var("BRIDGE_URL").map_or(true, |v| v.trim().is_empty());
    if !active() || !cfg!(debug_assertions) || !bundled {
        return None;
    }
    let given = std::env::var("BRIDGE_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    if let Some(token) = given {
        return Some(Secret::new(token));
    }
    let token = match qmlbridge_supervisor::fresh_token() {
        Ok(token) => token,
        Err(e) => {
            tracing::error!(target: TARGET, "cannot make the session's token: {e}");
            return None;
        }
    };
    let file = data_dir?.join("var/dev-token");
    match write_private(&file, token.expose().as_bytes()) {
        Ok(()) => report(&format!(
            "the backend's token for your own tools: {} (Authorization: Bearer <it>)",
            file.display()
        )),
        // The session still works, with a token nobody else can know.
        Err(e) => {
            tracing::error!(target: TARGET, file = %file.display(), "cannot write the session's token: {e}")
        }
    }
    Some(token)
}

/// Writes `bytes` to `file` whole and private (0600, in a 0700 directory): a temporary file
/// beside it, synced, renamed over it; never readable by others, never half-written.
fn write_private(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = dir.join(format!(".dev-token.{}", std::process::id()));
    // A leftover of a crashed host with this pid: ours to replace.
    let _ = std::fs::remove_file(&tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, file));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// When the last swap was asked for; cleared when the backend is Online again.
static SWAP_ASKED: Mutex<Option<Instant>> = Mutex::new(None);
/// Set once the window closed: the backend's stop is the host's own, not news for the developer.
static CLOSING: AtomicBool = AtomicBool::new(false);

/// The window closed; the backend is being stopped.
pub(crate) fn closing() {
    CLOSING.store(true, Ordering::SeqCst);
}

fn report(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    // One write per report, so the lines of the CLI and the host never interleave mid-line.
    let _ = out.write_all(format!("[dev] {line}\n").as_bytes());
    let _ = out.flush();
}

/// A window (re)load finished (from cpp/dev.cpp, on the GUI thread).
pub(crate) fn loaded(errors: &str, millis: f64) {
    if errors.is_empty() {
        report(&format!("qml loaded in {millis:.1} ms"));
    } else {
        // On the terminal through the report below; host.log keeps it at debug level.
        tracing::debug!(target: TARGET, "the window's QML has errors:\n{errors}");
        let indented: Vec<String> = errors.lines().map(|l| format!("  {l}")).collect();
        report(&format!(
            "qml errors (shown in the window; the next good save recovers):\n{}",
            indented.join("\n")
        ));
    }
}

/// `SIGUSR1` swaps the backend, `SIGUSR2` reloads the window (when it is read from disk), and the
/// backend's state changes are reported, until the session ends.
pub(crate) fn watch(session: &'static Session, reload_qml: bool) {
    session.runtime().spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut swap), Ok(mut reload)) = (
            signal(SignalKind::user_defined1()),
            signal(SignalKind::user_defined2()),
        ) else {
            tracing::error!(target: TARGET, "cannot watch SIGUSR1/SIGUSR2: no live reload");
            return;
        };
        loop {
            tokio::select! {
                Some(()) = swap.recv() => {
                    *SWAP_ASKED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                    report("backend swap asked");
                    session.restart();
                }
                Some(()) = reload.recv() => {
                    if reload_qml {
                        crate::bridge::ffi::dev_reload_queued();
                    } else {
                        report("qml reload asked, but this host uses its compiled-in QML");
                    }
                }
            }
        }
    });
    let Some(mut events) = session.subscribe() else {
        return;
    };
    session.runtime().spawn(async move {
        let mut last = None;
        loop {
            let snapshot = match events.recv().await {
                Ok(Event::State(snapshot)) => snapshot,
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => match session.snapshot() {
                    Some(snapshot) => snapshot,
                    None => break,
                },
                Err(RecvError::Closed) => break,
            };
            if CLOSING.load(Ordering::SeqCst) {
                break;
            }
            if last == Some(snapshot.state) {
                continue;
            }
            last = Some(snapshot.state);
            match snapshot.state {
                ConnectionState::Online => {
                    let asked = SWAP_ASKED.lock().unwrap_or_else(|e| e.into_inner()).take();
                    match asked {
                        Some(at) => report(&format!(
                            "backend Online at {}: swapped in {:.1} ms (asked -> Online)",
                            snapshot.url,
                            at.elapsed().as_secs_f64() * 1e3
                        )),
                        None => report(&format!("backend Online at {}", snapshot.url)),
                    }
                }
                state => match &snapshot.error {
                    Some(error) => report(&format!("backend {state:?}: {error}")),
                    None => report(&format!("backend {state:?}")),
                },
            }
        }
    });
}
