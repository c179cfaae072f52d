//! `qmlbridge new` over generated specs (a seeded proptest run: app names, resource and field
//! names with SQL/JavaScript/QML/Rust keywords and look-alikes among them, every field type,
//! display names with markup, quotes, shell and make characters, and invisible Unicode), with
//! the framework at a path holding a space and make/shell characters. Every spec is either
//! refused (exit 2, nothing written, the message names the problem) or gives an app whose Rust
//! parses, whose migrations apply in order to a real SQLite file with the columns its resources'
//! fields name, whose TOML parses, whose Makefile keeps its variables, and whose QML passes
//! qmllint (all apps' files in one qmllint run, against the framework's built QmlBridge module)
//! and `qmlbridge lint` (a record's value is shown as plain text).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const BIN: &str = env!("CARGO_BIN_EXE_qmlbridge");

/// Generated specs per run: each is a `qmlbridge new` (with rustfmt) and its checks.
const CASES: u32 = 128;

/// Field names that are keywords or reserved somewhere, or look like one; some are refused.
const FIELD_NAMES: &[&str] = &[
    "select",
    "from",
    "order",
    "group",
    "table",
    "values",
    "key",
    "unique",
    "check",
    "text",
    "string",
    "int",
    "count",
    "parent",
    "data",
    "title",
    "length",
    "get",
    "set",
    "of",
    "async",
    "static",
    "public",
    "pragma",
    "class",
    "default",
    "import",
    "property",
    "signal",
    "limit",
    "offset",
    "after",
    "id",
    "index",
    "model",
    "row",
    "type",
    "self",
    "where",
    "null",
    "true",
    "eval",
    "arguments",
    "x1",
    "x_1",
    "ab",
    "ab_",
    "a__b",
    "created_at",
    "updated_at",
];

/// Resource names: ordinary, SQL keywords, and the reserved table prefixes.
const RESOURCE_NAMES: &[&str] = &[
    "orders",
    "groups",
    "tables",
    "values",
    "selects",
    "indexes",
    "keys",
    "sqlite_stats",
    "sqlite3s",
    "qmlbridge_migrations",
    "qmlbridge_things",
    "strings",
    "results",
    "matches",
    "taxes",
    "categories",
    "x_1s",
];

/// Display names: markup, quotes, backslashes, shell and make syntax, scripts, emoji, marks
/// (accepted); bidirectional controls, separators, controls (refused).
const DISPLAY_NAMES: &[&str] = &[
    "<b>Bold</b> & <img src=x>",
    "Quote \" and \\ back",
    "$(rm -rf ~) `id` #1 ; 'x'",
    "Café ☕ 日本語 — Ünïcödé",
    "עברית \u{200F}mark",
    "emoji 👨\u{200D}👩\u{200D}👧",
    "trailing backslash \\",
    "x\u{202E}y",
    "\u{2066}isolate\u{2069}",
    "line\u{2028}separator",
    "para\u{2029}graph",
    "tab\there",
    "{{ name }} {% raw %}",
];

/// App names: ordinary ones and crates of the framework's dependency graph.
const APP_NAMES: &[&str] = &[
    "notes",
    "select-from",
    "my-app-2",
    "log",
    "serde",
    "tokio",
    "cxx",
    "libc",
    "order",
];

const TYPES: &[&str] = &["text", "int", "real", "bool", "datetime"];

#[derive(Debug, Clone)]
struct Spec {
    name: String,
    display_name: Option<String>,
    resources: Vec<String>,
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z][a-z0-9_]{0,8}",
        1 => proptest::sample::select(FIELD_NAMES).prop_map(str::to_owned),
    ]
}

fn resource() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        3 => "[a-z][a-z0-9_]{0,6}s",
        1 => proptest::sample::select(RESOURCE_NAMES).prop_map(str::to_owned),
    ];
    let fields = proptest::collection::vec((field(), proptest::sample::select(TYPES)), 1..5);
    (name, fields).prop_map(|(name, fields)| {
        let fields: Vec<String> = fields.iter().map(|(f, t)| format!("{f}:{t}")).collect();
        format!("{name}:{}", fields.join(","))
    })
}

fn spec() -> impl Strategy<Value = Spec> {
    let name = prop_oneof![
        4 => "[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,3})?",
        1 => proptest::sample::select(APP_NAMES).prop_map(str::to_owned),
    ];
    let display =
        proptest::option::of(proptest::sample::select(DISPLAY_NAMES).prop_map(str::to_owned));
    (name, display, proptest::collection::vec(resource(), 1..3)).prop_map(
        |(name, display_name, resources)| Spec {
            name,
            display_name,
            resources,
        },
    )
}

