//! Upgrades never lose data (docs/contract.md §1 "Snapshots before an upgrade", §9 "Recovery"):
//! the real fixture backend's `migrate` snapshots a database that has migrations pending into
//! `var/snapshots/`, and the supervisor restores it byte for byte when a migration fails or the
//! backend never comes Online. The databases are real SQLite files, shaped with Python's sqlite3
//! into what an older build left: `0001` applied, `0002` and `0003` pending.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use std::{fs, thread};

use common::*;
use qmlbridge_supervisor::{ConnectionState, Supervisor};

/// An older build's database: items kept, `0002` and `0003` not applied.
const OLDER: &str = "INSERT INTO items (title) VALUES ('kept 1'), ('kept 2');
    DROP TABLE tags; DROP TABLE chores; DELETE FROM qmlbridge_migrations WHERE version >= 2;";
/// As [`OLDER`] but with a `chores` table already there: `0002` applies, then `0003`
/// (`CREATE TABLE chores`) fails, after `0002` was committed.
const BREAKS_0003: &str = "INSERT INTO items (title) VALUES ('kept 1'), ('kept 2');
    DROP TABLE tags; DELETE FROM qmlbridge_migrations WHERE version >= 2;";

fn database(layout: &Layout) -> PathBuf {
    layout.data_dir.join("var/data.sqlite")
}

fn snapshots(layout: &Layout) -> PathBuf {
    layout.data_dir.join("var/snapshots")
}

/// Complete snapshot files, oldest first.
fn snapshot_files(layout: &Layout) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(snapshots(layout))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sqlite"))
        .collect();
    files.sort();
    files
}

