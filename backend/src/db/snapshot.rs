//! `migrate --check`'s database: a copy in memory of what `serve` would open, made without
//! writing a byte anywhere (`docs/contract.md` §1).
//!
//! A read-write open is not an option (it turns a rollback-journal file into WAL and writes a
//! header into an empty file), and neither is a plain read-only one: on a WAL file it creates
//! the `-wal` and `-shm` files beside it (<https://sqlite.org/wal.html> §8). So a file without
//! a `-wal` beside it is opened `immutable` (no lock, no side file: the file is the whole
//! database), and one with a `-wal` (a backend is running, or was killed) read-only, which sees
//! the committed frames through the existing `-shm`. Either is copied into memory with the
//! backup API, and the check runs there.
//!
//! Where `serve` would fail before SQLite reads anything (the file cannot be created, the
//! path is a directory, the file is not writable), the same error is given without trying.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::unistd::{AccessFlags, access};
use rusqlite::backup::Backup;
use rusqlite::{Connection, OpenFlags};

use super::{describe, open_connection};
use crate::error::{Error, Result};
use crate::settings::Database;

/// How many pages the backup copies per step: all of them, in one read transaction (one
/// consistent state while a backend may be writing).
const ALL_PAGES: std::ffi::c_int = std::ffi::c_int::MAX;
/// How long the backup waits before trying again when a writer holds the lock.
const BUSY_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// An in-memory connection (with the pragmas every connection gets) holding what `serve` would
/// find in `db`; an empty one where `serve` would create the file.
pub(crate) fn snapshot(db: &Database) -> Result<Connection> {
    let mut copy = open_connection(&Database::Memory)?;
    let Database::File(path) = db else {
        return Ok(copy);
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(cannot_open(path)),
        Ok(_) => {}
        // Missing, or under a path that is not all directories: `serve` would create it.
        Err(_) => {
            would_create(path)?;
            return Ok(copy);
        }
    }
    writable(path)?;
    let source =
        open_source(path).map_err(|e| Error::db(format!("opening {}", describe(db)), e))?;
    Backup::new(&source, &mut copy)
        .and_then(|b| b.run_to_completion(ALL_PAGES, BUSY_PAUSE, None))
        .map_err(|e| Error::db(format!("reading {}", describe(db)), e))?;
    Ok(copy)
}

/// The file, read-only: `immutable` unless a `-wal` is there to be read too.
fn open_source(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(super::BUSY_TIMEOUT)?;
        return Ok(conn);
    }
    Connection::open_with_flags(immutable_uri(path), flags | OpenFlags::SQLITE_OPEN_URI)
}

/// `file:<path>?immutable=1`, the path percent-encoded where a URI needs it
/// (<https://sqlite.org/uri.html> §3.1).
fn immutable_uri(path: &Path) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b'%')
        .add(b'?')
        .add(b'#')
        .add(b' ');
    let encoded = percent_encoding::percent_encode(path.as_os_str().as_bytes(), SET);
    format!("file:{encoded}?immutable=1")
}

/// What `serve` would meet creating `path` (its directories with `create_dir_all`, then the
/// file), found without creating anything: the same error, or `Ok`.
fn would_create(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut existing = dir;
    let meta = loop {
        match std::fs::metadata(existing) {
            Ok(meta) => break meta,
            Err(_) => match existing.parent() {
                Some(up) if !up.as_os_str().is_empty() => existing = up,
                _ => {
                    existing = Path::new(".");
                    break std::fs::metadata(existing)
                        .map_err(|e| Error::db(format!("creating {}", dir.display()), e))?;
                }
            },
        }
    };
    let creating = |errno: Errno| {
        Error::db(
            format!("creating {}", dir.display()),
            io::Error::from_raw_os_error(errno as i32),
        )
    };
    if !meta.is_dir() {
        // mkdir(2) of the file itself is EEXIST; of a path through it, ENOTDIR.
        return Err(creating(if existing == dir {
            Errno::EEXIST
        } else {
            Errno::ENOTDIR
        }));
    }
    match access(existing, AccessFlags::W_OK | AccessFlags::X_OK) {
        Ok(()) => Ok(()),
        Err(errno) if existing != dir => Err(creating(errno)),
        Err(_) => Err(cannot_open(path)),
    }
}

/// `serve` opens the file read-write and writes `-wal`/`-shm` beside it.
fn writable(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file = AccessFlags::R_OK | AccessFlags::W_OK;
    if access(path, file).is_err() || access(dir, AccessFlags::W_OK | AccessFlags::X_OK).is_err() {
        return Err(cannot_open(path));
    }
    Ok(())
}

/// The error `serve`'s read-write open gives (rusqlite's, path included).
fn cannot_open(path: &Path) -> Error {
    let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN);
    let message = format!("unable to open database file: {}", path.display());
    Error::db(
        format!("opening {}", path.display()),
        rusqlite::Error::SqliteFailure(code, Some(message)),
    )
}
