//! `latest.json`, the release feed: its shape, its signature and the image checks it carries.
//!
//! The feed is signed as a file: `latest.json.minisig` beside it is a minisign signature over
//! its exact bytes. No canonical form of JSON is needed (none is standard), the signature is
//! checked before the JSON is read, and `minisign -V -m latest.json` checks it too. The image's
//! own signature is the `signature` field, so the image can be checked before it replaces
//! anything, whichever way it was fetched (a delta through its `.zsync` file, or whole).

use std::io::Read;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result, TrustedKeys};

/// What the feed's signature file adds to the feed's URL: `latest.json` -> `latest.json.minisig`
/// (minisign's default name for a signature).
pub const FEED_SIGNATURE_SUFFIX: &str = ".minisig";

/// A release as `latest.json` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The app's version (semantic versioning).
    pub version: String,
    /// What changed, plain text.
    pub notes: String,
    /// When it was signed, RFC 3339.
    pub date: String,
    /// Where the image is.
    pub url: String,
    /// Where the image's `.zsync` file is (the delta download's block checksums).
    pub zsync: String,
    /// The image's size in bytes.
    pub size: u64,
    /// The image's SHA-256, lower-case hex.
    pub sha256: String,
    /// The image's minisign signature (the `.minisig` file's text).
    pub signature: String,
}

/// The release `json` describes, once `signature` (the text of `latest.json.minisig`) is a valid
/// signature of exactly these bytes by one of `keys`, and every field is well formed.
pub fn verify_feed(json: &[u8], signature: &str, keys: &TrustedKeys) -> Result<Release> {
    let (key_id, key, decoded) = keys.key_for("latest.json", signature)?;
    key.verify(json, &decoded, false).map_err(|e| match e {
        minisign_verify::Error::InvalidSignature => Error::FeedTampered {
            key_id: key_id.to_owned(),
        },
        other => Error::SignatureFormat {
            what: "latest.json",
            problem: other.to_string(),
        },
    })?;
    let release: Release =
        serde_json::from_slice(json).map_err(|e| Error::FeedFormat(e.to_string()))?;
    release.check()?;
    Ok(release)
}

impl Release {
    /// The fields' rules: a version, an RFC 3339 date, http(s) URLs, a SHA-256, a signature.
    fn check(&self) -> Result<()> {
        let bad =
            |field: &str, problem: String| Err(Error::FeedFormat(format!("{field}: {problem}")));
        if semver::Version::parse(&self.version).is_err() {
            return bad(
                "version",
                format!("{:?} is not semantic versioning", self.version),
            );
        }
        let rfc3339 = time::format_description::well_known::Rfc3339;
        if time::OffsetDateTime::parse(&self.date, &rfc3339).is_err() {
            return bad("date", format!("{:?} is not an RFC 3339 date", self.date));
        }
        for (field, url) in [("url", &self.url), ("zsync", &self.zsync)] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return bad(field, format!("{url:?} is not an http(s) URL"));
            }
        }
        if self.sha256.len() != 64
            || !self
                .sha256
                .bytes()
                .all(|b| b"0123456789abcdef".contains(&b))
        {
            return bad(
                "sha256",
                format!("{:?} is not 64 lower-case hex digits", self.sha256),
            );
        }
        if minisign_verify::Signature::decode(&self.signature).is_err() {
            return bad("signature", "not a minisign signature".to_owned());
        }
        Ok(())
    }

    /// Whether this release is newer than `running` (semantic versioning's precedence: a
    /// pre-release is older than its release, build metadata is ignored).
    pub fn is_newer_than(&self, running: &str) -> Result<bool> {
        let parse = |v: &str| semver::Version::parse(v).map_err(|_| Error::Version(v.to_owned()));
        Ok(parse(&self.version)?.cmp_precedence(&parse(running)?) == std::cmp::Ordering::Greater)
    }

    /// Reads `image` to its end and checks it is this release's: its size, its SHA-256 and its
    /// signature by one of `keys` (the signing key must be trusted before anything is read).
    pub fn verify_image(&self, mut image: impl Read, keys: &TrustedKeys) -> Result<()> {
        let (key_id, key, decoded) = keys.key_for("image", &self.signature)?;
        let mut stream = key
            .verify_stream(&decoded)
            .map_err(|e| Error::SignatureFormat {
                what: "image",
                problem: e.to_string(),
            })?;
        let mut sha = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match image.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Read(e)),
            };
            size += n as u64;
            sha.update(&buf[..n]);
            stream.update(&buf[..n]);
        }
        if size != self.size {
            return Err(Error::ImageSize {
                expected: self.size,
                actual: size,
            });
        }
        let actual = hex(&sha.finalize());
        if actual != self.sha256 {
            return Err(Error::ImageDigest {
                expected: self.sha256.clone(),
                actual,
            });
        }
        stream.finalize().map_err(|_| Error::ImageTampered {
            key_id: key_id.to_owned(),
        })
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
