//! Bundled start (docs/contract.md §9, steps 1-7) with real processes: a backend that is not ours,
//! the environment and fd 3 the contract promises, the private data dir, readiness that only the
//! backend itself can signal, and each failing step ending Offline with an error naming it.

mod common;

use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};
use std::{fs, thread, time::Duration};

use common::*;
use qmlbridge_supervisor::{ConnectionState, Mode, Supervisor};

fn offline(s: &qmlbridge_supervisor::Snapshot) -> bool {
    s.state == ConnectionState::Offline
}

#[test]
fn supervises_a_backend_that_is_not_ours() {
    let layout = Layout::contract();
    let sup = Supervisor::start(layout.options());
    let snap = wait_state(&sup, "Online", online);
    assert_eq!(snap.mode, Mode::Bundled);
    assert!(snap.url.starts_with("http://127.0.0.1:"), "{}", snap.url);
    let token = snap.token.clone().expect("a token when Online");
    assert_eq!(token.expose().len(), 43);
    assert_eq!(http_get(&snap.url, "/healthz", None).unwrap(), 200);
    assert_eq!(
        http_get(&snap.url, "/api/items", Some(token.expose())).unwrap(),
        200
    );
    assert_eq!(
        http_get(&snap.url, "/api/items", Some("wrong")).unwrap(),
        401
    );
    sup.shutdown();
}

/// A development session's backends report 500s with their cause (`Options::dev_errors`).
#[test]
fn a_development_session_runs_the_backend_in_dev_error_mode() {
    let layout = Layout::fake("no_notify");
    let mut opts = layout.options();
    opts.dev_errors = true;
    let sup = Supervisor::start(opts);
    wait_state(&sup, "Online", online);
    assert_eq!(layout.spawns()[0]["env"], "dev");
    sup.shutdown();
}

#[test]
fn the_child_gets_the_contracts_environment_and_fd_3() {
    let layout = Layout::fake("no_notify");
    let sup = Supervisor::start(layout.options());
    let snap = wait_state(&sup, "Online", online);
    let spawns = layout.spawns();
    let seen = &spawns[0];
    let port = snap.url.rsplit(':').next().unwrap();
    assert_eq!(seen["listen_fds"], "1");
    assert_eq!(seen["listen_pid"], seen["pid"].to_string());
    assert_eq!(
        seen["pgid"], seen["pid"],
        "the backend leads its own process group"
    );
    assert_eq!(seen["port"], port);
    assert_eq!(seen["env"], "prod");
    assert_eq!(seen["token"], snap.token.as_ref().unwrap().expose());
    let key = snap.mercure_subscriber_key.as_ref().unwrap().expose();
    assert_eq!(seen["mercure"], key);
    assert_eq!(key.len(), 64);
    let db = format!(
        "sqlite://{}",
        layout.data_dir.join("var/data.sqlite").display()
    );
    assert_eq!(seen["database_url"], db.as_str());
    let backend_dir = layout.exe_dir.join("backend").canonicalize().unwrap();
    assert_eq!(seen["cwd"], backend_dir.to_str().unwrap());
    let caddyfile = layout.exe_dir.join("Caddyfile").canonicalize().unwrap();
    assert_eq!(
        seen["args"],
        serde_json::json!(["serve", "--config", caddyfile])
    );
    assert!(seen["notify"].as_str().is_some_and(|n| !n.is_empty()));
    assert_eq!(
        layout.pids("migrations").len(),
        1,
        "one migration before the spawn series"
    );

    let mode = fs::metadata(&layout.data_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    for sub in ["var", "var/log", "var/cache"] {
        assert!(layout.data_dir.join(sub).is_dir(), "{sub}");
    }
    assert_eq!(snap.data_dir.as_deref(), Some(layout.data_dir.as_path()));
    sup.shutdown();
}

#[test]
fn failing_migration_goes_offline_with_its_stderr_tail() {
    let layout = Layout::fake("migrate_fail");
    let sup = Supervisor::start(layout.options());
    let snap = wait_state(&sup, "Offline", offline);
    let error = snap.error.unwrap();
    assert!(error.starts_with("migrate: "), "{error}");
    assert!(error.contains("0003_create_chores refused"), "{error}");
    assert!(
        layout.spawns().is_empty(),
        "no serve after a failed migration"
    );
    sup.shutdown();
}

#[test]
fn migration_timeout_kills_the_migrator_and_its_group() {
    let layout = Layout::fake("migrate_hang");
    let mut opts = layout.options();
    opts.migrate_timeout = Duration::from_secs(3);
    let sup = Supervisor::start(opts);
    wait_until("the migrator started a grandchild", || {
        !layout.pids("migrate_grandchildren").is_empty()
    });
    let migrator = layout.pids("migrations")[0];
    let grandchild = layout.pids("migrate_grandchildren")[0];
    let snap = wait_state(&sup, "Offline", offline);
    let error = snap.error.unwrap();
    assert!(error.contains("did not finish within 3s"), "{error}");
    wait_until("migrator and grandchild gone", || {
        !alive(migrator) && !alive(grandchild)
    });
    sup.shutdown();
}

#[test]
fn missing_backend_lists_every_path_tried() {
    let layout = Layout::empty();
    let sup = Supervisor::start(layout.options());
    let snap = wait_state(&sup, "Offline", offline);
    let error = snap.error.unwrap();
    assert!(
        error.starts_with("paths: backend binary not found; tried "),
        "{error}"
    );
    for tried in [
        layout.exe_dir.join("bin/fixture-backend"),
        layout.exe_dir.join("../share/fixture/bin/fixture-backend"),
        layout
            .exe_dir
            .join("../usr/share/fixture/bin/fixture-backend"),
    ] {
        assert!(error.contains(&tried.display().to_string()), "{error}");
    }
    sup.shutdown();
}

#[test]
fn configuration_error_exit_is_not_restarted() {
    let layout = Layout::fake("exit_code=78");
    let sup = Supervisor::start(layout.options());
    let snap = wait_state(&sup, "Offline", offline);
    let error = snap.error.unwrap();
    assert!(error.contains("exited with code 78"), "{error}");
    assert!(error.contains("fake: configuration error"), "{error}");
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        layout.spawns().len(),
        1,
        "restarting cannot help a configuration error"
    );
    sup.shutdown();
}

