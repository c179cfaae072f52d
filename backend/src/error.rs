//! The library's one error type and its mapping to the exit codes of `docs/contract.md` §5.

use std::path::PathBuf;

/// Everything that can stop `serve` or `migrate`. Messages never contain a secret.
///
/// ```
/// use qmlbridge_backend::{Backend, Error, Migration};
///
/// static BROKEN: &[Migration] = &[Migration::new(1, "0001_create_notes", "CREATE TABLE (")];
/// let err = Backend::new("notes", "1.0.0").migrations(BROKEN).test(None, "t").unwrap_err();
/// assert!(matches!(err, Error::MigrationFailed { name: "0001_create_notes", .. }), "{err}");
/// ```
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
        source: BoxError,
    },

    /// A migration's SQL failed; nothing of it was applied.
    #[error("migration refused: {name} failed: {source}")]
    MigrationFailed {
        /// The migration.
        name: &'static str,
        /// SQLite's error.
        #[source]
        source: BoxError,
    },

    /// A migration's transaction did not commit; nothing of it was applied.
    #[error("migration refused: {name} failed to commit: {source}")]
    MigrationCommit {
        /// The migration.
        name: &'static str,
        /// SQLite's error.
        #[source]
        source: BoxError,
    },

    /// The database has a migration this binary does not know: a newer backend migrated it.
    #[error(
        "migration refused: the database has migration {version} ({name}), which this binary \
         does not know: it was migrated by a newer version of this backend"
    )]
    MigrationUnknown {
        /// The recorded migration's version.
        version: i64,
        /// The recorded migration's name.
        name: String,
    },

    /// An applied migration differs from this binary's migration of that version.
    #[error(
        "migration refused: migration {name} was changed after it was applied (checksum mismatch)"
    )]
    MigrationChanged {
        /// This binary's migration of that version.
        name: &'static str,
    },

    /// The `mercure` block cannot build a hub (e.g. an unsupported JWT algorithm).
    #[error("Caddyfile: {0}")]
    Hub(#[source] crate::hub::Error),

    /// A resource cannot be served: a name that is not a lowercase URL segment, two resources
    /// with one name.
    #[error("{0}")]
    Resource(String),

    /// A resource's statements do not prepare against the migrated database: a table or column
    /// the migrations do not create.
    #[error("resource {resource}: {source} (does a migration create its table and columns?)")]
    ResourceTable {
        /// The resource's name.
        resource: String,
        /// SQLite's error.
        #[source]
        source: BoxError,
    },

    /// A resource's field has no column in its table, or a column whose declared type does
    /// not keep the field's values; `detail` names the table, the column and the mismatch.
    #[error("resource {resource}: {detail}")]
    ResourceColumn {
        /// The resource's name.
        resource: String,
        /// What does not fit.
        detail: String,
    },

    /// The listening socket could not be obtained or used.
    #[error("listen: {context}: {source}")]
    Listen {
        /// What we were doing.
        context: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },

    /// The async runtime, or a signal handler on it, could not be set up.
    #[error("runtime: {context}: {source}")]
    Runtime {
        /// What we were doing.
        context: &'static str,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },

    /// The server's accept loop ended although no signal asked it to: it returned, or its task
    /// failed (`source`). An unusable listening socket is [`Error::Listen`] instead.
    #[error("serving: the server stopped by itself{}", cause(.source))]
    ServerEnded {
        /// Why the task ended, when it did not simply return.
        #[source]
        source: Option<BoxError>,
    },
}

/// A boxed cause, so no dependency's error type is part of this crate's API.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn cause(source: &Option<BoxError>) -> String {
    source
        .as_ref()
        .map(|e| format!(": {e}"))
        .unwrap_or_default()
}

/// `Result` with this crate's [`Error`].
///
/// ```
/// fn app() -> qmlbridge_backend::Result<qmlbridge_backend::TestBackend> {
///     qmlbridge_backend::Backend::new("notes", "1.0.0").test(None, "t")
/// }
/// assert!(app().is_ok());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit code: runtime failure (`docs/contract.md` §5).
///
/// ```
/// assert_eq!(qmlbridge_backend::EXIT_FAILURE, 1);
/// ```
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: usage error (bad arguments; clap's own code).
///
/// ```
/// assert_eq!(qmlbridge_backend::EXIT_USAGE, 2);
/// ```
pub const EXIT_USAGE: u8 = 2;
/// Exit code: configuration error (`EX_CONFIG` of sysexits.h): a Caddyfile, a variable or a
/// resource that cannot be served.
///
/// ```
/// assert_eq!(qmlbridge_backend::EXIT_CONFIG, 78);
/// ```
pub const EXIT_CONFIG: u8 = 78;

impl Error {
    /// The process exit code this error maps to.
    ///
    /// ```
    /// use qmlbridge_backend::{Backend, EXIT_CONFIG};
    ///
    /// let err = Backend::new("notes", "1.0.0").test(Some("not a Caddyfile {"), "t").unwrap_err();
    /// assert_eq!(err.exit_code(), EXIT_CONFIG);
    /// ```
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Caddyfile(_) | Error::ConfigRead { .. } | Error::Env { .. } => EXIT_CONFIG,
            Error::MissingToken | Error::Hub(_) | Error::Resource(_) => EXIT_CONFIG,
            Error::ResourceTable { .. } | Error::ResourceColumn { .. } => EXIT_CONFIG,
            Error::MigrationFailed { .. }
            | Error::MigrationCommit { .. }
            | Error::MigrationUnknown { .. }
            | Error::MigrationChanged { .. } => EXIT_FAILURE,
            Error::Database { .. } | Error::Listen { .. } => EXIT_FAILURE,
            Error::Runtime { .. } | Error::ServerEnded { .. } => EXIT_FAILURE,
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

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn runtime_failures_keep_their_causes_and_exit_1() {
        let runtime = Error::Runtime {
            context: "cannot start",
            source: std::io::Error::other("no threads"),
        };
        assert_eq!(runtime.to_string(), "runtime: cannot start: no threads");
        assert_eq!(runtime.source().unwrap().to_string(), "no threads");

        let returned = Error::ServerEnded { source: None };
        assert_eq!(
            returned.to_string(),
            "serving: the server stopped by itself"
        );
        assert!(returned.source().is_none());
        let failed = Error::ServerEnded {
            source: Some("task panicked".into()),
        };
        assert_eq!(
            failed.to_string(),
            "serving: the server stopped by itself: task panicked"
        );
        assert_eq!(failed.source().unwrap().to_string(), "task panicked");

        let migration = Error::MigrationFailed {
            name: "0002_tags",
            source: "no such table: tags".into(),
        };
        assert_eq!(
            migration.to_string(),
            "migration refused: 0002_tags failed: no such table: tags"
        );
        assert!(migration.source().is_some());

        for e in [runtime, returned, failed, migration] {
            assert_eq!(e.exit_code(), EXIT_FAILURE, "{e}");
        }
    }

    #[test]
    fn a_resource_without_its_table_is_a_configuration_error_with_its_cause() {
        let e = Error::ResourceTable {
            resource: "items".into(),
            source: "no such table: items".into(),
        };
        assert_eq!(
            e.to_string(),
            "resource items: no such table: items (does a migration create its table and columns?)"
        );
        assert!(e.source().is_some());
        assert_eq!(e.exit_code(), EXIT_CONFIG);
    }
}
