//! `qmlbridge dev` driven as a person would, on a generated app (`QMLBRIDGE_DEV_APP`;
//! scripts/test-new-app.sh generates one and runs this) under Xvfb: the real CLI, real cargo
//! builds, the real host and backend, the window read back from the X server.
//!
//! 1. A QML save retitles the window; the window keeps its size although the file asks for
//!    another; a broken save shows the error window and prints `path:line`, the fix recovers.
//!    Then the title shows a `RestModel`'s count, so live rows are visible on the X server.
//! 2. A new resource and its migration: after the swap `/api/notes` answers, the old rows are
//!    there, a client looping on `GET /api/...` across the swaps saw no failed request, and the
//!    window's model follows the new backend (a row written after the swap appears).
//! 3. A broken backend build prints the compiler's errors and the old backend keeps answering;
//!    the fix is swapped in. A migration that cannot apply, saved with a host edit, fails the
//!    check before the swap: the old backend keeps answering and the host's restart waits. Once
//!    the migration is fixed, the host is rebuilt and restarted at the same URL; the data stays.
//! 4. Ctrl-C leaves no process; so does SIGKILL of `qmlbridge dev` (the host's parent-death signal).
//! 5. `--attach URL`: nothing is spawned, QML reload still works.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use support::*;

const TOKEN: &str = "the-dev-session-token-of-this-test";

struct App {
    root: std::path::PathBuf,
    name: String,
    target: std::path::PathBuf,
}

impl App {
    fn load() -> App {
        let root = app();
        let manifest = std::fs::read_to_string(root.join("qmlbridge.toml")).unwrap();
        let name = manifest
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|l| l.strip_suffix('"'))
            .expect("name in qmlbridge.toml")
            .to_string();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        App { root, name, target }
    }

    fn host_exe(&self) -> std::path::PathBuf {
        self.target.join("debug").join(&self.name)
    }

    fn backend_exe(&self) -> std::path::PathBuf {
        self.target
            .join("debug")
            .join(format!("{}-backend", self.name))
    }

    fn leftovers(&self) -> Vec<u32> {
        let mut pids = processes_of(&self.host_exe());
        pids.extend(processes_of(&self.backend_exe()));
        pids
    }
}

fn has_title(display: &Display, title: &str) -> bool {
    display
        .titles()
        .iter()
        .any(|t| t == title || t.starts_with(&format!("{title} — ")))
}

/// GET `path` in a loop on fresh connections until `stop`; counts successes, keeps failures.
fn client_loop(
    url: String,
    path: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(usize, Vec<String>)> {
    std::thread::spawn(move || {
        let mut ok = 0;
        let mut failed = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            match http(&url, "GET", &path, TOKEN, None) {
                Ok((200, _)) => ok += 1,
                Ok((status, body)) => failed.push(format!("{status}: {body}")),
                Err(e) => failed.push(e),
            }
        }
        (ok, failed)
    })
}

