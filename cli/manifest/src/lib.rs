//! `qmlbridge-manifest`: an app's `qmlbridge.toml`, the one place its identity lives (name,
//! organisation, reverse-DNS id, version, desktop entry texts, icon, crates, Caddyfile, AppImage
//! options, update feed and keys), parsed and validated. `qmlbridge new` writes one, `qmlbridge bundle` packages from
//! it, and the app's host reads it at build time through [`build::emit`]. The fields are
//! documented in `docs/manifest.md`.
//!
//! ```no_run
//! let m = qmlbridge_manifest::Manifest::load("bookmarks/qmlbridge.toml".as_ref())?;
//! assert_eq!(m.backend.bin, format!("{}-backend", m.name));
//! # Ok::<(), qmlbridge_manifest::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod build;
mod error;
mod raw;
pub mod rules;

use std::path::{Path, PathBuf};

pub use error::{Error, Result};

/// The manifest's file name at an app's root.
pub const FILE_NAME: &str = "qmlbridge.toml";

/// The Qt Quick Controls styles bundled unless `[appimage] quick_styles` says otherwise: Fusion
/// is Qt 6's default on Linux, Basic the fallback every style builds on.
pub const DEFAULT_QUICK_STYLES: &[&str] = &["Basic", "Fusion"];

/// The AppImage size limit unless `[appimage] max_size_mb` says otherwise.
pub const DEFAULT_MAX_SIZE_MB: u32 = 40;

/// A validated manifest, defaults applied; paths are joined to the manifest's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The manifest file as given.
    pub path: PathBuf,
    /// Its directory: the app's root.
    pub root: PathBuf,
    /// The app name: host binary, `share/<name>/`, data-dir leaf, AppImage name.
    pub name: String,
    /// The name a person sees (window title, menu entry).
    pub display_name: String,
    /// The organisation: `~/.local/share/<org>/<name>`.
    pub org: String,
    /// The reverse-DNS id: desktop file id, icon name, Wayland `app_id`, AppStream id.
    pub identifier: String,
    /// The app's semantic version.
    pub version: String,
    /// One line saying what the app does (desktop `Comment=`, AppStream summary).
    pub comment: String,
    /// Desktop entry categories, at least one Main Category.
    pub categories: Vec<String>,
    /// The icon: an SVG, a PNG, or both.
    pub icon: Icon,
    /// The backend's Caddyfile (default `Caddyfile`).
    pub caddyfile: PathBuf,
    /// The host crate (default: package and binary `<name>`).
    pub host: Crate,
    /// The backend crate (default: package and binary `<name>-backend`, dir `backend`).
    pub backend: Backend,
    /// The AppImage's options.
    pub appimage: AppImage,
    /// `[qml]`: what the window's QML engine may do.
    pub qml: Qml,
    /// `[update]`: where releases are published and who signs them; `None` without the section
    /// (the app does not update itself).
    pub update: Option<Update>,
}

/// `[update]` (docs/updates.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The URL of the release feed, `latest.json`.
    pub feed: String,
    /// The trusted minisign public keys (base64 lines); a release signed by any of them is
    /// accepted, so a new key can be added before it signs anything (rotation).
    pub keys: Vec<String>,
    /// Whether the app checks the feed when it starts.
    pub check_at_start: bool,
    /// Whether a release that a check finds is downloaded without asking.
    pub auto_download: bool,
    /// What the app does after a failed upgrade when the previous image is kept.
    pub rollback: Rollback,
    /// Release notes for `latest.json` when `qmlbridge bundle --sign` gets no `--notes` file.
    pub notes: Option<String>,
}

/// `[update] rollback`: what the app does when an upgrade failed (its migration, or its backend
/// never came Online: the data was restored) and the update kept the previous image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rollback {
    /// `"ask"`: offer to restart into the previous version (the Offline overlay's button).
    #[default]
    Ask,
    /// `"auto"`: put the previous image back and restart into it without asking.
    Auto,
}

impl Rollback {
    /// The manifest's spelling, `ask` or `auto`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rollback::Ask => "ask",
            Rollback::Auto => "auto",
        }
    }
}

/// The app's icon files; at least one is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icon {
    /// The scalable icon.
    pub svg: Option<PathBuf>,
    /// A bitmap icon (used as given when there is no SVG to render the sizes from).
    pub png: Option<PathBuf>,
}

/// A cargo package and the binary it builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    /// The package name (`cargo build -p`).
    pub package: String,
    /// The binary name.
    pub bin: String,
}

/// The backend crate and its working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The package name (`cargo build -p`).
    pub package: String,
    /// The binary name.
    pub bin: String,
    /// The backend's working directory (`root public` in the Caddyfile is relative to it).
    pub dir: PathBuf,
}

/// `[qml]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Qml {
    /// The origins (`https://tiles.example.org`, normalised: lower case, no default port) the
    /// QML engine may fetch from besides the backend; every other network URL is refused
    /// (docs/qml.md, "Network").
    pub network: Vec<String>,
}

/// `[appimage]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppImage {
    /// Qt Quick Controls styles to bundle (Controls picks its style at run time).
    pub quick_styles: Vec<String>,
    /// The image's size limit in MB (10^6 bytes).
    pub max_size_mb: u32,
}

