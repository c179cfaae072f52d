//! `migrate` on real SQLite files: fresh, repeated, concurrent, tampered, newer
//! (`docs/contract.md` §1, §5).

mod support;

use rusqlite::Connection;
use support::{Workdir, run};

/// The rows of the bookkeeping table and the tables' names: "everything" for "nothing changed".
fn snapshot(w: &Workdir) -> (Vec<(i64, String, String)>, Vec<String>) {
    let conn = Connection::open(w.db_path()).unwrap();
    let migrations = conn
        .prepare("SELECT version, name, checksum FROM qmlbridge_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let tables = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    (migrations, tables)
}

#[test]
fn fresh_database_gets_every_migration_in_wal_mode() {
    let w = Workdir::new();
    let out = w.migrate();
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("0001_create_items"), "{}", out.stderr);
    let (migrations, tables) = snapshot(&w);
    assert_eq!(migrations.len(), support::MIGRATIONS);
    assert!(tables.contains(&"items".to_string()), "{tables:?}");
    let conn = Connection::open(w.db_path()).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_second_run_is_a_no_op() {
    let w = Workdir::new();
    assert_eq!(w.migrate().code(), Some(0));
    let before = snapshot(&w);
    let out = w.migrate();
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("0 applied"), "{}", out.stderr);
    assert_eq!(snapshot(&w), before);
}

#[test]
fn concurrent_runs_are_safe() {
    let w = Workdir::new();
    let children: Vec<_> = (0..6)
        .map(|_| {
            w.command(&["migrate"])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
    }
    let (migrations, _) = snapshot(&w);
    assert_eq!(migrations.len(), support::MIGRATIONS);
}

/// Migrates a fresh database, alters its ledger with `sql`, then checks that `migrate` refuses it
/// with exit 1, naming every one of `needles`, and that nothing changed. Returns the workdir.
fn refused_after(sql: &str, needles: &[&str]) -> Workdir {
    let w = Workdir::new();
    assert_eq!(w.migrate().code(), Some(0));
    let conn = Connection::open(w.db_path()).unwrap();
    conn.execute(sql, []).unwrap();
    drop(conn);
    let before = snapshot(&w);
    let out = w.migrate();
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        needles.iter().all(|n| out.stderr.contains(n)),
        "want {needles:?} in: {}",
        out.stderr
    );
    assert_eq!(snapshot(&w), before);
    w
}

#[test]
fn a_tampered_migration_is_refused_and_nothing_changes() {
    let w = refused_after(
        "UPDATE qmlbridge_migrations SET checksum = 'edited' WHERE version = 1",
        &["0001_create_items", "changed"],
    );
    // serve refuses it too (it checks before serving).
    let out = run(w.command(&["serve"]));
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
}

#[test]
fn a_newer_database_is_refused_and_nothing_changes() {
    refused_after(
        "INSERT INTO qmlbridge_migrations (version, name, checksum) \
         VALUES (9999, '9999_from_the_future', 'x')",
        &["9999_from_the_future", "newer"],
    );
}

#[test]
fn serve_applies_pending_migrations_itself() {
    let w = Workdir::new();
    let server = w.serve();
    assert_eq!(server.api("GET", "/api/items", None).status, 200);
    assert_eq!(snapshot(&w).0.len(), support::MIGRATIONS);
}
