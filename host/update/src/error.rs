//! The crate's one error type. Each variant names the check that failed, so the updater can say
//! which: the feed (`latest.json`) or the image, tampered or signed by a key it does not trust,
//! the server's answer (with its URL, never a query string or credentials), the image's directory
//! not writable, or a file of the update's own.

use std::path::PathBuf;

/// Why a release is refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A trusted key (from the manifest's `[update] keys`) is not a minisign public key.
    #[error("trusted key {index}: not a minisign public key ({problem})")]
    Key {
        /// Its position in the list, from 0.
        index: usize,
        /// What is wrong.
        problem: String,
    },
    /// The list of trusted keys is empty: nothing could be accepted.
    #[error("no trusted key: the manifest's [update] keys is empty")]
    NoKeys,
    /// A signature is not minisign's format.
    #[error("{what}: the signature is not a minisign signature ({problem})")]
    SignatureFormat {
        /// `latest.json` or `image`.
        what: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A signature was made by a key none of the trusted keys is.
    #[error("{what}: signed by an unknown key (key id {key_id}); the trusted keys are {trusted}")]
    UnknownKey {
        /// `latest.json` or `image`.
        what: &'static str,
        /// The signing key's id, as minisign prints it (16 hex digits).
        key_id: String,
        /// The trusted keys' ids.
        trusted: String,
    },
    /// `latest.json` is not what the trusted key signed.
    #[error("latest.json: tampered (its signature by key {key_id} does not match its content)")]
    FeedTampered {
        /// The key id the signature names.
        key_id: String,
    },
    /// `latest.json` is signed but is not a release feed.
    #[error("latest.json: {0}")]
    FeedFormat(String),
    /// The image is not the size `latest.json` gives.
    #[error("image: tampered or incomplete ({actual} bytes, latest.json says {expected})")]
    ImageSize {
        /// From `latest.json`.
        expected: u64,
        /// Read.
        actual: u64,
    },
    /// The image's SHA-256 is not the one `latest.json` gives.
    #[error("image: tampered (SHA-256 {actual}, latest.json says {expected})")]
    ImageDigest {
        /// From `latest.json`.
        expected: String,
        /// Computed.
        actual: String,
    },
    /// The image's signature does not match its content.
    #[error("image: tampered (its signature by key {key_id} does not match its content)")]
    ImageTampered {
        /// The key id the signature names.
        key_id: String,
    },
    /// The running version is not semantic versioning.
    #[error("version {0:?} is not semantic versioning")]
    Version(String),
    /// The image could not be read.
    #[error("image: cannot read")]
    Read(#[source] std::io::Error),
    /// The server answered with an HTTP status other than the one expected.
    #[error("{url}: HTTP {status}")]
    Http {
        /// What was fetched (without query string or credentials).
        url: String,
        /// The status code.
        status: u16,
    },
    /// The request failed before or while the answer arrived (connection, timeout, TLS).
    #[error("{url}: {problem}")]
    Network {
        /// What was fetched (without query string or credentials).
        url: String,
        /// What went wrong.
        problem: String,
    },
    /// The answer is longer than the limit for what it should be.
    #[error("{url}: more than {limit} bytes")]
    TooLarge {
        /// What was fetched (without query string or credentials).
        url: String,
        /// The limit.
        limit: u64,
    },
    /// A `.zsync` control file is not zsync's format.
    #[error("zsync control file: {0}")]
    Zsync(String),
    /// The image cannot be replaced where it is (a system directory, a read-only or immutable
    /// file system): nothing was touched.
    #[error("{}: not writable ({problem}); the image can only be updated where it is by hand or moved to a writable directory", dir.display())]
    NotWritable {
        /// The image's directory (or the image, when the file itself is the problem).
        dir: PathBuf,
        /// Why.
        problem: String,
    },
    /// A file of the update (the staged image, the previous one, the state record) could not be
    /// read or written.
    #[error("{}: cannot {action}", path.display())]
    Io {
        /// What was being done: `create`, `write`, `rename`, ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The update's state record is not what this crate writes.
    #[error("{}: {problem}", path.display())]
    State {
        /// `<data dir>/var/update/state.json`.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Another download or rollback of this image is under way (in this process or another).
    #[error("{}: another update of this image is under way", .0.display())]
    Busy(PathBuf),
    /// There is nothing to roll back to: no update of this image to the running version kept
    /// its previous image.
    #[error("nothing to roll back: {0}")]
    NoPrevious(String),
}

impl Error {
    /// The constructor of an [`Error::Io`] on `path` doing `action`, for `map_err`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