/// Runs Python with `code` and `args`; its stdout, trimmed.
fn py(code: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn sql(db: &Path, script: &str) {
    py(
        "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.executescript(sys.argv[2])\nc.commit()\nc.execute('VACUUM')\nc.close()",
        &[db.to_str().unwrap(), script],
    );
}

fn sha256(db: &Path) -> String {
    py(
        "import hashlib, sys\nprint(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())",
        &[db.to_str().unwrap()],
    )
}

/// `PRAGMA integrity_check` and the applied migrations, read without writing (immutable).
fn inspect(db: &Path) -> (String, String) {
    let out = py(
        "import sqlite3, sys\nc = sqlite3.connect('file:' + sys.argv[1] + '?immutable=1', uri=True)\nprint(c.execute('PRAGMA integrity_check').fetchone()[0])\nprint(','.join(str(v) for (v,) in c.execute('SELECT version FROM qmlbridge_migrations ORDER BY version')))",
        &[db.to_str().unwrap()],
    );
    let (check, versions) = out.split_once('\n').unwrap_or((&out, ""));
    (check.to_string(), versions.to_string())
}

/// The fixture's database fully migrated, then shaped by `script`; returns its SHA-256.
fn older_database(layout: &Layout, script: &str) -> String {
    let db = database(layout);
    fs::create_dir_all(db.parent().unwrap()).unwrap();
    let status = Command::new(real_backend())
        .arg("migrate")
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env_remove("BRIDGE_SNAPSHOT_DIR")
        .current_dir(layout.tmp.path())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    sql(&db, script);
    sha256(&db)
}

/// The install of a build whose `migrate` is the fixture's and whose `serve` always exits 1.
fn serve_always_fails() -> Layout {
    let layout = Layout::empty();
    let bin = layout.exe_dir.join("bin/fixture-backend");
    fs::create_dir_all(bin.parent().unwrap()).unwrap();
    let body = format!(
        "#!/bin/sh\nif [ \"$1\" = migrate ]; then exec '{}' \"$@\"; fi\necho 'serve fails on purpose' >&2\nexit 1\n",
        real_backend().display()
    );
    fs::write(&bin, body).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(
        repo_root().join("Caddyfile"),
        layout.exe_dir.join("Caddyfile"),
    )
    .unwrap();
    layout
}

/// The database is the one the user had, and nothing of the failed attempt is beside it.
fn assert_restored(layout: &Layout, before: &str) {
    let db = database(layout);
    assert_eq!(
        sha256(&db),
        before,
        "the database is byte for byte the old one"
    );
    assert_eq!(inspect(&db), ("ok".to_string(), "1".to_string()));
    for side in ["-wal", "-shm", ".restoring"] {
        let mut p = db.clone().into_os_string();
        p.push(side);
        assert!(!Path::new(&p).exists(), "{side} left beside the database");
    }
    assert!(!snapshots(layout).join("restoring").exists());
}

#[test]
fn a_failing_migration_is_rolled_back_byte_for_byte() {
    let layout = Layout::real();
    let before = older_database(&layout, BREAKS_0003);
    let sup = Supervisor::start(layout.options());
    let snap = wait_state(&sup, "Offline", |s| s.state == ConnectionState::Offline);
    let error = snap.error.unwrap_or_default();
    assert!(error.starts_with("migrate:"), "{error}");
    assert!(error.contains("0003_create_chores"), "{error}");
    drop(sup);
    assert_restored(&layout, &before);
    let kept = snapshot_files(&layout);
    assert_eq!(kept.len(), 1, "{kept:?}");
    let name = kept[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with("-from-0001-to-0003.sqlite"), "{name}");
    assert_eq!(sha256(&kept[0]), before, "the snapshot is kept as it was");
    let recovery = snap.recovery.expect("the state says what happened");
    assert!(
        recovery.starts_with("restored the database from ")
            && recovery.contains(&name)
            && recovery.contains("after migrate failed")
            && recovery.contains("0003_create_chores"),
        "{recovery}"
    );
}

#[test]
fn a_backend_that_never_comes_online_is_rolled_back() {
    let layout = serve_always_fails();
    let before = older_database(&layout, OLDER);
    let sup = Supervisor::start(layout.options());
    let snap = wait_state(&sup, "Offline", |s| s.state == ConnectionState::Offline);
    drop(sup);
    let error = snap.error.unwrap_or_default();
    assert!(error.contains("exited 6 times"), "{error}");
    assert_restored(&layout, &before);
    assert_eq!(snapshot_files(&layout).len(), 1);
    let recovery = snap.recovery.expect("the state says what happened");
    assert!(
        recovery.contains("after the backend never came online: backend exited 6 times"),
        "{recovery}"
    );
}

#[test]
fn upgrades_keep_rows_and_the_last_three_snapshots() {
    let layout = Layout::real();
    let db = database(&layout);
    let mut sizes = Vec::new();
    for round in 1..=4 {
        // An image updated by hand to an older build's data, then this build again.
        let before = if round == 1 {
            older_database(&layout, OLDER)
        } else {
            sql(
                &db,
                "DROP TABLE tags; DROP TABLE chores; DELETE FROM qmlbridge_migrations WHERE version >= 2;",
            );
            sha256(&db)
        };
        sizes.push(fs::metadata(&db).unwrap().len());
        let sup = Supervisor::start(layout.options());
        let snap = wait_state(&sup, "Online", online);
        assert_eq!(snap.recovery, None);
        drop(sup);
        assert_eq!(inspect(&db), ("ok".to_string(), "1,2,3".to_string()));
        let rows = py(
            "import sqlite3, sys\nprint(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM items').fetchone()[0])",
            &[db.to_str().unwrap()],
        );
        assert_eq!(rows, "2", "round {round}: every row kept");
        let kept = snapshot_files(&layout);
        assert_eq!(kept.len(), round.min(3), "round {round}: {kept:?}");
        assert_eq!(sha256(kept.last().unwrap()), before, "round {round}");
        thread::sleep(Duration::from_millis(5)); // names are stamped to the millisecond
    }
    let total: u64 = snapshot_files(&layout)
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum();
    let largest = sizes.iter().max().unwrap();
    assert!(
        total <= 3 * largest,
        "{total} bytes for 3 snapshots of <= {largest}"
    );
    // Each snapshot's size, what is kept and the free space are reported in backend.log.
    let log = layout.backend_log();
    let reports = log
        .lines()
        .filter(|l| l.contains("snapshot ") && l.contains(" kept, ") && l.contains("bytes free"))
        .count();
    assert_eq!(reports, 4, "{log}");
    assert!(
        !snapshots(&layout)
            .read_dir()
            .unwrap()
            .any(|e| { e.unwrap().file_name().to_string_lossy().ends_with(".tmp") })
    );
}

#[test]
fn nothing_pending_takes_no_snapshot() {
    let layout = Layout::real();
    // A first launch (no database yet), then a normal start: nothing to protect, nothing new.
    for _ in 0..2 {
        let sup = Supervisor::start(layout.options());
        let snap = wait_state(&sup, "Online", online);
        assert_eq!(snap.recovery, None);
        drop(sup);
        assert!(
            snapshots(&layout).is_dir(),
            "the data dir has var/snapshots/"
        );
        assert!(snapshot_files(&layout).is_empty());
    }
    assert_eq!(inspect(&database(&layout)).1, "1,2,3");
}

/// `qmlbridge-supervise` on `layout`, killed with SIGKILL as soon as `seen` holds.
fn kill_host_when(layout: &Layout, seen: impl Fn() -> bool) -> bool {
    let mut host: Child = Command::new(env!("CARGO_BIN_EXE_qmlbridge-supervise"))
        .args(["--org", ORG, "--app", APP, "--data-dir"])
        .arg(&layout.data_dir)
        .arg("--exe-dir")
        .arg(&layout.exe_dir)
        .env_remove("BRIDGE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    let mut caught = false;
    while std::time::Instant::now() < deadline {
        if seen() {
            caught = true;
            break;
        }
        if host.try_wait().unwrap().is_some() {
            break;
        }
        thread::sleep(Duration::from_micros(200));
    }
    let _ = host.kill();
    host.wait().unwrap();
    // The backend dies with its host (parent-death signal); let it go before looking.
    thread::sleep(Duration::from_millis(300));
    caught
}

/// A database large enough that copying it takes a while: ~40 MB of rows.
const LARGE: &str =
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000)
    INSERT INTO items (title) SELECT printf('%.1000c', 'x') FROM n;";

#[test]
fn sigkill_during_snapshot_or_restore_never_leaves_a_partial_database() {
    // During the snapshot: the database is untouched and no partial snapshot counts.
    let layout = Layout::real();
    let before = older_database(&layout, &format!("{LARGE}{BREAKS_0003}"));
    let tmp_seen = || {
        fs::read_dir(snapshots(&layout))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".sqlite.tmp"))
    };
    let caught = kill_host_when(&layout, tmp_seen);
    eprintln!("killed while the snapshot was written: {caught}");
    if caught {
        assert_eq!(sha256(&database(&layout)), before);
        assert!(
            snapshot_files(&layout).is_empty(),
            "a partial snapshot counts as none"
        );
    }
    // During the restore: the marker is there, the database is either file, never a mix.
    let marker = snapshots(&layout).join("restoring");
    let caught = kill_host_when(&layout, || marker.exists());
    eprintln!("killed during the restore: {caught}");
    assert!(caught || sha256(&database(&layout)) == before);
    // The next start, with a build whose migrate fails before doing anything, finishes the
    // restore the marker names.
    let bin = layout.exe_dir.join("bin/fixture-backend");
    fs::remove_file(&bin).unwrap();
    fs::write(&bin, "#!/bin/sh\necho 'refused' >&2\nexit 1\n").unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    let sup = Supervisor::start(layout.options());
    let snap = wait_state(&sup, "Offline", |s| s.state == ConnectionState::Offline);
    drop(sup);
    assert_restored(&layout, &before);
    if caught {
        let recovery = snap.recovery.unwrap_or_default();
        assert!(
            recovery.contains("interrupted earlier was finished"),
            "{recovery}"
        );
    }
}

