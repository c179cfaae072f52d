//! Writing the payload's tree to a directory: `--appimage-extract [PATTERN]`, the temporary tree
//! of `--appimage-extract-and-run`, and the per-user cache where FUSE cannot be used.

use std::ffi::CString;
use std::fs::{self, OpenOptions};
use std::io::BufWriter;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt, symlink};
use std::path::Path;

use crate::error::{Error, Result};
use crate::squash::{Image, Kind};

/// What an extraction wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Regular files.
    pub files: u64,
    /// Bytes of regular files.
    pub bytes: u64,
}

/// Whether `path` (relative, no leading `/`) matches the shell `pattern` (fnmatch(3) without
/// flags, as AppImage runtimes match `--appimage-extract PATTERN`).
pub fn matches(pattern: &str, path: &str) -> bool {
    let (Ok(p), Ok(s)) = (CString::new(pattern), CString::new(path)) else {
        return false;
    };
    // SAFETY: both are NUL-terminated strings that outlive the call; fnmatch only reads them.
    unsafe { libc::fnmatch(p.as_ptr(), s.as_ptr(), 0) == 0 }
}

/// Extracts every entry (or those matching `pattern`, with the directories leading to them)
/// under `dest`, which must exist. `on_entry` sees each relative path written.
pub fn extract(
    image: &Image,
    dest: &Path,
    pattern: Option<&str>,
    mut on_entry: impl FnMut(&Path),
) -> Result<Written> {
    let mut wanted = vec![pattern.is_none(); image.entries.len()];
    if let Some(p) = pattern {
        for (i, e) in image.entries.iter().enumerate().skip(1) {
            let rel = e.path.strip_prefix("/").unwrap_or(&e.path);
            if matches(p, &rel.to_string_lossy()) {
                let mut at = i;
                while at != 0 && !wanted[at] {
                    wanted[at] = true;
                    at = image.entries[at].parent;
                }
            }
        }
    }
    let mut written = Written::default();
    let mut dirs = Vec::new();
    for (i, e) in image.entries.iter().enumerate().skip(1) {
        if !wanted[i] {
            continue;
        }
        let rel = e.path.strip_prefix("/").unwrap_or(&e.path);
        let to = dest.join(rel);
        let mode = u32::from(e.header.permissions & 0o7777);
        match &e.kind {
            Kind::Dir(_) => {
                match fs::create_dir(&to) {
                    Err(err) if err.kind() != std::io::ErrorKind::AlreadyExists => {
                        return Err(Error::io("cannot create", to)(err));
                    }
                    _ => {}
                }
                // Modes last: a read-only directory would refuse its own children.
                dirs.push((to, mode));
            }
            Kind::File(data) => {
                let file = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&to)
                    .map_err(Error::io("cannot create", &to))?;
                let mut sink = BufWriter::with_capacity(256 * 1024, file);
                written.bytes += image.copy_to(data, &mut sink)?;
                let file = sink
                    .into_inner()
                    .map_err(|e| Error::io("cannot write", &to)(e.into_error()))?;
                file.set_permissions(fs::Permissions::from_mode(mode))
                    .map_err(Error::io("cannot set the mode of", &to))?;
                written.files += 1;
            }
            Kind::Symlink(target) => {
                let _ = fs::remove_file(&to);
                symlink(target, &to).map_err(Error::io("cannot create the symlink", &to))?;
            }
            Kind::Other => continue,
        }
        on_entry(rel);
    }
    for (dir, mode) in dirs.into_iter().rev() {
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode))
            .map_err(Error::io("cannot set the mode of", &dir))?;
    }
    Ok(written)
}
