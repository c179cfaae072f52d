//! `qmlbridge-cli`: what the `qmlbridge` binary does. `new` writes an app from the skeleton in
//! the framework's `templates/app`, `icon` renders an SVG to the PNG sizes, `bundle` packages an
//! app as an AppImage from its `qmlbridge.toml` (through the framework's `packaging/` scripts),
//! `dev` runs the edit loop (QML reload, backend rebuild and swap, host rebuild and restart),
//! `lint` checks QML for labels that would render data as markup, `keygen` writes a release key
//! pair and `bundle --sign` publishes a signed release (`.zsync`, `latest.json`; docs/updates.md).

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod bundle;
mod dev;
mod error;
mod files;
mod icon;
mod keygen;
mod lint;
mod new;
mod sign;
mod sign_release;
mod spec;

pub use bundle::{BundleOptions, bundle};
pub use dev::{DevData, DevOptions, dev, dev_data};
pub use error::{Error, Result};
pub use icon::{ICON_SIZES, render_icons};
pub use keygen::{KeygenOptions, Keys, app_name_here, default_key_dir, keygen};
pub use lint::{Finding, lint};
pub use new::{NewOptions, new_app};
pub use sign::{KEY_ENV, PASSWORD_ENV};
pub use sign_release::{Published, SignOptions, sign_release};
pub use spec::{DEFAULT_SPEC, FieldSpec, FieldType, ResourceSpec};

/// The framework checkout this binary was built from: the default `--framework`.
pub fn built_framework() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    dir.canonicalize().unwrap_or(dir)
}
