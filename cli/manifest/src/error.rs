//! The manifest's one error type: every variant names the file, and a field's problem names the
//! field (`bookmarks/qmlbridge.toml: field `identifier`: "foo" is not a reverse-DNS id`).

use std::path::PathBuf;

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read (the cause is the `source`, shown by `{:#}` in anyhow).
    #[error("{}: cannot read", path.display())]
    Read {
        /// The manifest.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or not the manifest's shape: a missing or unknown field, a wrong type. The
    /// parser's message names the field and the line.
    #[error("{}: {message}", path.display())]
    Syntax {
        /// The manifest.
        path: PathBuf,
        /// The parser's message (the TOML crate's error type stays private).
        message: String,
    },
    /// A field whose value breaks its rule (`rules`), or names a file that does not exist.
    #[error("{}: field `{field}`: {problem}", path.display())]
    Field {
        /// The manifest.
        path: PathBuf,
        /// The field, dotted for a table's (`backend.bin`).
        field: String,
        /// What is wrong, as a sentence.
        problem: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
