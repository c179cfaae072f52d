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
}

impl Identity {
    /// `org`/`name` with the conventional rest: display name `name`, id `<org>.<name>`, backend
    /// `<name>-backend`, version `0.0.0`, no network origin but the backend's.
    pub fn new(org: impl Into<String>, name: impl Into<String>) -> Identity {
        let (org, name) = (org.into(), name.into());
        Identity {
            display_name: name.clone(),
            identifier: format!("{org}.{name}"),
            version: "0.0.0".into(),
            backend_bin: format!("{name}-backend"),
            network: Vec::new(),
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
        }
    };
}
