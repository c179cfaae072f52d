//! The prelude of `qmlbridge dev`'s end-to-end test and benchmark: an Xvfb display, a dev session
//! of a generated app with its report lines collected, the window's titles read from the X server
//! (what a person sees), and plain HTTP to the backend.
#![allow(dead_code)] // shared by the test and the bench, which use different parts

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_qmlbridge");

/// How long any one step may take before the test gives up: generous, because the first step
/// builds. Speed is the benchmark's business, not an assertion here.
pub const PATIENCE: Duration = Duration::from_secs(300);

/// The generated app the test edits (scripts/test-new-app.sh sets it).
pub fn app() -> PathBuf {
    let dir = std::env::var_os("QMLBRIDGE_DEV_APP")
        .expect("QMLBRIDGE_DEV_APP: the generated app to edit (scripts/test-new-app.sh sets it)");
    PathBuf::from(dir)
        .canonicalize()
        .expect("QMLBRIDGE_DEV_APP exists")
}

/// An Xvfb server on a free display, killed on drop.
pub struct Display {
    child: Child,
    pub name: String,
}

impl Display {
    pub fn start() -> Display {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x1024x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (scripts/install-deps.sh test installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let number = line.trim();
        assert!(!number.is_empty(), "Xvfb did not report its display");
        Display {
            child,
            name: format!(":{number}"),
        }
    }

    /// `xwininfo -root -tree`: one line per window, its title quoted.
    fn tree(&self) -> String {
        let out = Command::new("xwininfo")
            .args(["-root", "-tree", "-display", &self.name])
            .output()
            .expect("xwininfo (x11-utils)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The names of the X server's windows: the window titles.
    pub fn titles(&self) -> Vec<String> {
        self.tree()
            .lines()
            .filter_map(|l| {
                let start = l.find('"')? + 1;
                let end = start + l[start..].find('"')?;
                Some(l[start..end].to_string())
            })
            .collect()
    }

    /// `xwininfo`'s geometry (`WxH+X+Y`) of the window whose title starts with `title`.
    pub fn geometry(&self, title: &str) -> Option<String> {
        // `0x20001b "Title — App": ("app" "app")  640x720+0+0  +0+0`: the toplevel has a class.
        let quoted = format!("\"{title}");
        self.tree().lines().find_map(|l| {
            if !l.contains(&quoted) || !l.contains(": (\"") {
                return None;
            }
            l.split_whitespace()
                .find(|w| !w.starts_with("0x") && w.contains('x') && w.contains('+'))
                .map(str::to_string)
        })
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lines a process wrote, collected by a thread and echoed to the test's stderr.
#[derive(Clone, Default)]
pub struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn collect(&self, from: impl Read + Send + 'static, tag: &'static str) {
        let lines = self.0.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(from).lines() {
                let Ok(line) = line else { break };
                eprintln!("{tag}{line}");
                lines.lock().unwrap().push(line);
            }
        });
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// The first line from index `from` on that `pred` accepts, waiting up to [`PATIENCE`].
    pub fn wait_from(
        &self,
        from: usize,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> (usize, String) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            {
                let lines = self.0.lock().unwrap();
                if let Some((i, l)) = lines.iter().enumerate().skip(from).find(|(_, l)| pred(l)) {
                    return (i, l.clone());
                }
            }
            assert!(
                Instant::now() < deadline,
                "no line {what} within {PATIENCE:?}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// A running `qmlbridge dev`.
pub struct Session {
    pub child: Child,
    pub out: Lines,
    pub err: Lines,
}

impl Session {
    /// `qmlbridge dev --app <app> [extra]` on `display`, data in `data`.
    pub fn start(
        app: &Path,
        display: &Display,
        data: &Path,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> Session {
        let mut cmd = Command::new(BIN);
        cmd.arg("dev")
            .arg("--app")
            .arg(app)
            .args(extra)
            .env("DISPLAY", &display.name)
            .env("QT_QPA_PLATFORM", "xcb")
            .env("XDG_DATA_HOME", data)
            .env_remove("BRIDGE_URL")
            .env_remove("BRIDGE_TOKEN")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("qmlbridge dev");
        let out = Lines::default();
        let err = Lines::default();
        out.collect(child.stdout.take().unwrap(), "dev| ");
        err.collect(child.stderr.take().unwrap(), "dev! ");
        Session { child, out, err }
    }

    /// The URL of the latest "backend Online at URL" line from `from` on.
    pub fn online(&self, from: usize) -> (usize, String) {
        let (i, line) = self.out.wait_from(from, "backend Online", |l| {
            l.starts_with("[dev] backend Online at ")
        });
        let url = line["[dev] backend Online at ".len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches(':')
            .to_string();
        (i, url)
    }

    /// SIGINT (Ctrl-C) and the exit status.
    pub fn interrupt(mut self) -> ExitStatus {
        signal(self.child.id(), "INT");
        wait(&mut self.child)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            signal(self.child.id(), "TERM");
            let _ = wait(&mut self.child);
        }
    }
}

pub fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

fn wait(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "qmlbridge dev did not end within 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `cond` holds ([`PATIENCE`]); the time it took.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < PATIENCE,
            "not within {PATIENCE:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    start.elapsed()
}

/// One HTTP/1.1 request on a fresh connection (as `curl` does): the status and body, or the
/// error (a refused or reset connection is an error, not a status).
pub fn http(
    url: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("read: {e}"))?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {response:?}"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The processes whose executable is `exe` (the app's host or backend, from this target dir).
pub fn processes_of(exe: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == exe))
        .collect()
}

/// The window's title as Main.qml sets it (`title: qsTr("…")`).
pub fn title_of(main: &Path) -> String {
    let text = std::fs::read_to_string(main).unwrap();
    let start = text.find("title: qsTr(\"").expect("a title in Main.qml") + "title: qsTr(\"".len();
    text[start..start + text[start..].find('"').unwrap()].to_string()
}

/// `line` appended to `path`: a save that changes the file and nothing it means.
pub fn append(path: &Path, line: &str) {
    let mut text = std::fs::read_to_string(path).unwrap();
    text.push_str(line);
    std::fs::write(path, text).unwrap();
}

/// `path` with `from` replaced by `to` (which must occur).
pub fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}
