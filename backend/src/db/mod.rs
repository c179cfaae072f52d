//! SQLite: opening connections with the pragmas we rely on, and a small pool.
//!
//! One writer connection (writes are serialised by SQLite anyway) and a few read-only
//! connections so that reads never queue behind a write's fsync (WAL lets them run alongside).
//!
//! Durability (issue 2, "never lost once the API answered 2xx"): WAL with `synchronous=FULL`
//! fsyncs the WAL at every commit, so a committed change survives a SIGKILL of the backend and
//! also a power loss. (`NORMAL` would survive a SIGKILL too, since the WAL write reaches the OS
//! before the commit returns, but not a power loss; todo writes are rare, reads dominate.)

pub mod migrate;
pub mod todos;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::settings::Database;

/// How long a connection waits for another's lock before failing with "database is locked".
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many read-only connections [`Db`] keeps.
const READERS: usize = 4;

/// The database: one writer, a few readers.
pub struct Db {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("readers", &self.readers.len())
            .finish()
    }
}

impl Db {
    /// Opens the database (creating the file and its directory if needed) and applies pending
    /// migrations; refuses a tampered or newer database (see [`migrate`]).
    pub fn open(db: &Database) -> Result<Db> {
        let mut writer = open_connection(db)?;
        migrate::run(&mut writer)?;
        let readers = match db {
            // A private in-memory database exists only in its one connection.
            Database::Memory => Vec::new(),
            Database::File(_) => (0..READERS)
                .map(|_| {
                    let conn = open_connection(db)?;
                    conn.pragma_update(None, "query_only", true)
                        .map_err(|e| Error::db("setting query_only", e))?;
                    Ok(Mutex::new(conn))
                })
                .collect::<Result<_>>()?,
        };
        Ok(Db {
            writer: Mutex::new(writer),
            readers,
            next: AtomicUsize::new(0),
        })
    }

    /// The writer connection (also serves reads for an in-memory database).
    pub fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A read-only connection: the first free one, else waits for one in turn.
    pub fn reader(&self) -> MutexGuard<'_, Connection> {
        if self.readers.is_empty() {
            return self.writer();
        }
        for r in &self.readers {
            if let Ok(guard) = r.try_lock() {
                return guard;
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Opens one connection with WAL, foreign keys, the busy timeout and `synchronous=FULL`.
pub fn open_connection(db: &Database) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match db {
        Database::Memory => Connection::open_in_memory(),
        Database::File(path) => {
            create_parent(path)?;
            Connection::open_with_flags(path, flags)
        }
    }
    .map_err(|e| Error::db(format!("opening {}", describe(db)), e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| Error::db("setting busy_timeout", e))?;
    if matches!(db, Database::File(_)) {
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(|e| Error::db("setting journal_mode=WAL", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            let source = std::io::Error::other(format!("journal_mode is {mode}"));
            return Err(Error::db("setting journal_mode=WAL", source));
        }
    }
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
        .map_err(|e| Error::db("setting pragmas", e))?;
    Ok(conn)
}

fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| Error::db(format!("creating {}", dir.display()), e)),
        _ => Ok(()),
    }
}

/// A database's name for messages.
pub fn describe(db: &Database) -> String {
    match db {
        Database::Memory => "the in-memory database".to_string(),
        Database::File(path) => path.display().to_string(),
    }
}
