//! The snapshot `migrate` takes before it applies migrations the database has not seen
//! (`docs/contract.md` §1, "Snapshots before an upgrade"): a copy of the database file, byte for
//! byte, in `$BRIDGE_SNAPSHOT_DIR` (the host sets it to `<data dir>/var/snapshots`), which the
//! host restores when the upgrade fails (§9).
//!
//! Why a copy of the file rather than SQLite's backup API: the backup API writes the copy's
//! header itself (it bumps the schema cookie, `backup.c`), so a database restored from it would
//! not be byte for byte the one the user had. The copy is made as consistent as the backup API's:
//! the WAL is checkpointed into the file first (`TRUNCATE`), and the file is read while this
//! connection holds the write lock with an empty WAL, so no commit and no checkpoint can change
//! it meanwhile (<https://sqlite.org/wal.html> §4).
//!
//! Bounds: the last [`KEEP`] snapshots are kept (each is the size of the database it copies);
//! none is taken when the disk would be left with less than the database's size again (room for
//! the migration itself) plus [`FREE_FLOOR`]. Sizes are logged.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use super::migrate::Migration;
use crate::error::{Error, Result};

/// The variable naming the snapshot directory; unset or empty: no snapshot (`serve`, dev).
pub(crate) const SNAPSHOT_DIR_ENV: &str = "BRIDGE_SNAPSHOT_DIR";
/// How many snapshots are kept (the newest).
pub(crate) const KEEP: usize = 3;
/// The free space a snapshot must leave beyond the room the migration needs: 64 MiB.
pub(crate) const FREE_FLOOR: u64 = 64 << 20;
/// A snapshot's file name ends so; one being written ends `.sqlite.tmp`.
const SUFFIX: &str = ".sqlite";

/// The snapshot directory `migrate` was given, if any.
pub(crate) fn snapshot_dir() -> Option<PathBuf> {
    std::env::var_os(SNAPSHOT_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Checkpoints the WAL into the file (outside any transaction, as SQLite requires), so that
/// [`take`] finds an empty WAL. Costs nothing measurable when the WAL is already empty.
pub(crate) fn checkpoint(conn: &Connection) -> Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(|e| Error::db("checkpointing before the snapshot", e))
}

/// Inside the caller's `BEGIN IMMEDIATE` (nothing written yet): when a migration of
/// `migrations` is pending and the database already holds something, copies the file into
/// `dir`. Returns the file the copy was read through: it must stay open until the connection
/// closes, since closing any descriptor of the database releases this process's POSIX locks on
/// it (<https://sqlite.org/howtocorrupt.html> §2.2).
pub(crate) fn take(
    conn: &Connection,
    migrations: &[Migration],
    dir: &Path,
) -> Result<Option<File>> {
    let Some(path) = conn.path().filter(|p| !p.is_empty()).map(PathBuf::from) else {
        return Ok(None); // in memory: nothing on disk to protect
    };
    let Some((from, to)) = pending_span(conn, migrations)? else {
        return Ok(None);
    };
    let wal = sibling(&path, "-wal");
    if fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        // A writer committed between the checkpoint and our lock: the file alone is not the
        // database. Refuse rather than keep a snapshot that would lose those commits.
        return Err(Error::db(
            "taking the snapshot",
            io::Error::other("the WAL was written to after the checkpoint; run migrate again"),
        ));
    }
    let io = |what: String| move |e: io::Error| Error::db(what, e);
    let mut source = File::open(&path).map_err(io(format!("reading {}", path.display())))?;
    let size = source
        .metadata()
        .map_err(io(path.display().to_string()))?
        .len();
    fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let free = free_bytes(dir).map_err(io(format!("measuring free space in {}", dir.display())))?;
    let needed = size.saturating_mul(2).saturating_add(FREE_FLOOR);
    if free < needed {
        tracing::warn!(
            target: "qmlbridge_backend::migrate",
            "no snapshot before migrating: {free} bytes free in {}, {needed} needed \
             (database {size} bytes, twice, plus {FREE_FLOOR})",
            dir.display()
        );
        return Ok(None);
    }
    let name = format!("{}-from-{from:04}-to-{to:04}{SUFFIX}", stamp());
    let target = dir.join(&name);
    copy_atomically(&mut source, &target).map_err(io(format!("writing {}", target.display())))?;
    let (kept, total) = prune(dir).map_err(io(format!("pruning {}", dir.display())))?;
    tracing::info!(
        target: "qmlbridge_backend::migrate",
        "snapshot {name}: {size} bytes; {kept} kept, {total} bytes in all; {} bytes free",
        free.saturating_sub(size)
    );
    Ok(Some(source))
}