/// The framework's skeleton copied to a path make and the shell would misread if pasted.
fn odd_framework(tmp: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let to = tmp.join("frame work $(x) #1 & 'q'");
    for rel in ["Cargo.lock", "Caddyfile", "backend/Cargo.toml"] {
        std::fs::create_dir_all(to.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(from.join(rel), to.join(rel)).unwrap();
    }
    let out = Command::new("cp")
        .arg("-a")
        .arg(from.join("templates"))
        .arg(&to)
        .output()
        .unwrap();
    assert!(out.status.success());
    to
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn files_with(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_symlink() {
            continue;
        }
        if p.is_dir() {
            files_with(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// The spec's values one of which a refusal's message must name.
fn named_values(s: &Spec) -> Vec<String> {
    let mut v = vec![s.name.clone()];
    if let Some(d) = &s.display_name {
        v.push(d.escape_debug().to_string());
    }
    for r in &s.resources {
        let (name, fields) = r.split_once(':').unwrap();
        v.push(name.to_owned());
        v.extend(
            fields
                .split(',')
                .map(|f| f.split(':').next().unwrap().to_owned()),
        );
    }
    v
}

/// Checks an accepted app; returns its QML files for the one qmllint run.
fn check_app(app: &Path, fw: &Path, spec: &Spec) -> Result<Vec<PathBuf>, String> {
    let read = |f: &str| std::fs::read_to_string(app.join(f)).map_err(|e| format!("{f}: {e}"));
    // Rust: every file parses.
    let mut rs = Vec::new();
    files_with(app, "rs", &mut rs);
    for f in &rs {
        let text = std::fs::read_to_string(f).unwrap();
        syn::parse_file(&text).map_err(|e| format!("{}: {e}", f.display()))?;
    }
    // TOML: every file parses; the path dependencies name the framework exactly.
    for f in [
        "Cargo.toml",
        "backend/Cargo.toml",
        "host/Cargo.toml",
        "qmlbridge.toml",
    ] {
        read(f)?
            .parse::<toml::Table>()
            .map_err(|e| format!("{f}: {e}"))?;
    }
    let backend: toml::Table = read("backend/Cargo.toml")?.parse().unwrap();
    let dep = backend["dependencies"]["qmlbridge-backend"]["path"].as_str();
    if dep != Some(fw.join("backend").to_str().unwrap()) {
        return Err(format!("backend/Cargo.toml: path {dep:?}"));
    }
    let manifest: toml::Table = read("qmlbridge.toml")?.parse().unwrap();
    let shown = manifest["display_name"].as_str().unwrap_or_default();
    if let Some(d) = &spec.display_name
        && shown != d
    {
        return Err(format!("display_name {shown:?} != {d:?}"));
    }
    // SQL: the migrations apply in order to a real SQLite file, and each resource struct's
    // fields are its table's columns.
    let mut sql = Vec::new();
    files_with(&app.join("backend/migrations"), "sql", &mut sql);
    sql.sort();
    let db = app.join("check.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    for f in &sql {
        conn.execute_batch(&std::fs::read_to_string(f).unwrap())
            .map_err(|e| format!("{}: {e}", f.display()))?;
    }
    let lib = syn::parse_file(&read("backend/src/lib.rs")?).unwrap();
    let mut tables = 0;
    for item in &lib.items {
        let syn::Item::Struct(s) = item else { continue };
        let Some(table) = resource_name(s) else {
            continue;
        };
        tables += 1;
        let fields: BTreeSet<String> = s
            .fields
            .iter()
            .map(|f| f.ident.as_ref().unwrap().to_string())
            .collect();
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .unwrap();
        let columns: BTreeSet<String> = stmt
            .query_map([&table], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        if fields != columns {
            return Err(format!("{table}: fields {fields:?} != columns {columns:?}"));
        }
    }
    drop(conn);
    std::fs::remove_file(&db).unwrap();
    if tables != spec.resources.len() {
        return Err(format!(
            "{tables} resource structs for {} specs",
            spec.resources.len()
        ));
    }
    // Makefile: the variables keep the odd framework path, and every target expands.
    let make = |args: &[&str]| {
        Command::new("make")
            .args(["--no-print-directory", "-C"])
            .arg(app)
            .args(args)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("FRAMEWORK")
            .env_remove("MAKEFLAGS")
            .output()
            .unwrap()
    };
    let out = make(&[
        "--eval",
        "show-vars: ; @printf '%s\\n' \"$$FRAMEWORK\" \"$$CARGO_TARGET_DIR\"",
        "show-vars",
    ]);
    let want = format!("{0}\n{0}/target\n", fw.display());
    if String::from_utf8_lossy(&out.stdout) != want {
        return Err(format!(
            "Makefile variables: {:?}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let out = make(&["-n", "run", "test", "lint", "appimage"]);
    if !out.status.success() {
        return Err(format!("make -n: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let mut qml = Vec::new();
    files_with(&app.join("qml"), "qml", &mut qml);
    Ok(qml)
}

/// `#[resource(name = "…")]` of a struct.
fn resource_name(s: &syn::ItemStruct) -> Option<String> {
    s.attrs.iter().find_map(|a| {
        if !a.path().is_ident("resource") {
            return None;
        }
        let mut name = None;
        a.parse_nested_meta(|m| {
            if m.path.is_ident("name") {
                let lit: syn::LitStr = m.value()?.parse()?;
                name = Some(lit.value());
            }
            Ok(())
        })
        .ok()?;
        name
    })
}

/// The QmlBridge module's type info that the host's build exports (scripts/qmllint.sh).
fn qml_modules() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap();
    let dir = target.join("cxxqt/qml_modules");
    assert!(
        dir.join("QmlBridge/qmldir").is_file(),
        "{} has no QmlBridge module: build the host first (cargo build -p qmlbridge-qt)",
        dir.display()
    );
    dir
}

#[test]
fn every_generated_spec_is_refused_cleanly_or_makes_a_working_app() {
    let tmp = tempfile::tempdir().unwrap();
    let fw = odd_framework(tmp.path());
    let work = tmp.path().join("apps");
    std::fs::create_dir(&work).unwrap();
    let qml: Mutex<Vec<PathBuf>> = Mutex::default();
    let counts: Mutex<(u32, u32)> = Mutex::default();
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let case = Mutex::new(0u32);
    let result = runner.run(&spec(), |s| {
        let n = {
            let mut c = case.lock().unwrap();
            *c += 1;
            *c
        };
        let dir = work.join(format!("app{n}"));
        let before = entries(&work);
        let mut cmd = Command::new(BIN);
        cmd.arg("new")
            .arg(&dir)
            .args(["--name", &s.name, "--org", "example", "--id"])
            .arg(format!("org.example.App{n}"))
            .arg("--framework")
            .arg(&fw);
        if let Some(d) = &s.display_name {
            cmd.args(["--display-name", d]);
        }
        for r in &s.resources {
            cmd.args(["--resource", r]);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        match out.status.code() {
            Some(0) => {
                let files = check_app(&dir, &fw, &s)
                    .map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
                qml.lock().unwrap().extend(files);
                counts.lock().unwrap().0 += 1;
            }
            Some(2) => {
                prop_assert_eq!(entries(&work), before, "{:?} wrote something", s);
                let names_it = named_values(&s).iter().any(|v| stderr.contains(v.as_str()))
                    || stderr.contains("U+");
                prop_assert!(names_it, "{:?}: the message names no value: {}", s, stderr);
                counts.lock().unwrap().1 += 1;
            }
            other => {
                return Err(TestCaseError::fail(format!(
                    "{s:?}: exit {other:?} (0 or 2 only): {stderr}"
                )));
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (accepted, refused) = *counts.lock().unwrap();
    eprintln!("{accepted} specs accepted, {refused} refused");
    assert!(
        accepted >= 5 && refused >= 5,
        "{accepted} accepted, {refused} refused: a weak run"
    );

    // Every accepted app's QML in one qmllint run (Qt 6's linter warns on unknown types,
    // properties and ids, and exits non-zero on a warning).
    let files = qml.into_inner().unwrap();
    let modules = qml_modules();
    let qmllint = ["qmllint6", "qmllint", "/usr/lib/qt6/bin/qmllint"]
        .into_iter()
        .find(|q| Command::new(q).arg("--version").output().is_ok())
        .expect("qmllint (scripts/install-deps.sh build)");
    let out = Command::new(qmllint)
        .arg("-I")
        .arg(&modules)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "qmllint over {} files:\n{}{}",
        files.len(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("qmllint: {} files clean", files.len());

    // And the framework's own rule: data shown in a Text/Label is plain text.
    let out = Command::new(BIN).arg("lint").args(&files).output().unwrap();
    assert!(
        out.status.success(),
        "qmlbridge lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
