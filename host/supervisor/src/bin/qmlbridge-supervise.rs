//! `qmlbridge-supervise`: the supervision core without Qt, for tests, benches and servers
//! (docs/contract.md §9): `qmlbridge-supervise --org ORG --app NAME [...]` (an app's `org` and
//! `name` from its qmlbridge.toml; `--help` lists the rest). Prints one JSON object per line on
//! stdout:
//!
//! - `{"event":"state","mode":"Bundled","state":"Online","url":"http://127.0.0.1:PORT","error":null,"token":null,"ts_ms":N,"recovery":null}`
//! - `{"event":"child","pid":N}` on each spawn
//! - `{"event":"token_rotated","token":null}` (the token only with `--show-token`, for tests)
//!
//! SIGTERM or SIGINT stops the backend gracefully and exits 0. Logs (tracing, filter from
//! `BRIDGE_LOG`, default [`DEFAULT_FILTER`]) go to stderr. The backend's own lines (target
//! `backend`, debug level, docs/contract.md §6) are shown by default: this tool writes no log file
//! of its own, its stderr is where a test or a service manager watches the backend, and
//! `<data>/var/log/backend.log` keeps the bounded copy. `BRIDGE_LOG=info` hides them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Parser;
use qmlbridge_supervisor::{ConnectionState, Event, Mode, Options, Secret, Snapshot, Supervisor};
use serde::Serialize;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::broadcast::error::RecvError;

/// The log filter when `BRIDGE_LOG` is unset: the supervisor at info, the backend's lines too.
const DEFAULT_FILTER: &str = "info,backend=debug";

/// Supervise the qmlbridge backend (Bundled) or probe `BRIDGE_URL` (Dev), printing JSON lines.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Organisation: first component of the data dir (an app's `org` in qmlbridge.toml).
    #[arg(long)]
    org: String,
    /// Application: second component of the data dir and of the `share/<app>` fallbacks (an
    /// app's `name` in qmlbridge.toml).
    #[arg(long)]
    app: String,
    /// The backend binary's file name (default: `<app>-backend`).
    #[arg(long, value_name = "NAME")]
    backend_bin: Option<String>,
    /// Failing health probes for this long -> Offline (`500ms`, `30s`, plain number = seconds).
    #[arg(long, value_parser = duration)]
    offline_threshold: Option<Duration>,
    /// Pause between health probes.
    #[arg(long, value_parser = duration)]
    probe_interval: Option<Duration>,
    /// Time allowed for `<backend> migrate`.
    #[arg(long, value_parser = duration)]
    migrate_timeout: Option<Duration>,
    /// Time allowed for a spawned backend to become ready.
    #[arg(long, value_parser = duration)]
    ready_timeout: Option<Duration>,
    /// Online this long resets the restart budget.
    #[arg(long, value_parser = duration)]
    healthy_reset: Option<Duration>,
    /// Where path resolution starts (default: this executable's directory).
    #[arg(long)]
    exe_dir: Option<PathBuf>,
    /// The app data dir (default: `${XDG_DATA_HOME:-~/.local/share}/<org>/<app>`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print tokens in `state` and `token_rotated` lines. For tests only: never in production.
    #[arg(long)]
    show_token: bool,
}

/// `250ms`, `2s`, or a plain number of seconds (fractions allowed).
fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = match text.strip_suffix("ms") {
        Some(n) => (n, 0.001),
        None => (text.strip_suffix('s').unwrap_or(text), 1.0),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("not a duration: {text:?} (examples: 500ms, 2s, 30)"))?;
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("{text:?}: {e}"))
}

fn options(args: &Args) -> Options {
    let mut opts = Options::new(&args.org, &args.app);
    if let Some(bin) = &args.backend_bin {
        opts.backend_bin.clone_from(bin);
    }
    let set = |slot: &mut Duration, value: Option<Duration>| {
        if let Some(v) = value {
            *slot = v;
        }
    };
    set(&mut opts.offline_threshold, args.offline_threshold);
    set(&mut opts.probe_interval, args.probe_interval);
    set(&mut opts.migrate_timeout, args.migrate_timeout);
    set(&mut opts.ready_timeout, args.ready_timeout);
    set(&mut opts.healthy_reset, args.healthy_reset);
    opts.exe_dir = args.exe_dir.clone();
    opts.data_dir = args.data_dir.clone();
    opts
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn token(secret: Option<&Secret>, show: bool) -> Option<&str> {
    secret.filter(|_| show).map(Secret::expose)
}

/// One stdout line; fields in the order the module docs show them.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Line<'a> {
    State {
        mode: Mode,
        state: ConnectionState,
        url: &'a str,
        error: Option<&'a str>,
        token: Option<&'a str>,
        ts_ms: u64,
        recovery: Option<&'a str>,
    },
    Child {
        pid: u32,
    },
    TokenRotated {
        token: Option<&'a str>,
    },
}

fn state_line(s: &Snapshot, show: bool) -> String {
    let line = Line::State {
        mode: s.mode,
        state: s.state,
        url: &s.url,
        error: s.error.as_deref(),
        token: token(s.token.as_ref(), show),
        ts_ms: now_ms(),
        recovery: s.recovery.as_deref(),
    };
    serde_json::to_string(&line).unwrap_or_default()
}

fn event_line(event: &Event, show: bool) -> String {
    let line = match event {
        Event::State(s) => return state_line(s, show),
        Event::Child { pid } => Line::Child { pid: *pid },
        Event::TokenRotated(t) => Line::TokenRotated {
            token: token(Some(t), show),
        },
    };
    serde_json::to_string(&line).unwrap_or_default()
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BRIDGE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER)),
        )
        .init();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qmlbridge-supervise: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let supervisor = Supervisor::start(options(args));
    let mut events = supervisor.subscribe();
    let show = args.show_token;
    println!("{}", state_line(&supervisor.snapshot(), show));
    runtime.block_on(async {
        let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                event = events.recv() => match event {
                    Ok(event) => println!("{}", event_line(&event, show)),
                    Err(RecvError::Lagged(_)) => println!("{}", state_line(&supervisor.snapshot(), show)),
                    Err(RecvError::Closed) => break,
                },
            }
        }
        anyhow::Ok(())
    })?;
    tracing::info!(target: "qmlbridge::supervisor", "stopping");
    supervisor.shutdown();
    while let Ok(event) = events.try_recv() {
        println!("{}", event_line(&event, show));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(duration("soon").is_err());
        assert!(duration("-1").is_err());
    }

    #[test]
    fn state_line_field_order() {
        let snap = Snapshot {
            mode: Mode::Bundled,
            url: "http://127.0.0.1:1".into(),
            token: Some(Secret::new("tok")),
            state: ConnectionState::Online,
            error: None,
            data_dir: None,
            mercure_subscriber_key: None,
            recovery: None,
        };
        let line = state_line(&snap, false);
        let want = r#"{"event":"state","mode":"Bundled","state":"Online","url":"http://127.0.0.1:1","error":null,"token":null,"ts_ms":"#;
        assert!(line.starts_with(want), "{line}");
        assert_eq!(
            event_line(&Event::Child { pid: 7 }, true),
            r#"{"event":"child","pid":7}"#
        );
    }

    #[test]
    fn tokens_only_when_asked() {
        let t = Secret::new("tok");
        let hidden = event_line(&Event::TokenRotated(t.clone()), false);
        assert_eq!(hidden, r#"{"event":"token_rotated","token":null}"#);
        let shown = event_line(&Event::TokenRotated(t), true);
        assert!(shown.contains(r#""token":"tok""#), "{shown}");
    }
}
