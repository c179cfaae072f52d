//! For an app host's `build.rs`: the manifest's identity as compile-time environment variables,
//! so the host is built with the same name, organisation and id that packaging reads, from the
//! one file (no second copy in the source). `qmlbridge_qt::identity!()` reads exactly these
//! variables with `env!`.
//!
//! It also lists the window's QML files for the host's QML module ([`qml_files`]), so a file
//! added under `qml/` is compiled in without editing `build.rs`, and checks them with qmllint
//! ([`check_qml`]), so QML the engine would refuse fails the build.
//!
//! ```no_run
//! // the body of the host's build.rs `main`:
//! let qml = qmlbridge_manifest::build::qml_files("qml");
//! // ... QmlModule::new("Bookmarks").qml_files(&qml) for the cxx-qt build, then:
//! qmlbridge_manifest::build::check_qml(&qml);
//! qmlbridge_manifest::build::emit("../qmlbridge.toml");
//! ```

mod qmllint;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use qmllint::check_qml;

use crate::{Manifest, Result};

/// `org`.
pub const ORG: &str = "QMLBRIDGE_ORG";
/// `name`.
pub const NAME: &str = "QMLBRIDGE_NAME";
/// `display_name`.
pub const DISPLAY_NAME: &str = "QMLBRIDGE_DISPLAY_NAME";
/// `identifier`.
pub const IDENTIFIER: &str = "QMLBRIDGE_IDENTIFIER";
/// `version`.
pub const VERSION: &str = "QMLBRIDGE_VERSION";
/// `backend.bin`.
pub const BACKEND_BIN: &str = "QMLBRIDGE_BACKEND_BIN";
/// `[qml] network`: the origins, normalised, separated by spaces (an origin has none); empty when
/// the QML engine may fetch from the backend only.
pub const QML_NETWORK: &str = "QMLBRIDGE_QML_NETWORK";
/// `[update] feed`; empty without an `[update]` section (the app does not update itself).
pub const UPDATE_FEED: &str = "QMLBRIDGE_UPDATE_FEED";
/// `[update] keys`: the trusted minisign public keys separated by spaces (base64 has none); empty
/// without an `[update]` section.
pub const UPDATE_KEYS: &str = "QMLBRIDGE_UPDATE_KEYS";
/// `[update] check_at_start`: `true` or `false`.
pub const UPDATE_CHECK_AT_START: &str = "QMLBRIDGE_UPDATE_CHECK_AT_START";
/// `[update] auto_download`: `true` or `false`.
pub const UPDATE_AUTO_DOWNLOAD: &str = "QMLBRIDGE_UPDATE_AUTO_DOWNLOAD";
/// `[update] rollback`: `ask` or `auto` (`ask` without an `[update]` section).
pub const UPDATE_ROLLBACK: &str = "QMLBRIDGE_UPDATE_ROLLBACK";

/// Reads the manifest at `path` (relative to the package being built) and prints the cargo
/// directives: `rerun-if-changed` for the file and one `rustc-env` per identity variable. An
/// invalid manifest fails the build with the error (naming the file and the field).
pub fn emit(path: impl AsRef<Path>) {
    let path = resolve(path.as_ref());
    let mut out = std::io::stdout().lock();
    // The directive first: cargo must re-run the script when the broken file is fixed.
    let _ = writeln!(out, "cargo::rerun-if-changed={}", path.display());
    match directives(&path) {
        Ok(lines) => {
            for line in lines {
                let _ = writeln!(out, "{line}");
            }
        }
        Err(e) => {
            let _ = out.flush();
            // The message and its causes (an I/O error under "cannot read").
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            eprintln!("error: {text}");
            std::process::exit(1);
        }
    }
}

/// The directives [`emit`] prints after `rerun-if-changed`.
fn directives(path: &Path) -> Result<Vec<String>> {
    let m = Manifest::load(path)?;
    let network = m.qml.network.join(" ");
    let update = m.update.clone().unwrap_or_else(|| crate::Update {
        feed: String::new(),
        keys: Vec::new(),
        check_at_start: false,
        auto_download: false,
        rollback: crate::Rollback::default(),
        notes: None,
    });
    let (feed, keys) = (update.feed, update.keys.join(" "));
    let check_at_start = update.check_at_start.to_string();
    let auto_download = update.auto_download.to_string();
    let rollback = update.rollback.as_str().to_owned();
    let mut lines: Vec<String> = [
        (ORG, &m.org),
        (NAME, &m.name),
        (DISPLAY_NAME, &m.display_name),
        (IDENTIFIER, &m.identifier),
        (VERSION, &m.version),
        (BACKEND_BIN, &m.backend.bin),
        (QML_NETWORK, &network),
        (UPDATE_FEED, &feed),
        (UPDATE_KEYS, &keys),
        (UPDATE_CHECK_AT_START, &check_at_start),
        (UPDATE_AUTO_DOWNLOAD, &auto_download),
        (UPDATE_ROLLBACK, &rollback),
    ]
    .iter()
    // The rules allow no control characters, so each value is one directive line.
    .map(|(var, value)| format!("cargo::rustc-env={var}={value}"))
    .collect();
    if let Ok(crate_version) = std::env::var("CARGO_PKG_VERSION")
        && crate_version != m.version
    {
        lines.push(format!(
            "cargo::warning={}: version {} differs from this crate's {crate_version}",
            path.display(),
            m.version
        ));
    }
    Ok(lines)
}

