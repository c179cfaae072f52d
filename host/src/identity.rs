//! Who the app is: the names its host gives to the supervisor (data dir, backend binary) and to
//! Qt (application, organisation and display names, the desktop file name that is the Wayland
//! `app_id`). The app passes it in (`App::new`); nothing of it is a constant of the framework.

/// An app's identity. [`identity!`](crate::identity) builds it from the app's `qmlbridge.toml`
/// (the host's build script exports the manifest's fields); [`Identity::new`] from two names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Organisation: the data dir is `${XDG_DATA_HOME:-~/.local/share}/<org>/<name>`.
    pub org: String,
    /// The app's name: binary, `share/<name>/`, the data dir's leaf.
    pub name: String,
    /// The name people read (window titles, desktop menus).
    pub display_name: String,
    /// Reverse-DNS id: desktop file id and Wayland `app_id`.
    pub identifier: String,
    /// The app's version (`--version`).
    pub version: String,
    /// The backend binary's name (`<name>-backend` by convention, docs/contract.md §9).
    pub backend_bin: String,
    /// The origins (`https://tiles.example.org`) the window's QML may fetch from besides the
    /// backend: the manifest's `[qml] network` (docs/qml.md, "Network"). Empty: the backend only.
    pub network: Vec<String>,
    /// The manifest's `[update]`: where the app's releases are published and what the `Updater`
    /// does on its own (docs/qml.md, "Updates"). `None`: the app does not update itself.
    pub update: Option<Updates>,
}

/// The manifest's `[update]` section, as the host uses it (docs/manifest.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Updates {
    /// The release feed's URL (`latest.json`).
    pub feed: String,
    /// The trusted minisign public keys (base64 lines).
    pub keys: Vec<String>,
    /// One check after the window is shown.
    pub check_at_start: bool,
    /// A release a check finds is downloaded without asking.
    pub auto_download: bool,
    /// What happens after a failed upgrade when the previous image is kept.
    pub rollback: Rollback,
}

/// `[update] rollback`: after an upgrade whose data was restored (a failed migration, a backend
/// that never came Online), with the previous image kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rollback {
    /// The Offline overlay offers "Restart into <previous version>".
    #[default]
    Ask,
    /// The host puts the previous image back and restarts into it without asking.
    Auto,
}

impl Updates {
    /// The settings from the manifest's variables as `qmlbridge_manifest::build::emit` exports
    /// them (`QMLBRIDGE_UPDATE_*`); `None` when the feed is empty (no `[update]` section).
    pub fn from_build(
        feed: &str,
        keys: &str,
        check_at_start: &str,
        auto_download: &str,
        rollback: &str,
    ) -> Option<Updates> {
        if feed.is_empty() {
            return None;
        }
        Some(Updates {
            feed: feed.to_owned(),
            keys: keys.split_whitespace().map(String::from).collect(),
            check_at_start: check_at_start == "true",
            auto_download: auto_download == "true",
            rollback: if rollback == "auto" {
                Rollback::Auto
            } else {
                Rollback::Ask
            },
        })
    }
}

impl Identity {
    /// `org`/`name` with the conventional rest: display name `name`, id `<org>.<name>`, backend
    /// `<name>-backend`, version `0.0.0`, no network origin but the backend's, no updates.
    pub fn new(org: impl Into<String>, name: impl Into<String>) -> Identity {
        let (org, name) = (org.into(), name.into());
        Identity {
            display_name: name.clone(),
            identifier: format!("{org}.{name}"),
            version: "0.0.0".into(),
            backend_bin: format!("{name}-backend"),
            network: Vec::new(),
            update: None,
            org,
            name,
        }
    }
}

/// The app's [`Identity`] from its `qmlbridge.toml`, read at build time: the host's `build.rs`
/// calls `qmlbridge_manifest::build::emit(..)`, which exports the manifest's fields as
/// `QMLBRIDGE_*` variables for `env!`.
#[macro_export]
macro_rules! identity {
    () => {
        $crate::Identity {
            org: env!("QMLBRIDGE_ORG").into(),
            name: env!("QMLBRIDGE_NAME").into(),
            display_name: env!("QMLBRIDGE_DISPLAY_NAME").into(),
            identifier: env!("QMLBRIDGE_IDENTIFIER").into(),
            version: env!("QMLBRIDGE_VERSION").into(),
            backend_bin: env!("QMLBRIDGE_BACKEND_BIN").into(),
            network: env!("QMLBRIDGE_QML_NETWORK")
                .split_whitespace()
                .map(::std::string::String::from)
                .collect(),
            update: $crate::Updates::from_build(
                env!("QMLBRIDGE_UPDATE_FEED"),
                env!("QMLBRIDGE_UPDATE_KEYS"),
                env!("QMLBRIDGE_UPDATE_CHECK_AT_START"),
                env!("QMLBRIDGE_UPDATE_AUTO_DOWNLOAD"),
                env!("QMLBRIDGE_UPDATE_ROLLBACK"),
            ),
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_settings_from_the_build_variables() {
        assert_eq!(Updates::from_build("", "", "false", "false", "ask"), None);
        let u = Updates::from_build(
            "https://e.org/latest.json",
            "RWA RWB",
            "true",
            "false",
            "auto",
        )
        .unwrap();
        assert_eq!(u.keys, ["RWA", "RWB"]);
        assert!(u.check_at_start && !u.auto_download);
        assert_eq!(u.rollback, Rollback::Auto);
        let u = Updates::from_build("https://e.org/latest.json", "RWA", "false", "true", "ask")
            .unwrap();
        assert!(!u.check_at_start && u.auto_download);
        assert_eq!(u.rollback, Rollback::Ask);
    }
}
