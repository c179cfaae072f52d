//! The shared prelude of the supervisor's integration tests: a temporary install layout of the
//! app [`APP`] whose `bin/fixture-backend` is a script (tests/scripts/*.py) or the framework's
//! fixture backend, polling helpers with generous deadlines (never timing assertions), a raw HTTP
//! client and /proc inspection.

#![allow(dead_code)] // each test binary uses a different part of the prelude

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use std::{fs, thread};

use qmlbridge_supervisor::{ConnectionState, Event, Options, Snapshot, Supervisor};

/// The organisation every layout is installed for: the data dir's first component.
pub const ORG: &str = "qmlbridge";
/// The app every layout is installed as: `Options::new(ORG, APP)` looks for the backend binary
/// `fixture-backend` (`<app>-backend`) and the `share/fixture` fallbacks.
pub const APP: &str = "fixture";

/// How long any wait may take before the test fails: long, because the machine may be loaded.
pub const PATIENCE: Duration = Duration::from_secs(45);

/// The real Python interpreter (not a pyenv shim: its pid must be the backend's pid).
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 is needed by the supervisor tests");
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scripts")
        .join(name)
}

/// A temporary install: `<exe>/bin/fixture-backend`, `<exe>/backend/`, `<exe>/Caddyfile`, a
/// data dir, and the fake backend's record dir.
pub struct Layout {
    pub tmp: tempfile::TempDir,
    pub exe_dir: PathBuf,
    pub data_dir: PathBuf,
    pub fake_dir: PathBuf,
}

impl Layout {
    /// The fake backend with `flags` (see tests/scripts/fake_backend.py).
    pub fn fake(flags: &str) -> Layout {
        let layout = Layout::empty();
        let body = format!(
            "#!/bin/sh\nFAKE='{flags}' FAKE_DIR='{}' exec '{}' '{}' \"$@\"\n",
            layout.fake_dir.display(),
            python().display(),
            script("fake_backend.py").display()
        );
        layout.install(&body);
        layout
    }

    /// A script that is not ours: only the contract couples it to the host.
    pub fn contract() -> Layout {
        let layout = Layout::empty();
        let body = format!(
            "#!/bin/sh\nexec '{}' '{}' \"$@\"\n",
            python().display(),
            script("contract_backend.py").display()
        );
        layout.install(&body);
        layout
    }

    /// A given executable as the backend.
    pub fn binary(bin: &Path) -> Layout {
        let layout = Layout::empty();
        let body = format!("#!/bin/sh\nexec '{}' \"$@\"\n", bin.display());
        layout.install(&body);
        layout
    }

    /// The real fixture backend, laid out as an install: `bin/fixture-backend` and `Caddyfile`
    /// are symlinks into the target dir and this repository; `backend/` (its working directory)
    /// stays empty, as the fixture embeds its migrations and serves no files of its own.
    pub fn real() -> Layout {
        let layout = Layout::empty();
        fs::create_dir_all(layout.exe_dir.join("bin")).unwrap();
        let link = |from: &Path, to: &str| {
            std::os::unix::fs::symlink(from, layout.exe_dir.join(to)).unwrap()
        };
        link(real_backend(), "bin/fixture-backend");
        link(&repo_root().join("Caddyfile"), "Caddyfile");
        layout
    }

    pub fn empty() -> Layout {
        let tmp = tempfile::tempdir().expect("tempdir");
        let exe_dir = tmp.path().join("opt");
        let data_dir = tmp.path().join("data").join(ORG).join(APP);
        let fake_dir = tmp.path().join("fake");
        fs::create_dir_all(exe_dir.join("backend")).unwrap();
        fs::create_dir_all(&fake_dir).unwrap();
        Layout {
            tmp,
            exe_dir,
            data_dir,
            fake_dir,
        }
    }

    fn install(&self, body: &str) {
        let bin = self.exe_dir.join("bin/fixture-backend");
        fs::create_dir_all(bin.parent().unwrap()).unwrap();
        fs::write(&bin, body).unwrap();
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(
            self.exe_dir.join("Caddyfile"),
            "127.0.0.1:{$PORT:8765} {\n}\n",
        )
        .unwrap();
    }

    /// Options for this layout with test-friendly probe timings (not the thresholds under test).
    pub fn options(&self) -> Options {
        let mut opts = Options::new(ORG, APP);
        opts.exe_dir = Some(self.exe_dir.clone());
        opts.data_dir = Some(self.data_dir.clone());
        opts.probe_interval = Duration::from_millis(200);
        opts
    }

