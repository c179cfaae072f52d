//! `qmlbridge-supervise` as the host (docs/contract.md §5, §9: shutdown, a SIGKILLed host,
//! secrets): JSON lines on stdout, SIGTERM -> graceful stop and exit 0, SIGKILL of the host ->
//! nothing of the backend survives (checked in /proc), and no secret in any output or log.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;

use common::*;
use serde_json::Value;

/// A running `qmlbridge-supervise` whose stdout lines are collected.
struct Cli {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Cli {
    fn start(layout: &Layout, args: &[&str], env: &[(&str, &str)]) -> Cli {
        let data_dir = ["--data-dir", layout.data_dir.to_str().unwrap()];
        Cli::start_without_data_dir(layout, &[&data_dir, args].concat(), env)
    }

    /// The data dir then comes from `XDG_DATA_HOME`/`HOME` and `--org`/`--app`.
    fn start_without_data_dir(layout: &Layout, args: &[&str], env: &[(&str, &str)]) -> Cli {
        Cli::start_without_data_dir_in(layout, layout.tmp.path(), args, env)
    }

    /// [`Cli::start_without_data_dir`] in the working directory `cwd`, with neither
    /// `XDG_DATA_HOME` nor `HOME` inherited (only `env` sets them).
    fn start_without_data_dir_in(
        layout: &Layout,
        cwd: &std::path::Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Cli {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_qmlbridge-supervise"));
        if !args.contains(&"--org") {
            // The layout's install is the fixture's: `bin/fixture-backend`.
            cmd.args(["--org", ORG, "--app", APP]);
        }
        cmd.current_dir(cwd)
            .env_remove("XDG_DATA_HOME")
            .env_remove("HOME")
            .arg("--exe-dir")
            .arg(&layout.exe_dir)
            .args(["--probe-interval", "200ms"])
            .args(args)
            .env_remove("BRIDGE_URL")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start qmlbridge-supervise");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = lines.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Cli {
            child,
            lines,
            stderr,
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn json(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
            .collect()
    }

    /// Waits for a `state` line with `state`; returns it.
    fn wait_state(&self, state: &str) -> Value {
        let mut found = None;
        wait_until(&format!("a {state} line"), || {
            found = self
                .json()
                .into_iter()
                .rev()
                .find(|v| v["event"] == "state" && v["state"] == state);
            found.is_some()
        });
        found.unwrap()
    }

    fn last_state(&self) -> String {
        let states: Vec<Value> = self
            .json()
            .into_iter()
            .filter(|v| v["event"] == "state")
            .collect();
        states
            .last()
            .map(|v| v["state"].as_str().unwrap().to_string())
            .unwrap_or_default()
    }

    fn child_pids(&self) -> Vec<i32> {
        self.json()
            .iter()
            .filter(|v| v["event"] == "child")
            .map(|v| v["pid"].as_i64().unwrap() as i32)
            .collect()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut status = None;
        wait_until("qmlbridge-supervise exits", || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status.unwrap()
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn host_sigkill_leaves_no_process() {
    let layout = Layout::fake("ignore_term,grandchild");
    let mut cli = Cli::start(&layout, &[], &[]);
    cli.wait_state("Online");
    wait_until("grandchild recorded", || {
        !layout.pids("grandchildren").is_empty()
    });
    let backend = cli.child_pids()[0];
    let grandchild = layout.pids("grandchildren")[0];
    let marker = layout.tmp.path().to_str().unwrap().to_string();
    assert!(alive(backend) && alive(grandchild));
    assert!(
        processes_mentioning(&marker).contains(&grandchild),
        "the /proc check sees it"
    );

    cli.signal(libc::SIGKILL);
    cli.wait_exit();
    // The backend ignores SIGTERM, so its parent-death signal alone would not do: the guardian
    // kills the whole group. Nothing mentioning this test's directory may remain (host's
    // guardian included).
    wait_until("no process of this host left", || {
        processes_mentioning(&marker).is_empty()
    });
    assert!(!alive(backend) && !alive(grandchild));
}

#[test]
fn sigterm_stops_gracefully_and_exits_0() {
    let layout = Layout::fake("grandchild");
    let mut cli = Cli::start(&layout, &[], &[]);
    let online = cli.wait_state("Online");
    assert_eq!(online["mode"], "Bundled");
    assert!(
        online["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    wait_until("grandchild recorded", || {
        !layout.pids("grandchildren").is_empty()
    });
    let backend = cli.child_pids()[0];
    cli.signal(libc::SIGTERM);
    let status = cli.wait_exit();
    assert_eq!(
        status.code(),
        Some(0),
        "stderr: {}",
        cli.stderr.lock().unwrap()
    );
    assert!(!alive(backend));
    assert!(!alive(layout.pids("grandchildren")[0]));
    assert!(
        layout.backend_log().contains("fake: stopped"),
        "the backend stopped on SIGTERM"
    );
    assert_eq!(cli.last_state(), "Offline");
}

#[test]
fn json_lines_and_no_secret_in_any_output_or_log() {
    let layout = Layout::fake("crash_first=2");
    let mut cli = Cli::start(&layout, &[], &[("BRIDGE_LOG", "debug")]);
    cli.wait_state("Online");
    cli.signal(libc::SIGTERM);
    assert_eq!(cli.wait_exit().code(), Some(0));

    let lines = cli.lines();
    let first = &lines[0];
    assert!(
        first.starts_with(r#"{"event":"state","mode":"Bundled","state":"Connecting","url":"#),
        "{first}"
    );
    let json = cli.json();
    assert_eq!(json.iter().filter(|v| v["event"] == "child").count(), 3);
    assert_eq!(
        json.iter()
            .filter(|v| v["event"] == "token_rotated")
            .count(),
        2
    );
    for v in &json {
        if v["event"] != "child" {
            assert_eq!(v["token"], Value::Null, "{v}");
        }
        if v["event"] == "state" {
            assert!(v["ts_ms"].as_u64().is_some(), "{v}");
        }
    }

    let spawns = layout.spawns();
    let mut secrets: Vec<String> = spawns
        .iter()
        .map(|s| s["token"].as_str().unwrap().to_string())
        .collect();
    secrets.push(spawns[0]["mercure"].as_str().unwrap().to_string());
    let stderr = cli.stderr.lock().unwrap().clone();
    let log = layout.backend_log();
    assert!(
        log.contains("fake: crash at start"),
        "backend.log holds the backend's output"
    );
    assert!(
        stderr.contains("fake: crash at start"),
        "re-emitted under target `backend`"
    );
    for secret in &secrets {
        assert!(
            !lines.join("\n").contains(secret.as_str()),
            "secret on stdout"
        );
        assert!(!stderr.contains(secret.as_str()), "secret on stderr");
        assert!(!log.contains(secret.as_str()), "secret in backend.log");
    }
}

#[test]
fn show_token_prints_the_tokens() {
    let layout = Layout::fake("crash_first=1");
    let cli = Cli::start(&layout, &["--show-token"], &[]);
    let online = cli.wait_state("Online");
    let spawns = layout.spawns();
    assert_eq!(online["token"], spawns[1]["token"]);
    let rotated: Vec<Value> = cli
        .json()
        .into_iter()
        .filter(|v| v["event"] == "token_rotated")
        .collect();
    assert_eq!(rotated.len(), 1);
    assert_eq!(rotated[0]["token"], spawns[1]["token"]);
}

/// A server on a free port, started by the test itself (Dev mode: someone else runs it).
fn dev_server(port: u16) -> Child {
    Command::new(python())
        .arg(script("contract_backend.py"))
        .arg("serve")
        .env("PORT", port.to_string())
        .env("BRIDGE_TOKEN", "dev-secret")
        .env_remove("LISTEN_FDS")
        .env_remove("NOTIFY_SOCKET")
        .stderr(Stdio::null())
        .spawn()
        .expect("start the dev server")
}

#[test]
fn dev_mode_probes_reconnecting_then_offline_at_the_threshold() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = dev_server(port);
    let layout = Layout::empty();
    let url = format!("http://127.0.0.1:{port}/");
    let cli = Cli::start(
        &layout,
        &["--offline-threshold", "2s", "--show-token"],
        &[("BRIDGE_URL", &url), ("BRIDGE_TOKEN", "dev-secret")],
    );
    let online = cli.wait_state("Online");
    assert_eq!(online["mode"], "Dev");
    assert_eq!(online["url"], format!("http://127.0.0.1:{port}"));
    assert_eq!(online["token"], "dev-secret");

    server.kill().unwrap();
    server.wait().unwrap();
    cli.wait_state("Reconnecting");
    let offline = cli.wait_state("Offline");
    let error = offline["error"].as_str().unwrap();
    assert!(error.contains("/healthz failing for 2s"), "{error}");

    let mut server = dev_server(port);
    wait_until("Online again after the server came back", || {
        cli.last_state() == "Online"
    });
    assert!(cli.child_pids().is_empty(), "Dev mode never spawns");
    assert!(!layout.data_dir.exists(), "Dev mode prepares no data dir");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn dev_mode_rejects_a_non_http_url() {
    let layout = Layout::empty();
    let cli = Cli::start(&layout, &[], &[("BRIDGE_URL", "ftp://example.invalid")]);
    let offline = cli.wait_state("Offline");
    assert_eq!(offline["mode"], "Dev");
    let error = offline["error"].as_str().unwrap();
    assert!(
        error.starts_with("dev mode: BRIDGE_URL must be an http:// or https:// URL"),
        "{error}"
    );
}

#[test]
fn data_dir_follows_xdg_data_home_org_and_app() {
    let layout = Layout::fake("");
    let xdg = layout.tmp.path().join("xdg");
    let cli = Cli::start_without_data_dir(
        &layout,
        &[
            "--org",
            "acme",
            "--app",
            "notes",
            "--backend-bin",
            "fixture-backend",
        ],
        &[("XDG_DATA_HOME", xdg.to_str().unwrap())],
    );
    cli.wait_state("Online");
    let dir = xdg.join("acme/notes");
    let mode = std::fs::metadata(&dir).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o700
    );
    assert!(dir.join("var/log/backend.log").is_file());
    assert!(dir.join("var/cache").is_dir());
    let db = format!("sqlite://{}", dir.join("var/data.sqlite").display());
    assert_eq!(layout.spawns()[0]["database_url"], db.as_str());
}

#[test]
fn a_relative_home_gives_no_data_dir() {
    // XDG_DATA_HOME unset and HOME relative: the data dir would resolve against the host's
    // working directory, the backend's DATABASE_URL against the backend dir: refused.
    let layout = Layout::fake("");
    let cwd = layout.tmp.path().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let cli = Cli::start_without_data_dir_in(
        &layout,
        &cwd,
        &[
            "--org",
            "acme",
            "--app",
            "notes",
            "--backend-bin",
            "fixture-backend",
        ],
        &[("HOME", "home")],
    );
    let offline = cli.wait_state("Offline");
    let error = offline["error"].as_str().unwrap();
    assert!(error.starts_with("data dir: "), "{error}");
    assert!(layout.spawns().is_empty());
    assert_eq!(
        std::fs::read_dir(&cwd).unwrap().count(),
        0,
        "created in cwd"
    );
}

#[test]
fn the_backend_binary_override_is_the_contracts_variable() {
    // docs/contract.md §9: BRIDGE_BACKEND_BIN replaces every candidate path.
    let layout = Layout::fake("");
    let cli = Cli::start(
        &layout,
        &[],
        &[("BRIDGE_BACKEND_BIN", "/nonexistent/fixture-backend")],
    );
    let offline = cli.wait_state("Offline");
    let error = offline["error"].as_str().unwrap();
    assert!(
        error.starts_with("paths: backend binary not found; tried /nonexistent/fixture-backend"),
        "{error}"
    );
    assert!(layout.spawns().is_empty());
}

#[test]
fn port_in_use_goes_offline_naming_the_socket_step() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let layout = Layout::fake("");
    let cli = Cli::start(&layout, &[], &[("PORT", &port)]);
    let offline = cli.wait_state("Offline");
    let error = offline["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("socket: cannot bind 127.0.0.1:{port}")),
        "{error}"
    );
    assert!(layout.spawns().is_empty());
}

#[test]
fn fixed_port_from_the_environment() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let layout = Layout::fake("");
    let cli = Cli::start(&layout, &[], &[("PORT", &port.to_string())]);
    let online = cli.wait_state("Online");
    assert_eq!(online["url"], format!("http://127.0.0.1:{port}"));
    assert_eq!(layout.spawns()[0]["port"], port.to_string());
}
