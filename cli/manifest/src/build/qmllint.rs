//! The window's QML checked while the host builds: Qt's `qmllint` over the module's files, with the
//! QML modules the build exports on its import path (the framework's `QmlBridge`, the app's own),
//! so QML the engine would refuse fails `cargo build` with its file and line instead of a release
//! window that never appears.
//!
//! Why qmllint: cxx-qt-build runs qmlcachegen on every file, which refuses only syntax errors; an
//! unknown type, a misspelt property or a failed import compiles and fails when the window loads.
//! qmllint resolves imports, types and properties as the engine does. Only what stops a file from
//! loading fails the build; style findings (unqualified access, deprecations) are not reported
//! here, so what the build prints is what must be fixed: they are the full qmllint's of `make test`.
//!
//! See: <https://doc.qt.io/qt-6/qtquick-tool-qmllint.html>

use std::path::{Path, PathBuf};
use std::process::Command;

/// qmllint categories (Qt 6.4 names) whose findings do not stop the engine from loading a file:
/// disabled. Imports, types, unknown properties, required properties, aliases and
/// inheritance cycles stay warnings (the file fails to load), and syntax errors always count.
const NOT_FATAL: &[&str] = &[
    "unqualified",
    "with",
    "deprecated",
    "signal",
    "multiline-strings",
    "unused-imports",
    "deferred-property-id",
    "plugin",
    "controls-sanity",
    "compiler",
    "multiple-attached-objects",
];

/// For an app host's `build.rs`, after `CxxQtBuilder::build()` (which exports the modules'
/// type information): checks `files` (as given to `QmlModule::qml_files`, relative to the package)
/// with qmllint. A file the engine would refuse fails the build with qmllint's findings, each
/// naming the file on disk, its line and column. Without qmllint (Qt's `QT_INSTALL_BINS`, from
/// `QMAKE` or `qmake6`) or the exported `QmlBridge` module, it warns and checks nothing.
///
/// ```no_run
/// let qml = qmlbridge_manifest::build::qml_files("qml");
/// // CxxQtBuilder::new_qml_module(QmlModule::new("Bookmarks").qml_files(&qml)) ... .build();
/// qmlbridge_manifest::build::check_qml(&qml);
/// ```
pub fn check_qml(files: &[PathBuf]) {
    let (qmllint, modules) = match (find_qmllint(), find_qml_modules()) {
        (Ok(q), Ok(m)) => (q, m),
        (Err(why), _) | (_, Err(why)) => {
            println!("cargo::warning=the QML files were not checked: {why}");
            return;
        }
    };
    // Canonical: the findings then name the file in the app's qml/, not the host's symlink.
    let files: Vec<PathBuf> = files
        .iter()
        .map(|f| {
            let f = super::resolve(f);
            f.canonicalize().unwrap_or(f)
        })
        .collect();
    // qmllint reads cxx-qt's type information as it is only once it is made lintable (below); the
    // copy also serves `make test`'s full qmllint (scripts/qmllint.sh looks for it first).
    let modules = match lintable_modules(&modules) {
        Ok(copy) => copy,
        Err(e) => {
            println!("cargo::warning=the QML files were not checked: {e}");
            return;
        }
    };
    if let Err(report) = qmllint_fatal(&qmllint, &[modules], &files) {
        // `cargo::error` fails the build once this script ends, and cargo shows these lines
        // alone, not the script's whole output (the full report stays in its stderr file).
        eprintln!("{report}");
        for finding in findings(&report) {
            println!("cargo::error={finding}");
        }
        println!(
            "cargo::error=the window's QML would not load (qmllint, docs/qml.md \"Checks at build \
             time\"); a line qmllint gets wrong can say `// qmllint disable <category>`"
        );
    }
}

/// qmllint's report as one line per finding: `file:line:column: message`, a hint that follows
/// (`Did you mean "color"?`) appended; the source excerpts dropped. A report of another shape is
/// kept line by line.
pub(crate) fn findings(report: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut after_finding = false;
    for line in report.lines() {
        if let Some(finding) = line.strip_prefix("Warning: ") {
            out.push(finding.to_owned());
            after_finding = true;
        } else if let Some(hint) = line.strip_prefix("Info: ") {
            match out.last_mut() {
                Some(last) if after_finding => last.push_str(&format!(" ({hint})")),
                _ => out.push(hint.to_owned()),
            }
        } else if is_located(line) {
            // A syntax error: printed without a severity.
            out.push(line.to_owned());
            after_finding = true;
        }
    }
    if out.is_empty() {
        return report
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
    }
    out
}

