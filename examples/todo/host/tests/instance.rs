//! The `todo` binary as a user runs it, in Bundled mode, offscreen:
//! a second launch on the same data dir says so and exits 3 without starting a second backend;
//! SIGTERM (what closing the session does; closing the window takes the same path) stops the
//! backend gracefully and exits 0.

// cxx-qt's generated initialisers of this package reference the Qt crates: link them in
// although this test only runs the binary (CXX-QT-NOTES, "Linking the library in").
extern crate qmlbridge_qt;

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The host, in Bundled mode, with its data under `xdg`.
fn host(xdg: &Path) -> Command {
    let repo = common::repo();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_todo"));
    cmd.env("XDG_DATA_HOME", xdg)
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("BRIDGE_BACKEND_BIN", common::backend_bin())
        .env("BRIDGE_BACKEND_DIR", repo.join("examples/todo/backend"))
        .env("BRIDGE_CADDYFILE", repo.join("Caddyfile"))
        .env_remove("BRIDGE_URL")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null());
    cmd
}

/// Backend processes whose environment names `marker` (our temp dir): ours, not other tests'.
fn backends_of(marker: &str) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let dir = e.path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            let env = std::fs::read(dir.join("environ")).unwrap_or_default();
            comm.trim() == "todo-backend" && String::from_utf8_lossy(&env).contains(marker)
        })
        .count()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Kills the first host if an assertion fails half-way.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn second_launch_is_refused_and_sigterm_exits_zero_without_orphans() {
    let tmp = tempfile::tempdir().unwrap();
    let xdg = tmp.path().join("xdg");
    let marker = tmp.path().to_str().unwrap().to_owned();
    let log = xdg.join("qmlbridge/todo/var/log/host.log");

    let first = host(&xdg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = Guard(first);
    wait_until("the first host to be Online", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("state=Online"))
    });
    assert_eq!(backends_of(&marker), 1);

    let second = host(&xdg).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("already runs"), "{stderr}");
    assert_eq!(
        backends_of(&marker),
        1,
        "the second launch started a backend"
    );

    kill(Pid::from_raw(first.0.id() as i32), Signal::SIGTERM).unwrap();
    let status = first.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status}");
    wait_until("the backend to stop with the host", || {
        backends_of(&marker) == 0
    });
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("stopping the backend"), "{log}");
}

#[test]
fn bridge_log_and_qt_logging_rules_both_reach_host_log() {
    let tmp = tempfile::tempdir().unwrap();
    let xdg = tmp.path().join("xdg");
    let log = xdg.join("qmlbridge/todo/var/log/host.log");
    // Dev mode against a dead port: no backend needed, the window still comes up.
    let port = common::free_port();
    let child = host(&xdg)
        .env("BRIDGE_URL", format!("http://127.0.0.1:{port}"))
        .env("BRIDGE_LOG", "warn,qt=debug")
        .env("QT_LOGGING_RULES", "qt.qpa.*=true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Guard(child);
    // A Qt category only QT_LOGGING_RULES enables, forwarded into tracing under `qt`.
    wait_until("a qt.qpa line in host.log", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("category=\"qt.qpa"))
    });
    kill(Pid::from_raw(child.0.id() as i32), Signal::SIGTERM).unwrap();
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
    let log = std::fs::read_to_string(&log).unwrap();
    // BRIDGE_LOG=warn: the host's and the supervisor's info lines are filtered out.
    assert!(!log.contains(" INFO qmlbridge"), "{log}");
}
