//! What an installed app calls: [`check`] the feed, [`download`](crate::download) and install
//! a release, and after a failed start of the new version [`roll_back`] to the image it
//! replaced, telling the user once ([`take_notice`]).

use std::path::PathBuf;

use crate::http::Http;
use crate::install::Paths;
use crate::state::State;
use crate::{Error, FEED_SIGNATURE_SUFFIX, Release, Result, TrustedKeys, verify_feed};

/// The largest `latest.json` read.
pub(crate) const MAX_FEED: u64 = 1 << 20;
/// The largest `latest.json.minisig` read.
const MAX_FEED_SIGNATURE: u64 = 16 * 1024;

/// What the updater needs to know about the running app.
#[derive(Debug, Clone)]
pub struct Config {
    /// The feed's URL (`latest.json`; its signature is this URL with `.minisig` added).
    pub feed: String,
    /// The keys the running version trusts.
    pub keys: TrustedKeys,
    /// The running version.
    pub running_version: String,
    /// The running image (`$APPIMAGE`): the file replaced, and the seed of the delta download.
    pub image: PathBuf,
    /// The app's data directory: the updater's record is `var/update/state.json` in it.
    pub data_dir: PathBuf,
}

/// What the feed offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Nothing newer than the running version (or only a version that was rolled back).
    UpToDate,
    /// A newer release, its feed verified.
    Available(Release),
}

/// The image an update replaced, kept for a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previous {
    /// Where it is (`.<image name>.previous` beside the image).
    pub path: PathBuf,
    /// Its version.
    pub version: String,
}

/// What [`roll_back`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    /// The version that failed and was replaced.
    pub from: String,
    /// The version the image is again.
    pub to: String,
}

/// Fetches the feed and its signature and verifies them with the trusted keys; a release newer
/// than the running version is offered unless it was rolled back on this machine.
pub async fn check(cfg: &Config) -> Result<Check> {
    let http = Http::new()?;
    let json = http.small(&cfg.feed, MAX_FEED).await?;
    let signature = http
        .small(&signature_url(&cfg.feed), MAX_FEED_SIGNATURE)
        .await?;
    let signature = String::from_utf8(signature).map_err(|_| Error::SignatureFormat {
        what: "latest.json",
        problem: "not text".to_owned(),
    })?;
    let release = verify_feed(&json, &signature, &cfg.keys)?;
    if !release.is_newer_than(&cfg.running_version)? {
        return Ok(Check::UpToDate);
    }
    if State::load(&cfg.data_dir)?
        .rolled_back
        .contains(&release.version)
    {
        tracing::info!(
            target: "qmlbridge::update",
            version = %release.version,
            "not offered: it was rolled back on this machine"
        );
        return Ok(Check::UpToDate);
    }
    Ok(Check::Available(release))
}

/// The signature's URL: the feed's with `.minisig` added to its path.
fn signature_url(feed: &str) -> String {
    let cut = feed.find(['?', '#']).unwrap_or(feed.len());
    format!("{}{FEED_SIGNATURE_SUFFIX}{}", &feed[..cut], &feed[cut..])
}

/// The image the last update of this image to the running version replaced, if it is still
/// kept.
pub fn previous(cfg: &Config) -> Option<Previous> {
    let (_, install) = installed(cfg).ok()?;
    let kept = install.previous.is_file();
    kept.then_some(Previous {
        path: install.previous,
        version: install.from,
    })
}

/// The state and its record of the update that installed the running version over `cfg.image`.
fn installed(cfg: &Config) -> Result<(State, crate::state::Install)> {
    let state = State::load(&cfg.data_dir)?;
    let paths = Paths::of(&cfg.image)?;
    match &state.installed {
        Some(i) if i.image == paths.image && i.version == cfg.running_version => {
            let i = i.clone();
            Ok((state, i))
        }
        _ => Err(Error::NoPrevious(format!(
            "no update to {} of {} is recorded in {}",
            cfg.running_version,
            paths.image.display(),
            State::path(&cfg.data_dir).display()
        ))),
    }
}

/// Puts the previous image back over the image (the running version failed: `reason`, e.g. its
/// migration), records that the running version was rolled back (so [`check`] does not offer it
/// again; a newer one is offered) and leaves a notice for the next start ([`take_notice`]).
pub fn roll_back(cfg: &Config, reason: &str) -> Result<RolledBack> {
    let (mut state, install) = installed(cfg)?;
    if !install.previous.is_file() {
        return Err(Error::NoPrevious(format!(
            "the previous image {} is gone",
            install.previous.display()
        )));
    }
    let paths = Paths::of(&cfg.image)?;
    let _lock = paths.lock()?;
    // Renamed first, recorded second: a kill in between leaves the old version running with a
    // record that only misses the refusal, never a refusal of a version still installed.
    paths.restore_previous()?;
    state.installed = None;
    state.refuse(&install.version);
    state.notice = Some(format!(
        "{} could not start ({reason}); the app is back on {}",
        install.version, install.from
    ));
    state.save(&cfg.data_dir)?;
    tracing::warn!(
        target: "qmlbridge::update",
        from = %install.version,
        to = %install.from,
        reason,
        "rolled back"
    );
    Ok(RolledBack {
        from: install.version,
        to: install.from,
    })
}

/// The notice a rollback left, returned once (then forgotten).
pub fn take_notice(cfg: &Config) -> Option<String> {
    let mut state = State::load(&cfg.data_dir).ok()?;
    let notice = state.notice.take()?;
    state.save(&cfg.data_dir).ok()?;
    Some(notice)
}

/// Records an installed update (before the rename that installs it).
pub(crate) fn record_install(cfg: &Config, paths: &Paths, version: &str) -> Result<()> {
    let mut state = State::load(&cfg.data_dir)?;
    state.installed = Some(crate::state::Install {
        version: version.to_owned(),
        from: cfg.running_version.clone(),
        image: paths.image.clone(),
        previous: paths.previous.clone(),
    });
    state.save(&cfg.data_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_beside_the_feed() {
        assert_eq!(
            signature_url("https://e.org/a/latest.json?c=beta"),
            "https://e.org/a/latest.json.minisig?c=beta"
        );
        assert_eq!(
            signature_url("http://127.0.0.1:9/latest.json"),
            "http://127.0.0.1:9/latest.json.minisig"
        );
    }
}
