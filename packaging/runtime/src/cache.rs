//! The per-user cache used where FUSE cannot be: the payload extracted once into
//! `${XDG_CACHE_HOME:-~/.cache}/qmlbridge/appimage/<first 32 hex digits of its SHA-256>`, and
//! every later start runs from there without extracting again.
//!
//! - The digest comes from the image's `.qmlbridge_payload` section (written when the image was
//!   built), so finding the cache costs nothing; the payload is hashed only when it is extracted,
//!   and an extraction whose payload does not match the recorded digest is refused (a damaged
//!   download must not become a cache that looks valid).
//! - An extraction goes into a temporary directory beside the cache and is renamed into place,
//!   so two starts at once both end up using one complete tree; the loser discards its own.
//! - A marker file names the app (its desktop file); each running app holds a shared lock on it,
//!   so a newer version's first start removes only the caches of older versions nobody runs.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::extract::{Written, extract};
use crate::squash::{Image, Kind};
use crate::sys;

/// The marker inside a complete cache directory.
pub const MARKER: &str = ".qmlbridge-appimage";
/// Hex digits of the digest in the directory's name (128 bits).
const NAME_DIGITS: usize = 32;

/// The cache root: `$XDG_CACHE_HOME/qmlbridge/appimage`, or `$HOME/.cache/...` when
/// XDG_CACHE_HOME is unset, empty or relative (the XDG Base Directory rule).
///
/// See: <https://specifications.freedesktop.org/basedir-spec/latest/>
pub fn root(xdg_cache_home: Option<&str>, home: Option<&str>) -> Result<PathBuf> {
    let base = match (xdg_cache_home, home) {
        (Some(x), _) if x.starts_with('/') => PathBuf::from(x),
        (_, Some(h)) if h.starts_with('/') => Path::new(h).join(".cache"),
        _ => {
            return Err(Error::Usage(
                "FUSE cannot be used here and neither XDG_CACHE_HOME nor HOME names a directory \
                 to extract the app into; set one, or run with --appimage-extract-and-run"
                    .into(),
            ));
        }
    };
    Ok(base.join("qmlbridge/appimage"))
}

/// How a start got its tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An earlier start had extracted it.
    Reused,
    /// This start extracted it (another start may have renamed its copy first).
    Extracted(Written),
}

/// A ready cache directory, locked (shared) for as long as `lock` stays open.
#[derive(Debug)]
pub struct Ready {
    /// The tree: APPDIR.
    pub dir: PathBuf,
    /// The marker, with a shared lock; keep it open (across `exec`) while the app runs.
    pub lock: File,
    /// Whether this start extracted.
    pub outcome: Outcome,
}

/// The app's identity in the cache: the name of the desktop file at the payload's root.
pub fn app_id(image: &Image) -> String {
    let Kind::Dir(children) = &image.entries[0].kind else {
        return String::new();
    };
    children
        .iter()
        .map(|&c| image.name(c).to_string_lossy().into_owned())
        .find_map(|n| n.strip_suffix(".desktop").map(str::to_owned))
        .unwrap_or_default()
}

