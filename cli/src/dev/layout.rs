//! Where an app's parts are, for `qmlbridge dev`: the manifest's crates located through
//! `cargo metadata` (so a workspace member anywhere, and the target dir cargo itself would use).

use std::path::{Path, PathBuf};
use std::process::Command;

use qmlbridge_manifest::Manifest;

use crate::{Error, Result};

/// The paths of one app.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// The app's identity and crates.
    pub manifest: Manifest,
    /// cargo's target dir for the app's workspace (`CARGO_TARGET_DIR` included).
    pub target_dir: PathBuf,
    /// The backend crate's directory (its sources and `migrations/`).
    pub backend_dir: PathBuf,
    /// The host crate's directory.
    pub host_dir: PathBuf,
    /// The window's QML: `qml/` beside `qmlbridge.toml`.
    pub qml_dir: PathBuf,
    /// The backend's Caddyfile.
    pub caddyfile: PathBuf,
}

impl Layout {
    /// The layout of the app whose `qmlbridge.toml` is in `app`. Every path is canonical: inotify
    /// reports saves under the paths it was given, and the rules compare prefixes.
    pub(crate) fn of(app: &Path) -> Result<Layout> {
        let app = app.canonicalize().map_err(Error::io(app))?;
        let manifest = Manifest::load(&app.join(qmlbridge_manifest::FILE_NAME))?;
        let output = cargo_command()
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(&manifest.root)
            .output()
            .map_err(|source| Error::Spawn {
                tool: "cargo metadata".into(),
                source,
            })?;
        if !output.status.success() {
            return Err(Error::Usage(format!(
                "cargo metadata in {} failed: {}",
                manifest.root.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let meta: serde_json::Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| Error::Usage(format!("cargo metadata: unreadable output: {e}")))?;
        let target_dir = meta["target_directory"]
            .as_str()
            .map(PathBuf::from)
            .ok_or_else(|| Error::Usage("cargo metadata: no target_directory".into()))?;
        let package_dir = |name: &str| -> Result<PathBuf> {
            meta["packages"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == name)
                .and_then(|p| p["manifest_path"].as_str())
                .and_then(|m| Path::new(m).parent().map(Path::to_path_buf))
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "{}: the package {name} is not in the cargo workspace of {}",
                        manifest.path.display(),
                        manifest.root.display()
                    ))
                })
        };
        let backend_dir = package_dir(&manifest.backend.package)?;
        let host_dir = package_dir(&manifest.host.package)?;
        let qml_dir = manifest.root.join("qml").canonicalize().map_err(|_| {
            Error::Usage(format!(
                "{}: no qml/ directory beside it",
                manifest.path.display()
            ))
        })?;
        let caddyfile = manifest.caddyfile.canonicalize().map_err(|_| {
            Error::Usage(format!(
                "{}: caddyfile {} does not exist",
                manifest.path.display(),
                manifest.caddyfile.display()
            ))
        })?;
        Ok(Layout {
            caddyfile,
            manifest,
            target_dir,
            backend_dir,
            host_dir,
            qml_dir,
        })
    }

    /// The debug build of the backend binary.
    pub(crate) fn backend_bin(&self) -> PathBuf {
        self.target_dir
            .join("debug")
            .join(&self.manifest.backend.bin)
    }

    /// The database the session's backends use, as the supervisor hands it to them.
    pub(crate) fn database_url(&self) -> Result<String> {
        Ok(qmlbridge_supervisor::database_url(&self.data_dir()?))
    }

    /// The data dir of the app's development sessions,
    /// `${XDG_DATA_HOME:-~/.local/share}/<org>/<name>-dev`: the host the session starts
    /// (`QMLBRIDGE_DEV=1`) uses the same, never the installed app's `<org>/<name>`.
    pub(crate) fn data_dir(&self) -> Result<PathBuf> {
        dev_data_dir(&self.manifest)
    }

    /// The debug build of the host binary.
    pub(crate) fn host_bin(&self) -> PathBuf {
        self.target_dir.join("debug").join(&self.manifest.host.bin)
    }
}

/// The data dir of the development sessions of the app `manifest` describes.
pub(crate) fn dev_data_dir(manifest: &Manifest) -> Result<PathBuf> {
    qmlbridge_supervisor::dev_data_dir(&manifest.org, &manifest.name)
        .map_err(|e| Error::Usage(format!("the data dir of {}: {e}", manifest.name)))
}

/// The cargo that runs this (`CARGO` under cargo), else the one on `PATH`.
pub(crate) fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// A cargo command without the variables cargo sets for one crate's processes, which a
/// `qmlbridge dev` started by `cargo run` (or a test) inherits. Build scripts declare them with
/// `rerun-if-env-changed` and cargo compares them with its own environment, so leaving them in
/// would rebuild every such crate (ring, cxx-qt's) on each side of a shared target dir.
pub(crate) fn cargo_command() -> Command {
    let mut cmd = Command::new(cargo());
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let per_crate = key == "OUT_DIR"
            || key == "CARGO_CRATE_NAME"
            || key == "CARGO_PRIMARY_PACKAGE"
            || key == "CARGO_TARGET_TMPDIR"
            || key == "CARGO_RUSTC_CURRENT_DIR"
            || [
                "CARGO_MANIFEST_",
                "CARGO_PKG_",
                "CARGO_BIN_",
                "CARGO_CFG_",
                "CARGO_FEATURE_",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix));
        if per_crate {
            cmd.env_remove(key);
        }
    }
    cmd
}
