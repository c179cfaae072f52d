//! Shared prelude of the backend's process tests: the built binary started in a temp dir with
//! its own Caddyfile and SQLite file, its stderr collected, and a tiny HTTP/1.1 client over a
//! plain `TcpStream` (so tests control every byte: `Host`, partial bodies, ...).
//!
//! Each test binary uses a subset of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The binary under test: the fixture app (`examples/fixture`), a backend built on the public
/// API with the resources `items` and `tags`. Built here with cargo (a no-op when fresh), into
/// `<target>/<profile>/examples/` beside the test binaries' `deps/`: a `cargo test --test X`
/// builds no examples by itself.
pub static BIN: std::sync::LazyLock<PathBuf> = std::sync::LazyLock::new(|| {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let target_dir = profile_dir.parent().expect("target dir");
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .args([
            "build",
            "-q",
            "-p",
            "qmlbridge-backend",
            "--example",
            "fixture",
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("run cargo build --example fixture");
    assert!(status.success(), "cargo build --example fixture failed");
    let bin = profile_dir.join("examples/fixture");
    assert!(bin.exists(), "{} missing after the build", bin.display());
    bin
});
/// How many migrations the fixture has.
pub const MIGRATIONS: usize = 3;
/// The table of the fixture's `links` resource (served with `FIXTURE_LINKS`): a foreign key to
/// `items`, a unique `url`, a named check on `rank` and an unnamed one on `score`; `host` is
/// computed by the fixture's hooks.
pub const LINKS_TABLE: &str = "CREATE TABLE links (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES items (id),
    url     TEXT    NOT NULL UNIQUE,
    rank    INTEGER NOT NULL DEFAULT 0 CONSTRAINT rank_not_negative CHECK (rank >= 0),
    score   INTEGER CHECK (score <> 13),
    host    TEXT
);";

/// How long a test waits for something that should happen (a loaded 2-core machine is slow).
pub const PATIENCE: Duration = Duration::from_secs(20);
/// The token the tests start the server with.
pub const TOKEN: &str = "test-token-5f1c0e";

/// A Caddyfile like the committed one, on an OS-chosen port.
pub const CADDYFILE: &str = "{$SERVER_NAME:127.0.0.1}:{$PORT:0} {
\tmercure {
\t\tpublisher_jwt {$MERCURE_PUBLISHER_JWT_KEY:test-mercure-key-long-enough-0123456789} HS256
\t\tsubscriber_jwt {$MERCURE_SUBSCRIBER_JWT_KEY:test-mercure-key-long-enough-0123456789} HS256
\t\tanonymous
\t}
\trequest_body {
\t\tmax_size 4KB
\t}
}
";

/// A temp dir holding a Caddyfile and (once used) `var/data.sqlite`.
pub struct Workdir {
    pub dir: TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        Self::with_caddyfile(CADDYFILE)
    }

    pub fn with_caddyfile(text: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("Caddyfile"), text).expect("write Caddyfile");
        Workdir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn db_path(&self) -> PathBuf {
        self.path().join("var/data.sqlite")
    }

    /// A command for the binary in this dir, with a clean backend environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&*BIN);
        cmd.args(args).current_dir(self.path());
        for var in [
            "BRIDGE_TOKEN",
            "BRIDGE_ENV",
            "DATABASE_URL",
            "BRIDGE_CADDYFILE",
            "PORT",
            "SERVER_NAME",
            "LISTEN_FDS",
            "LISTEN_PID",
            "NOTIFY_SOCKET",
            "MERCURE_PUBLISHER_JWT_KEY",
            "MERCURE_SUBSCRIBER_JWT_KEY",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("BRIDGE_LOG", "info").env("BRIDGE_TOKEN", TOKEN);
        cmd
    }

    /// Runs `migrate` to completion.
    pub fn migrate(&self) -> Output {
        run(self.command(&["migrate"]))
    }

    /// Migrates, creates [`LINKS_TABLE`] and starts `serve` with the `links` resource, in
    /// `BRIDGE_ENV=env`.
    pub fn serve_links(&self, env: &str) -> Server {
        let out = self.migrate();
        assert_eq!(out.code(), Some(0), "{}", out.stderr);
        let conn = rusqlite::Connection::open(self.db_path()).unwrap();
        conn.execute_batch(LINKS_TABLE).unwrap();
        drop(conn);
        let mut cmd = self.command(&["serve"]);
        cmd.env("FIXTURE_LINKS", "1").env("BRIDGE_ENV", env);
        Server::start(cmd)
    }

    /// Starts `serve` and waits for its `listening on` line.
    pub fn serve(&self) -> Server {
        Server::start(self.command(&["serve"]))
    }
}

