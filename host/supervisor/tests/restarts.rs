//! Supervision (docs/contract.md §9, "Restarts"): respawn with a fresh token, the restart budget,
//! its reset after a healthy period and by `restart()`, failed starts, stubborn and chatty
//! backends, and the host-owned socket that never refuses a connection while the backend is
//! replaced.

mod common;

use std::collections::HashSet;
use std::io::ErrorKind;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::*;
use qmlbridge_supervisor::{ConnectionState, Snapshot, Supervisor};

fn offline(s: &Snapshot) -> bool {
    s.state == ConnectionState::Offline
}

fn kill(pid: u32, sig: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0, "kill {pid}");
}

#[test]
fn token_differs_after_each_restart() {
    let layout = Layout::fake("crash_first=3");
    let sup = Supervisor::start(layout.options());
    let events = Recorder::start(&sup);
    let snap = wait_state(&sup, "Online after three crashes", online);
    let spawns = layout.spawns();
    assert_eq!(spawns.len(), 4);
    let tokens: Vec<&str> = spawns
        .iter()
        .map(|s| s["token"].as_str().unwrap())
        .collect();
    assert_eq!(
        tokens.iter().collect::<HashSet<_>>().len(),
        4,
        "every spawn a new token"
    );
    assert!(tokens.iter().all(|t| t.len() == 43));
    let current = snap.token.unwrap();
    assert_eq!(current.expose(), tokens[3]);
    wait_until("three TokenRotated events", || {
        events.rotated_tokens().len() == 3
    });
    assert_eq!(events.rotated_tokens(), tokens[1..]);
    assert_eq!(events.child_pids().len(), 4);
    assert_eq!(
        http_get(&snap.url, "/api/whoami", Some(current.expose())).unwrap(),
        200
    );
    assert_eq!(
        http_get(&snap.url, "/api/whoami", Some(tokens[2])).unwrap(),
        401
    );
    sup.shutdown();
}

#[test]
fn five_restarts_then_offline_and_restart_resets_the_budget() {
    let layout = Layout::fake("crash_start");
    let sup = Supervisor::start(layout.options());
    let snap = wait_state(&sup, "Offline", offline);
    let error = snap.error.unwrap();
    assert!(error.starts_with("backend exited 6 times"), "{error}");
    assert!(
        error.contains("fake: crash at start (spawn 6)"),
        "stderr tail: {error}"
    );
    assert_eq!(layout.spawns().len(), 6, "1 start + 5 restarts");
    thread::sleep(Duration::from_millis(500));
    assert_eq!(layout.spawns().len(), 6, "no spawn while Offline");

    sup.restart();
    wait_until("a full new budget spent", || layout.spawns().len() == 12);
    let snap = wait_state(&sup, "Offline again", offline);
    assert!(snap.error.unwrap().contains("(spawn 12)"));
    assert_eq!(
        layout.pids("migrations").len(),
        2,
        "restart() migrates again"
    );
    sup.shutdown();
}

#[test]
fn crash_later_reconnects_with_a_new_child() {
    let layout = Layout::fake("crash_after_ms=1500");
    let mut opts = layout.options();
    opts.healthy_reset = Duration::from_millis(500);
    let sup = Supervisor::start(opts);
    let events = Recorder::start(&sup);
    wait_state(&sup, "Online", online);
    // Each child is Online longer than `healthy_reset` before it crashes, so the budget resets
    // every time and the 7th crash is still within budget.
    wait_until("seven spawns", || layout.spawns().len() >= 7);
    let snap = wait_state(&sup, "Online again", online);
    assert_ne!(snap.state, ConnectionState::Offline);
    let states = events.states();
    let online_then_reconnecting = states
        .windows(2)
        .filter(|w| w == &[ConnectionState::Online, ConnectionState::Reconnecting])
        .count();
    assert!(online_then_reconnecting >= 6, "{states:?}");
    assert!(!states.contains(&ConnectionState::Offline), "{states:?}");
    sup.shutdown();
}

