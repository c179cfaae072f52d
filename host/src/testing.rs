//! Qt Quick Test for apps built on the library: runs a `TestCase` file against the real session
//! (Bundled or Dev, decided by the environment as for the app itself), offscreen, with the
//! compiled-in QML modules importable. Debian's `qmltestrunner` cannot load statically linked
//! cxx-qt modules, so the test binary (`harness = false`) calls Qt Quick Test itself.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use qmlbridge_supervisor::{ConnectionState, Event, Snapshot};
use tokio::sync::broadcast::error::TryRecvError;

use crate::bridge::ffi;
use crate::{Identity, QML_IMPORT_PATH, logging, session};

/// Runs the test file `input` (and what it imports) for the app `identity` (its network origins
/// allowed, as for the app's window); the number of
/// failed test functions (0: all passed). Call it first thing in the test's `main`: it sets
/// `QT_QPA_PLATFORM=offscreen` (unless set) before any thread exists, and starts the session.
pub fn quick_test(identity: &Identity, input: &Path) -> i32 {
    if std::env::var_os("QT_QPA_PLATFORM").is_none() {
        // SAFETY: called from the test's main before the session or Qt start any thread.
        unsafe { std::env::set_var("QT_QPA_PLATFORM", "offscreen") };
    }
    init_logging();
    crate::network::allow(&identity.network);
    session::start_app(identity, session::options(identity));
    let failures = run(input);
    session::shutdown();
    failures
}

/// The environment variable naming the scenario a child process of [`scenarios`] runs.
pub const SCENARIO: &str = "QMLBRIDGE_TEST_SCENARIO";

/// One scenario of a QML test binary: its name, and what runs it inside its own process given a
/// fresh temporary dir; it returns the number of failures (that of [`run`]).
pub type Scenario = (&'static str, fn(&Path) -> i32);

/// The `main` of a QML test binary with several scenarios that each need their own process (one
/// Qt application and one session per process, each decided by its environment).
///
/// Without [`SCENARIO`] set this runs every scenario, one after the other, as a child of itself
/// (only those whose name contains the first argument that is not a flag, as in
/// `cargo test --test qml -- bundled`), each with a fresh temporary dir in `QMLBRIDGE_TEST_DIR`,
/// `XDG_DATA_HOME=<dir>/xdg`, and no `BRIDGE_URL`, `BRIDGE_TOKEN` or `DATABASE_URL` of the
/// developer's. In the child: logging, the scenario, then the session's shutdown.
pub fn scenarios(list: &[Scenario]) -> ExitCode {
    if let Ok(name) = std::env::var(SCENARIO) {
        let Some((_, scenario)) = list.iter().find(|(n, _)| *n == name) else {
            eprintln!("qml: unknown scenario {name}");
            return ExitCode::FAILURE;
        };
        let Some(dir) = std::env::var_os("QMLBRIDGE_TEST_DIR") else {
            eprintln!("qml: QMLBRIDGE_TEST_DIR is not set");
            return ExitCode::FAILURE;
        };
        init_logging();
        let failures = scenario(Path::new(&dir));
        session::shutdown();
        return if failures == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut failed = Vec::new();
    for (name, _) in list {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let outcome = tempfile::tempdir().and_then(|tmp| {
            eprintln!("qml: scenario {name}");
            let exe = std::env::current_exe()?;
            let status = Command::new(exe)
                .env(SCENARIO, name)
                .env("QMLBRIDGE_TEST_DIR", tmp.path())
                .env("XDG_DATA_HOME", tmp.path().join("xdg"))
                .env_remove("BRIDGE_URL")
                .env_remove("BRIDGE_TOKEN")
                .env_remove("DATABASE_URL")
                .status()?;
            Ok(status)
        });
        match outcome {
            Ok(status) if status.success() => {}
            Ok(status) => {
                eprintln!("qml: scenario {name} FAILED ({status})");
                failed.push(*name);
            }
            Err(e) => {
                eprintln!("qml: scenario {name} could not run: {e}");
                failed.push(*name);
            }
        }
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("qml: failed scenarios: {failed:?}");
        ExitCode::FAILURE
    }
}

/// Logging to stderr (`BRIDGE_LOG`, default `info`) with Qt's messages forwarded, as the app has.
pub fn init_logging() {
    logging::init(None);
}

/// Qt Quick Test on `input` with the compiled-in modules importable; the session must be started.
/// Its engines have the app's network policy (docs/qml.md, "Network"): the backend's origin, and
/// those of the identity given to [`quick_test`] (none when only `run` is called).
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

/// `method path` through the request path QML's `RestClient` and `RestModel` use (the session's
/// URL and token of the moment, the retry after a token rotation or a reset; docs/contract.md
/// §9): the status and the body as text. For tests of what an app's QML would see.
pub async fn request(method: &str, path: &str) -> Result<(u16, String), String> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let response = crate::rest::http::send(method, path, &[], None)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status.as_u16();
    let text = response.text.unwrap_or_else(|| response.body.to_string());
    Ok((status, text))
}
