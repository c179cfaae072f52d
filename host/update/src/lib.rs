//! `qmlbridge-update`: an app's self-update, without Qt. A release is published as `latest.json`
//! ([`Release`]), its detached minisign signature `latest.json.minisig`, the image and the image's
//! `.zsync` file (docs/updates.md). This crate:
//!
//! - checks the feed's signature over its exact bytes ([`verify_feed`]), the image's size,
//!   SHA-256 and minisign signature ([`Release::verify_image`]), and whether the release is newer
//!   than the running version ([`Release::is_newer_than`]). A signature by any of the trusted keys
//!   is accepted ([`TrustedKeys`]), so a key is rotated by shipping the new key in the list first;
//! - fetches and verifies the feed ([`check`]), downloads a release as a delta against the
//!   running image through its `.zsync` file ([`zsync`]) or whole, verifies it and installs it
//!   beside the previous image ([`download`], where the image can be replaced: [`writable`]);
//! - rolls back to the previous image after the new version failed to start ([`roll_back`],
//!   [`previous`]) and tells the user once ([`take_notice`]).
//!
//! ```no_run
//! # async fn f(cfg: qmlbridge_update::Config) -> qmlbridge_update::Result<()> {
//! use qmlbridge_update::{Check, check, download};
//! if let Check::Available(release) = check(&cfg).await? {
//!     let done = download(&cfg, &release, |p| eprintln!("{}/{}", p.done, p.total)).await?;
//!     eprintln!("{} fetched, {} reused", done.fetched, done.reused);
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