#[test]
fn restart_during_migration_starts_over() {
    let layout = Layout::fake("migrate_hang");
    let sup = Supervisor::start(layout.options());
    wait_until("the first migrator runs", || {
        layout.pids("migrations").len() == 1
    });
    let first = layout.pids("migrations")[0];
    sup.restart();
    wait_until("a second migration", || {
        layout.pids("migrations").len() == 2
    });
    wait_until("the first migrator killed", || !alive(first));
    assert_eq!(
        sup.snapshot().state,
        ConnectionState::Reconnecting,
        "a requested restart is a reconnect, not a first start"
    );
    sup.shutdown();
    let second = layout.pids("migrations")[1];
    wait_until("shutdown kills the running migrator", || !alive(second));
}

/// A data dir so deep that `<data>/var/notify.sock` does not fit `sockaddr_un` (107 bytes).
fn deep_data_dir(layout: &Layout) -> PathBuf {
    let dir = layout.tmp.path().join("d".repeat(100)).join(ORG).join(APP);
    assert!(dir.join("var/notify.sock").as_os_str().len() > 107);
    dir
}

/// Sends `READY=1` from this process to a `NOTIFY_SOCKET` value (a path, or `@name`).
fn send_ready(notify: &str) {
    let sender = UnixDatagram::unbound().unwrap();
    match notify.strip_prefix('@') {
        Some(name) => {
            let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
            sender.send_to_addr(b"READY=1", &addr).unwrap();
        }
        None => _ = sender.send_to(b"READY=1", notify).unwrap(),
    }
}

/// The fallback `NOTIFY_SOCKET` is a filesystem socket in a private directory, never the abstract
/// namespace (§4), and the backend's own `READY=1` through it counts.
#[test]
fn deep_data_dir_notify_socket_is_private_and_works() {
    // /healthz always answers 503: only READY=1 can bring the backend Online.
    let layout = Layout::fake("unhealthy_after_ms=0");
    let mut opts = layout.options();
    opts.data_dir = Some(deep_data_dir(&layout));
    let sup = Supervisor::start(opts);
    let events = Recorder::start(&sup);
    wait_until("Online by READY=1", || {
        events.states().contains(&ConnectionState::Online)
    });
    let notify = layout.spawns()[0]["notify"].as_str().unwrap().to_string();
    assert!(!notify.starts_with('@'), "abstract socket: {notify}");
    let dir = Path::new(&notify).parent().unwrap().to_path_buf();
    let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", dir.display());
    sup.shutdown();
    assert!(!dir.exists(), "{} left behind", dir.display());
}

/// Readiness cannot be spoofed: `READY=1` from another process (here the test itself) does not
/// make the supervisor report Online, while the real backend never gets ready.
#[test]
fn ready_from_another_process_does_not_count() {
    let layout = Layout::fake("never_ready");
    let mut opts = layout.options();
    opts.data_dir = Some(deep_data_dir(&layout));
    opts.ready_timeout = Duration::from_secs(1);
    opts.offline_threshold = Duration::from_secs(1);
    let sup = Supervisor::start(opts);
    let events = Recorder::start(&sup);
    wait_until("the first backend started", || !layout.spawns().is_empty());
    let notify = layout.spawns()[0]["notify"].as_str().unwrap().to_string();
    send_ready(&notify);
    // The backend that never got ready is killed at the ready timeout and replaced.
    wait_until("a second spawn", || layout.spawns().len() >= 2);
    let states = events.states();
    assert!(!states.contains(&ConnectionState::Online), "{states:?}");
    sup.shutdown();
}