/// SHA-256 of everything after `offset` in `file` (the payload as the packaging step hashed it).
pub fn payload_sha256(file: &Path, offset: u64) -> Result<String> {
    let mut f = File::open(file).map_err(Error::io("cannot open", file))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(Error::io("cannot read", file))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(Error::io("cannot read", file))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The cache for the payload with `digest`: reused when complete, else extracted (after
/// `verify` confirmed the payload is the one `digest` names) and older versions removed.
pub fn ensure(
    image: &Image,
    root: &Path,
    digest: &str,
    verify: impl FnOnce() -> Result<()>,
) -> Result<Ready> {
    let name = &digest[..NAME_DIGITS.min(digest.len())];
    let dir = root.join(name);
    if let Some(lock) = open_locked(&dir)? {
        return Ok(Ready {
            dir,
            lock,
            outcome: Outcome::Reused,
        });
    }
    verify()?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(Error::io("cannot create the cache directory", root))?;
    remove_abandoned(root);
    let tmp = root.join(format!(".tmp-{name}-{}", std::process::id()));
    remove_tree(&tmp);
    fs::create_dir(&tmp).map_err(Error::io("cannot create", &tmp))?;
    let id = app_id(image);
    let written = extract(image, &tmp, None, |_| ()).and_then(|w| {
        let marker = tmp.join(MARKER);
        let mut f = File::create(&marker).map_err(Error::io("cannot create", &marker))?;
        writeln!(
            f,
            "app={id}\nsha256={digest}\nfiles={}\nbytes={}",
            w.files, w.bytes
        )
        .and_then(|()| f.sync_all())
        .map_err(Error::io("cannot write", &marker))?;
        Ok(w)
    });
    let written = match written {
        Ok(w) => w,
        Err(e) => {
            remove_tree(&tmp);
            return Err(e);
        }
    };
    if open_locked(&dir)?.is_none() && exists(&dir) {
        // A directory without the marker was never renamed into place by a runtime (a marker is
        // written before the rename): not a cache, and in the way of this one.
        remove_tree(&dir);
    }
    if let Err(err) = fs::rename(&tmp, &dir) {
        remove_tree(&tmp);
        // Another start renamed its complete copy first: use that one.
        return match open_locked(&dir)? {
            Some(lock) => Ok(Ready {
                dir,
                lock,
                outcome: Outcome::Extracted(written),
            }),
            None => Err(Error::io("cannot move the extracted tree to", &dir)(err)),
        };
    }
    let lock = open_locked(&dir)?.ok_or_else(|| {
        Error::Image(format!(
            "{} vanished right after it was extracted",
            dir.display()
        ))
    })?;
    remove_older_versions(root, name, &id);
    Ok(Ready {
        dir,
        lock,
        outcome: Outcome::Extracted(written),
    })
}

/// The marker of a complete cache at `dir`, opened with a shared lock; `None` when incomplete.
fn open_locked(dir: &Path) -> Result<Option<File>> {
    let marker = dir.join(MARKER);
    let file = match File::open(&marker) {
        Ok(f) => f,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(Error::io("cannot open", marker)(e)),
    };
    // A shared lock never waits on another shared one; only removal takes it exclusively.
    sys::try_lock(&file, false).map_err(Error::io("cannot lock", &marker))?;
    Ok(Some(file))
}

/// Removes the caches of the same app other than `keep`, skipping any an app still runs from.
fn remove_older_versions(root: &Path, keep: &str, id: &str) {
    if id.is_empty() {
        return;
    }
    let Ok(read) = fs::read_dir(root) else { return };
    for entry in read.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == keep || name.starts_with('.') {
            continue;
        }
        let marker = entry.path().join(MARKER);
        let Ok(text) = fs::read_to_string(&marker) else {
            continue;
        };
        if !text.lines().any(|l| l.strip_prefix("app=") == Some(id)) {
            continue;
        }
        let Ok(f) = File::open(&marker) else { continue };
        if sys::try_lock(&f, true).unwrap_or(false) {
            remove_tree(&entry.path());
        }
    }
}

/// Removes temporary trees left by extractions whose process is gone (`.tmp-<name>-<pid>`).
fn remove_abandoned(root: &Path) {
    let Ok(read) = fs::read_dir(root) else { return };
    for entry in read.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(".tmp-")) else {
            continue;
        };
        let pid = rest.rsplit('-').next().and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| !sys::alive(p)) {
            remove_tree(&entry.path());
        }
    }
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// `rm -rf`, making directories writable first (payload directories may be read-only).
pub fn remove_tree(path: &Path) {
    if let Ok(read) = fs::read_dir(path) {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
        for entry in read.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&entry.path());
            }
        }
    }
    let _ = fs::remove_dir_all(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_follows_the_xdg_rule() {
        assert_eq!(
            root(Some("/x/cache"), Some("/home/u")).unwrap(),
            Path::new("/x/cache/qmlbridge/appimage")
        );
        assert_eq!(
            root(None, Some("/home/u")).unwrap(),
            Path::new("/home/u/.cache/qmlbridge/appimage")
        );
        // Relative or empty XDG_CACHE_HOME is ignored (basedir spec).
        assert_eq!(
            root(Some("rel"), Some("/home/u")).unwrap(),
            Path::new("/home/u/.cache/qmlbridge/appimage")
        );
        assert_eq!(
            root(Some(""), Some("/home/u")).unwrap(),
            Path::new("/home/u/.cache/qmlbridge/appimage")
        );
        let err = root(None, None).unwrap_err().to_string();
        assert!(err.contains("--appimage-extract-and-run"), "{err}");
    }
}
