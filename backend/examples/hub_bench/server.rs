//! The measured server in its own process: the real backend, or one of the two references
//! (this binary with `server hub|plain`).

use std::io::{BufRead, Write as _};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{AnyResult, KEY};

/// `server plain`: a do-nothing SSE endpoint on hyper's HTTP/1 connections (2 workers, as `serve`
/// runs);
/// `server hub`: the hub's router alone (subscribers with a JWT, no other layer). References that
/// tell the hub's per-subscriber memory from the rest of the backend's per-connection memory.
pub async fn server(hub_only: bool) -> AnyResult<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("PORT {}", listener.local_addr()?.port());
    std::io::stdout().flush()?;
    let key = || {
        Some(qmlbridge_backend::config::mercure::JwtKey {
            key: qmlbridge_backend::secret::Secret::new(KEY),
            alg: "HS256".into(),
        })
    };
    let config = qmlbridge_backend::config::mercure::MercureConfig {
        publisher_jwt: key(),
        subscriber_jwt: key(),
        ..Default::default()
    };
    let hub = qmlbridge_backend::hub::Hub::new(&config)?;
    let router = if hub_only {
        hub.router()
    } else {
        plain_router()
    };
    let _keep = hub;
    let serve = qmlbridge_backend::conn::serve(
        listener,
        router,
        tokio_util::sync::CancellationToken::new(),
    );
    // Runs until the driver closes our stdin.
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin()
            .read_line(&mut line)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    });
    tokio::select! {
        r = serve => r?,
        _ = stdin_closed => {}
    }
    Ok(())
}

/// A do-nothing SSE endpoint: a first comment, then nothing, forever.
fn plain_router() -> axum::Router {
    axum::Router::new().route(
        "/.well-known/mercure",
        axum::routing::get(|| async {
            let first = futures_util::stream::once(async {
                Ok::<_, std::convert::Infallible>(bytes::Bytes::from_static(b":\n"))
            });
            let body = futures_util::StreamExt::chain(first, futures_util::stream::pending());
            axum::response::Response::new(axum::body::Body::from_stream(body))
        }),
    )
}

/// What runs in the child process.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The fixture backend's `serve` (release) with the repository's Caddyfile.
    Backend,
    /// [`server`] `hub`: the hub's router alone.
    HubOnly,
    /// [`server`] `plain`: the server stack alone.
    Plain,
    /// [`super::floor`]: one `write(2)` per subscriber and nothing else.
    Floor,
}

/// The measured server, in its own process.
pub struct HubProcess {
    pub child: Child,
    pub addr: SocketAddr,
    _dir: Option<tempfile::TempDir>,
}

impl HubProcess {
    pub fn start(kind: Kind) -> AnyResult<Self> {
        match kind {
            Kind::Backend => Self::backend(),
            Kind::HubOnly => Self::example_server("hub"),
            Kind::Plain => Self::example_server("plain"),
            Kind::Floor => Self::example_server("floor"),
        }
    }

    fn backend() -> AnyResult<Self> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        // Cargo builds examples side by side: `<target>/<profile>/examples/fixture`.
        let bin = match std::env::var_os("HUB_BENCH_BACKEND") {
            Some(bin) => std::path::PathBuf::from(bin),
            None => std::env::current_exe()?.with_file_name("fixture"),
        };
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("backend.log");
        let child = Command::new(&bin)
            .args(["serve", "--config"])
            .arg(
                std::env::var_os("HUB_BENCH_CADDYFILE")
                    .map(std::path::PathBuf::from)
                    .unwrap_or_else(|| root.join("Caddyfile")),
            )
            .current_dir(dir.path())
            .env("PORT", "0")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/db.sqlite", dir.path().display()),
            )
            .env("BRIDGE_TOKEN", "hub-bench-token")
            .env("MERCURE_PUBLISHER_JWT_KEY", KEY)
            .env("MERCURE_SUBSCRIBER_JWT_KEY", KEY)
            .env_remove("LISTEN_FDS")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .map_err(|e| {
                format!(
                    "{}: {e} (build it: cargo build --release -p qmlbridge-backend --example fixture)",
                    bin.display()
                )
            })?;
        let mut process = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            _dir: None,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split("listening on http://").nth(1) {
                process.addr = rest
                    .split_whitespace()
                    .next()
                    .ok_or("no address")?
                    .parse()?;
                process._dir = Some(dir);
                return Ok(process);
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                return Err(format!("the backend exited ({status}): {text}").into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("the backend did not listen within 60 s".into())
    }

    fn example_server(what: &str) -> AnyResult<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["server", what])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let port: u16 = line
            .trim()
            .strip_prefix("PORT ")
            .ok_or("no port line")?
            .parse()?;
        Ok(Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _dir: None,
        })
    }

    /// Resident set size in MiB (`VmRSS`).
    pub fn rss_mib(&self) -> AnyResult<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or("no VmRSS")?;
        Ok(kib / 1024.0)
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        // The reference stops when its stdin closes, the backend on SIGTERM.
        drop(self.child.stdin.take());
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        if self.child.wait_timeout_secs(10).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

trait WaitTimeout {
    fn wait_timeout_secs(&mut self, secs: u64) -> Option<std::process::ExitStatus>;
}

impl WaitTimeout for Child {
    fn wait_timeout_secs(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}
