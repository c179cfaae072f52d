//! Files the CLI writes whole and private: a new file with its final mode beside the old one,
//! synced, then renamed over it. A reader never sees half a file, and the mode is the new file's
//! every time (`open(2)` applies a mode only when it creates the file, so rewriting the old one
//! would keep whatever mode it had).

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` with `mode` (see the module doc); the temporary file has a unique
/// name in the same directory, so two writers never share it.
pub(crate) fn write_replacing(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".qmlbridge-")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(Error::io(dir))?;
    file.write_all(bytes).map_err(Error::io(path))?;
    file.as_file().sync_all().map_err(Error::io(path))?;
    file.persist(path).map_err(|e| Error::io(path)(e.error))?;
    Ok(())
}