/// A finished run: exit status and stderr.
pub struct Output {
    pub status: ExitStatus,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Runs a command to completion (bounded by [`PATIENCE`]).
pub fn run(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Read in a thread: a process that never exits must fail the test after PATIENCE, not hold
    // it on a pipe that never closes.
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        let _ = pipe.read_to_string(&mut stderr);
        stderr
    });
    let status = wait_timeout(&mut child, PATIENCE);
    let stderr = reader.join().unwrap();
    let status = status.unwrap_or_else(|| panic!("process did not exit in time: {stderr}"));
    Output { status, stderr }
}

/// Waits for `child` up to `limit`; kills it and returns `None` on timeout.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `serve`. Killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Spawns `cmd` and waits for `listening on http://ADDR` on its stderr.
    pub fn start(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let log = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                // Into the log first: whoever gets the address may read the log at once.
                {
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = match rx.recv_timeout(PATIENCE) {
            Ok(addr) => addr.parse().expect("listening address"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("serve did not start: {}", stderr.lock().unwrap());
            }
        };
        Server {
            child,
            addr,
            stderr,
        }
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends a signal to the server.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, sig).expect("kill");
    }

    /// Waits for the exit (bounded by [`PATIENCE`]).
    pub fn wait(&mut self) -> ExitStatus {
        wait_timeout(&mut self.child, PATIENCE).expect("serve did not exit in time")
    }

    /// A request with the test token.
    pub fn api(&self, method: &str, path: &str, body: Option<&str>) -> Response {
        let auth = format!("Bearer {TOKEN}");
        let mut headers = vec![("Authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        request(
            self.addr,
            method,
            path,
            &headers,
            body.unwrap_or("").as_bytes(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One request on a fresh connection (`Connection: close`), `Host` = `addr` unless given.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut stream = connect(addr);
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    read_response(&mut stream)
}

/// A connection with generous timeouts.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, PATIENCE).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Reads a whole `Connection: close` response.
pub fn read_response(stream: &mut TcpStream) -> Response {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

/// An anonymous Mercure subscriber over a real socket (the fixture's Caddyfile allows them), to
/// the topics in `query` (`topic=/api/items`, repeated for more): the stream, and what was read
/// of it so far, the response head, which says 200.
pub fn subscribe(addr: SocketAddr, query: &str) -> (TcpStream, String) {
    let mut sse = connect(addr);
    let req = format!(
        "GET /.well-known/mercure?{query} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    );
    sse.write_all(req.as_bytes()).unwrap();
    let mut seen = String::new();
    read_until(&mut sse, &mut seen, "\r\n\r\n");
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    (sse, seen)
}

/// Reads from `stream` (an SSE stream, say) until `needle` is in `seen`, which keeps all that
/// was read.
pub fn read_until(stream: &mut TcpStream, seen: &mut String, needle: &str) {
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "stream ended before {needle:?}: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

/// Polls `f` until it returns `Some` (bounded by [`PATIENCE`]).
pub fn eventually<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "condition not met in time");
        std::thread::sleep(Duration::from_millis(25));
    }
}
