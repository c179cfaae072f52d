//! A write the database could not commit is never answered 2xx (`docs/contract.md` §7,
//! "Durability"): the backend runs with its `var/` on a tiny tmpfs of its own (a private mount
//! namespace made by `unshare`), the test fills that filesystem, and every write must then fail
//! with 507, be logged, publish nothing, and make `/healthz` report the database; once space is
//! free again, writes and `/healthz` recover without a restart.

mod support;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::{Server, Workdir, connect, eventually};

/// The tmpfs under `var/`: room for the database, its WAL and a few writes.
const TMPFS_SIZE: &str = "2m";

/// `serve` inside a private mount namespace whose `var/` is a fresh tmpfs; `None` when this
/// machine cannot make one (no root and no user namespaces). CI runs as root, where it must work.
fn serve_on_tmpfs(w: &Workdir) -> Option<Server> {
    // Root (CI) needs no user namespace; anyone else may have one.
    let variants: [&[&str]; 2] = [
        &["--mount", "--propagation", "private"],
        &[
            "--user",
            "--map-root-user",
            "--mount",
            "--propagation",
            "private",
        ],
    ];
    let works = |args: &[&str]| {
        Command::new("unshare")
            .args(args)
            .args(["sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let Some(unshare) = variants.into_iter().find(|v| works(v)) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to mount a tmpfs in a private mount namespace (unshare)"
        );
        eprintln!("skipped: cannot mount a tmpfs in a private mount namespace here");
        return None;
    };
    std::fs::create_dir_all(w.path().join("var")).unwrap();
    let mut cmd = w.command(&["serve"]);
    let bin = cmd.get_program().to_owned();
    let script =
        format!("mount -t tmpfs -o size={TMPFS_SIZE},mode=0700 tmpfs var && exec \"$0\" serve");
    let mut wrapped = Command::new("unshare");
    wrapped
        .args(unshare)
        .args(["sh", "-c", &script])
        .arg(bin)
        .current_dir(w.path());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    cmd = wrapped;
    Some(Server::start(cmd))
}

/// `var/` as the backend sees it: through its root in `/proc`, inside its mount namespace.
fn var_dir(server: &Server, w: &Workdir) -> PathBuf {
    let inside = w.path().join("var");
    PathBuf::from(format!("/proc/{}/root", server.child.id()))
        .join(inside.strip_prefix("/").unwrap())
}

/// Fills the filesystem of `dir` until a write fails with ENOSPC.
fn fill(dir: &std::path::Path) {
    let mut file = std::fs::File::create(dir.join("filler")).unwrap();
    let chunk = vec![0x5au8; 4096];
    loop {
        match file.write_all(&chunk) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ENOSPC as i32) => break,
            Err(e) => panic!("filling the tmpfs: {e}"),
        }
    }
    let _ = file.sync_all();
}

/// The ids stored in the database, read from a copy of its files (SQLite resolves the
/// `/proc/PID/root` link, which would lead it out of the backend's mount namespace). Nothing
/// writes while the copy is taken: the test's requests have all been answered.
fn stored_ids(var: &std::path::Path) -> Vec<i64> {
    let copy = tempfile::tempdir().unwrap();
    for name in ["data.sqlite", "data.sqlite-wal"] {
        if var.join(name).exists() {
            std::fs::copy(var.join(name), copy.path().join(name)).unwrap();
        }
    }
    let conn = rusqlite::Connection::open(copy.path().join("data.sqlite")).unwrap();
    let mut stmt = conn.prepare("SELECT id FROM items ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn writes_on_a_full_disk_fail_and_are_never_published() {
    let w = Workdir::new();
    let Some(server) = serve_on_tmpfs(&w) else {
        return;
    };
    let var = var_dir(&server, &w);

    let before = server.api("POST", "/api/items", Some(r#"{"title":"before"}"#));
    assert_eq!(before.status, 201, "{}", before.body);
    let id = before.json()["id"].as_i64().unwrap();

    // A live subscriber: nothing that failed may reach it.
    let mut sse = connect(server.addr);
    sse.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let req = format!(
        "GET /.well-known/mercure?topic=/api/items HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    );
    sse.write_all(req.as_bytes()).unwrap();

    fill(&var);

    // Each write either commits (2xx, and then it is in the file) or fails with 507; with the
    // filesystem full, they soon all fail.
    let mut answered = Vec::new();
    let mut failures = 0;
    let big = "x".repeat(900);
    for i in 0..40 {
        let body = format!(r#"{{"title":"on a full disk {i} {big}"}}"#);
        let resp = server.api("POST", "/api/items", Some(&body));
        match resp.status {
            201 => answered.push(resp.json()["id"].as_i64().unwrap()),
            507 => {
                failures += 1;
                assert_eq!(
                    resp.header("content-type"),
                    Some("application/problem+json")
                );
                assert_eq!(resp.json()["status"], 507, "{}", resp.body);
            }
            other => panic!("POST on a full disk: {other} {}", resp.body),
        }
        let patch = format!(r#"{{"title":"patched {i} {big}"}}"#);
        let resp = server.api("PATCH", &format!("/api/items/{id}"), Some(&patch));
        assert!(
            resp.status == 200 || resp.status == 507,
            "PATCH on a full disk: {} {}",
            resp.status,
            resp.body
        );
        if resp.status == 507 {
            failures += 1;
        }
    }
    // What was answered 2xx is stored, and nothing else.
    let mut expected = vec![id];
    expected.extend(&answered);
    assert_eq!(stored_ids(&var), expected);

    assert!(
        failures > 60,
        "the full disk made only {failures} writes fail"
    );

    let health = server.api("GET", "/healthz", None);
    assert_eq!(health.status, 503, "{}", health.body);
    assert!(
        server.log().contains("disk") || server.log().contains("full"),
        "the failed commits are logged: {}",
        server.log()
    );

    // The live stream saw at most the answered writes: no failed write was published.
    let mut seen = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = sse.read(&mut buf) {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    let seen = String::from_utf8_lossy(&seen);
    let published = seen.matches("on a full disk").count();
    assert_eq!(published, answered.len(), "{seen}");

    // Space again: writes and /healthz recover by themselves.
    std::fs::remove_file(var.join("filler")).unwrap();
    let after = eventually(|| {
        let resp = server.api("POST", "/api/items", Some(r#"{"title":"after"}"#));
        (resp.status == 201).then_some(resp)
    });
    assert!(stored_ids(&var).contains(&after.json()["id"].as_i64().unwrap()));
    assert_eq!(server.api("GET", "/healthz", None).status, 200);
}