#[test]
fn a_restart_during_migrate_keeps_the_first_snapshot_armed() {
    // The first migrate applies everything (after its snapshot), then hangs until the restart
    // kills it; the second finds nothing pending, takes no snapshot, and fails.
    let layout = Layout::empty();
    let flag = layout.tmp.path().join("migrated-once");
    let bin = layout.exe_dir.join("bin/fixture-backend");
    fs::create_dir_all(bin.parent().unwrap()).unwrap();
    let body = format!(
        "#!/bin/sh\n[ \"$1\" = migrate ] || exit 1\n[ -e '{flag}' ] && {{ echo 'second migrate fails' >&2; exit 1; }}\n: > '{flag}'\n'{bin}' migrate || exit 1\nexec sleep 60\n",
        flag = flag.display(),
        bin = real_backend().display()
    );
    fs::write(&bin, body).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(
        repo_root().join("Caddyfile"),
        layout.exe_dir.join("Caddyfile"),
    )
    .unwrap();
    let before = older_database(&layout, OLDER);
    let sup = Supervisor::start(layout.options());
    wait_until("the first migrate applied 0002 and 0003", || {
        snapshot_files(&layout).len() == 1 && inspect(&database(&layout)).1 == "1,2,3"
    });
    sup.restart();
    let snap = wait_state(&sup, "Offline", |s| s.state == ConnectionState::Offline);
    drop(sup);
    assert_restored(&layout, &before);
    let recovery = snap.recovery.unwrap_or_default();
    assert!(recovery.contains("after migrate failed"), "{recovery}");
}
