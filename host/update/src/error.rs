//! The crate's one error type. Each variant names the check that failed, so the updater can say
//! which: the feed (`latest.json`) or the image, tampered or signed by a key it does not trust.

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
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
