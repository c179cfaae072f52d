//! `qmlbridge dev`: the edit loop. Builds the app's backend and host (debug), starts the host in
//! Bundled mode with its window read from `qml/` on disk (or in Dev mode against `--attach URL`),
//! watches the app's files and, per save:
//!
//! - QML/JS → `SIGUSR2`: the host reloads the window (host src/dev.rs);
//! - backend sources, `migrations/`, the Caddyfile → `cargo build` of the backend, then its
//!   `migrate --check` against the session's database (docs/contract.md §1), then `SIGUSR1`: the
//!   host's supervisor swaps it in on the held socket (§9, `restart()`); a failed build or check
//!   leaves the running backend as it is;
//! - the host's Rust → `cargo build` of the host, then a new host (the data is the backend's).
//!
//! Ctrl-C (or SIGTERM) stops the host, which stops its backend; the host also gets SIGTERM should
//! this process die first (its parent-death signal), so nothing outlives the session.
//!
//! The session's data is its own: `<org>/<name>-dev` beside the installed app's data dir
//! (`QMLBRIDGE_DEV=1`, the supervisor's data-dir rule), so an experiment or an edited migration
//! never reaches the user's data; `--fresh` moves it aside first ([`dev_data`]). The backend runs
//! in its dev error mode, and its warnings and errors (a 500's cause) are printed here.

mod host;
mod layout;
mod watch;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use host::Host;
use layout::Layout;
use watch::{Kind, Rules};

use crate::{Error, Result};

/// What `qmlbridge dev` is asked to do.
#[derive(Clone, Debug)]
pub struct DevOptions {
    /// The app's directory (its `qmlbridge.toml`).
    pub app: PathBuf,
    /// Dev mode against this server (`BRIDGE_URL`) instead of a bundled backend.
    pub attach: Option<String>,
    /// Start with an empty data dir: the session's old one is moved aside ([`dev_data`]).
    pub fresh: bool,
}

/// Where the data of an app's development sessions is, after [`dev_data`].
#[derive(Clone, Debug)]
pub struct DevData {
    /// The data dir, `${XDG_DATA_HOME:-~/.local/share}/<org>/<name>-dev`.
    pub dir: PathBuf,
    /// Where its old contents went, when `fresh` moved them aside (`<dir>.<UTC time>`).
    pub set_aside: Option<PathBuf>,
}

/// The data dir of the development sessions of the app in `app` (its `qmlbridge.toml`); with
/// `fresh`, its contents are first moved aside to `<dir>.<UTC time>` beside it, so the next
/// session starts empty and nothing is deleted. The installed app's data dir is never touched.
pub fn dev_data(app: &std::path::Path, fresh: bool) -> Result<DevData> {
    let manifest = qmlbridge_manifest::Manifest::load(&app.join(qmlbridge_manifest::FILE_NAME))?;
    let dir = layout::dev_data_dir(&manifest)?;
    let set_aside = if fresh {
        qmlbridge_supervisor::set_aside(&dir).map_err(|e| Error::Usage(format!("--fresh: {e}")))?
    } else {
        None
    };
    Ok(DevData { dir, set_aside })
}

/// One line of the loop's report on stdout (the host's lines have the same prefix).
pub(crate) fn say(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(format!("[dev] {line}\n").as_bytes());
    let _ = out.flush();
}

enum Msg {
    Saved(Vec<PathBuf>),
    Stop,
}

/// Runs the loop until Ctrl-C, SIGTERM or the window is closed.
pub fn dev(opts: &DevOptions) -> Result<()> {
    if let Some(url) = &opts.attach
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(Error::Usage(format!(
            "--attach {url}: not an http:// or https:// URL"
        )));
    }
    let layout = Layout::of(&opts.app)?;
    if opts.fresh {
        let data = dev_data(&opts.app, true)?;
        match &data.set_aside {
            Some(old) => say(&format!(
                "--fresh: the session's old data moved to {}; starting empty in {}",
                old.display(),
                data.dir.display()
            )),
            None => say(&format!("--fresh: {} was empty", data.dir.display())),
        }
    }
    if opts.attach.is_none() {
        say(&format!(
            "the session's data: {} (never the installed app's; --fresh starts empty)",
            layout.data_dir()?.display()
        ));
    }
    let rules = Rules::new(&layout);
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    signals(tx.clone(), stop.clone())?;
    let _watcher = watch::start(&layout, tx, Msg::Saved)?;
    let mut host = Host::new(&layout, opts.attach.clone())?;
    say(&format!(
        "watching {} (QML: reload; backend, migrations, Caddyfile: rebuild and swap; host: rebuild and restart)",
        layout.manifest.root.display()
    ));

    // The first build; a failure waits for the next save.
    let everything = if host.attached() {
        BTreeSet::from([Kind::Host])
    } else {
        BTreeSet::from([Kind::Backend, Kind::Host])
    };
    let mut need = everything.clone();
    // What a step had to put off until the next save (a host restart behind a failed check).
    let mut deferred = BTreeSet::new();
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if let Some(status) = host.exited() {
            if status.success() {
                say("the window was closed; done");
                return Ok(());
            }
            say(&format!(
                "the host exited ({status}); the next save starts it again"
            ));
        }
        if !need.is_empty() {
            deferred = step(&layout, &mut host, &need, &stop);
            need.clear();
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Msg::Saved(paths)) => {
                need = rules.kinds(paths.iter().map(PathBuf::as_path));
                if !need.is_empty() {
                    need.append(&mut deferred);
                }
                // One save of several files (a resource and its migration) comes as several
                // batches: a build waits for the burst to end, so it runs once; a reload does not.
                loop {
                    let settle = if need.iter().any(|k| *k != Kind::Qml) {
                        watch::DEBOUNCE
                    } else {
                        Duration::ZERO
                    };
                    match rx.recv_timeout(settle) {
                        Ok(Msg::Saved(more)) => {
                            need.extend(rules.kinds(more.iter().map(PathBuf::as_path)));
                        }
                        Ok(Msg::Stop) => stop.store(true, Ordering::SeqCst),
                        Err(_) => break,
                    }
                }
                if !host.running() && !need.is_empty() {
                    // Nothing runs (a failed first build, or the window crashed): start over.
                    need.extend(everything.iter().copied());
                }
            }
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            // Every 200 ms: whether the window is still there (above).
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
    say("stopping");
    host.stop();
    Ok(())
}

