//! `qmlbridge bundle`: the AppImage of the app in a directory, from its `qmlbridge.toml`. What
//! only the manifest knows is made here and checked before the long build (the desktop entry, the
//! AppStream metainfo, the icon sizes); the framework's generic `packaging/build-appimage.sh` then
//! builds, deploys Qt and writes the image, driven by `QMLBRIDGE_*` environment variables (the
//! list is in that script's header; it builds the image's runtime from `packaging/runtime`), and
//! `--test` runs `packaging/test-appimage.sh` on it (which then runs
//! `packaging/test-appimage-systems.sh`: a FUSE 3 system, one without FUSE, this one).
//! `--sign` makes it a release (`sign_release`): the key is checked before the build, the build
//! embeds the update information, and the `.zsync` file and signed `latest.json` are written
//! beside the image before `--test` runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use qmlbridge_manifest::{FILE_NAME, Manifest};

use crate::error::{Error, Result};
use crate::icon::render_icons;
use crate::sign_release::{self, SignOptions};

/// The image's architecture (the only one `packaging/runtime` is built for).
const ARCH: &str = "x86_64";

/// What `qmlbridge bundle` was asked for.
#[derive(Debug, Clone)]
pub struct BundleOptions {
    /// The app's root (where `qmlbridge.toml` is).
    pub app: PathBuf,
    /// The qmlbridge checkout whose `packaging/` builds the image.
    pub framework: PathBuf,
    /// Run the end-to-end test of the image afterwards.
    pub test: bool,
    /// Sign it as a release (`--sign`); `None`: the image only.
    pub sign: Option<SignOptions>,
}

/// Builds the image; returns its path (`<app>/dist/<name>-<version>-x86_64.AppImage`).
pub fn bundle(opts: &BundleOptions) -> Result<PathBuf> {
    let app = opts.app.canonicalize().map_err(Error::io(&opts.app))?;
    let m = Manifest::load(&app.join(FILE_NAME))?;
    let image_name = format!("{}-{}-{ARCH}.AppImage", m.name, m.version);
    // The key and its password first: a wrong one must not cost a build.
    let signing = match &opts.sign {
        Some(sign) => {
            let prepared = sign_release::prepare(&m, sign)?;
            let update = sign_release::update_section(&m)?;
            let info = sign_release::update_information(update, &image_name)?;
            Some((prepared, info))
        }
        None => None,
    };
    let build = app.join("build/appimage");
    let meta = build.join("meta");
    if meta.exists() {
        std::fs::remove_dir_all(&meta).map_err(Error::io(&meta))?;
    }
    let icons = meta.join("icons");
    std::fs::create_dir_all(&icons).map_err(Error::io(&icons))?;
    write_icons(&m, &icons)?;
    let desktop = meta.join(format!("{}.desktop", m.identifier));
    write(&desktop, &desktop_entry(&m))?;
    run(Command::new("desktop-file-validate").arg(&desktop))?;
    let metainfo = meta.join(format!("{}.metainfo.xml", m.identifier));
    write(&metainfo, &metainfo_xml(&m))?;
    run(Command::new("appstreamcli")
        .args(["validate", "--no-net"])
        .arg(&metainfo))?;

    let out = app.join("dist").join(&image_name);
    let framework = opts
        .framework
        .canonicalize()
        .map_err(Error::io(&opts.framework))?;
    let mut env = environment(&m, &app, &framework, &build, &meta, &out);
    // Always set, empty without --sign: a value left in the caller's environment is not embedded.
    let info = signing
        .as_ref()
        .map_or_else(String::new, |(_, info)| info.clone());
    env.push(("QMLBRIDGE_UPDATE_INFO", info));
    let script = framework.join("packaging/build-appimage.sh");
    run(Command::new(&script).envs(env.clone()))?;
    if let Some((prepared, _)) = &signing {
        let published = prepared.publish(&m, &out)?;
        for file in [&published.zsync, &published.feed, &published.feed_signature] {
            eprintln!("qmlbridge: wrote {}", file.display());
        }
    }
    if opts.test {
        let script = framework.join("packaging/test-appimage.sh");
        run(Command::new(&script).arg(&out).envs(env))?;
    }
    Ok(out)
}

/// The variables `packaging/*.sh` read (documented in `build-appimage.sh`).
fn environment(
    m: &Manifest,
    app: &Path,
    framework: &Path,
    build: &Path,
    meta: &Path,
    out: &Path,
) -> Vec<(&'static str, String)> {
    let path = |p: &Path| p.display().to_string();
    let mut qml_dirs = vec![path(&framework.join("qml"))];
    if app.join("qml").is_dir() && app.join("qml") != framework.join("qml") {
        qml_dirs.push(path(&app.join("qml")));
    }
    vec![
        ("QMLBRIDGE_APP_DIR", path(app)),
        ("QMLBRIDGE_APP_NAME", m.name.clone()),
        ("QMLBRIDGE_ORG", m.org.clone()),
        ("QMLBRIDGE_DISPLAY_NAME", m.display_name.clone()),
        ("QMLBRIDGE_APP_VERSION", m.version.clone()),
        ("QMLBRIDGE_IDENTIFIER", m.identifier.clone()),
        ("QMLBRIDGE_HOST_PACKAGE", m.host.package.clone()),
        ("QMLBRIDGE_HOST_BIN", m.host.bin.clone()),
        ("QMLBRIDGE_BACKEND_PACKAGE", m.backend.package.clone()),
        ("QMLBRIDGE_BACKEND_BIN", m.backend.bin.clone()),
        ("QMLBRIDGE_BACKEND_DIR", path(&m.backend.dir)),
        ("QMLBRIDGE_CADDYFILE", path(&m.caddyfile)),
        ("QMLBRIDGE_QML_DIRS", qml_dirs.join(":")),
        ("QMLBRIDGE_QUICK_STYLES", m.appimage.quick_styles.join(" ")),
        ("QMLBRIDGE_MAX_SIZE_MB", m.appimage.max_size_mb.to_string()),
        ("QMLBRIDGE_META_DIR", path(meta)),
        ("QMLBRIDGE_BUILD_DIR", path(build)),
        ("QMLBRIDGE_OUT", path(out)),
    ]
}

