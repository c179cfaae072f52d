//! `qmlbridge-update`: what an app's updater trusts, decided without Qt or the network. A release
//! is published as `latest.json` ([`Release`]), its detached minisign signature
//! `latest.json.minisig`, the image and the image's `.zsync` file (docs/updates.md). This crate
//! checks the feed's signature over its exact bytes ([`verify_feed`]), the image's size, SHA-256
//! and minisign signature ([`Release::verify_image`]), and whether the release is newer than the
//! running version ([`Release::is_newer_than`]). A signature by any of the trusted keys is
//! accepted ([`TrustedKeys`]), so a key is rotated by shipping the new key in the list first.
//!
//! ```no_run
//! # fn f(json: &[u8], minisig: &str, image: std::fs::File) -> qmlbridge_update::Result<()> {
//! let keys = qmlbridge_update::TrustedKeys::parse(["RWT..."])?;
//! let release = qmlbridge_update::verify_feed(json, minisig, &keys)?;
//! if release.is_newer_than("0.1.0")? {
//!     release.verify_image(image, &keys)?;
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod download;
mod error;
mod feed;
mod http;
mod install;
mod keys;
mod state;
mod updater;
pub mod zsync;

pub use download::{Installed, Progress, download};
pub use error::{Error, Result};
pub use feed::{FEED_SIGNATURE_SUFFIX, Release, verify_feed};
pub use install::writable;
pub use keys::TrustedKeys;
pub use updater::{Check, Config, Previous, RolledBack, check, previous, roll_back, take_notice};
