//! Puts a rendered app on disk all at once or not at all. An absent directory is made as a
//! temporary sibling and renamed into place; an existing (empty) one, which may be the current
//! directory (`qmlbridge new .`, where a rename over it fails with EBUSY), keeps its inode: the
//! app is written into a temporary directory inside it and each top-level entry moved up.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One file of the new app.
pub(super) struct Planned {
    pub(super) path: PathBuf,
    pub(super) contents: Contents,
}

/// What a planned path holds.
pub(super) enum Contents {
    File { text: String, executable: bool },
    Symlink(PathBuf),
}

/// Writes `plan` as `dir`: absent before, or an empty directory.
pub(super) fn write_atomically(dir: &Path, plan: &[Planned]) -> Result<()> {
    if dir.is_dir() {
        return write_into(dir, plan);
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(Error::io(&parent))?;
    let leaf = dir
        .file_name()
        .map_or("app".into(), |n| n.to_string_lossy());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{leaf}.new-"))
        .tempdir_in(&parent)
        .map_err(Error::io(&parent))?;
    write_tree(tmp.path(), plan)?;
    // A temporary directory is private (0700); the app is an ordinary directory.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(Error::io(tmp.path()))?;
    std::fs::rename(tmp.path(), dir).map_err(Error::io(dir))?;
    // Renamed away: nothing left for the guard to remove.
    let _ = tmp.keep();
    Ok(())
}

/// `plan` written into the existing empty `dir`: staged in a hidden directory inside it, then
/// each top-level entry renamed up; a failure removes what was moved, leaving `dir` empty.
fn write_into(dir: &Path, plan: &[Planned]) -> Result<()> {
    let staging = tempfile::Builder::new()
        .prefix(".qmlbridge-new-")
        .tempdir_in(dir)
        .map_err(Error::io(dir))?;
    write_tree(staging.path(), plan)?;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(staging.path())
        .map_err(Error::io(staging.path()))?
        .map(|e| e.map(|e| e.file_name().into()))
        .collect::<std::io::Result<_>>()
        .map_err(Error::io(staging.path()))?;
    entries.sort();
    let mut moved: Vec<PathBuf> = Vec::new();
    for name in entries {
        let to = dir.join(&name);
        if let Err(e) = std::fs::rename(staging.path().join(&name), &to) {
            for m in moved {
                let _ = std::fs::remove_dir_all(&m).or_else(|_| std::fs::remove_file(&m));
            }
            return Err(Error::io(to)(e));
        }
        moved.push(to);
    }
    Ok(())
}

fn write_tree(root: &Path, plan: &[Planned]) -> Result<()> {
    for p in plan {
        let path = root.join(&p.path);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(Error::io(d))?;
        }
        match &p.contents {
            Contents::File { text, executable } => {
                std::fs::write(&path, text).map_err(Error::io(&path))?;
                if *executable {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                        .map_err(Error::io(&path))?;
                }
            }
            Contents::Symlink(target) => {
                std::os::unix::fs::symlink(target, &path).map_err(Error::io(&path))?
            }
        }
    }
    format_rust(root, plan);
    Ok(())
}

/// Formats the generated Rust as the app's `make test` checks it (`cargo fmt --check`): how
/// rustfmt breaks a line depends on the names in it, which only the generator knows. Without
/// rustfmt the code is still valid, so that is a warning, not a failure.
fn format_rust(root: &Path, plan: &[Planned]) {
    let files: Vec<PathBuf> = plan
        .iter()
        .filter(|p| p.path.extension().is_some_and(|e| e == "rs"))
        .map(|p| root.join(&p.path))
        .collect();
    let status = std::process::Command::new("rustfmt")
        .args(["--edition", "2024"])
        .args(&files)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!("qmlbridge: warning: rustfmt failed ({s}); run `cargo fmt` in the app"),
        Err(e) => {
            eprintln!("qmlbridge: warning: cannot run rustfmt ({e}); run `cargo fmt` in the app")
        }
    }
}
