//! SQLite: opening connections with the pragmas we rely on, and a small pool.
//!
//! One writer connection (writes are serialised by SQLite anyway) and a few read-only
//! connections so that reads never queue behind a write's fsync (WAL lets them run alongside).
//!
//! Durability (docs/contract.md §7: a write answered 2xx is never lost): WAL with
//! `synchronous=FULL` fsyncs the WAL at every commit, so a committed change survives a SIGKILL of
//! the backend and also a power loss. (`NORMAL` would survive a SIGKILL too, since the WAL write
//! reaches the OS before the commit returns, but not a power loss; a desktop app writes rarely and
//! reads often.)
//!
//! Every write goes through [`Db::write`]: an explicit `BEGIN IMMEDIATE` ... `COMMIT` whose
//! result is checked. An autocommit statement read with `query_row` (`INSERT ... RETURNING`)
//! hands back its row at the first step and reports the commit's failure (a full disk, a failed
//! fsync) only when the statement is reset, which rusqlite ignores: the change looked done and
//! was rolled back. [`Db::write_failure`] remembers the last failed commit until one succeeds,
//! for `/healthz` (`docs/contract.md` §7).

mod migrate;
mod snapshot;
mod upgrade;

pub use migrate::Migration;
pub(crate) use migrate::{rehearse as rehearse_migrations, run as run_migrations};
pub(crate) use snapshot::snapshot;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::error::{Error, Result};
use crate::settings::Database;

/// How long a connection waits for another's lock before failing with "database is locked".
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many read-only connections [`Db`] keeps.
const READERS: usize = 4;

/// The database: one writer, a few readers. Handlers reach it through
/// [`Context::db`](crate::Context::db), though [`Context::read`](crate::Context::read) and
/// [`Context::write`](crate::Context::write) are what they usually need.
///
/// ```
/// # use qmlbridge_backend::{Backend, Migration};
/// # static MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_create_notes",
/// #     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")];
/// # let app = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).test(None, "t").unwrap();
/// # let ctx = app.context();
/// let db = ctx.db();
/// db.write(|conn| conn.execute("INSERT INTO notes (text) VALUES ('a')", []), |_| {}).unwrap();
/// let n: i64 = db.reader().query_row("SELECT count(*) FROM notes", [], |r| r.get(0)).unwrap();
/// assert_eq!(n, 1);
/// ```
pub struct Db {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next: AtomicUsize,
    /// Why the last write failed to commit, while no later one has succeeded.
    write_failure: Mutex<Option<WriteFailure>>,
}

/// Why a write did not commit, by what the caller can do about it.
///
/// ```
/// use qmlbridge_backend::WriteFailure;
/// use qmlbridge_backend::rusqlite::Connection;
///
/// let conn = Connection::open_in_memory().unwrap();
/// conn.execute_batch("CREATE TABLE t (x INTEGER NOT NULL)").unwrap();
/// let err = conn.execute("INSERT INTO t VALUES (NULL)", []).unwrap_err();
/// assert_eq!(WriteFailure::of(&err), WriteFailure::Statement);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteFailure {
    /// The disk (or the database's size limit) is full: `SQLITE_FULL`.
    Full,
    /// The storage failed: an I/O error, a read-only or corrupt file, a lock not obtained in
    /// `BUSY_TIMEOUT` (10 s).
    Storage,
    /// The statement itself failed (a constraint, a bug): nothing to do with the storage.
    Statement,
}

impl WriteFailure {
    /// Classifies a SQLite error.
    ///
    /// ```
    /// use qmlbridge_backend::WriteFailure;
    /// use qmlbridge_backend::rusqlite::{Error, ErrorCode, ffi};
    ///
    /// let full = Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_FULL), None);
    /// assert_eq!(WriteFailure::of(&full), WriteFailure::Full);
    /// assert_eq!(full.sqlite_error_code(), Some(ErrorCode::DiskFull));
    /// ```
    pub fn of(err: &rusqlite::Error) -> WriteFailure {
        match err.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => WriteFailure::Full,
            Some(
                ErrorCode::SystemIoFailure
                | ErrorCode::ReadOnly
                | ErrorCode::DatabaseCorrupt
                | ErrorCode::NotADatabase
                | ErrorCode::CannotOpen
                | ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::OutOfMemory,
            ) => WriteFailure::Storage,
            _ => WriteFailure::Statement,
        }
    }
}

