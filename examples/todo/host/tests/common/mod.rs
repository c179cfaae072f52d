//! Shared prelude of the todo host's tests: the real backend binary, a served backend in a temp
//! dir, free ports, and the staging of QtQuickTest files.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../..")
        .canonicalize()
        .unwrap()
}

/// `todo-backend`: beside this test's target dir, else the workspace's `target/`, else built
/// there with `cargo build -p todo-backend`.
pub fn backend_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let profile = profile_dir.file_name().unwrap().to_owned();
    let candidates = [
        profile_dir.join("todo-backend"),
        repo().join("target").join(&profile).join("todo-backend"),
    ];
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return found.clone();
    }
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(repo())
        .args(["build", "-p", "todo-backend"]);
    cargo.env_remove("CARGO_TARGET_DIR");
    if profile == "release" {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("cargo build -p todo-backend");
    assert!(status.success(), "cargo build -p todo-backend failed");
    candidates[1].clone()
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A backend run the way a developer runs it in dev mode (`migrate`, then `serve`), on its own
/// port and SQLite file; killed on drop.
pub struct DevBackend {
    pub url: String,
    child: Child,
}

impl DevBackend {
    pub fn start(dir: &Path) -> DevBackend {
        let port = free_port();
        let db = format!("sqlite://{}", dir.join("data.sqlite").display());
        let run = |args: &[&str]| {
            let mut cmd = Command::new(backend_bin());
            cmd.current_dir(repo().join("examples/todo/backend"))
                .args(args)
                .env("PORT", port.to_string())
                .env("DATABASE_URL", &db)
                .env_remove("BRIDGE_TOKEN")
                .env_remove("LISTEN_FDS")
                .env_remove("NOTIFY_SOCKET")
                .stdout(Stdio::null());
            cmd
        };
        let status = run(&["migrate"])
            .status()
            .expect("run todo-backend migrate");
        assert!(status.success(), "todo-backend migrate failed: {status}");
        let caddyfile = repo().join("Caddyfile");
        let child = run(&["serve", "--config", caddyfile.to_str().unwrap()])
            .spawn()
            .expect("spawn todo-backend serve");
        let backend = DevBackend {
            url: format!("http://127.0.0.1:{port}"),
            child,
        };
        backend.wait_healthy();
        backend
    }

    fn wait_healthy(&self) {
        let addr = self.url.trim_start_matches("http://").to_string();
        let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http(&addr, &request).is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the dev backend at {} never became healthy", self.url);
    }
}

/// Sends one raw HTTP/1.1 `request` (with `Connection: close`) to `addr`; the whole response
/// when its status is 200.
pub fn http(addr: &str, request: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/1.1 200").then_some(out)
}

impl Drop for DevBackend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies `qml/tests/<name>` into `dir` next to an `env.js` that defines `env` as `json`, the
/// test's view of the values the harness chose (URLs, ports).
pub fn stage(dir: &Path, name: &str, json: &serde_json::Value) -> PathBuf {
    let src = repo().join("examples/todo/qml/tests").join(name);
    let dst = dir.join(name);
    std::fs::copy(&src, &dst).unwrap();
    std::fs::write(
        dir.join("env.js"),
        format!(".pragma library\nvar env = {json};\n"),
    )
    .unwrap();
    dst
}