#[test]
#[ignore = "needs a generated app and Xvfb: scripts/test-new-app.sh runs it"]
fn the_edit_loop() {
    let app = App::load();
    let display = Display::start();
    let data = tempfile::tempdir().unwrap();
    let start = |extra: &[&str]| {
        Session::start(
            &app.root,
            &display,
            data.path(),
            extra,
            &[("BRIDGE_TOKEN", TOKEN)],
        )
    };
    let session = start(&[]);
    let (_, url) = session.online(0);
    let main_qml = app.root.join("qml/Main.qml");
    let title = title_of(&main_qml);
    wait_until("the window shows its title", || has_title(&display, &title));
    let size = display.geometry(&title).expect("the window's geometry");
    // The session's own data dir, never the installed app's.
    let token_file = data
        .path()
        .join(format!("example/{}-dev/var/dev-token", app.name));
    assert_eq!(std::fs::read_to_string(&token_file).unwrap(), TOKEN);
    let user_data = data.path().join(format!("example/{}", app.name));
    assert!(!user_data.exists(), "{} was created", user_data.display());

    // 1. QML: a new title (and a width the kept geometry must win over).
    let retitled = format!("{title}, edited");
    let mark = session.out.len();
    edit(
        &main_qml,
        &format!("title: qsTr(\"{title}\")"),
        &format!("title: qsTr(\"{retitled}\")"),
    );
    edit(&main_qml, "width: 640", "width: 1000");
    let took = wait_until("the window shows the new title", || {
        has_title(&display, &retitled)
    });
    eprintln!("the edit loop: QML save -> new title on the X server in {took:?}");
    session.out.wait_from(mark, "qml loaded", |l| {
        l.starts_with("[dev] qml loaded in ")
    });
    assert_eq!(
        display.geometry(&retitled).as_deref(),
        Some(size.as_str()),
        "the reloaded window keeps the old one's position and size"
    );
    // A broken save: the error window, and path:line on the terminal.
    let mark = session.out.len();
    edit(
        &main_qml,
        &format!("title: qsTr(\"{retitled}\")"),
        "title: qsTr(\"broken\") +",
    );
    let (i, _) = session
        .out
        .wait_from(mark, "qml errors", |l| l.starts_with("[dev] qml errors"));
    let (_, detail) = session
        .out
        .wait_from(i, "the error's place", |l| l.contains("Main.qml:"));
    assert!(
        detail.contains(&format!("{}:", main_qml.display())),
        "path:line:column: {detail}"
    );
    wait_until("the error window", || has_title(&display, "QML error"));
    edit(
        &main_qml,
        "title: qsTr(\"broken\") +",
        &format!("title: qsTr(\"{retitled}\")"),
    );
    wait_until("the next good save recovers", || {
        has_title(&display, &retitled)
    });

    // A model in the window, shown in its title: live updates are then visible on the X server.
    let resource = first_resource(&app);
    edit(
        &main_qml,
        &format!("title: qsTr(\"{retitled}\")"),
        "title: \"rows \" + window.probe.count",
    );
    edit(
        &main_qml,
        "    id: window\n",
        &format!(
            "    id: window\n    readonly property RestModel probe: RestModel {{ resource: \"{resource}\"; roles: [\"created_at\"] }}\n"
        ),
    );
    wait_until("the model's count in the title", || {
        has_title(&display, "rows 0")
    });

    // 2. A resource and its migration, swapped in under a looping client.
    let list = format!("/api/{resource}");
    let get = |url: &str, path: &str| http(url, "GET", path, TOKEN, None);
    let (status, _) = http(&url, "POST", &list, TOKEN, Some(&first_body(&app))).unwrap();
    assert_eq!(status, 201, "a row written before the swap");
    wait_until("the row live in the window", || {
        has_title(&display, "rows 1")
    });
    let before = get(&url, &list).unwrap().1;
    let stop = Arc::new(AtomicBool::new(false));
    let looping = client_loop(url.clone(), list.clone(), stop.clone());
    let mark = session.out.len();
    add_notes_resource(&app.root);
    wait_until("/api/notes answers after the swap", || {
        matches!(get(&url, "/api/notes"), Ok((200, _)))
    });
    // Both saves may have been built and swapped one after the other: wait for the last swap.
    wait_until("every build swapped in", || {
        let lines = session.out.all();
        let built = lines[mark..]
            .iter()
            .filter(|l| l.starts_with("[dev] backend built in"))
            .count();
        let swapped = lines[mark..]
            .iter()
            .filter(|l| l.contains(": swapped in "))
            .count();
        built > 0 && swapped == built
    });
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    let (ok, failed) = looping.join().unwrap();
    eprintln!(
        "the edit loop: {ok} requests across the swap, {} failed",
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "requests failed across the swap: {failed:?}"
    );
    assert!(ok > 10, "the client kept asking during the swap ({ok})");
    let lines = session.out.all();
    let reconnecting = lines[mark..]
        .iter()
        .position(|l| l == "[dev] backend Reconnecting")
        .expect("Reconnecting");
    assert!(
        lines[mark + reconnecting..]
            .iter()
            .any(|l| l.contains(": swapped in ")),
        "then Online"
    );
    let after = get(&url, &list).unwrap().1;
    assert_eq!(
        before, after,
        "the rows written before the swap are still there"
    );
    // The window's model follows the new backend by itself: a row written now appears.
    let (status, _) = http(&url, "POST", &list, TOKEN, Some(&first_body(&app))).unwrap();
    assert_eq!(status, 201);
    wait_until("the model resynced to the new backend", || {
        has_title(&display, "rows 2")
    });
    assert_eq!(
        http(&url, "POST", "/api/notes", TOKEN, Some(r#"{"body":"new"}"#))
            .unwrap()
            .0,
        201
    );

    // 3. A broken backend build: errors printed, the old backend still serving; then the fix.
    let lib = app.root.join("backend/src/lib.rs");
    let mark_out = session.out.len();
    let mark_err = session.err.len();
    edit(
        &lib,
        ".resource::<Note>()",
        ".resource::<Note>()\n        .no_such_builder_method()",
    );
    session.out.wait_from(mark_out, "build failed", |l| {
        l.starts_with("[dev] backend build failed")
    });
    session
        .err
        .wait_from(mark_err, "the compiler's error", |l| {
            l.contains("no_such_builder_method")
        });
    assert_eq!(
        get(&url, "/api/notes").unwrap().0,
        200,
        "the old backend answers"
    );
    let mark = session.out.len();
    edit(&lib, "\n        .no_such_builder_method()", "");
    session
        .out
        .wait_from(mark, "the fix swapped in", |l| l.contains(": swapped in "));
    assert_eq!(get(&url, "/api/notes").unwrap().0, 200);

    // A migration that cannot apply, saved with a host edit: the build passes, the check before
    // the swap does not, the old backend keeps serving (the swap would have stopped it first)
    // and the host's restart waits for the fix (a new host would start the failing backend).
    let host_main = app.root.join("host/src/main.rs");
    let old_hosts = processes_of(&app.host_exe());
    let migrations = app.root.join("backend/migrations");
    let next = std::fs::read_dir(&migrations).unwrap().count() + 1;
    let broken = migrations.join(format!("{next:04}_notes_again.sql"));
    let mark_out = session.out.len();
    let mark_err = session.err.len();
    std::fs::write(
        &broken,
        "CREATE TABLE \"notes\" (\"id\" INTEGER PRIMARY KEY);\n",
    )
    .unwrap();
    append(&host_main, "// a host edit\n");
    let (i, _) = session.out.wait_from(mark_out, "check failed", |l| {
        l.starts_with("[dev] backend check failed")
    });
    session.out.wait_from(i, "the old backend kept", |l| {
        l == "[dev] the running backend keeps serving; save a fix to retry"
    });
    session
        .err
        .wait_from(mark_err, "the migration's error", |l| {
            l.contains(&format!("{next:04}_notes_again")) && l.contains("already exists")
        });
    assert!(
        !session.out.all()[mark_out..i]
            .iter()
            .any(|l| l.contains("swapping the backend in")),
        "no swap after a failed check"
    );
    assert_eq!(
        get(&url, "/api/notes").unwrap().0,
        200,
        "the old backend answers"
    );
    let (w, _) = session.out.wait_from(i, "the host's restart put off", |l| {
        l == "[dev] the host's restart waits for that fix"
    });
    assert!(
        !session.out.all()[mark_out..w]
            .iter()
            .any(|l| l.starts_with("[dev] window started")),
        "no new host before the fix"
    );

    // The fix: the backend checked again, and the host's restart that waited: rebuilt, a new
    // window at the same URL, the data still there (it is the backend's).
    let mark = session.out.len();
    std::fs::remove_file(&broken).unwrap();
    let (i, _) = session.out.wait_from(mark, "host built", |l| {
        l.starts_with("[dev] host built in ")
    });
    let (i, _) = session
        .out
        .wait_from(i, "a new window", |l| l.starts_with("[dev] window started"));
    let (_, new_url) = session.online(i);
    assert_eq!(new_url, url, "a new host keeps the session's URL");
    wait_until("the old host gone", || {
        let now = processes_of(&app.host_exe());
        old_hosts.iter().all(|p| !now.contains(p))
    });
    wait_until("the new window with both rows", || {
        has_title(&display, "rows 2")
    });
    let (status, notes) = get(&url, "/api/notes").unwrap();
    assert_eq!(status, 200);
    assert!(
        notes.contains("\"new\""),
        "the note written before the host restart: {notes}"
    );

    // 4. Ctrl-C: everything it started is gone.
    let status = session.interrupt();
    assert!(
        status.success(),
        "qmlbridge dev ends with 0 on Ctrl-C: {status}"
    );
    wait_until("no host or backend left after Ctrl-C", || {
        app.leftovers().is_empty()
    });

    // ... and SIGKILL of qmlbridge dev itself: the host's parent-death signal.
    let session = start(&[]);
    session.online(0);
    assert!(!app.leftovers().is_empty());
    signal(session.child.id(), "KILL");
    wait_until("no host or backend left after SIGKILL", || {
        app.leftovers().is_empty()
    });
    drop(session);

    // 5. --attach: the developer's own server; nothing spawned, QML reload works.
    let port = free_port();
    let mut server = std::process::Command::new(app.backend_exe())
        .current_dir(app.root.join("backend"))
        .args(["serve", "--config"])
        .arg(app.root.join("Caddyfile"))
        .env("PORT", port.to_string())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/attach.sqlite", data.path().display()),
        )
        .env("BRIDGE_TOKEN", TOKEN)
        .env("BRIDGE_ENV", "dev")
        .env_remove("LISTEN_FDS")
        .spawn()
        .unwrap();
    let attach = format!("http://127.0.0.1:{port}");
    let session = start(&["--attach", &attach]);
    let (_, seen) = session.online(0);
    assert_eq!(seen.trim_end_matches('/'), attach);
    wait_until("the attached window on the server's empty database", || {
        has_title(&display, "rows 0")
    });
    assert_eq!(
        processes_of(&app.backend_exe()),
        vec![server.id()],
        "nothing spawned"
    );
    edit(
        &main_qml,
        "title: \"rows \" + window.probe.count",
        &format!("title: qsTr(\"{title}\")"),
    );
    wait_until("QML reload while attached", || has_title(&display, &title));
    assert!(session.interrupt().success());
    let _ = server.kill();
    let _ = server.wait();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The app's first resource (its first migration's table).
fn first_resource(app: &App) -> String {
    let mut names: Vec<String> = std::fs::read_dir(app.root.join("backend/migrations"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let first = names.first().expect("a migration");
    first
        .split_once("_create_")
        .unwrap()
        .1
        .trim_end_matches(".sql")
        .to_string()
}

/// A valid row of the first resource: every text column of its migration.
fn first_body(app: &App) -> String {
    let table = first_resource(app);
    let mut names: Vec<_> = std::fs::read_dir(app.root.join("backend/migrations"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    let sql = std::fs::read_to_string(&names[0]).unwrap();
    let fields: Vec<String> = sql
        .lines()
        .filter(|l| l.contains(" TEXT ") && !l.contains("_at\""))
        .filter_map(|l| {
            l.split('"')
                .nth(1)
                .map(|f| format!("\"{f}\":\"kept across the swap\""))
        })
        .collect();
    assert!(!fields.is_empty(), "text fields in the {table} migration");
    format!("{{{}}}", fields.join(","))
}

/// A `notes` resource and its migration, as a developer would add them.
fn add_notes_resource(root: &Path) {
    let dir = root.join("backend/migrations");
    let next = std::fs::read_dir(&dir).unwrap().count() + 1;
    std::fs::write(
        dir.join(format!("{next:04}_create_notes.sql")),
        r#"CREATE TABLE "notes" (
    "id"         INTEGER PRIMARY KEY AUTOINCREMENT,
    "body"       TEXT    NOT NULL CHECK (length("body") BETWEEN 1 AND 1000),
    "created_at" TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    "updated_at" TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
"#,
    )
    .unwrap();
    let lib = root.join("backend/src/lib.rs");
    edit(
        &lib,
        "/// The backend: what",
        r#"/// `/api/notes`: `{"id", "body", "created_at", "updated_at"}`.
#[derive(Resource)]
#[resource(name = "notes")]
#[allow(dead_code)] // the fields describe the resource; the framework reads its schema
pub struct Note {
    id: i64,
    #[resource(non_blank, max_chars = 1000)]
    body: String,
    #[resource(created_at)]
    created_at: Datetime,
    #[resource(updated_at)]
    updated_at: Datetime,
}

/// The backend: what"#,
    );
    let text = std::fs::read_to_string(&lib).unwrap();
    let last = text.rfind(".resource::<").unwrap();
    let end = last + text[last..].find('\n').unwrap();
    std::fs::write(
        &lib,
        format!(
            "{}\n        .resource::<Note>(){}",
            &text[..end],
            &text[end..]
        ),
    )
    .unwrap();
}

/// Bad input is refused before anything is built or started, naming the problem.
#[test]
fn bad_input_is_refused_before_anything_starts() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .arg("dev")
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let tmp = tempfile::tempdir().unwrap();
    let (code, err) = run(&["--app", tmp.path().to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("qmlbridge.toml"),
        "names the missing manifest: {err}"
    );

    let (code, err) = run(&["--app", tmp.path().to_str().unwrap(), "--attach", "ftp://x"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--attach ftp://x: not an http"), "{err}");

    // A valid manifest (every file it names exists) whose crates are not in a cargo workspace
    // there.
    write_manifest(tmp.path());
    let (code, err) = run(&["--app", tmp.path().to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cargo metadata") || err.contains("not in the cargo workspace"),
        "{err}"
    );
}

/// A valid manifest of the app `bookmarks` of `example` in `dir` (every file it names exists).
fn write_manifest(dir: &Path) {
    let manifest = r#"
name = "bookmarks"
display_name = "Bookmarks"
org = "example"
identifier = "org.example.Bookmarks"
version = "0.1.0"
comment = "Keep your bookmarks"
categories = ["Utility"]
icon = "assets/icon.svg"
caddyfile = "Caddyfile"
"#;
    std::fs::write(dir.join("Caddyfile"), "").unwrap();
    std::fs::create_dir(dir.join("assets")).unwrap();
    std::fs::create_dir(dir.join("backend")).unwrap();
    std::fs::write(dir.join("assets/icon.svg"), "<svg/>").unwrap();
    std::fs::write(dir.join("qmlbridge.toml"), manifest).unwrap();
}

/// A development session's data dir is `<org>/<name>-dev` (`qmlbridge dev-data`, which `make run`
/// uses); `--fresh` moves it aside whole, beside it, and never touches the installed app's.
#[test]
fn dev_data_is_its_own_and_fresh_moves_it_aside() {
    let tmp = tempfile::tempdir().unwrap();
    write_manifest(tmp.path());
    let xdg = tmp.path().join("xdg");
    let user = xdg.join("example/bookmarks");
    let dev = xdg.join("example/bookmarks-dev");
    for dir in [&user, &dev] {
        std::fs::create_dir_all(dir.join("var")).unwrap();
        std::fs::write(dir.join("var/data.sqlite"), dir.display().to_string()).unwrap();
    }
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(["dev-data", "--app"])
            .arg(tmp.path())
            .args(args)
            .env("XDG_DATA_HOME", &xdg)
            .env_remove("QMLBRIDGE_DEV")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        (String::from_utf8_lossy(&out.stdout).trim().to_owned(), err)
    };
    let (printed, _) = run(&[]);
    assert_eq!(printed, dev.display().to_string());
    assert!(dev.join("var/data.sqlite").exists(), "only printed");

    let (printed, err) = run(&["--fresh"]);
    assert_eq!(printed, dev.display().to_string());
    assert!(!dev.exists(), "moved aside");
    let aside = err
        .trim()
        .rsplit(' ')
        .next()
        .map(std::path::PathBuf::from)
        .unwrap();
    assert_eq!(aside.parent(), dev.parent(), "beside it: {err}");
    assert_eq!(
        std::fs::read_to_string(aside.join("var/data.sqlite")).unwrap(),
        dev.display().to_string(),
        "whole"
    );
    assert_eq!(
        std::fs::read_to_string(user.join("var/data.sqlite")).unwrap(),
        user.display().to_string(),
        "the installed app's data is untouched"
    );
    // Nothing to move the second time.
    let (_, err) = run(&["--fresh"]);
    assert!(!err.contains("moved"), "{err}");
}
