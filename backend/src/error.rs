//! The library's one error type and its mapping to the exit codes of `docs/contract.md` §5.

use std::path::PathBuf;

/// Everything that can stop `serve` or `migrate`. Messages never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Caddyfile is invalid; the message starts with `PATH:LINE:`.
    #[error("{0}")]
    Caddyfile(String),

    /// The Caddyfile could not be read.
    #[error("cannot read {path}: {source}")]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },

    /// An environment variable has a value we cannot use (`DATABASE_URL`, `BRIDGE_ENV`, ...).
    #[error("{name}: {reason}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong with its value (never the value of a secret).
        reason: String,
    },

    /// `BRIDGE_ENV=prod` without `BRIDGE_TOKEN`.
    #[error("BRIDGE_TOKEN is not set and BRIDGE_ENV=prod: refusing to start with the dev token")]
    MissingToken,

    /// SQLite failed; `context` says what we were doing.
    #[error("database: {context}: {source}")]
    Database {
        /// What we were doing.
        context: String,
        /// SQLite's (or the filesystem's) error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A migration cannot be applied or the applied ones do not match this binary.
    #[error("migration refused: {0}")]
    Migration(String),

    /// The `mercure` block cannot build a hub (e.g. an unsupported JWT algorithm).
    #[error("Caddyfile: {0}")]
    Hub(#[source] crate::hub::Error),

    /// A resource cannot be served: a name that is not a lowercase URL segment, two resources
    /// with one name, a table or column the migrations do not create.
    #[error("{0}")]
    Resource(String),

    /// The listening socket could not be obtained or used.
    #[error("listen: {context}: {source}")]
    Listen {
        /// What we were doing.
        context: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit code: runtime failure (`docs/contract.md` §5).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: usage error (bad arguments; clap's own code).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: configuration error (`EX_CONFIG` of sysexits.h).
pub const EXIT_CONFIG: u8 = 78;

impl Error {
    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Caddyfile(_) | Error::ConfigRead { .. } | Error::Env { .. } => EXIT_CONFIG,
            Error::MissingToken | Error::Hub(_) | Error::Resource(_) => EXIT_CONFIG,
            Error::Database { .. } | Error::Migration(_) | Error::Listen { .. } => EXIT_FAILURE,
        }
    }

    /// Wraps a database error with what we were doing.
    pub(crate) fn db(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Database {
            context: context.into(),
            source: Box::new(source),
        }
    }
}