/// `(last applied version, last version of this binary)` when something is pending and the
/// database is not empty; `None` otherwise (also for a ledger this binary does not know: the
/// run refuses that before writing anything).
fn pending_span(conn: &Connection, migrations: &[Migration]) -> Result<Option<(i64, i64)>> {
    let read = |e| Error::db("reading the schema before the snapshot", e);
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(read)?;
    let Some(to) = migrations.iter().map(Migration::version).max() else {
        return Ok(None);
    };
    if objects == 0 {
        return Ok(None); // a new database: nothing to lose
    }
    let ledger: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'qmlbridge_migrations'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(read)?;
    let applied: Vec<i64> = match ledger {
        None => Vec::new(),
        Some(_) => {
            let mut stmt = conn
                .prepare("SELECT version FROM qmlbridge_migrations ORDER BY version")
                .map_err(read)?;
            stmt.query_map([], |r| r.get(0))
                .and_then(Iterator::collect::<rusqlite::Result<Vec<i64>>>)
                .map_err(read)?
        }
    };
    let known = |v: &i64| migrations.iter().any(|m| m.version() == *v);
    if !applied.iter().all(known) || migrations.iter().all(|m| applied.contains(&m.version())) {
        return Ok(None);
    }
    Ok(Some((applied.last().copied().unwrap_or(0), to)))
}

/// Copies `source` to `<target>.tmp` (0600), fsyncs it, renames it to `target` and fsyncs the
/// directory: a snapshot is complete or absent, whenever the process dies.
fn copy_atomically(source: &mut File, target: &Path) -> io::Result<()> {
    let tmp = sibling(target, ".tmp");
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
    fs::rename(&tmp, target)?;
    File::open(target.parent().unwrap_or(Path::new(".")))?.sync_all()
}

/// Removes all but the newest [`KEEP`] snapshots (names sort by time) and any `.tmp` a killed
/// run left; returns how many are kept and their total size.
fn prune(dir: &Path) -> io::Result<(usize, u64)> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".sqlite.tmp") {
            let _ = fs::remove_file(dir.join(&name));
        } else if name.ends_with(SUFFIX) {
            names.push(name);
        }
    }
    names.sort();
    let old = names.len().saturating_sub(KEEP);
    for name in names.drain(..old) {
        fs::remove_file(dir.join(name))?;
    }
    let mut total = 0;
    for name in &names {
        total += fs::metadata(dir.join(name))?.len();
    }
    Ok((names.len(), total))
}

/// Bytes an unprivileged process may still write on `dir`'s filesystem.
fn free_bytes(dir: &Path) -> io::Result<u64> {
    let st = nix::sys::statvfs::statvfs(dir).map_err(io::Error::from)?;
    Ok((st.blocks_available() as u64).saturating_mul(st.fragment_size() as u64))
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// UTC now as `YYYYMMDDTHHMMSS.mmmZ`: names that sort by time.
fn stamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::migrate::run;

    const TWO: &[Migration] = &[
        Migration::new(
            1,
            "0001_items",
            "CREATE TABLE items (id INTEGER PRIMARY KEY, t TEXT);",
        ),
        Migration::new(
            2,
            "0002_tags",
            "CREATE TABLE tags (id INTEGER PRIMARY KEY);",
        ),
    ];

    fn open(path: &Path) -> Connection {
        let conn = Connection::open(path).unwrap();
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        conn
    }

    /// `take` inside a write lock, as `run` calls it.
    fn take_now(conn: &mut Connection, migrations: &[Migration], dir: &Path) -> bool {
        checkpoint(conn).unwrap();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        let taken = take(&tx, migrations, dir).unwrap().is_some();
        tx.rollback().unwrap();
        taken
    }

    #[test]
    fn only_a_database_with_something_pending_is_copied_byte_for_byte() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("data.sqlite");
        let snaps = tmp.path().join("snapshots");
        let mut conn = open(&db);
        // A new database: nothing to lose.
        assert!(!take_now(&mut conn, TWO, &snaps));
        run(&mut conn, &TWO[..1]).unwrap();
        conn.execute("INSERT INTO items (t) VALUES ('row')", [])
            .unwrap();
        // Everything applied: nothing pending.
        assert!(!take_now(&mut conn, &TWO[..1], &snaps));
        // A ledger naming a version this binary does not know: the run refuses it anyway.
        assert!(!take_now(&mut conn, &TWO[1..], &snaps));
        checkpoint(&conn).unwrap();
        let before = fs::read(&db).unwrap();
        assert!(take_now(&mut conn, TWO, &snaps));
        let names: Vec<_> = fs::read_dir(&snaps)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 1);
        assert!(names[0].ends_with("-from-0001-to-0002.sqlite"), "{names:?}");
        assert_eq!(fs::read(snaps.join(&names[0])).unwrap(), before);
    }

    #[test]
    fn the_newest_three_are_kept_and_leftovers_removed() {
        let tmp = tempfile::tempdir().unwrap();
        for name in [
            "1.sqlite",
            "2.sqlite",
            "3.sqlite",
            "4.sqlite",
            "5.sqlite.tmp",
        ] {
            fs::write(tmp.path().join(name), b"12345").unwrap();
        }
        assert_eq!(prune(tmp.path()).unwrap(), (3, 15));
        let mut left: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["2.sqlite", "3.sqlite", "4.sqlite"]);
    }
}