/// `<file>.qml:<line>:<column>: ...` at the start of the line.
fn is_located(line: &str) -> bool {
    let Some((file, rest)) = line.split_once(".qml:") else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    !file.starts_with(char::is_whitespace)
        && parts.next().is_some_and(|n| n.parse::<u32>().is_ok())
        && parts.next().is_some_and(|n| n.parse::<u32>().is_ok())
}

/// Runs `qmllint` with `imports` on its import path over `files`, the categories that do not stop
/// a file from loading disabled. `Err`: qmllint's report (it failed, or could not run).
pub(crate) fn qmllint_fatal(
    qmllint: &Path,
    imports: &[PathBuf],
    files: &[PathBuf],
) -> Result<(), String> {
    if files.is_empty() {
        return Ok(());
    }
    let known = Command::new(qmllint)
        .arg("--help")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", qmllint.display()))?;
    let help = String::from_utf8_lossy(&known.stdout);
    let mut cmd = Command::new(qmllint);
    // Only the options this Qt has: another version names its categories differently, and an
    // unknown option is an error.
    for category in NOT_FATAL {
        if help.contains(&format!("--{category} <level>")) {
            cmd.args([format!("--{category}"), "disable".to_owned()]);
        }
    }
    for dir in imports {
        cmd.arg("-I").arg(dir);
    }
    let out = cmd
        .args(files)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", qmllint.display()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Qt's qmllint, beside the `qmake` cxx-qt-build uses (`QMAKE`, else `qmake6`, else `qmake`).
pub(crate) fn find_qmllint() -> Result<PathBuf, String> {
    let candidates: Vec<String> = match std::env::var("QMAKE") {
        Ok(q) => vec![q],
        Err(_) => vec!["qmake6".to_owned(), "qmake".to_owned()],
    };
    for qmake in &candidates {
        let Ok(out) = Command::new(qmake)
            .args(["-query", "QT_INSTALL_BINS"])
            .output()
        else {
            continue;
        };
        if !out.status.success() {
            continue;
        }
        let bins = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let qmllint = Path::new(&bins).join("qmllint");
        if qmllint.is_file() {
            return Ok(qmllint);
        }
        return Err(format!(
            "{} is missing (Debian: qt6-declarative-dev-tools)",
            qmllint.display()
        ));
    }
    Err(format!("none of {candidates:?} runs (`qmake -query`)"))
}

/// The C++ names cxx-qt gives a property's or parameter's type in `plugin.qmltypes`, and the QML
/// types qmllint knows them by: without this, reading `model.count` fails with `Type
/// "::std::int32_t" of property "count" not found`.
const CXX_TYPES: &[(&str, &str)] = &[
    ("::std::int8_t", "qint8"),
    ("::std::uint8_t", "quint8"),
    ("::std::int16_t", "short"),
    ("::std::uint16_t", "ushort"),
    ("::std::int32_t", "int"),
    ("::std::uint32_t", "uint"),
    ("::std::int64_t", "qlonglong"),
    ("::std::uint64_t", "qulonglong"),
    ("::rust::isize", "qlonglong"),
    ("::rust::usize", "qulonglong"),
];

/// A copy of the exported QML modules (`qml_modules` -> `qml_modules_lint` beside it) that qmllint
/// reads as the engine sees them. cxx-qt's `plugin.qmltypes` names C++ integer types
/// ([`CXX_TYPES`]) and gives no `prototype`, so qmllint neither resolves an `int` property nor
/// knows a `RestModel` is a `QObject` (a `RestModel {}` inside an `Item` is "of incompatible
/// type") or a list model. The copy says `int`, `QObject` (`QAbstractListModel` for a type with
/// `rowCount`) and `depends QtQml.Models` (where qmllint finds `QAbstractListModel`). Each file
/// is written whole and renamed into place, so builds running side by side never read half of
/// one; object files are not copied.
pub(crate) fn lintable_modules(modules: &Path) -> Result<PathBuf, String> {
    let copy = modules.with_file_name("qml_modules_lint");
    copy_lintable(modules, &copy)
        .map_err(|e| format!("cannot copy {} for qmllint: {e}", modules.display()))?;
    Ok(copy)
}

fn copy_lintable(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dest) = (entry.path(), to.join(entry.file_name()));
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() {
            copy_lintable(&src, &dest)?;
        } else if name.ends_with(".o") {
            continue;
        } else {
            let mut bytes = std::fs::read(&src)?;
            if name.ends_with(".qmltypes") {
                bytes = lintable_qmltypes(&String::from_utf8_lossy(&bytes)).into_bytes();
            } else if name == "qmldir" {
                bytes = lintable_qmldir(&String::from_utf8_lossy(&bytes)).into_bytes();
            }
            let temp = to.join(format!(".{name}.{}", std::process::id()));
            std::fs::write(&temp, bytes)?;
            std::fs::rename(&temp, &dest)?;
        }
    }
    Ok(())
}