/// What one batch of saves asks for, cheapest first where that keeps the window current; returns
/// what it put off until the next save.
fn step(
    layout: &Layout,
    host: &mut Host,
    need: &BTreeSet<Kind>,
    stop: &AtomicBool,
) -> BTreeSet<Kind> {
    let attached = host.attached();
    let backend = need.contains(&Kind::Backend) && !attached;
    if need.contains(&Kind::Backend) && attached {
        say("attached: backend changes are yours to build and restart");
    }
    let restart_host = need.contains(&Kind::Host) || !host.running();
    if need.contains(&Kind::Qml) && !restart_host {
        host.reload_qml();
    }
    if backend {
        let bin = layout.manifest.backend.bin.clone();
        match build(layout, "backend", &bin, stop) {
            Ok(took) => {
                say(&format!("backend built in {:.1} s", took.as_secs_f64()));
                // A new host would start this backend too: with a failed check, it waits for a
                // fix like the swap does, and the running window and backend stay.
                if !check(layout) {
                    if host.running() {
                        say("the running backend keeps serving; save a fix to retry");
                        // The failing build is the one on disk now: every next save checks it
                        // again, so no host starts it before it fits.
                        let mut later = BTreeSet::from([Kind::Backend]);
                        if restart_host {
                            say("the host's restart waits for that fix");
                            later.insert(Kind::Host);
                        }
                        return later;
                    }
                    say("starting anyway: the window shows the backend's error until a fix");
                }
                if !restart_host {
                    host.swap_backend();
                }
            }
            Err(()) => {
                say("backend build failed: the running backend keeps serving; save a fix to retry");
                if !host.running() {
                    return BTreeSet::new();
                }
            }
        }
    }
    if restart_host {
        let bin = layout.manifest.host.bin.clone();
        match build(layout, "host", &bin, stop) {
            Ok(took) => {
                say(&format!("host built in {:.1} s", took.as_secs_f64()));
                host.restart();
            }
            Err(()) => say("host build failed: the running window stays; save a fix to retry"),
        }
    }
    BTreeSet::new()
}

/// Whether the new backend would start on the session's database: its `migrate --check` (its
/// migrations and resource tables tried on a copy in memory; the file is not written,
/// docs/contract.md §1). Checked before
/// the swap because the swap stops the running backend first: a migration that fails then
/// would leave the window with no backend at all.
fn check(layout: &Layout) -> bool {
    let database = match layout.database_url() {
        Ok(url) => url,
        Err(e) => {
            eprintln!("qmlbridge dev: {e}");
            return false;
        }
    };
    let out = std::process::Command::new(layout.backend_bin())
        .args(["migrate", "--check"])
        .current_dir(&layout.backend_dir)
        .env("DATABASE_URL", database)
        .env("BRIDGE_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output();
    let failed = match out {
        Ok(out) if out.status.success() => return true,
        Ok(out) => {
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            format!("exit {}", out.status.code().unwrap_or(-1))
        }
        Err(e) => format!("cannot run {}: {e}", layout.backend_bin().display()),
    };
    say(&format!(
        "backend check failed ({failed}): its migrations or tables do not fit the database"
    ));
    false
}

/// `cargo build --bin <bin>` in the app's workspace, its output on the terminal; the time it took.
fn build(layout: &Layout, what: &str, bin: &str, stop: &AtomicBool) -> Result<Duration, ()> {
    say(&format!("building the {what} ({bin})"));
    let start = Instant::now();
    let child = layout::cargo_command()
        .args(["build", "--bin", bin])
        .current_dir(&layout.manifest.root)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            eprintln!("qmlbridge dev: cannot run cargo: {e}");
            return Err(());
        }
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(start.elapsed()),
            Ok(Some(_)) | Err(_) => return Err(()),
            Ok(None) if stop.load(Ordering::SeqCst) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP end the loop (the host is stopped, not left behind).
fn signals(tx: mpsc::Sender<Msg>, stop: Arc<AtomicBool>) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| Error::Usage(format!("cannot handle signals: {e}")))?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            stop.store(true, Ordering::SeqCst);
            let _ = tx.send(Msg::Stop);
        }
    });
    Ok(())
}
