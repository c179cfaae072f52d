//! `qmlbridge lint` as a user runs it: the findings on stdout as `file:line:col: message` and
//! exit 1, exit 0 when clean, exit 2 for a path that does not exist (docs/qml.md).

use std::process::Command;

fn lint(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qmlbridge"))
        .arg("lint")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn findings_exit_1_clean_exit_0_missing_path_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let qml = dir.path().join("qml");
    std::fs::create_dir_all(qml.join("parts")).unwrap();
    std::fs::write(
        qml.join("parts/Row.qml"),
        "import QtQuick\nItem {\n    Text { text: model.title }\n}\n",
    )
    .unwrap();
    // Without a path: `qml` under the current directory.
    let (code, stdout, stderr) = lint(dir.path(), &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("qml/parts/Row.qml:3:12: Text `text` is bound to `model.title`"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stderr.contains("1 finding"), "{stderr}");

    std::fs::write(
        qml.join("parts/Row.qml"),
        "import QtQuick\nItem {\n    Text { text: model.title; textFormat: Text.PlainText }\n}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = lint(dir.path(), &["qml/parts/Row.qml"]);
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");

    let (code, _, stderr) = lint(dir.path(), &["qml", "nowhere"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("nowhere does not exist"), "{stderr}");
}