/// The `.qml` files below `dir` (relative to the package being built; a symlinked directory such
/// as the host's `qml -> ../qml` is followed), except hidden ones and those under a `tests`
/// directory, sorted, as paths relative to the package: what cxx-qt-build's
/// `QmlModule::qml_files` takes (it uses them as the qrc paths, `qrc:/qt/qml/<Module>/qml/...`).
/// Prints `rerun-if-changed` for `dir`, so a file added later is compiled in on the next build.
pub fn qml_files(dir: impl AsRef<Path>) -> Vec<PathBuf> {
    let dir = dir.as_ref();
    println!("cargo::rerun-if-changed={}", resolve(dir).display());
    let mut files = Vec::new();
    collect_qml(&resolve(dir), dir, &mut files);
    files.sort();
    files
}

fn collect_qml(abs: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(abs) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            if name != "tests" {
                collect_qml(&path, &rel.join(name), out);
            }
        } else if name.ends_with(".qml") {
            out.push(rel.join(name));
        }
    }
}

/// A relative path is the package's (cargo runs build scripts there; `CARGO_MANIFEST_DIR` makes
/// it independent of the working directory).
fn resolve(path: &Path) -> PathBuf {
    match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) if path.is_relative() => Path::new(&dir).join(path),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{VALID, app_dir};

    #[test]
    fn one_env_directive_per_identity_variable() {
        let dir = app_dir(VALID);
        let lines = directives(&dir.path().join("qmlbridge.toml")).unwrap();
        let envs: Vec<&String> = lines.iter().filter(|l| l.contains("rustc-env")).collect();
        assert_eq!(
            envs,
            [
                "cargo::rustc-env=QMLBRIDGE_ORG=example",
                "cargo::rustc-env=QMLBRIDGE_NAME=bookmarks",
                "cargo::rustc-env=QMLBRIDGE_DISPLAY_NAME=Bookmarks",
                "cargo::rustc-env=QMLBRIDGE_IDENTIFIER=org.example.Bookmarks",
                "cargo::rustc-env=QMLBRIDGE_VERSION=0.1.0",
                "cargo::rustc-env=QMLBRIDGE_BACKEND_BIN=bookmarks-backend",
                "cargo::rustc-env=QMLBRIDGE_QML_NETWORK=",
                "cargo::rustc-env=QMLBRIDGE_UPDATE_FEED=",
                "cargo::rustc-env=QMLBRIDGE_UPDATE_KEYS=",
                "cargo::rustc-env=QMLBRIDGE_UPDATE_CHECK_AT_START=false",
                "cargo::rustc-env=QMLBRIDGE_UPDATE_AUTO_DOWNLOAD=false",
                "cargo::rustc-env=QMLBRIDGE_UPDATE_ROLLBACK=ask",
            ]
        );
    }

    #[test]
    fn the_update_section_is_exported() {
        let text = format!(
            "{VALID}\n[update]\nfeed = \"https://example.org/bm/latest.json\"\nkeys = [\"{}\", \"{}\"]\ncheck_at_start = true\nauto_download = true\nrollback = \"auto\"\n",
            crate::tests::KEY_A,
            crate::tests::KEY_B
        );
        let dir = app_dir(&text);
        let lines = directives(&dir.path().join("qmlbridge.toml")).unwrap();
        for want in [
            "cargo::rustc-env=QMLBRIDGE_UPDATE_FEED=https://example.org/bm/latest.json".to_owned(),
            format!(
                "cargo::rustc-env=QMLBRIDGE_UPDATE_KEYS={} {}",
                crate::tests::KEY_A,
                crate::tests::KEY_B
            ),
            "cargo::rustc-env=QMLBRIDGE_UPDATE_CHECK_AT_START=true".to_owned(),
            "cargo::rustc-env=QMLBRIDGE_UPDATE_AUTO_DOWNLOAD=true".to_owned(),
            "cargo::rustc-env=QMLBRIDGE_UPDATE_ROLLBACK=auto".to_owned(),
        ] {
            assert!(lines.contains(&want), "{want}: {lines:?}");
        }
    }

    #[test]
    fn the_qml_network_origins_are_one_variable_normalised() {
        let text = format!(
            "{VALID}\n[qml]\nnetwork = [\"https://Tiles.example.org:443\", \"http://127.0.0.1:8080\"]\n"
        );
        let dir = app_dir(&text);
        let lines = directives(&dir.path().join("qmlbridge.toml")).unwrap();
        assert!(
            lines.contains(
                &"cargo::rustc-env=QMLBRIDGE_QML_NETWORK=https://tiles.example.org http://127.0.0.1:8080"
                    .to_owned()
            ),
            "{lines:?}"
        );
    }

    #[test]
    fn an_invalid_manifest_is_the_error_naming_the_field() {
        let dir = app_dir(&VALID.replace("org.example.Bookmarks", "foo"));
        let err = directives(&dir.path().join("qmlbridge.toml")).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("qmlbridge.toml: field `identifier`: \"foo\" is not a reverse-DNS id (e.g. org.example.App)"),
            "{err}"
        );
    }

    #[test]
    fn qml_files_are_the_windows_files_without_tests() {
        let tmp = tempfile::tempdir().unwrap();
        let qml = tmp.path().join("qml");
        for file in [
            "Main.qml",
            "Page.qml",
            "parts/Row.qml",
            "tests/tst_window.qml",
            ".Main.qml.swp",
            "notes.txt",
        ] {
            let path = qml.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        assert_eq!(
            qml_files(&qml)
                .iter()
                .map(|p| p.strip_prefix(&qml).unwrap().to_str().unwrap())
                .collect::<Vec<_>>(),
            ["Main.qml", "Page.qml", "parts/Row.qml"]
        );
    }

    #[test]
    fn relative_paths_are_the_packages() {
        let p = resolve(Path::new("../qmlbridge.toml"));
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
        assert_eq!(p, Path::new(&dir).join("../qmlbridge.toml"));
        assert_eq!(resolve(Path::new("/abs/q.toml")), Path::new("/abs/q.toml"));
    }
}