/// `plugin.qmltypes` with QML type names for [`CXX_TYPES`] and a `prototype` on every component.
pub(crate) fn lintable_qmltypes(text: &str) -> String {
    let mut text = text.to_owned();
    for (cxx, qml) in CXX_TYPES {
        text = text.replace(&format!("\"{cxx}\""), &format!("\"{qml}\""));
    }
    let mut parts = text.split("    Component {");
    let mut out = parts.next().unwrap_or_default().to_owned();
    for component in parts {
        out.push_str("    Component {");
        if component.contains("prototype:") {
            out.push_str(component);
            continue;
        }
        let prototype = if component.contains("name: \"rowCount\"") {
            "QAbstractListModel"
        } else {
            "QObject"
        };
        // First in the component's body: right after its `Component {` line.
        match component.split_once('\n') {
            Some((head, body)) => {
                out.push_str(&format!(
                    "{head}\n        prototype: \"{prototype}\"\n{body}"
                ));
            }
            None => out.push_str(component),
        }
    }
    out
}

/// A module's `qmldir` that also names `QtQml.Models` as a dependency (once).
pub(crate) fn lintable_qmldir(text: &str) -> String {
    if text.lines().any(|l| l.trim() == "depends QtQml.Models") {
        return text.to_owned();
    }
    let mut out = text.trim_end().to_owned();
    out.push_str("\ndepends QtQml.Models\n");
    out
}

/// Where cxx-qt-build exports every crate's QML module (`qmldir`, `plugin.qmltypes`, the QML
/// files), looked for where it puts it: `CXX_QT_EXPORT_DIR`, else `CARGO_TARGET_DIR/cxxqt`, else
/// the target dir above `OUT_DIR` (the first ancestor cargo marked with `CACHEDIR.TAG`);
/// `qml_modules` inside. The first that holds `QmlBridge` (the framework's module every app
/// imports) is it: a relative `CARGO_TARGET_DIR` names another directory from here.
fn find_qml_modules() -> Result<PathBuf, String> {
    let env = |name: &str| std::env::var_os(name).map(PathBuf::from);
    let above_out_dir = env("OUT_DIR").and_then(|out| {
        out.ancestors()
            .find(|d| d.join("CACHEDIR.TAG").exists() || d.join(".rustc_info.json").exists())
            .map(|d| d.join("cxxqt"))
    });
    let candidates: Vec<PathBuf> = [
        env("CXX_QT_EXPORT_DIR"),
        env("CARGO_TARGET_DIR").map(|t| t.join("cxxqt")),
        above_out_dir,
    ]
    .into_iter()
    .flatten()
    .map(|base| base.join("qml_modules"))
    .collect();
    find_qml_modules_in(&candidates)
}

