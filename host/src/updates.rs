//! The host's side of self-updates, without Qt: the `qmlbridge-update` configuration of the
//! running app (its `[update]` settings, `$APPIMAGE`, its data dir), why updates are off when
//! they are, the wording of failures, and the automatic rollback after a failed upgrade
//! (`[update] rollback = "auto"`), which runs whether or not the window uses `Updater`.
//! The QML singleton is `bridge::updater`; the restart is `relaunch`.

use std::path::PathBuf;

use qmlbridge_supervisor::{Event, data_dir};
use qmlbridge_update::Config;
use tokio::sync::broadcast::error::RecvError;

use crate::identity::{Identity, Rollback};
use crate::{relaunch, session};

const TARGET: &str = "qmlbridge::update";

/// The environment variable the AppImage runtime sets to the image's path.
pub(crate) const APPIMAGE: &str = "APPIMAGE";

/// The updater's configuration for the app `identity` running from `image` (`$APPIMAGE`), or why
/// updates are off (shown as the `Updater`'s `error` in state `Unavailable`).
pub(crate) fn config(identity: &Identity, image: Option<PathBuf>) -> Result<Config, String> {
    let Some(update) = &identity.update else {
        return Err("updates are off: the app's manifest has no [update] section".into());
    };
    let Some(image) = image.filter(|p| !p.as_os_str().is_empty()) else {
        return Err(format!(
            "updates are off: not started from an AppImage (${APPIMAGE} is not set; a \
             development build is updated by building it again)"
        ));
    };
    let keys = qmlbridge_update::TrustedKeys::parse(&update.keys)
        .map_err(|e| format!("updates are off: [update] keys: {}", chain(&e)))?;
    let data_dir = data_dir(&identity.org, &identity.name)
        .map_err(|e| format!("updates are off: {}", chain(&e)))?;
    Ok(Config {
        feed: update.feed.clone(),
        keys,
        running_version: identity.version.clone(),
        image,
        data_dir,
    })
}

/// `$APPIMAGE`, when set.
pub(crate) fn image_from_env() -> Option<PathBuf> {
    std::env::var_os(APPIMAGE).map(PathBuf::from)
}

/// An error and its causes, `: `-separated: what the user reads in `Updater.error`.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// The session's supervisor restored the database after a failed upgrade (`Snapshot::recovery`)
/// and the manifest says `rollback = "auto"`: the previous image is put back and the app restarts
/// into it, once, without asking. With `"ask"` (or no kept image) nothing happens here: the
/// Offline overlay tells the user, and offers the restart (`Updater.rollBack()`).
pub(crate) fn watch_recovery(session: &'static session::Session, identity: &Identity) {
    let Some(update) = &identity.update else {
        return;
    };
    if update.rollback != Rollback::Auto {
        return;
    }
    let Ok(cfg) = config(identity, image_from_env()) else {
        return;
    };
    // Subscribed before the first look at the snapshot, so no change falls between the two.
    let Some(mut events) = session.subscribe() else {
        return;
    };
    session.runtime().spawn(async move {
        let mut recovery = session.snapshot().and_then(|s| s.recovery);
        while recovery.is_none() {
            match events.recv().await {
                Ok(Event::State(snapshot)) => recovery = snapshot.recovery,
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => recovery = session.snapshot().and_then(|s| s.recovery),
                Err(RecvError::Closed) => return,
            }
        }
        let reason = recovery.unwrap_or_default();
        let outcome = tokio::task::spawn_blocking(move || roll_back(&cfg, &reason)).await;
        if let Ok(Some(image)) = outcome {
            relaunch::request(image);
        }
    });
}

/// Puts the kept previous image back for `reason`; the image to restart, or `None` (nothing
/// kept, or the rollback failed: logged).
pub(crate) fn roll_back(cfg: &Config, reason: &str) -> Option<PathBuf> {
    let previous = qmlbridge_update::previous(cfg)?;
    match qmlbridge_update::roll_back(cfg, reason) {
        Ok(done) => {
            tracing::warn!(
                target: TARGET,
                from = %done.from,
                to = %done.to,
                previous = %previous.path.display(),
                "the upgrade failed; back on the previous image, restarting into it"
            );
            Some(cfg.image.clone())
        }
        Err(e) => {
            tracing::error!(target: TARGET, "cannot roll back: {}", chain(&e));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Updates;

    /// A well-formed minisign public key (from qmlbridge-manifest's tests).
    const KEY: &str = "RWTyS+w30B+ujYo5ZzTdHcWHBuiYQhdEW0QaBvcut2fRIV4L5nXfF75y";

    fn identity(update: bool) -> Identity {
        let mut id = Identity::new("qmlbridge-test", "updates");
        id.version = "0.2.0".into();
        id.update = update.then(|| Updates {
            feed: "http://127.0.0.1:9/latest.json".into(),
            keys: vec![KEY.into()],
            check_at_start: false,
            auto_download: false,
            rollback: Rollback::Ask,
        });
        id
    }

    #[test]
    fn updates_are_off_without_a_feed_or_an_image_and_say_why() {
        let e = config(&identity(false), Some("/a/App.AppImage".into())).unwrap_err();
        assert!(e.contains("no [update] section"), "{e}");
        let e = config(&identity(true), None).unwrap_err();
        assert!(e.contains("$APPIMAGE is not set"), "{e}");
        let e = config(&identity(true), Some("".into())).unwrap_err();
        assert!(e.contains("$APPIMAGE is not set"), "{e}");
    }

    #[test]
    fn the_config_is_the_apps() {
        let cfg = config(&identity(true), Some("/a/App.AppImage".into())).unwrap();
        assert_eq!(cfg.feed, "http://127.0.0.1:9/latest.json");
        assert_eq!(cfg.running_version, "0.2.0");
        assert_eq!(cfg.image, PathBuf::from("/a/App.AppImage"));
        assert!(
            cfg.data_dir.ends_with("qmlbridge-test/updates"),
            "{:?}",
            cfg.data_dir
        );
    }
}
