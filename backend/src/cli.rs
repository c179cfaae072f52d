//! The command line every app's backend shares (`docs/contract.md` §1, §5): `migrate [--check]`,
//! `serve [--config PATH]`, `--help`, `--version`; tracing on stderr filtered by `BRIDGE_LOG`;
//! the exit code from the error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::app::App;
use crate::config;

/// What `--help` says after the commands.
const AFTER_HELP: &str = "Exit codes: 0 stopped on request, 1 runtime failure, 2 usage error, \
78 configuration error.\nEnvironment: BRIDGE_TOKEN, BRIDGE_ENV, DATABASE_URL, BRIDGE_CADDYFILE, \
BRIDGE_LOG, PORT, LISTEN_FDS/LISTEN_PID, NOTIFY_SOCKET, MERCURE_PUBLISHER_JWT_KEY, \
MERCURE_SUBSCRIBER_JWT_KEY (see the qmlbridge contract, docs/contract.md).";

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending database migrations to DATABASE_URL and exit.
    Migrate {
        /// Only check: apply them and check every resource's table in one transaction that is
        /// rolled back (nothing is written); exit 0 when `serve` would start on this database.
        #[arg(long)]
        check: bool,
    },
    /// Serve HTTP until SIGTERM/SIGINT.
    Serve {
        /// The Caddyfile (default: $BRIDGE_CADDYFILE, else ./Caddyfile, else the framework's
        /// built-in default configuration).
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
}

pub(crate) fn run(backend: App) -> ExitCode {
    let about = format!(
        "The backend of {}: REST resources, a Mercure hub and SQLite, supervised by its desktop \
         host (a qmlbridge app).",
        backend.name
    );
    // clap wants a 'static name; this runs once per process.
    let bin: &'static str = Box::leak(format!("{}-backend", backend.name).into_boxed_str());
    let command = Cli::command()
        .name(bin)
        .bin_name(bin)
        .version(backend.version)
        .about(about)
        .after_help(AFTER_HELP);
    // clap exits 0 for --help/--version and 2 for usage errors.
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_tracing();
    let result = match cli.command {
        Command::Migrate { check: false } => crate::serve::migrate(backend.migrations),
        Command::Migrate { check: true } => crate::serve::check(&backend),
        Command::Serve { config } => {
            let source = config::locate(config.as_deref(), &config::process_env);
            crate::serve::serve(&source, backend)
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