impl Manifest {
    /// Reads and validates the manifest at `path`; the files it names must exist.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let manifest = Manifest::parse(&text, path)?;
        manifest.check_files()?;
        Ok(manifest)
    }

    /// Parses and validates `text` as the manifest at `path` (not read; the files it names are not
    /// checked).
    pub fn parse(text: &str, path: &Path) -> Result<Manifest> {
        let raw: raw::Raw = toml::from_str(text).map_err(|e| Error::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let field = |field: &str, checked| at(path, field, checked);
        field("name", rules::name(&raw.name))?;
        field("display_name", rules::line(&raw.display_name))?;
        field("org", rules::org(&raw.org))?;
        field("identifier", rules::identifier(&raw.identifier))?;
        field("version", rules::version(&raw.version))?;
        field("comment", rules::comment(&raw.comment))?;
        field("categories", rules::categories(&raw.categories))?;
        let root = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let icon = at(path, "icon", icon(&raw.icon, &root))?;
        let relative = |name: &str, value: Option<String>, default: &str| {
            let value = value.unwrap_or_else(|| default.to_owned());
            field(name, rules::relative_path(&value)).map(|()| root.join(value))
        };
        let caddyfile = relative("caddyfile", raw.caddyfile, "Caddyfile")?;
        let backend_dir = relative("backend.dir", raw.backend.dir, "backend")?;
        let named = |name: &str, value: Option<String>, default: String| {
            let value = value.unwrap_or(default);
            field(name, rules::crate_name(&value)).map(|()| value)
        };
        let host = Crate {
            package: named("host.package", raw.host.package, raw.name.clone())?,
            bin: named("host.bin", raw.host.bin, raw.name.clone())?,
        };
        let backend_name = format!("{}-backend", raw.name);
        let backend = Backend {
            package: named("backend.package", raw.backend.package, backend_name.clone())?,
            bin: named("backend.bin", raw.backend.bin, backend_name)?,
            dir: backend_dir,
        };
        if backend.bin == host.bin {
            let problem = format!("{:?} is the host's binary name too", backend.bin);
            field("backend.bin", Err(problem))?;
        }
        let quick_styles = raw
            .appimage
            .quick_styles
            .unwrap_or_else(|| DEFAULT_QUICK_STYLES.iter().map(|s| s.to_string()).collect());
        field("appimage.quick_styles", rules::quick_styles(&quick_styles))?;
        let max_size_mb = raw.appimage.max_size_mb.unwrap_or(DEFAULT_MAX_SIZE_MB);
        field("appimage.max_size_mb", rules::max_size_mb(max_size_mb))?;
        let network = at(
            path,
            "qml.network",
            rules::network(&raw.qml.network.unwrap_or_default()),
        )?;
        let update = match raw.update {
            None => None,
            Some(u) => {
                field("update.feed", rules::feed(&u.feed))?;
                field("update.keys", rules::update_keys(&u.keys))?;
                if let Some(notes) = &u.notes {
                    field("update.notes", rules::notes(notes))?;
                }
                let rollback = match u.rollback.as_deref() {
                    None => Rollback::default(),
                    Some(value) => at(path, "update.rollback", rules::rollback(value))?,
                };
                Some(Update {
                    feed: u.feed,
                    keys: u.keys,
                    check_at_start: u.check_at_start,
                    auto_download: u.auto_download,
                    rollback,
                    notes: u.notes,
                })
            }
        };
        Ok(Manifest {
            path: path.to_path_buf(),
            root,
            name: raw.name,
            display_name: raw.display_name,
            org: raw.org,
            identifier: raw.identifier,
            version: raw.version,
            comment: raw.comment,
            categories: raw.categories,
            icon,
            caddyfile,
            host,
            backend,
            appimage: AppImage {
                quick_styles,
                max_size_mb,
            },
            qml: Qml { network },
            update,
        })
    }

    /// The files and directories the manifest names exist.
    fn check_files(&self) -> Result<()> {
        let missing = |field: &str, path: &Path, what: &str| Error::Field {
            path: self.path.clone(),
            field: field.to_owned(),
            problem: format!("{} is not {what}", path.display()),
        };
        for p in self.icon.svg.iter().chain(&self.icon.png) {
            if !p.is_file() {
                return Err(missing("icon", p, "a file"));
            }
        }
        if !self.caddyfile.is_file() {
            return Err(missing("caddyfile", &self.caddyfile, "a file"));
        }
        if !self.backend.dir.is_dir() {
            return Err(missing("backend.dir", &self.backend.dir, "a directory"));
        }
        Ok(())
    }
}

/// `checked`'s problem as the [`Error::Field`] of `field` in the manifest at `path`.
fn at<T>(path: &Path, field: &str, checked: std::result::Result<T, String>) -> Result<T> {
    checked.map_err(|problem| Error::Field {
        path: path.to_path_buf(),
        field: field.to_owned(),
        problem,
    })
}

/// One or two icon paths: at most one `.svg` and one `.png`.
fn icon(raw: &raw::Icon, root: &Path) -> std::result::Result<Icon, String> {
    let paths = match raw {
        raw::Icon::One(p) => std::slice::from_ref(p),
        raw::Icon::Many(ps) => ps.as_slice(),
    };
    if paths.is_empty() {
        return Err("names no file (an .svg, a .png, or both)".to_owned());
    }
    let mut icon = Icon {
        svg: None,
        png: None,
    };
    for p in paths {
        rules::relative_path(p)?;
        let slot = match Path::new(p).extension().and_then(|e| e.to_str()) {
            Some("svg") => &mut icon.svg,
            Some("png") => &mut icon.png,
            _ => return Err(format!("{p:?} is neither an .svg nor a .png")),
        };
        if slot.replace(root.join(p)).is_some() {
            return Err(format!("{p:?}: one file of each kind at most"));
        }
    }
    Ok(icon)
}

#[cfg(test)]
mod tests;