/// `icons/<N>x<N>.png` (and `icons/scalable.svg`): rendered from the SVG, or the PNG as given.
fn write_icons(m: &Manifest, dir: &Path) -> Result<()> {
    if let Some(svg) = &m.icon.svg {
        render_icons(svg, dir)?;
        let to = dir.join("scalable.svg");
        std::fs::copy(svg, &to).map_err(Error::io(&to))?;
        return Ok(());
    }
    let Some(png) = &m.icon.png else {
        return Ok(());
    };
    let pixmap = resvg::tiny_skia::Pixmap::load_png(png).map_err(|e| Error::Icon {
        path: png.clone(),
        problem: format!("not a PNG: {e}"),
    })?;
    let (w, h) = (pixmap.width(), pixmap.height());
    if w != h {
        return Err(Error::Icon {
            path: png.clone(),
            problem: format!("{w}x{h} is not square (icon themes want NxN)"),
        });
    }
    let to = dir.join(format!("{w}x{w}.png"));
    std::fs::copy(png, &to).map_err(Error::io(&to))?;
    Ok(())
}

/// The desktop entry. String values escape `\` (the spec's only escape the rules let through).
///
/// See: <https://specifications.freedesktop.org/desktop-entry-spec/latest/>
fn desktop_entry(m: &Manifest) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\");
    format!(
        "[Desktop Entry]\nType=Application\nName={}\nComment={}\nExec={}\nIcon={}\n\
         Terminal=false\nCategories={};\nStartupNotify=true\nX-AppImage-Version={}\n",
        esc(&m.display_name),
        esc(&m.comment),
        m.host.bin,
        m.identifier,
        m.categories.join(";"),
        m.version,
    )
}

/// The AppStream metainfo (the format Debian 12's appstream 0.16 validates).
///
/// See: <https://www.freedesktop.org/software/appstream/docs/chap-Quickstart.html>
fn metainfo_xml(m: &Manifest) -> String {
    let x = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<component type="desktop-application">
  <id>{id}</id>
  <metadata_license>CC0-1.0</metadata_license>
  <name>{name}</name>
  <summary>{summary}</summary>
  <description>
    <p>{summary}.</p>
  </description>
  <developer_name>{org}</developer_name>
  <launchable type="desktop-id">{id}.desktop</launchable>
  <provides>
    <binary>{bin}</binary>
  </provides>
  <content_rating type="oars-1.1"/>
</component>
"#,
        id = x(&m.identifier),
        name = x(&m.display_name),
        summary = x(&m.comment),
        org = x(&m.org),
        bin = x(&m.host.bin),
    )
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(Error::io(path))
}

/// Runs `cmd` with the terminal's stdout/stderr; a failure names the command.
fn run(cmd: &mut Command) -> Result<()> {
    let step = format!("{cmd:?}");
    let status = cmd.status().map_err(|source| Error::Spawn {
        tool: cmd.get_program().to_string_lossy().into_owned(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Step { step, status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let text = r#"
name = "bookmarks"
display_name = "Book & <marks> \\ \"x\""
org = "example"
identifier = "org.example.Bookmarks"
version = "1.2.3"
comment = "Keep your bookmarks"
categories = ["Office", "Utility"]
icon = "assets/icon.svg"
"#;
        Manifest::parse(text, Path::new("/apps/bm/qmlbridge.toml")).unwrap()
    }

    #[test]
    fn the_desktop_entry_from_the_manifest() {
        let d = desktop_entry(&manifest());
        for line in [
            "Name=Book & <marks> \\\\ \"x\"\n",
            "Exec=bookmarks\n",
            "Icon=org.example.Bookmarks\n",
            "Categories=Office;Utility;\n",
        ] {
            assert!(d.contains(line), "{line}: {d}");
        }
    }

    #[test]
    fn the_metainfo_is_escaped_xml() {
        let x = metainfo_xml(&manifest());
        assert!(x.contains("<id>org.example.Bookmarks</id>"), "{x}");
        assert!(
            x.contains("<name>Book &amp; &lt;marks&gt; \\ &quot;x&quot;</name>"),
            "{x}"
        );
        assert!(x.contains(
            r#"<launchable type="desktop-id">org.example.Bookmarks.desktop</launchable>"#
        ));
    }

    /// Both validators accept what the manifest produces (`scripts/install-deps.sh test`
    /// installs them).
    #[test]
    fn the_validators_accept_them() {
        let dir = tempfile::tempdir().unwrap();
        let m = manifest();
        let desktop = dir.path().join("org.example.Bookmarks.desktop");
        write(&desktop, &desktop_entry(&m)).unwrap();
        let metainfo = dir.path().join("org.example.Bookmarks.metainfo.xml");
        write(&metainfo, &metainfo_xml(&m)).unwrap();
        for (tool, args) in [
            ("desktop-file-validate", vec![desktop.as_os_str()]),
            (
                "appstreamcli",
                vec![
                    "validate".as_ref(),
                    "--no-net".as_ref(),
                    metainfo.as_os_str(),
                ],
            ),
        ] {
            let out = Command::new(tool)
                .args(&args)
                .output()
                .unwrap_or_else(|e| panic!("{tool}: {e} (scripts/install-deps.sh test)"));
            assert!(
                out.status.success(),
                "{tool}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
