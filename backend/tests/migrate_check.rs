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

/// Every file and directory under `root`, with its bytes (`None`: a directory, or a file this
/// user cannot read). A `-shm` file is the shared-memory index of a live database, which any
/// reader updates: only its presence counts.
fn tree(root: &std::path::Path) -> std::collections::BTreeMap<String, Option<Vec<u8>>> {
    let mut out = std::collections::BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                dirs.push(path);
                out.insert(name, None);
            } else if name.ends_with("-shm") {
                out.insert(name, None);
            } else {
                out.insert(name, std::fs::read(&path).ok());
            }
        }
    }
    out
}

/// What a run said: its exit code and the cause its error line ends with, the last part that is
/// not a path of the test's dir (`ok` for a pass).
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    code: i32,
    cause: String,
}

fn verdict(w: &Workdir, code: i32, stderr: &str) -> Verdict {
    let dir = w.path().display().to_string();
    let cause = match stderr.lines().rev().find(|l| l.contains(" ERROR ")) {
        Some(line) if code != 0 => line
            .rsplit(": ")
            .find(|part| !part.starts_with(&dir))
            .unwrap_or(line)
            .to_owned(),
        _ => "ok".to_owned(),
    };
    Verdict { code, cause }
}

/// `serve` on `url`: 0 once it listens (then stopped), else its exit code and error.
fn serve_verdict(w: &Workdir, url: &str) -> Verdict {
    let mut cmd = w.command(&["serve"]);
    cmd.env("DATABASE_URL", url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stderr = String::new();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    let listening = lines.by_ref().any(|line| {
        let line = line.unwrap_or_default();
        stderr.push_str(&line);
        stderr.push('\n');
        line.contains("listening on http://")
    });
    if listening {
        let _ = child.kill();
        let _ = child.wait();
        return verdict(w, 0, &stderr);
    }
    let status = support::wait_timeout(&mut child, support::PATIENCE).expect("serve exits");
    verdict(w, status.code().unwrap_or(-1), &stderr)
}

/// One state of the database file, made in a fresh dir: the path `DATABASE_URL` names, and a
/// connection to keep open while the runs happen (a live `-wal`).
type Make = fn(&Workdir) -> (std::path::PathBuf, Option<Connection>);

fn migrated_at(w: &Workdir, path: &std::path::Path, sql: &str) {
    let url = format!("sqlite://{}", path.display());
    let mut cmd = w.command(&["migrate"]);
    cmd.env("DATABASE_URL", &url);
    assert_eq!(support::run(cmd).code(), Some(0));
    Connection::open(path).unwrap().execute_batch(sql).unwrap();
}

fn states() -> Vec<(&'static str, Make)> {
    vec![
        ("no file", |w| (w.path().join("var/data.sqlite"), None)),
        ("empty file", |w| {
            let path = w.path().join("data.sqlite");
            std::fs::write(&path, b"").unwrap();
            (path, None)
        }),
        ("rollback-journal database", |w| {
            let path = w.path().join("var/data.sqlite");
            migrated_at(w, &path, "PRAGMA journal_mode = DELETE;");
            assert_eq!(std::fs::read(&path).unwrap()[18..20], [1, 1]);
            (path, None)
        }),
        ("rollback-journal database with a hot journal", |w| {
            // A copy taken mid-transaction: pages spilled into the file, the journal that
            // undoes them beside it (what a writer killed in that transaction leaves).
            let src = w.path().join("src/data.sqlite");
            migrated_at(w, &src, "PRAGMA journal_mode = DELETE;");
            let conn = Connection::open(&src).unwrap();
            conn.execute_batch(
                "PRAGMA cache_size = 10; BEGIN; DROP TABLE tags; \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) \
                 INSERT INTO chores (note) SELECT hex(randomblob(2000)) FROM n;",
            )
            .unwrap();
            let path = w.path().join("var/data.sqlite");
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::copy(&src, &path).unwrap();
            let journal = w.path().join("var/data.sqlite-journal");
            std::fs::copy(w.path().join("src/data.sqlite-journal"), &journal).unwrap();
            conn.execute_batch("ROLLBACK").unwrap();
            assert!(std::fs::metadata(&journal).unwrap().len() > 512);
            (path, None)
        }),
        ("WAL database", |w| {
            let path = w.path().join("var/data.sqlite");
            migrated_at(w, &path, "");
            assert_eq!(std::fs::read(&path).unwrap()[18..20], [2, 2]);
            (path, None)
        }),
        ("WAL database with a live -wal", |w| {
            let path = w.path().join("var/data.sqlite");
            migrated_at(w, &path, "");
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "PRAGMA wal_autocheckpoint = 0; INSERT INTO items (title) VALUES ('in the wal');",
            )
            .unwrap();
            (path, Some(conn))
        }),
        ("pending migrations", |w| {
            let path = w.path().join("var/data.sqlite");
            migrated_at(
                w,
                &path,
                "DROP TABLE tags; DROP TABLE chores; DELETE FROM qmlbridge_migrations WHERE version > 1;",
            );
            (path, None)
        }),
        ("a pending migration that fails", |w| {
            let path = w.path().join("var/data.sqlite");
            migrated_at(
                w,
                &path,
                "DELETE FROM qmlbridge_migrations WHERE version = 3;",
            );
            (path, None)
        }),
        ("a resource's table missing", |w| {
            let path = w.path().join("var/data.sqlite");
            migrated_at(w, &path, "DROP TABLE tags;");
            (path, None)
        }),
        ("parent is a regular file", |w| {
            std::fs::write(w.path().join("var"), b"not a dir").unwrap();
            (w.path().join("var/data.sqlite"), None)
        }),
        ("an ancestor is a regular file", |w| {
            std::fs::write(w.path().join("var"), b"not a dir").unwrap();
            (w.path().join("var/app/data.sqlite"), None)
        }),
        ("the path is a directory", |w| {
            let path = w.path().join("var/data.sqlite");
            std::fs::create_dir_all(&path).unwrap();
            (path, None)
        }),
        ("unreadable file", |w| {
            use std::os::unix::fs::PermissionsExt;
            let path = w.path().join("var/data.sqlite");
            migrated_at(w, &path, "");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
            (path, None)
        }),
        ("garbage, not a database", |w| {
            let path = w.path().join("data.sqlite");
            std::fs::write(&path, vec![b'x'; 8192]).unwrap();
            (path, None)
        }),
        ("a newer database", |w| {
            let path = w.path().join("var/data.sqlite");
            migrated_at(
                w,
                &path,
                "INSERT INTO qmlbridge_migrations (version, name, checksum) VALUES (9, '0009_later', 'x');",
            );
            (path, None)
        }),
    ]
}

