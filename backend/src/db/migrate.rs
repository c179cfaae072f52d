//! Versioned SQL migrations: an app's `migrations/NNNN_name.sql`, embedded at build time by
//! `migrations!()` (which refuses a bad name, a gap or a repeated number).
//!
//! Each applied migration is recorded in `qmlbridge_migrations` with the SHA-256 of its SQL. A run
//! takes SQLite's write lock first (`BEGIN IMMEDIATE`), checks every recorded migration against
//! this binary's, and applies the next pending one in that same transaction; then repeats. So:
//! a repeated run is a no-op, two concurrent runs serialise on the lock (the second finds nothing
//! to do), and a tampered or newer database is refused before anything is written.
//!
//! [`rehearse`] is the same run in one transaction that is rolled back (`migrate --check`).

use rusqlite::{Connection, Transaction, TransactionBehavior};
use sha2::{Digest, Sha256};

use super::upgrade;
use crate::error::{Error, Result};

/// One embedded migration: what `migrations!()` makes of each `migrations/NNNN_name.sql`.
/// Applied ones are recorded with their checksum: a migration changed after it ran is refused
/// (`migration refused: migration NNNN_name was changed after it was applied`); a change is a
/// new migration.
///
/// ```
/// use qmlbridge_backend::{Backend, Migration};
///
/// static MIGRATIONS: &[Migration] = &[
///     Migration::new(1, "0001_create_notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY)"),
///     Migration::new(2, "0002_add_text", "ALTER TABLE notes ADD COLUMN text TEXT NOT NULL DEFAULT ''"),
/// ];
/// let app = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).test(None, "t").unwrap();
/// let columns: i64 = app
///     .context()
///     .read(|conn| conn.query_row("SELECT count(*) FROM pragma_table_info('notes')", [], |r| r.get(0)))
///     .unwrap();
/// assert_eq!(columns, 2);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

impl Migration {
    /// Migration `version` (1, 2, ...) named `name` (`0001_create_items`) running `sql`.
    ///
    /// ```
    /// let m = qmlbridge_backend::Migration::new(1, "0001_create_items", "CREATE TABLE items (id INTEGER PRIMARY KEY)");
    /// assert_eq!(m.name(), "0001_create_items");
    /// ```
    pub const fn new(version: i64, name: &'static str, sql: &'static str) -> Self {
        Migration { version, name, sql }
    }

    /// Its version: 1, 2, ...
    pub(crate) fn version(&self) -> i64 {
        self.version
    }

    /// Its name, `NNNN_what`.
    ///
    /// ```
    /// let m = qmlbridge_backend::Migration::new(2, "0002_add_tags", "");
    /// assert_eq!(m.name(), "0002_add_tags");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The hex SHA-256 of the SQL text: what is recorded and compared.
    ///
    /// ```
    /// let m = qmlbridge_backend::Migration::new(1, "0001_empty", "");
    /// assert_eq!(m.checksum(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /// ```
    pub fn checksum(&self) -> String {
        Sha256::digest(self.sql.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The bookkeeping table.
const TABLE: &str = "CREATE TABLE IF NOT EXISTS qmlbridge_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
)";

/// Applies every pending migration of `migrations`; returns the names of those applied (empty:
/// nothing to do). With `BRIDGE_SNAPSHOT_DIR` set (the host's `migrate`), the database is first
/// copied there when something is pending, under the same write lock ([`upgrade::take`]).
pub(crate) fn run(
    conn: &mut Connection,
    migrations: &'static [Migration],
) -> Result<Vec<&'static str>> {
    let snapshot_dir = upgrade::snapshot_dir();
    if snapshot_dir.is_some() {
        upgrade::checkpoint(conn)?;
    }
    // The descriptor the snapshot was read through, open until the migrations are committed.
    let mut read_through = None;
    let mut applied = Vec::new();
    loop {
        let tx = lock(conn)?;
        if let Some(dir) = snapshot_dir.as_deref()
            && applied.is_empty()
            && read_through.is_none()
        {
            read_through = upgrade::take(&tx, migrations, dir)?;
        }
        ledger(&tx)?;
        let Some(next) = pending(&tx, migrations)? else {
            tx.commit().map_err(|e| Error::db("committing", e))?;
            return Ok(applied);
        };
        apply(&tx, next)?;
        tx.commit().map_err(|e| Error::MigrationCommit {
            name: next.name,
            source: e.into(),
        })?;
        tracing::info!(target: "qmlbridge_backend::migrate", migration = next.name, "applied");
        applied.push(next.name);
    }
}

/// What [`run`] would apply, applied in one transaction; then `then` sees the database as it
/// would be, and everything is rolled back: nothing is written. The names of the migrations
/// that would be applied.
pub(crate) fn rehearse(
    conn: &mut Connection,
    migrations: &'static [Migration],
    then: impl FnOnce(&Connection) -> Result<()>,
) -> Result<Vec<&'static str>> {
    let tx = begin(conn)?;
    let mut applied = Vec::new();
    while let Some(next) = pending(&tx, migrations)? {
        apply(&tx, next)?;
        applied.push(next.name);
    }
    then(&tx)?;
    tx.rollback().map_err(|e| Error::db("rolling back", e))?;
    Ok(applied)
}

