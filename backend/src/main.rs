//! `qmlbridge-backend`: thin main (arguments, tracing, exit code).
//!
//! Exit codes (`docs/contract.md` §5): 0 stopped on request, 1 runtime failure, 2 usage error,
//! 78 configuration error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use qmlbridge_backend::serve;
use tracing_subscriber::EnvFilter;

/// The embedded backend of qmlbridge: todo REST API, Mercure hub, SQLite.
///
/// Exit codes: 0 stopped on request, 1 runtime failure, 2 usage error, 78 configuration error.
/// Environment: BRIDGE_TOKEN, BRIDGE_ENV, DATABASE_URL, BRIDGE_CADDYFILE, BRIDGE_LOG, PORT,
/// LISTEN_FDS/LISTEN_PID, NOTIFY_SOCKET (see docs/contract.md).
#[derive(Debug, Parser)]
#[command(name = "qmlbridge-backend", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending database migrations to DATABASE_URL and exit.
    Migrate,
    /// Serve HTTP until SIGTERM/SIGINT.
    Serve {
        /// The Caddyfile (default: $BRIDGE_CADDYFILE, else ./Caddyfile).
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // clap exits 0 for --help/--version and 2 for usage errors.
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Migrate => serve::migrate(),
        Command::Serve { config } => {
            let path = qmlbridge_backend::config::locate(
                config.as_deref(),
                &qmlbridge_backend::config::process_env,
            );
            serve::serve(&path)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(target: "qmlbridge_backend", "{err}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// Plain lines on stderr, filtered by `BRIDGE_LOG` (EnvFilter syntax, default `info`).
fn init_tracing() {
    let spec = std::env::var("BRIDGE_LOG").unwrap_or_default();
    let (filter, bad) = match EnvFilter::try_new(if spec.is_empty() { "info" } else { &spec }) {
        Ok(f) => (f, false),
        Err(_) => (EnvFilter::new("info"), true),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    if bad {
        tracing::warn!(target: "qmlbridge_backend", "BRIDGE_LOG is not a valid filter: using info");
    }
}