#[test]
fn check_writes_nothing_and_agrees_with_serve_in_every_state_of_the_file() {
    for (state, make) in states() {
        // The check, on one copy of the state: nothing under the dir changes.
        let w = Workdir::new();
        let (path, live) = make(&w);
        let url = format!("sqlite://{}", path.display());
        let before = tree(w.path());
        let mut cmd = w.command(&["migrate", "--check"]);
        cmd.env("DATABASE_URL", &url);
        let out = support::run(cmd);
        let after = tree(w.path());
        assert!(
            before == after,
            "{state}: the check changed files: before {:?}\nafter {:?}",
            before
                .iter()
                .map(|(k, v)| (k, v.as_ref().map(Vec::len)))
                .collect::<Vec<_>>(),
            after
                .iter()
                .map(|(k, v)| (k, v.as_ref().map(Vec::len)))
                .collect::<Vec<_>>(),
        );
        let check = verdict(&w, out.code().unwrap_or(-1), &out.stderr);
        drop(live);

        // serve, on another copy of the same state.
        let w = Workdir::new();
        let (path, live) = make(&w);
        let serve = serve_verdict(&w, &format!("sqlite://{}", path.display()));
        drop(live);
        assert_eq!(check, serve, "{state}: check said {}", out.stderr);
    }
}
