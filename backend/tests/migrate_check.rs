//! `migrate --check` on real SQLite files: what `serve` would find, tried in a transaction that
//! is rolled back (`docs/contract.md` §1): it passes or fails as a start would, and writes nothing.

mod support;

use rusqlite::Connection;
use support::Workdir;

/// The schema and the migration ledger, as text: equal before and after means nothing was written.
fn dump(w: &Workdir) -> String {
    let conn = Connection::open(w.db_path()).unwrap();
    let schema: String = conn
        .query_row(
            "SELECT group_concat(name || ':' || coalesce(sql, ''), char(10)) \
             FROM (SELECT name, sql FROM sqlite_master ORDER BY name)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let ledger: String = conn
        .query_row(
            "SELECT coalesce(group_concat(version || ' ' || name || ' ' || checksum, char(10)), '') \
             FROM (SELECT * FROM qmlbridge_migrations ORDER BY version)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    format!("{schema}\n--\n{ledger}")
}

/// A migrated database, then `sql` run on it.
fn migrated_then(sql: &str) -> Workdir {
    let w = Workdir::new();
    assert_eq!(w.migrate().code(), Some(0));
    Connection::open(w.db_path())
        .unwrap()
        .execute_batch(sql)
        .unwrap();
    w
}

fn check(w: &Workdir) -> support::Output {
    support::run(w.command(&["migrate", "--check"]))
}

#[test]
fn pending_migrations_pass_the_check_and_are_not_applied() {
    // As if only 0001 had been applied: the other two are pending.
    let w = migrated_then(
        "DROP TABLE tags; DROP TABLE chores; DELETE FROM qmlbridge_migrations WHERE version > 1;",
    );
    let before = dump(&w);
    let out = check(&w);
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("0002_create_tags, 0003_create_chores"),
        "{}",
        out.stderr
    );
    assert_eq!(dump(&w), before, "nothing written");
    // And a real run applies them.
    assert_eq!(w.migrate().code(), Some(0));
    assert_ne!(dump(&w), before);
}

#[test]
fn a_pending_migration_that_fails_fails_the_check_naming_it() {
    // 0003 pending, but its table is there already: applying it fails.
    let w = migrated_then("DELETE FROM qmlbridge_migrations WHERE version = 3;");
    let before = dump(&w);
    let out = check(&w);
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("0003_create_chores") && out.stderr.contains("already exists"),
        "{}",
        out.stderr
    );
    assert_eq!(dump(&w), before, "nothing written");
}

#[test]
fn a_resource_without_its_table_fails_the_check_with_78() {
    let w = migrated_then("DROP TABLE tags;");
    let before = dump(&w);
    let out = check(&w);
    assert_eq!(out.code(), Some(78), "{}", out.stderr);
    assert!(out.stderr.contains("tags"), "{}", out.stderr);
    assert_eq!(dump(&w), before, "nothing written");
    // serve says the same.
    assert_eq!(support::run(w.command(&["serve"])).code(), Some(78));
}

#[test]
fn a_changed_migration_fails_the_check() {
    let w = migrated_then("UPDATE qmlbridge_migrations SET checksum = 'edited' WHERE version = 2;");
    let before = dump(&w);
    let out = check(&w);
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("0002_create_tags"), "{}", out.stderr);
    assert_eq!(dump(&w), before);
}

#[test]
fn with_no_database_yet_the_check_makes_none() {
    let w = Workdir::new();
    let out = check(&w);
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("pending migrations: 0001_create_items"),
        "{}",
        out.stderr
    );
    assert!(!w.db_path().exists(), "no database file made");
}