impl std::fmt::Display for WriteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WriteFailure::Full => "the disk is full",
            WriteFailure::Storage => "the database storage is failing",
            WriteFailure::Statement => "a write statement failed",
        })
    }
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
    /// `migrations`; refuses a tampered or newer database (see `migrate`). `serve` and
    /// [`Backend::test`](crate::Backend::test) open it; handlers get it from
    /// [`Context::db`](crate::Context::db) (see [`Db`]).
    pub fn open(db: &Database, migrations: &'static [Migration]) -> Result<Db> {
        let mut writer = open_connection(db)?;
        migrate::run(&mut writer, migrations)?;
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
            write_failure: Mutex::new(None),
        })
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer and commits it; then, still
    /// holding the writer, calls `committed` with the result, so that what it does (publishing
    /// the change) happens in commit order. `f`'s error or a failed commit rolls back, and
    /// `committed` is not called.
    ///
    /// ```
    /// # use qmlbridge_backend::{Backend, Migration};
    /// # static MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_create_notes",
    /// #     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")];
    /// # let app = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).test(None, "t").unwrap();
    /// # let ctx = app.context();
    /// let mut published = false;
    /// let failed = ctx.db().write(|conn| conn.execute("INSERT INTO notes (text) VALUES (NULL)", []), |_| {
    ///     published = true;
    /// });
    /// assert!(failed.is_err() && !published); // rolled back: nothing to publish
    /// ```
    pub fn write<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
        committed: impl FnOnce(&T),
    ) -> rusqlite::Result<T> {
        let mut conn = self.writer();
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })();
        match &result {
            Ok(out) => {
                self.set_write_failure(None);
                committed(out);
            }
            Err(e) => match WriteFailure::of(e) {
                WriteFailure::Statement => {}
                failure => self.set_write_failure(Some(failure)),
            },
        }
        result
    }

    /// Why writes are failing: set by a commit that failed for its storage, cleared by the next
    /// that succeeds.
    ///
    /// ```
    /// # use qmlbridge_backend::{Backend, Migration};
    /// # static MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_create_notes",
    /// #     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")];
    /// # let app = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).test(None, "t").unwrap();
    /// # let ctx = app.context();
    /// assert_eq!(ctx.db().write_failure(), None); // a statement's own failure does not count
    /// ```
    pub fn write_failure(&self) -> Option<WriteFailure> {
        *self.write_failure.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_write_failure(&self, failure: Option<WriteFailure>) {
        *self.write_failure.lock().unwrap_or_else(|p| p.into_inner()) = failure;
    }

    /// The writer connection (also serves reads for an in-memory database). Held, it blocks
    /// every other write: prefer [`Db::write`].
    ///
    /// ```
    /// # use qmlbridge_backend::{Backend, Migration};
    /// # static MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_create_notes",
    /// #     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")];
    /// # let app = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).test(None, "t").unwrap();
    /// # let ctx = app.context();
    /// let tables: i64 = ctx.db().writer().query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).unwrap();
    /// assert!(tables >= 1);
    /// ```
    pub fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A read-only connection: the first free one, else waits for one in turn.
    ///
    /// ```
    /// # use qmlbridge_backend::{Backend, Migration};
    /// # static MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_create_notes",
    /// #     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")];
    /// # let app = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).test(None, "t").unwrap();
    /// # let ctx = app.context();
    /// let n: i64 = ctx.db().reader().query_row("SELECT count(*) FROM notes", [], |r| r.get(0)).unwrap();
    /// assert_eq!(n, 0);
    /// ```
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

/// Opens one connection with WAL, foreign keys, the busy timeout, `synchronous=FULL`, and
/// double quotes for identifiers only.
pub(crate) fn open_connection(db: &Database) -> Result<Connection> {
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
    // By default SQLite reads a double-quoted name that matches no column as a string literal
    // (<https://sqlite.org/quirks.html#dblquote>): the statements quote every identifier, so a
    // field without its column would read back its own name. Off, for queries and schema alike.
    for config in [
        DbConfig::SQLITE_DBCONFIG_DQS_DML,
        DbConfig::SQLITE_DBCONFIG_DQS_DDL,
    ] {
        conn.set_db_config(config, false)
            .map_err(|e| Error::db("turning off double-quoted string literals", e))?;
    }
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

/// Makes `path`'s directories (`snapshot::would_create` finds the same errors without making
/// anything).
fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| Error::db(format!("creating {}", dir.display()), e)),
        _ => Ok(()),
    }
}

/// A database's name for messages.
pub(crate) fn describe(db: &Database) -> String {
    match db {
        Database::Memory => "the in-memory database".to_string(),
        Database::File(path) => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A double-quoted name that is no column is an error, in queries and in the schema, not
    /// the string literal SQLite's default makes of it.
    #[test]
    fn double_quotes_are_identifiers_only() {
        let conn = open_connection(&Database::Memory).unwrap();
        conn.execute_batch("CREATE TABLE t (\"is_done\" INTEGER)")
            .unwrap();
        let err = conn.prepare("SELECT \"done\" FROM t").unwrap_err();
        assert!(
            err.to_string().contains("no such column: \"done\""),
            "{err}"
        );
        let err = conn
            .execute_batch("CREATE TABLE u (x TEXT DEFAULT \"none\" CHECK (x <> \"none\"))")
            .unwrap_err();
        assert!(err.to_string().contains("no such column"), "{err}");
        conn.execute_batch("CREATE INDEX i ON t (\"is_done\")")
            .unwrap();
    }
}
