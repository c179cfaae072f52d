//! The supervisor with a real backend, the framework's fixture (built by the test when missing):
//! Online, the token works and rotates, data survives kill -9 and respawn without a refused
//! connection, and a SIGKILLed host leaves no backend behind.

mod common;

use std::io::{BufRead, BufReader, ErrorKind};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use common::*;
use qmlbridge_supervisor::Supervisor;

fn token(s: &qmlbridge_supervisor::Snapshot) -> String {
    s.token.as_ref().expect("token").expose().to_string()
}

#[test]
fn real_backend_online_token_rotation_and_kill_9() {
    let layout = Layout::real();
    let sup = Supervisor::start(layout.options());
    let events = Recorder::start(&sup);
    let first = wait_state(&sup, "Online", online);
    assert!(
        layout.data_dir.join("var/data.sqlite").exists(),
        "migrated into the data dir"
    );
    assert_eq!(http_get(&first.url, "/healthz", None).unwrap(), 200);
    assert_eq!(http_get(&first.url, "/api/items", None).unwrap(), 401);
    let (status, body) = http(
        &first.url,
        "POST",
        "/api/items",
        Some(&token(&first)),
        Some(r#"{"title":"survives restarts"}"#),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");

    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let client = {
        let (stop, refused, url) = (stop.clone(), refused.clone(), first.url.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = http_get(&url, "/healthz", None)
                    && e.kind() == ErrorKind::ConnectionRefused
                {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    wait_until("child event", || events.child_pids().len() == 1);
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(events.child_pids()[0] as i32, libc::SIGKILL) };
    wait_until("respawned", || events.child_pids().len() == 2);
    let second = wait_state(&sup, "Online with a new token", |s| {
        online(s) && s.token != first.token
    });
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();
    assert_eq!(
        refused.load(Ordering::Relaxed),
        0,
        "connections refused during the respawn"
    );
    assert_eq!(second.url, first.url);
    assert_eq!(events.rotated_tokens(), [token(&second)]);
    assert_eq!(
        http_get(&second.url, "/api/items", Some(&token(&first))).unwrap(),
        401
    );
    let (status, body) = http(
        &second.url,
        "GET",
        "/api/items",
        Some(&token(&second)),
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("survives restarts"), "{body}");

    sup.restart();
    let third = wait_state(&sup, "Online after restart()", |s| {
        online(s) && s.token != second.token
    });
    assert_eq!(
        http_get(&third.url, "/api/items", Some(&token(&third))).unwrap(),
        200
    );
    let pids = events.child_pids();
    sup.shutdown();
    for pid in pids {
        assert!(!alive(pid as i32), "backend {pid} outlived shutdown()");
    }
    let log = layout.backend_log();
    assert!(
        log.contains("listening on http://"),
        "backend.log holds the backend's lines"
    );
    for secret in [token(&first), token(&second), token(&third)] {
        assert!(!log.contains(&secret), "a token in backend.log");
    }
}

#[test]
fn host_sigkill_takes_the_real_backend_along() {
    let layout = Layout::real();
    let mut host = Command::new(env!("CARGO_BIN_EXE_qmlbridge-supervise"))
        .args(["--org", ORG, "--app", APP])
        .arg("--exe-dir")
        .arg(&layout.exe_dir)
        .arg("--data-dir")
        .arg(&layout.data_dir)
        .env_remove("BRIDGE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut backend = None;
    for line in BufReader::new(host.stdout.take().unwrap()).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if v["event"] == "child" {
            backend = v["pid"].as_i64();
        }
        if v["state"] == "Online" {
            break;
        }
    }
    let backend = backend.expect("a child line before Online") as i32;
    assert!(alive(backend));
    host.kill().unwrap();
    host.wait().unwrap();
    let marker = layout.tmp.path().to_str().unwrap().to_string();
    wait_until("backend gone after the host's SIGKILL", || !alive(backend));
    wait_until("nothing of the host left", || {
        processes_mentioning(&marker).is_empty()
    });
}
