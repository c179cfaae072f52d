//! Qt Quick Test for apps built on the library: runs a `TestCase` file against the real session
//! (Bundled or Dev, decided by the environment as for the app itself), offscreen, with the
//! compiled-in QML modules importable. Debian's `qmltestrunner` cannot load statically linked
//! cxx-qt modules, so the test binary (`harness = false`) calls Qt Quick Test itself.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use qmlbridge_supervisor::{ConnectionState, Event, Snapshot};
use tokio::sync::broadcast::error::TryRecvError;

use crate::bridge::ffi;
use crate::{Identity, QML_IMPORT_PATH, logging, session};

/// Runs the test file `input` (and what it imports) for the app `identity`; the number of
/// failed test functions (0: all passed). Call it first thing in the test's `main`: it sets
/// `QT_QPA_PLATFORM=offscreen` (unless set) before any thread exists, and starts the session.
pub fn quick_test(identity: &Identity, input: &Path) -> i32 {
    if std::env::var_os("QT_QPA_PLATFORM").is_none() {
        // SAFETY: called from the test's main before the session or Qt start any thread.
        unsafe { std::env::set_var("QT_QPA_PLATFORM", "offscreen") };
    }
    init_logging();
    session::start(session::options(identity));
    let failures = run(input);
    session::shutdown();
    failures
}

/// Logging to stderr (`BRIDGE_LOG`, default `info`) with Qt's messages forwarded, as the app has.
pub fn init_logging() {
    logging::init(None);
}

/// Qt Quick Test on `input` with the compiled-in modules importable; the session must be started.
pub fn run(input: &Path) -> i32 {
    if std::env::var_os("QT_QPA_PLATFORM").is_none() {
        // SAFETY: as in `quick_test`: before Qt starts; callers call it from main.
        unsafe { std::env::set_var("QT_QPA_PLATFORM", "offscreen") };
    }
    let exe = std::env::args()
        .next()
        .unwrap_or_else(|| "quick_test".into());
    let input = input.to_string_lossy().into_owned();
    let dir = Path::new(&input)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let args = vec![
        exe,
        "-import".into(),
        QML_IMPORT_PATH.into(),
        "-input".into(),
        input,
    ];
    ffi::quick_test_main(&args, "qmlbridge", &dir)
}

/// Crash tests for Bundled mode: once `ready` holds for the session's snapshot while Online
/// (e.g. the QML side created a marker row, so its spies are connected), SIGKILLs the current
/// backend child, as a crash would, on a thread of its own (polling every 100 ms, for at most
/// 120 s). Call it right after starting the session: the first subscriber sees every event since
/// the start, so the child's pid is not missed.
pub fn kill_backend_when(ready: impl Fn(&Snapshot) -> bool + Send + 'static) {
    let Some(mut events) = session::get().and_then(|s| s.subscribe()) else {
        return;
    };
    std::thread::spawn(move || {
        let mut pid = None;
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            loop {
                match events.try_recv() {
                    Ok(Event::Child { pid: p }) => pid = Some(p),
                    Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Closed) => return,
                }
            }
            let Some(snapshot) = session::get().and_then(|s| s.snapshot()) else {
                return;
            };
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok())
                && snapshot.state == ConnectionState::Online
                && ready(&snapshot)
            {
                tracing::info!(target: "qmlbridge::testing", pid, "SIGKILL the backend child");
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
}

/// `GET path` on the snapshot's backend with its token, as another client would (plain HTTP/1.1,
/// `Connection: close`): the whole response when its status is 200.
pub fn get(snapshot: &Snapshot, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let token = snapshot.token.as_ref().map_or("", |t| t.expose());
    let addr = snapshot.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/1.1 200").then_some(out)
}
