//! `qmlbridge new` as a user runs it: the real binary, into a temporary directory outside the
//! checkout. Bad input is refused with exit status 2 and nothing written; the bookmarks app has the
//! promised tree, a valid manifest and icon, and its backend builds and passes its own tests with
//! the framework's target dir shared (the generated `Cargo.lock` is the framework's).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use qmlbridge_manifest::Manifest;
use resvg::tiny_skia::Pixmap;

const BIN: &str = env!("CARGO_BIN_EXE_qmlbridge");

/// The bookmarks app of the framework's end-to-end promise.
const BOOKMARKS: &[&str] = &[
    "--name",
    "bookmarks",
    "--org",
    "example",
    "--id",
    "org.example.Bookmarks",
    "--resource",
    "bookmarks:title:text,url:text",
    "--resource",
    "tags:label:text",
];

fn framework() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn qmlbridge(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn new_bookmarks(parent: &Path) -> PathBuf {
    let mut args = vec!["new", "bookmarks"];
    args.extend(BOOKMARKS);
    let out = qmlbridge(&args, parent);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parent.join("bookmarks")
}

/// The entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn bad_input_is_refused_with_exit_2_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    std::fs::write(tmp.path().join("taken/file"), "x").unwrap();
    std::fs::write(tmp.path().join("a-file"), "x").unwrap();
    let cases: &[(&str, &[&str], &str)] = &[
        ("taken", &[], "exists and is not empty"),
        ("a-file", &[], "exists and is not a directory"),
        (
            "app",
            &["--name", "Bookmarks"],
            "--name: \"Bookmarks\" is not an app name",
        ),
        ("app", &["--name", "notes-backend"], "-backend"),
        (
            "app",
            &["--id", "bookmarks"],
            "--id: \"bookmarks\" is not a reverse-DNS id",
        ),
        ("app", &["--org", "a/b"], "--org"),
        (
            "app",
            &["--resource", "bookmarks:title:string"],
            "unknown type \"string\"",
        ),
        (
            "app",
            &["--resource", "bookmarks:id:int"],
            "field name \"id\" is reserved",
        ),
        (
            "app",
            &["--resource", "bookmarks:title:text,title:text"],
            "listed twice",
        ),
        (
            "app",
            &["--resource", "tags:a:text", "--resource", "tags:b:text"],
            "collides",
        ),
        (
            "app",
            &["--resource", "Bookmarks:title:text"],
            "not an identifier",
        ),
        (
            "app",
            &["--resource", "bookmark:title:text"],
            "not a plural",
        ),
        (
            "app",
            &["--resource", "bookmarks"],
            "expected name:field:type",
        ),
        (
            "app",
            &["--display-name", "two\nlines"],
            "control character",
        ),
        ("app", &["--framework", "/nonexistent"], "--framework"),
        // Each of these made an app that failed later (a migration, the backend's start, the
        // QML parser, rustc, cargo -p); now each is refused up front, naming the problem.
        (
            "app",
            &["--resource", "sqlite_stats:title:text"],
            "begins with sqlite_",
        ),
        (
            "app",
            &["--resource", "qmlbridge_migrations:title:text"],
            "begins with qmlbridge_",
        ),
        (
            "app",
            &["--resource", "bookmarks:limit:bool"],
            "parameter of the list query",
        ),
        (
            "app",
            &["--resource", "bookmarks:after:int"],
            "parameter of the list query",
        ),
        (
            "app",
            &["--resource", "bookmarks:offset:text"],
            "parameter of the list query",
        ),
        (
            "app",
            &["--resource", "bookmarks:public:text"],
            "JavaScript reserved word",
        ),
        (
            "app",
            &["--resource", "bookmarks:pragma:text"],
            "QML keyword",
        ),
        (
            "app",
            &["--resource", "bookmarks:ab:text,ab_:text"],
            "would both be abInput",
        ),
        (
            "app",
            &["--resource", "bookmarks:x1:int,x_1:int"],
            "would both be x1Input",
        ),
        ("app", &["--display-name", "Book\u{202E}marks"], "U+202E"),
        ("app", &["--display-name", "Book\u{2028}marks"], "U+2028"),
        (
            "app",
            &["--display-name", "\u{2066}Bookmarks\u{2069}"],
            "U+2066",
        ),
        (
            "app",
            &["--resource", "bookmarks:a__b:text"],
            "two underscores",
        ),
        ("app", &["--name", "log"], "named like the crate log"),
        (
            "app",
            &["--name", "serde-json"],
            "named like the crate serde_json",
        ),
        ("app", &["--name", "cxx-qt"], "named like the crate cxx-qt"),
    ];
    let before = entries(tmp.path());
    for (dir, extra, message) in cases {
        // The valid bookmarks flags, then the bad one (clap keeps the last of a repeated flag;
        // --resource accumulates, so a bad one alone replaces the good ones).
        let mut args = vec!["new", dir];
        let resources = extra.contains(&"--resource");
        let mut rest = BOOKMARKS.iter();
        while let Some(flag) = rest.next() {
            let value = rest.next().unwrap();
            if (resources && *flag == "--resource") || extra.contains(flag) {
                continue;
            }
            args.extend([*flag, *value]);
        }
        args.extend(*extra);
        let out = qmlbridge(&args, tmp.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert_eq!(entries(tmp.path()), before, "{args:?} wrote something");
        assert_eq!(entries(&tmp.path().join("taken")), ["file"]);
    }
}

#[test]
fn the_bookmarks_app() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(!tmp.path().starts_with(framework()), "outside the checkout");
    let app = new_bookmarks(tmp.path());
    assert_eq!(
        entries(tmp.path()),
        ["bookmarks"],
        "no temporary directory left"
    );
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "qmlbridge.toml",
        "Caddyfile",
        "Makefile",
        "README.md",
        ".gitignore",
        ".ci/run",
        "assets/icon.svg",
        "backend/Cargo.toml",
        "backend/build.rs",
        "backend/src/lib.rs",
        "backend/src/main.rs",
        "backend/tests/api.rs",
        "backend/migrations/0001_create_bookmarks.sql",
        "backend/migrations/0002_create_tags.sql",
        "host/Cargo.toml",
        "host/build.rs",
        "host/src/main.rs",
        "host/tests/qml.rs",
        "qml/Main.qml",
        "qml/BookmarksPage.qml",
        "qml/TagsPage.qml",
        "qml/tests/tst_window.qml",
    ] {
        assert!(app.join(file).is_file(), "{file} missing");
    }
    assert_eq!(
        std::fs::read_link(app.join("host/qml")).unwrap(),
        Path::new("../qml")
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(app.join(".ci/run"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, ".ci/run is executable");

    // The framework's lock, so the shared target dir reuses its cxx-qt build.
    let lock = |dir: &Path| std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    assert_eq!(lock(&app), lock(&framework()));
    let read = |f: &str| std::fs::read_to_string(app.join(f)).unwrap();
    let fw = framework().display().to_string();
    assert!(
        read("host/Cargo.toml").contains(&format!("qmlbridge-qt = {{ path = \"{fw}/host\" }}"))
    );
    assert!(read("backend/Cargo.toml").contains(&format!("path = \"{fw}/backend\"")));
    let makefile = read("Makefile");
    assert!(
        makefile.contains(&format!("FRAMEWORK ?= {fw}\n")),
        "{makefile}"
    );
    assert!(
        makefile.contains("\"$$FRAMEWORK/scripts/install-deps.sh\""),
        "{makefile}"
    );
    // No framework code in the app: its Rust is the app's few files.
    let rs: Vec<_> = walk(&app)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    assert_eq!(rs.len(), 7, "{rs:?}");

    let m = Manifest::load(&app.join("qmlbridge.toml")).unwrap();
    assert_eq!(
        (m.name.as_str(), m.org.as_str(), m.identifier.as_str()),
        ("bookmarks", "example", "org.example.Bookmarks")
    );
    assert_eq!(m.display_name, "Bookmarks");
    assert_eq!(
        (m.host.bin.as_str(), m.backend.bin.as_str()),
        ("bookmarks", "bookmarks-backend")
    );
    let lib = read("backend/src/lib.rs");
    for part in [
        "pub struct Bookmark {",
        "pub struct Tag {",
        ".resource::<Bookmark>()",
        ".resource::<Tag>()",
    ] {
        assert!(lib.contains(part), "{part}: {lib}");
    }
    let page = read("qml/BookmarksPage.qml");
    for part in [
        "resource: \"bookmarks\"",
        "roles: [\"title\", \"url\"]",
        "keyRole: \"bookmarkId\"",
        "id: urlInput",
    ] {
        assert!(page.contains(part), "{part}: {page}");
    }
    // The pages are compiled in because the build lists qml/ (proved by the app's own tests),
    // and checked by qmllint there; the README says what build.rs does: no file list to keep in
    // step, nothing "listed in build.rs".
    let build = read("host/build.rs");
    assert!(build.contains("build::qml_files(\"qml\")"), "{build}");
    assert!(build.contains("build::check_qml(&qml)"), "{build}");
    assert!(
        !build.contains(".qml\""),
        "build.rs names no QML file: {build}"
    );
    let readme = read("README.md")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for part in [
        "every `.qml` file under `qml/` is compiled in; `host/build.rs` needs no edit",
        "runs Qt's `qmllint` over every `.qml` file under `qml/` (tests aside)",
    ] {
        assert!(readme.contains(part), "{part}: {readme}");
    }
    for wrong in [
        "listed in `host/build.rs`",
        "add it to `host/build.rs`",
        ".qml_file(",
    ] {
        assert!(!readme.contains(wrong), "{wrong}: {readme}");
    }

    // The icon renders with its letter (white on the coloured square).
    let out = qmlbridge(&["icon", "assets/icon.svg", "--out", "png"], &app);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = Pixmap::load_png(app.join("png/256x256.png")).unwrap();
    let white = png
        .pixels()
        .iter()
        .filter(|p| p.red() > 240 && p.green() > 240 && p.blue() > 240)
        .count();
    assert!(white > 1000, "the letter: {white} white pixels");
    assert_eq!(entries(&app.join("png")).len(), 7);
}

#[test]
fn the_bookmarks_backend_builds_and_passes_its_tests() {
    let tmp = tempfile::tempdir().unwrap();
    let app = new_bookmarks(tmp.path());
    let out = backend_tests(&app, "bookmarks-backend");
    for test in [
        "bookmarks_create_show_list_update_delete ... ok",
        "tags_create_show_list_update_delete ... ok",
        "bookmarks_refuse_invalid_values ... ok",
    ] {
        assert!(out.contains(test), "{test}: {out}");
    }
}

/// The names a spec may take that are keywords or special somewhere else (SQL keywords as
/// tables and columns, JavaScript/QML-looking but unreserved names, digits and underscores,
/// every field type first), and a display name with markup, quotes, a backslash, shell and
/// make syntax, template syntax and non-Latin scripts: accepted, and the app's backend builds,
/// its migrations apply and its own tests pass (one extra build of a generated backend).
#[test]
fn an_app_of_odd_but_accepted_names_builds_and_passes_its_tests() {
    let tmp = tempfile::tempdir().unwrap();
    let display = "Ünï \"cödé\" <b>&amp;</b> \\ $(x) `y` #1 {{ z }} — 日本語 עברית 👨\u{200D}👩";
    let out = qmlbridge(
        &[
            "new",
            "odd",
            "--name",
            "select-from",
            "--org",
            "example",
            "--id",
            "org.example.SelectFrom",
            "--display-name",
            display,
            "--resource",
            "orders:select:text,from:int,group:bool,order:datetime,table:real,values:text",
            "--resource",
            "sqlite3s:when:datetime,key:text,count:int,parent:text",
            "--resource",
            "matches:unique:bool,check:real",
            "--resource",
            "taxes:amount:real,int:int,ab_:text",
            "--resource",
            "x_1s:x1:int,y_2:text",
        ],
        tmp.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = tmp.path().join("odd");
    let m = Manifest::load(&app.join("qmlbridge.toml")).unwrap();
    assert_eq!(m.display_name, display);
    let main = std::fs::read_to_string(app.join("qml/Main.qml")).unwrap();
    assert!(
        main.contains("title: qsTr(\"Ünï \\\"cödé\\\" <b>&amp;</b> \\\\ $(x)"),
        "{main}"
    );
    let out = backend_tests(&app, "select-from-backend");
    for test in [
        "orders_create_show_list_update_delete ... ok",
        "sqlite3s_create_show_list_update_delete ... ok",
        "matches_refuse_invalid_values ... ok",
        "taxes_create_show_list_update_delete ... ok",
        "x_1s_create_show_list_update_delete ... ok",
    ] {
        assert!(out.contains(test), "{test}: {out}");
    }
}

/// `cargo fmt --check`, `cargo clippy` and `cargo test -p <package>` in a generated app, with this test's own
/// target dir (the framework's crates and the lock's versions are built there already); the
/// test output.
fn backend_tests(app: &Path, package: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // This test's own target dir (target/<profile>/deps/new-<hash> -> target): the framework's
    // crates and the lock's versions are built there already.
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    let run = |args: &[&str]| {
        let out = Command::new(&cargo)
            .args(args)
            .current_dir(app)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["fmt", "--check"]);
    run(&[
        "clippy",
        "-p",
        package,
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run(&["test", "-p", package])
}

/// `qmlbridge new .` in an empty directory writes the app there (the directory itself cannot
/// be renamed over: it is the process's working directory, EBUSY).
#[test]
fn new_dot_in_an_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("here");
    std::fs::create_dir(&dir).unwrap();
    let mut args = vec!["new", "."];
    args.extend(BOOKMARKS);
    let out = qmlbridge(&args, &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = entries(&dir);
    assert!(
        names.iter().all(|n| !n.starts_with(".qmlbridge-new")),
        "staging left: {names:?}"
    );
    for file in [
        "Cargo.toml",
        "Makefile",
        "qml/Main.qml",
        "backend/src/lib.rs",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing: {names:?}");
    }
    assert_eq!(entries(tmp.path()), ["here"], "nothing written beside it");
}

/// A framework checkout whose path has a space and characters make and the shell treat
/// specially: the generated Makefile's variables keep the path (its first step, `deps`, runs the
/// framework's script), and the Cargo.toml files name it exactly.
#[test]
fn a_framework_path_with_spaces_and_special_characters() {
    let tmp = tempfile::tempdir().unwrap();
    let fw = tmp.path().join("frame work $(x) #1 'q' \"d\" & ;");
    copy_skeleton(&framework(), &fw);
    let log = tmp.path().join("deps.log");
    let script = fw.join("scripts/install-deps.sh");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s|%s\\n' \"$0\" \"$*\" > '{}'\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut args = vec!["new", "app", "--framework", fw.to_str().unwrap()];
    args.extend(BOOKMARKS);
    let out = qmlbridge(&args, tmp.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = tmp.path().join("app");
    let make = |extra: &[&str]| {
        let out = Command::new("make")
            .args(["--no-print-directory", "-C"])
            .arg(&app)
            .args(extra)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("FRAMEWORK")
            .env_remove("MAKEFLAGS")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "make {extra:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    make(&["deps"]);
    let fw_text = fw.to_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("{}|build test\n", script.display())
    );
    let shown = make(&[
        "--eval",
        "show-vars: ; @printf '%s\\n' \"$$FRAMEWORK\" \"$$CARGO_TARGET_DIR\" \"$$APP_DIR\"",
        "show-vars",
    ]);
    assert_eq!(
        shown,
        format!("{fw_text}\n{fw_text}/target\n{}\n", app.display())
    );
    // The dry run of every target expands (no make syntax error).
    make(&["-n", "run", "test", "lint", "appimage", "dev"]);
    let host: toml::Table = std::fs::read_to_string(app.join("host/Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        host["dependencies"]["qmlbridge-qt"]["path"].as_str(),
        Some(format!("{fw_text}/host").as_str())
    );
}

/// The files `qmlbridge new` reads from a framework checkout, copied to `to`.
fn copy_skeleton(from: &Path, to: &Path) {
    for rel in ["Cargo.lock", "Caddyfile", "backend/Cargo.toml"] {
        std::fs::create_dir_all(to.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(from.join(rel), to.join(rel)).unwrap();
    }
    let out = Command::new("cp")
        .arg("-a")
        .arg(from.join("templates"))
        .arg(to)
        .output()
        .unwrap();
    assert!(out.status.success());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_symlink() {
            continue;
        }
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
