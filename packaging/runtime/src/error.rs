//! The runtime's one error type: every message names the cause and, where there is one, the
//! way out, because the person reading it double-clicked a file and has nothing else to go on.

use std::path::PathBuf;

/// A failure of the runtime itself (the app's own failures are its exit status).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image file is not what an AppImage should be (truncated, damaged, not ours).
    #[error("{0}; the file may be incomplete or damaged: download it again")]
    Image(String),
    /// The SquashFS payload could not be read.
    #[error(
        "cannot read the image's SquashFS payload: {0}; the file may be damaged: download it again"
    )]
    Payload(String),
    /// Reading or writing a file on this system failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done ("cannot create", ...).
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The FUSE mount could not be made or served.
    #[error("FUSE: {0}")]
    Fuse(String),
    /// Neither FUSE nor the per-user cache can be used.
    #[error(
        "FUSE cannot be used ({fuse}) and the cache cannot be written ({cache}); install FUSE 3 \
         (Debian/Ubuntu: fuse3, Fedora: fuse3), make ~/.cache writable (or set XDG_CACHE_HOME), or \
         run with --appimage-extract-and-run"
    )]
    NoWayToRun {
        /// Why FUSE was not used.
        fuse: String,
        /// Why the cache failed.
        cache: String,
    },
    /// A command-line problem.
    #[error("{0} (see --appimage-help)")]
    Usage(String),
    /// The app's entry point could not be started.
    #[error("cannot start {}: {source}", path.display())]
    Exec {
        /// The AppRun path.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// An `Io` error builder for `map_err`.
    pub fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { what, path, source }
    }
}

/// The runtime's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