/// The first of `candidates` that holds the `QmlBridge` module.
fn find_qml_modules_in(candidates: &[PathBuf]) -> Result<PathBuf, String> {
    candidates
        .iter()
        .find(|m| m.join("QmlBridge/qmldir").is_file())
        .cloned()
        .ok_or_else(|| {
            format!("no QmlBridge module (is qmlbridge-qt a dependency?) in {candidates:?}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `files` (name, text) into a temporary directory; returns it and their paths.
    fn qml(files: &[(&str, &str)]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let paths = files
            .iter()
            .map(|(name, text)| {
                let p = dir.path().join(name);
                std::fs::write(&p, text).unwrap();
                p
            })
            .collect();
        (dir, paths)
    }

    fn lint(files: &[PathBuf]) -> Result<(), String> {
        let qmllint = find_qmllint().expect("Qt's qmllint (scripts/install-deps.sh build)");
        qmllint_fatal(&qmllint, &[], files)
    }

    const GOOD: &str = "import QtQuick\n\nItem {\n    Rectangle { color: \"red\" }\n}\n";

    #[test]
    fn what_the_engine_would_refuse_fails_naming_file_and_line() {
        let cases = [
            // qmlcachegen catches this one too; the rest it compiled.
            (
                "Syntax.qml",
                "import QtQuick\n\nItem {\n    Rectangle {\n}\n",
                ":6:1:",
            ),
            (
                "Property.qml",
                "import QtQuick\n\nItem {\n    Rectangle { colour: \"red\" }\n}\n",
                ":4:17: Binding assigned to \"colour\"",
            ),
            (
                "Type.qml",
                "import QtQuick\n\nItem {\n    Rectanglez {}\n}\n",
                ":4:5: Rectanglez was not found",
            ),
            (
                "Import.qml",
                "import QtQuick\n\nItem {\n    Button { text: \"x\" }\n}\n",
                ":4:5: Button was not found",
            ),
            (
                "BadImport.qml",
                "import QtQuick\nimport QtQuick.Controlz\n\nItem {}\n",
                ":2:1: Warnings occurred while importing module \"QtQuick.Controlz\"",
            ),
        ];
        for (name, text, want) in cases {
            let (_dir, files) = qml(&[("Main.qml", GOOD), (name, text)]);
            let report = lint(&files).expect_err(name);
            let at = format!("{}{want}", files[1].display());
            assert!(report.contains(&at), "{name}: want {at:?} in:\n{report}");
            assert!(
                !report.contains(&format!("{}:", files[0].display())),
                "{name}: the good file is not named:\n{report}"
            );
            // What cargo shows: one line per finding, each starting with the file and line.
            let lines = findings(&report);
            assert!(
                lines.iter().any(|l| l.starts_with(&at)),
                "{name}: {lines:?}"
            );
        }
    }

    /// cxx-qt's exported module as qmllint reads it: `RestModel {}` in an `Item`, its `count`
    /// read as an `int`, a `ListView` over it and a subscription's `bool` are fine, while a
    /// misspelt property still fails. (On the module as exported, the first three failed:
    /// "Cannot assign to default property of incompatible type", `Type "::std::int32_t" of
    /// property "count" not found`.)
    #[test]
    fn the_frameworks_types_read_as_the_engine_sees_them() {
        let Ok(exported) = find_qml_modules_in(&[
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/cxxqt/qml_modules")
        ]) else {
            eprintln!("skipped: no QmlBridge module exported (build qmlbridge-qt first)");
            return;
        };
        let Ok(qmllint) = find_qmllint() else {
            eprintln!("skipped: no qmllint");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let modules = dir.path().join("qml_modules");
        copy_lintable(&exported, &modules).unwrap();
        let copy = lintable_modules(&modules).unwrap();
        let body = "    RestModel { id: probe; resource: \"x\" }\n    MercureSubscription { id: sub; topics: [\"a\"] }\n    ListView { model: probe }\n    property int n: probe.count\n    property bool c: sub.connected\n";
        let (_d, fine) = qml(&[(
            "Fine.qml",
            &format!("import QtQuick\nimport QmlBridge\n\nItem {{\n{body}}}\n"),
        )]);
        assert_eq!(
            qmllint_fatal(&qmllint, std::slice::from_ref(&copy), &fine),
            Ok(())
        );
        let (_d, wrong) = qml(&[(
            "Wrong.qml",
            &format!(
                "import QtQuick\nimport QmlBridge\n\nItem {{\n{body}    Text {{ colr: \"red\" }}\n}}\n"
            ),
        )]);
        let report = qmllint_fatal(&qmllint, &[copy], &wrong).unwrap_err();
        assert!(report.contains("colr"), "{report}");
    }

    #[test]
    fn findings_are_one_line_each_with_the_hint() {
        let report = "Warning: /a/qml/Main.qml:4:17: Binding assigned to \"colour\", but no property \"colour\" exists in the current element.
    Rectangle { colour: \"red\" }
                ^^^^^^
Info: Did you mean \"color\"?
    Rectangle { color: \"red\" }
                ^^^^^
/a/qml/Page.qml:7:1: Expected token `}'
";
        assert_eq!(
            findings(report),
            [
                "/a/qml/Main.qml:4:17: Binding assigned to \"colour\", but no property \"colour\" exists in the current element. (Did you mean \"color\"?)",
                "/a/qml/Page.qml:7:1: Expected token `}'",
            ]
        );
        assert_eq!(findings("cannot run qmllint\n"), ["cannot run qmllint"]);
    }

    #[test]
    fn style_findings_do_not_fail_the_build() {
        // Unqualified access loads (an id of the file that instantiates this one, a delegate's
        // injected `index`, looked up at run time); make test's full qmllint reports it (and
        // exits 255 on this file).
        let (_dir, files) = qml(&[(
            "Main.qml",
            "import QtQuick\n\nItem {\n    width: page.width\n    Repeater { model: 2; Text { text: index } }\n}\n",
        )]);
        lint(&files).unwrap();
        let (_dir, files) = qml(&[("Main.qml", GOOD)]);
        lint(&files).unwrap();
    }
}