/// Takes the write lock (`BEGIN IMMEDIATE`) and makes sure the ledger table is there.
fn begin(conn: &mut Connection) -> Result<Transaction<'_>> {
    let tx = lock(conn)?;
    ledger(&tx)?;
    Ok(tx)
}

/// Takes the write lock (`BEGIN IMMEDIATE`), writing nothing yet.
fn lock(conn: &mut Connection) -> Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| Error::db("locking the database for migrations", e))
}

/// Makes sure the ledger table is there, in the caller's transaction.
fn ledger(tx: &Connection) -> Result<()> {
    tx.execute_batch(TABLE)
        .map_err(|e| Error::db("creating qmlbridge_migrations", e))
}

/// Runs `next` and records it, in the caller's transaction.
fn apply(tx: &Connection, next: &'static Migration) -> Result<()> {
    tx.execute_batch(next.sql)
        .map_err(|e| Error::MigrationFailed {
            name: next.name,
            source: e.into(),
        })?;
    tx.execute(
        "INSERT INTO qmlbridge_migrations (version, name, checksum) VALUES (?1, ?2, ?3)",
        (next.version, next.name, next.checksum()),
    )
    .map_err(|e| Error::db(format!("recording {}", next.name), e))?;
    Ok(())
}

/// Checks the recorded migrations against `migrations` and returns the first pending one.
fn pending(
    conn: &Connection,
    migrations: &'static [Migration],
) -> Result<Option<&'static Migration>> {
    let mut stmt = conn
        .prepare("SELECT version, name, checksum FROM qmlbridge_migrations ORDER BY version")
        .map_err(|e| Error::db("reading qmlbridge_migrations", e))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
        .map_err(|e| Error::db("reading qmlbridge_migrations", e))?;
    for (version, name, checksum) in &rows {
        let Some(known) = migrations.iter().find(|m| m.version == *version) else {
            return Err(Error::MigrationUnknown {
                version: *version,
                name: name.clone(),
            });
        };
        if known.checksum() != *checksum || known.name != name {
            return Err(Error::MigrationChanged { name: known.name });
        }
    }
    Ok(migrations
        .iter()
        .find(|m| !rows.iter().any(|(v, _, _)| *v == m.version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &[Migration] = &[Migration::new(
        1,
        "0001_create_items",
        "CREATE TABLE items (id INTEGER PRIMARY KEY);",
    )];

    #[test]
    fn fresh_then_repeat_then_tampered() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(run(&mut conn, ONE).unwrap(), ["0001_create_items"]);
        assert!(run(&mut conn, ONE).unwrap().is_empty());
        conn.execute("UPDATE qmlbridge_migrations SET checksum = 'x'", [])
            .unwrap();
        let err = run(&mut conn, ONE).unwrap_err().to_string();
        assert!(err.contains("0001_create_items was changed"), "{err}");
    }

    #[test]
    fn newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn, ONE).unwrap();
        conn.execute(
            "INSERT INTO qmlbridge_migrations (version, name, checksum) VALUES (99, '0099_future', '')",
            [],
        )
        .unwrap();
        let err = run(&mut conn, ONE).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(err.to_string().contains("0099_future"), "{err}");
    }
}