#[test]
fn restart_replaces_a_healthy_child() {
    let layout = Layout::fake("");
    let sup = Supervisor::start(layout.options());
    let events = Recorder::start(&sup);
    let before = wait_state(&sup, "Online", online);
    wait_until("first child event", || events.child_pids().len() == 1);
    let first = events.child_pids()[0];
    sup.restart();
    wait_until("second child", || events.child_pids().len() == 2);
    let after = wait_state(&sup, "Online with the second child", |s| {
        online(s) && s.token != before.token
    });
    assert!(!alive(first as i32), "the old child is stopped");
    assert_eq!(after.url, before.url, "the URL never changes");
    let states = events.states();
    let restart = states
        .iter()
        .rposition(|s| *s != ConnectionState::Online)
        .expect("a state between the two Onlines");
    assert_eq!(
        states[restart],
        ConnectionState::Reconnecting,
        "restart() goes Reconnecting -> Online: {states:?}"
    );
    let status = http_get(
        &after.url,
        "/api/whoami",
        after.token.as_ref().map(|t| t.expose()),
    );
    assert_eq!(status.unwrap(), 200);
    sup.shutdown();
}

#[test]
fn a_fixed_token_survives_restarts_and_crashes() {
    let layout = Layout::fake("crash_first=1");
    let mut opts = layout.options();
    opts.fixed_token = Some(qmlbridge_supervisor::Secret::new(
        "a-development-session-token",
    ));
    let sup = Supervisor::start(opts);
    let events = Recorder::start(&sup);
    wait_state(&sup, "Online after one crash", online);
    sup.restart();
    wait_until("the third child", || events.child_pids().len() == 3);
    let snap = wait_state(&sup, "Online with the third child", online);
    let tokens: HashSet<String> = layout
        .spawns()
        .iter()
        .map(|s| s["token"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        tokens,
        HashSet::from(["a-development-session-token".to_string()]),
        "every spawn gets the fixed token"
    );
    assert!(events.rotated_tokens().is_empty(), "nothing rotated");
    assert_eq!(
        http_get(
            &snap.url,
            "/api/whoami",
            Some("a-development-session-token")
        )
        .unwrap(),
        200
    );
    sup.shutdown();
}

#[test]
fn never_ready_counts_as_a_failed_start() {
    let layout = Layout::fake("never_ready");
    let mut opts = layout.options();
    opts.ready_timeout = Duration::from_secs(1);
    let sup = Supervisor::start(opts);
    let events = Recorder::start(&sup);
    let snap = wait_state(&sup, "Offline", offline);
    let error = snap.error.unwrap();
    assert!(error.starts_with("backend exited 6 times"), "{error}");
    assert!(error.contains("not ready within 1s"), "{error}");
    for pid in events.child_pids() {
        wait_until("unready child killed", || !alive(pid as i32));
    }
    sup.shutdown();
}

#[test]
fn stubborn_backend_and_grandchild_are_stopped_on_shutdown() {
    let layout = Layout::fake("ignore_term,grandchild");
    let sup = Supervisor::start(layout.options());
    let events = Recorder::start(&sup);
    wait_state(&sup, "Online", online);
    wait_until("grandchild recorded", || {
        !layout.pids("grandchildren").is_empty()
    });
    let child = events.child_pids()[0] as i32;
    let grandchild = layout.pids("grandchildren")[0];
    assert!(alive(child) && alive(grandchild));
    sup.shutdown(); // SIGTERM ignored: SIGKILL to the group after the grace period
    assert!(!alive(child), "backend still alive after shutdown()");
    assert!(reaped(child), "the backend was left a zombie");
    wait_until("grandchild gone", || !alive(grandchild));
}

#[test]
fn dropping_the_handle_stops_and_reaps_the_backend() {
    let layout = Layout::fake("grandchild");
    let sup = Supervisor::start(layout.options());
    let events = Recorder::start(&sup);
    wait_state(&sup, "Online", online);
    wait_until("grandchild recorded", || {
        !layout.pids("grandchildren").is_empty()
    });
    let child = events.child_pids()[0] as i32;
    drop(sup);
    assert!(reaped(child), "Drop must stop and reap the backend");
    wait_until("grandchild gone", || {
        !alive(layout.pids("grandchildren")[0])
    });
    assert!(
        layout.backend_log().contains("fake: stopped"),
        "stopped by SIGTERM, gracefully"
    );
}

#[test]
fn flooding_stderr_neither_blocks_nor_fills_the_disk() {
    let layout = Layout::fake("flood");
    let mut opts = layout.options();
    opts.log_max_bytes = 64 * 1024;
    opts.log_keep = 2;
    let sup = Supervisor::start(opts);
    let snap = wait_state(&sup, "Online", online);
    let log_dir = layout.data_dir.join("var/log");
    wait_until("backend.log rotated twice", || {
        log_dir.join("backend.log.2").exists()
    });
    for _ in 0..5 {
        assert_eq!(http_get(&snap.url, "/healthz", None).unwrap(), 200);
    }
    assert!(
        !log_dir.join("backend.log.3").exists(),
        "only log_keep rotations kept"
    );
    for name in ["backend.log", "backend.log.1", "backend.log.2"] {
        let len = std::fs::metadata(log_dir.join(name)).map_or(0, |m| m.len());
        assert!(len <= 64 * 1024, "{name}: {len} bytes");
    }
    assert_eq!(sup.snapshot().state, ConnectionState::Online);
    sup.shutdown();
}

#[test]
fn no_refused_connection_while_the_child_is_killed_and_respawned() {
    let layout = Layout::fake("");
    let sup = Supervisor::start(layout.options());
    let events = Recorder::start(&sup);
    let snap = wait_state(&sup, "Online", online);
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let client = {
        let (stop, refused, answered, url) = (
            stop.clone(),
            refused.clone(),
            answered.clone(),
            snap.url.clone(),
        );
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match http_get(&url, "/healthz", None) {
                    Ok(200) => _ = answered.fetch_add(1, Ordering::Relaxed),
                    Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                        _ = refused.fetch_add(1, Ordering::Relaxed)
                    }
                    // A request the killed backend had accepted may be reset: not a refusal.
                    _ => {}
                }
            }
        })
    };
    for round in 1..=3 {
        wait_until("child event", || events.child_pids().len() == round);
        let pid = events.child_pids()[round - 1];
        wait_state(&sup, "Online", online);
        let seen = answered.load(Ordering::Relaxed);
        wait_until("client served", || answered.load(Ordering::Relaxed) > seen);
        kill(pid, libc::SIGKILL);
        wait_until("respawned", || events.child_pids().len() == round + 1);
    }
    let after = wait_state(&sup, "Online after the last kill", online);
    let seen = answered.load(Ordering::Relaxed);
    wait_until("client served by the last child", || {
        answered.load(Ordering::Relaxed) > seen
    });
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();
    assert_eq!(after.url, snap.url);
    assert_eq!(
        refused.load(Ordering::Relaxed),
        0,
        "connections refused during restarts"
    );
    sup.shutdown();
}

#[test]
fn unhealthy_child_past_the_threshold_is_killed_and_counted() {
    let layout = Layout::fake("unhealthy_after_ms=1000");
    let mut opts = layout.options();
    opts.offline_threshold = Duration::from_secs(1);
    let sup = Supervisor::start(opts);
    let events = Recorder::start(&sup);
    wait_state(&sup, "Online", online);
    let first = loop {
        if let Some(&pid) = events.child_pids().first() {
            break pid;
        }
        thread::sleep(Duration::from_millis(20));
    };
    wait_state(&sup, "Reconnecting on failing probes", |s| {
        s.state == ConnectionState::Reconnecting
            && s.error.as_deref().is_some_and(|e| e.contains("503"))
    });
    // Every child turns unhealthy, so each is killed in turn and the budget runs out.
    let snap = wait_state(&sup, "Offline", offline);
    let error = snap.error.unwrap();
    assert!(error.starts_with("backend exited 6 times"), "{error}");
    assert!(error.contains("unhealthy for 1s"), "{error}");
    assert!(!alive(first as i32), "the unhealthy child was killed");
    assert_eq!(events.child_pids().len(), 6);
    sup.shutdown();
}
