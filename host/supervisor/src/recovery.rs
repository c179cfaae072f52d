//! Upgrades that never lose data (docs/contract.md §1 "Snapshots before an upgrade", §9
//! "Recovery"): `migrate` copies the database into `<data dir>/var/snapshots/` before it
//! applies anything new; when that migrate fails, or the backend it prepared never reaches
//! Online, this module puts the copy back, so the user's data is byte for byte what it was and no
//! half-migrated file is left for an older build to refuse.
//!
//! The restore is atomic and resumable: a marker naming the snapshot is written first (fsynced),
//! the failed attempt's `-wal` and `-shm` are removed (a stale WAL would be replayed onto the
//! restored file), the copy is written beside the database, fsynced, renamed over it and the
//! directory fsynced; then the marker goes. A host killed anywhere in between finds the marker at
//! the next start and finishes the restore before running `migrate` ([`resume`]).

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Where snapshots live, relative to the data dir; handed to `migrate` as `BRIDGE_SNAPSHOT_DIR`.
pub(crate) const SNAPSHOT_DIR: &str = "var/snapshots";
/// The restore-in-progress marker in [`SNAPSHOT_DIR`]: the snapshot's file name.
const MARKER: &str = "restoring";

/// A snapshot `migrate` took for this session, to restore if the backend never comes Online.
#[derive(Clone, Debug)]
pub(crate) struct Armed {
    pub snapshot: PathBuf,
    pub database: PathBuf,
}

/// The database file a `DATABASE_URL` names (§2: `sqlite:///abs`, or `sqlite://rel` relative to
/// the backend's working directory `cwd`); `None` for `sqlite::memory:` or another form.
pub(crate) fn database_path(url: &str, cwd: &Path) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    if rest.is_empty() {
        return None;
    }
    Some(cwd.join(rest))
}

/// The snapshot file names in `dir` (complete ones only), sorted oldest first.
pub(crate) fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sqlite"))
        .collect();
    names.sort();
    names
}

/// The snapshot `migrate` wrote during this run: a name in `after` that `before` lacked.
pub(crate) fn taken(dir: &Path, before: &[String]) -> Option<PathBuf> {
    list(dir)
        .into_iter()
        .rfind(|n| !before.contains(n))
        .map(|n| dir.join(n))
}

/// Puts `snapshot` back as `database` (see the module docs for the order of steps).
pub(crate) fn restore(snapshot: &Path, database: &Path) -> io::Result<()> {
    let dir = snapshot.parent().unwrap_or(Path::new("."));
    let name = snapshot
        .file_name()
        .ok_or_else(|| io::Error::other("snapshot path has no file name"))?;
    write_atomically(&dir.join(MARKER), &mut name.as_encoded_bytes(), dir)?;
    finish(snapshot, database)?;
    fs::remove_file(dir.join(MARKER))?;
    sync_dir(dir)
}

/// Finishes a restore a killed host left half done, if any; returns the snapshot it restored.
pub(crate) fn resume(snapshots: &Path, database: &Path) -> io::Result<Option<PathBuf>> {
    let marker = snapshots.join(MARKER);
    let name = match fs::read(&marker) {
        Ok(name) => String::from_utf8_lossy(&name).into_owned(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let snapshot = snapshots.join(name.trim());
    if name.contains('/') || !snapshot.is_file() {
        fs::remove_file(&marker)?;
        return Err(io::Error::other(format!(
            "the restore marker names {}, which is not a snapshot; left the database as it is",
            snapshot.display()
        )));
    }
    finish(&snapshot, database)?;
    fs::remove_file(&marker)?;
    sync_dir(snapshots)?;
    Ok(Some(snapshot))
}

/// The marked part of a restore: side files gone, copy beside, rename over, directory synced.
fn finish(snapshot: &Path, database: &Path) -> io::Result<()> {
    let dir = database.parent().unwrap_or(Path::new("."));
    for suffix in ["-wal", "-shm"] {
        match fs::remove_file(sibling(database, suffix)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    let mut source = File::open(snapshot)?;
    write_atomically(database, &mut source, dir)
}

/// Writes `source` to `<path>.restoring` (0600), fsyncs it, renames it over `path` and fsyncs
/// `dir`: `path` is the old file or the new one, never a part of either.
fn write_atomically(path: &Path, source: &mut impl io::Read, dir: &Path) -> io::Result<()> {
    let tmp = sibling(path, ".restoring");
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    io::copy(source, &mut out)?;
    out.flush()?;
    out.sync_all()?;
    drop(out);
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        let cwd = Path::new("/opt/app/backend");
        assert_eq!(
            database_path("sqlite:///d/var/data.sqlite", cwd).unwrap(),
            Path::new("/d/var/data.sqlite")
        );
        assert_eq!(
            database_path("sqlite://var/x.sqlite", cwd).unwrap(),
            Path::new("/opt/app/backend/var/x.sqlite")
        );
        assert!(database_path("sqlite::memory:", cwd).is_none());
    }

    #[test]
    fn restore_replaces_the_file_and_its_side_files() {
        let tmp = tempfile::tempdir().unwrap();
        let snaps = tmp.path().join("snapshots");
        fs::create_dir(&snaps).unwrap();
        let snap = snaps.join("a.sqlite");
        fs::write(&snap, b"before").unwrap();
        let db = tmp.path().join("data.sqlite");
        fs::write(&db, b"half-migrated").unwrap();
        fs::write(sibling(&db, "-wal"), b"frames").unwrap();
        fs::write(sibling(&db, "-shm"), b"index").unwrap();
        restore(&snap, &db).unwrap();
        assert_eq!(fs::read(&db).unwrap(), b"before");
        assert!(!sibling(&db, "-wal").exists() && !sibling(&db, "-shm").exists());
        assert!(!snaps.join(MARKER).exists() && !sibling(&db, ".restoring").exists());
        assert!(snap.exists(), "the snapshot is kept");
    }

    #[test]
    fn a_marker_is_finished_and_a_bad_one_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("data.sqlite");
        fs::write(&db, b"half").unwrap();
        assert!(resume(tmp.path(), &db).unwrap().is_none());
        fs::write(tmp.path().join("s.sqlite"), b"whole").unwrap();
        fs::write(tmp.path().join(MARKER), b"s.sqlite").unwrap();
        assert_eq!(
            resume(tmp.path(), &db).unwrap(),
            Some(tmp.path().join("s.sqlite"))
        );
        assert_eq!(fs::read(&db).unwrap(), b"whole");
        fs::write(tmp.path().join(MARKER), b"../data.sqlite").unwrap();
        let err = resume(tmp.path(), &db).unwrap_err().to_string();
        assert!(err.contains("not a snapshot"), "{err}");
        assert_eq!(fs::read(&db).unwrap(), b"whole");
    }
}
