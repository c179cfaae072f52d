//! The manifest's TOML shape as serde reads it: every table denies unknown fields, so a typo is an
//! error naming it rather than a silently ignored setting. Defaults and rules are applied after
//! (`lib.rs`), where the app's name is known.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Raw {
    pub(crate) name: String,
    pub(crate) display_name: String,
    pub(crate) org: String,
    pub(crate) identifier: String,
    pub(crate) version: String,
    pub(crate) comment: String,
    pub(crate) categories: Vec<String>,
    pub(crate) icon: Icon,
    pub(crate) caddyfile: Option<String>,
    #[serde(default)]
    pub(crate) host: Crate,
    #[serde(default)]
    pub(crate) backend: Backend,
    #[serde(default)]
    pub(crate) appimage: AppImage,
    #[serde(default)]
    pub(crate) qml: Qml,
    pub(crate) update: Option<Update>,
}

/// `icon = "assets/icon.svg"` or `icon = ["assets/icon.svg", "assets/icon.png"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Icon {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Crate {
    pub(crate) package: Option<String>,
    pub(crate) bin: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Backend {
    pub(crate) package: Option<String>,
    pub(crate) bin: Option<String>,
    pub(crate) dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppImage {
    pub(crate) quick_styles: Option<Vec<String>>,
    pub(crate) max_size_mb: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Qml {
    pub(crate) network: Option<Vec<String>>,
}

/// `[update]`: where the app's releases are published and the keys they must be signed with.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Update {
    pub(crate) feed: String,
    pub(crate) keys: Vec<String>,
    #[serde(default)]
    pub(crate) check_at_start: bool,
    #[serde(default)]
    pub(crate) auto_download: bool,
    pub(crate) rollback: Option<String>,
    pub(crate) notes: Option<String>,
}
