//! The CLI library's one error type. [`Error::Usage`] is bad input, refused before anything is
//! written (exit 2); everything else is a failure while doing the work (exit 1).

use std::path::PathBuf;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asks for something invalid; nothing was written.
    #[error("{0}")]
    Usage(String),
    /// A file or directory could not be read or written (the cause is the `source`).
    #[error("{}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The app's `qmlbridge.toml` is missing or invalid.
    #[error(transparent)]
    Manifest(#[from] qmlbridge_manifest::Error),
    /// The skeleton itself is at fault: a template that does not parse or render (an unknown
    /// name, a value printed without its target's filter), or a file the generator expected.
    #[error("template {}: {problem}", path.display())]
    Template {
        /// The template file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The icon could not be read or rendered (the renderer's error types stay private).
    #[error("{}: {problem}", path.display())]
    Icon {
        /// The SVG or PNG.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A packaging step (a script, a validator) failed; its output went to the terminal.
    #[error("{step} failed ({status})")]
    Step {
        /// The command.
        step: String,
        /// How it ended.
        status: std::process::ExitStatus,
    },
    /// A packaging tool could not be started.
    #[error("cannot run {tool}: {source}")]
    Spawn {
        /// The command.
        tool: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The `Io` error of `path`, for `map_err`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    /// The process exit code: 2 for bad input, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }
}