    /// One JSON object per `serve` process the fake backend started, in order.
    pub fn spawns(&self) -> Vec<serde_json::Value> {
        read_lines(&self.fake_dir.join("spawns"))
            .iter()
            .map(|l| serde_json::from_str(l).expect("spawn record"))
            .collect()
    }

    /// Pids the fake backend wrote to `name` (`grandchildren`, `migrations`, ...).
    pub fn pids(&self, name: &str) -> Vec<i32> {
        read_lines(&self.fake_dir.join(name))
            .iter()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    pub fn backend_log(&self) -> String {
        let dir = self.data_dir.join("var/log");
        let mut text = String::new();
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            text.push_str(&String::from_utf8_lossy(
                &fs::read(entry.path()).unwrap_or_default(),
            ));
        }
        text
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// `target/<profile>/examples/fixture` (the framework's fixture backend, backend/examples/fixture),
/// built by `cargo build -p qmlbridge-backend --example fixture` (a no-op when it is fresh), so
/// `cargo test` works on a clean clone.
pub fn real_backend() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let profile_dir = Path::new(env!("CARGO_BIN_EXE_qmlbridge-supervise"))
            .parent()
            .unwrap();
        let bin = profile_dir.join("examples/fixture");
        let target_dir = profile_dir.parent().unwrap();
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .args(["build", "-p", "qmlbridge-backend", "--example", "fixture"])
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(repo_root());
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("run cargo build --example fixture");
        assert!(status.success(), "cargo build --example fixture failed");
        assert!(bin.exists(), "{} missing after the build", bin.display());
        bin
    })
}

fn read_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Polls `cond` every 20 ms until it holds; panics with `what` after [`PATIENCE`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for: {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the supervisor's snapshot satisfies `cond`; returns that snapshot.
pub fn wait_state(sup: &Supervisor, what: &str, cond: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let snap = sup.snapshot();
        if cond(&snap) {
            return snap;
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting for: {what}; last snapshot: {snap:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

pub fn online(s: &Snapshot) -> bool {
    s.state == ConnectionState::Online
}

/// Every event a supervisor publishes, collected on a thread until the channel closes.
#[derive(Clone)]
pub struct Recorder(Arc<Mutex<Vec<Event>>>);

impl Recorder {
    pub fn start(sup: &Supervisor) -> Recorder {
        let events = Arc::new(Mutex::new(Vec::new()));
        let mut rx = sup.subscribe();
        let sink = events.clone();
        thread::spawn(move || {
            while let Ok(event) = rx.blocking_recv() {
                sink.lock().unwrap().push(event);
            }
        });
        Recorder(events)
    }

    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }

    pub fn child_pids(&self) -> Vec<u32> {
        self.events()
            .iter()
            .filter_map(|e| match e {
                Event::Child { pid } => Some(*pid),
                _ => None,
            })
            .collect()
    }

    pub fn rotated_tokens(&self) -> Vec<String> {
        self.events()
            .iter()
            .filter_map(|e| match e {
                Event::TokenRotated(t) => Some(t.expose().to_string()),
                _ => None,
            })
            .collect()
    }

    pub fn states(&self) -> Vec<ConnectionState> {
        let mut states: Vec<ConnectionState> = Vec::new();
        for e in self.events() {
            if let Event::State(s) = e
                && states.last() != Some(&s.state)
            {
                states.push(s.state);
            }
        }
        states
    }
}

/// `GET path` over a fresh connection; `Ok(status)` or `Err` when the connection failed
/// (refused, reset before a status line).
pub fn http_get(url: &str, path: &str, token: Option<&str>) -> std::io::Result<u16> {
    http(url, "GET", path, token, None).map(|(status, _)| status)
}

/// One HTTP/1.1 request with `Connection: close`; `(status, body)`.
pub fn http(
    url: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    json: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let authority = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let body = json.unwrap_or("");
    let kind = if json.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\n{auth}{kind}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("bad response {text:?}"),
            )
        })?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((status, body))
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesised command name.
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            state != Some("Z") && state != Some("X")
        }
        Err(_) => false,
    }
}

/// Whether `pid` has left /proc entirely: exited *and* reaped (no zombie left behind).
pub fn reaped(pid: i32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// Pids of live processes whose command line or environment mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let read = |what: &str| fs::read(entry.path().join(what)).unwrap_or_default();
        let hit = [read("cmdline"), read("environ")]
            .iter()
            .any(|bytes| String::from_utf8_lossy(bytes).contains(needle));
        if hit && alive(pid) && pid != std::process::id() as i32 {
            found.push(pid);
        }
    }
    found
}
