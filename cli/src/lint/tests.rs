//! The lint rule on real QML: what it flags, what it leaves, the syntax it must read through, and
//! the framework's own QML, which must be clean.

use super::*;

/// Lints `files` (name, text) written into a fresh directory; each finding as `name:line:col`.
fn run(files: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    lint(&[dir.path().to_path_buf()])
        .unwrap()
        .iter()
        .map(|f| {
            let name = f.path.strip_prefix(dir.path()).unwrap().display();
            format!("{name}:{}:{}", f.line, f.col)
        })
        .collect()
}

fn one(text: &str) -> Vec<String> {
    run(&[("Main.qml", text)])
}

const HEADER: &str = "import QtQuick\nimport QtQuick.Controls\n";

#[test]
fn a_label_bound_to_data_without_text_format_is_flagged_where_its_text_is() {
    // A list delegate showing a record's title, as apps wrote it before the rule.
    let qml = format!(
        "{HEADER}ItemDelegate {{\n    id: root\n    required property string title\n    contentItem: Label {{\n        text: root.title\n        elide: Text.ElideRight\n    }}\n}}\n"
    );
    assert_eq!(one(&qml), ["Main.qml:7:9"]);
    let fixed = qml.replace("elide:", "textFormat: Text.PlainText\n        elide:");
    assert_eq!(one(&fixed), Vec::<String>::new());
}

#[test]
fn the_message_names_the_element_the_binding_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Row.qml");
    std::fs::write(&file, "Item {\n  Text { text: model.title }\n}\n").unwrap();
    let findings = lint(std::slice::from_ref(&file)).unwrap();
    assert_eq!(findings.len(), 1);
    let line = findings[0].to_string();
    assert!(
        line.starts_with(&format!(
            "{}:2:10: Text `text` is bound to `model.title` (not a literal)",
            file.display()
        )),
        "{line}"
    );
    assert!(line.contains("add `textFormat: Text.PlainText`"), "{line}");
}

#[test]
fn any_explicit_text_format_is_a_choice_made() {
    for format in [
        "Text.PlainText",
        "Text.StyledText",
        "Label.RichText",
        "root.format",
    ] {
        let qml = format!("Item {{ Label {{ text: model.body; textFormat: {format} }} }}");
        assert_eq!(one(&qml), Vec::<String>::new(), "{format}");
    }
}

#[test]
fn literals_and_translations_of_literals_show_no_data() {
    for value in [
        "\"Items\"",
        "'single'",
        "qsTr(\"Nothing to do.\")",
        "qsTr(\"Add\", \"button\")",
        "qsTranslate(\"Main\", \"Add\")",
        "qsTrId(\"add-button\")",
        "\"a\" + 'b' + qsTr(\"c\")",
        "(qsTr(\"x\"))",
        "42",
        "`no substitution`",
        "\"\\u2715\"",
        "\"<b>markup we wrote</b>\"",
    ] {
        let qml = format!("Item {{\n    Label {{\n        text: {value}\n    }}\n}}\n");
        assert_eq!(one(&qml), Vec::<String>::new(), "{value}");
    }
}

#[test]
fn anything_else_is_data() {
    for value in [
        "root.title",
        "model.title",
        "title",
        "qsTr(\"%1 items\").arg(count)",
        "qsTr(\"Hello \") + name",
        "`${user.name}`",
        "{ return model.title; }",
        "window.items.error.length > 0 ? window.items.error : qsTr(\"ok\")",
        "JSON.stringify(row)",
    ] {
        let qml = format!("Item {{\n    Label {{\n        text: {value}\n    }}\n}}\n");
        assert_eq!(one(&qml), ["Main.qml:3:9"], "{value}");
    }
}

#[test]
fn text_edit_and_text_area_are_held_to_the_rule_and_told_their_enum() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Log.qml");
    std::fs::write(
        &file,
        "Item {\n  TextArea { text: log.tail; readOnly: true }\n  TextEdit { text: x }\n}\n",
    )
    .unwrap();
    let findings = lint(std::slice::from_ref(&file)).unwrap();
    assert_eq!(findings.len(), 2);
    assert!(
        findings[0].message.contains("TextEdit.PlainText"),
        "{}",
        findings[0]
    );
    assert!(
        findings[1].message.starts_with("TextEdit `text`"),
        "{}",
        findings[1]
    );
}

#[test]
fn controls_that_draw_plain_text_and_text_input_are_not_checked() {
    let qml = "Item {\n  Button { text: model.name }\n  ItemDelegate { text: model.name }\n  CheckBox { text: model.name }\n  TextField { text: model.name }\n}\n";
    assert_eq!(one(qml), Vec::<String>::new());
}

#[test]
fn qualified_types_count() {
    let qml =
        "import QtQuick.Controls as QQC2\nQQC2.Page {\n  QQC2.Label { text: model.title }\n}\n";
    assert_eq!(one(qml), ["Main.qml:3:16"]);
}

#[test]
fn comments_and_strings_do_not_confuse_the_reader() {
    let qml = r#"// Label { text: model.title }
import QtQuick
/* Text {
   text: model.body
} */
Item {
    property string brace: "} Label { text: x }"
    property string other: '{'
    readonly property var pattern: /[{}]"/g
    function strip(s) { return s.replace(/[{}]/g, "") / 2 }
    Label { text: "}" }   // Text { text: data }
    Text {
        text: root.body // the only one
    }
}
"#;
    assert_eq!(one(qml), ["Main.qml:13:9"]);
}

#[test]
fn objects_nested_anywhere_are_checked() {
    let qml = r#"import QtQuick
import QtQuick.Controls
ApplicationWindow {
    readonly property RestModel items: RestModel { resource: "items"; roles: ["title", "done"] }
    header: ToolBar {
        RowLayout { Label { text: BackendConnection.url } }
    }
    ListView {
        model: items
        delegate: ItemDelegate {
            contentItem: Column {
                Text { text: model.title; textFormat: Text.PlainText }
                Label { text: model.note }
            }
        }
    }
    states: [
        State { name: "a" },
        State { PropertyChanges { target: x; opacity: 0 } }
    ]
    data: [Text { text: model.extra }]
    Behavior on opacity { NumberAnimation { duration: 100 } }
    font { bold: true; family: "x" }
    Rectangle { Text { text: tooltip } }
}
"#;
    assert_eq!(
        one(qml),
        [
            "Main.qml:6:29",
            "Main.qml:13:25",
            "Main.qml:21:19",
            "Main.qml:24:24"
        ]
    );
}

#[test]
fn members_of_every_kind_are_read_past() {
    let qml = r#"import QtQuick
pragma ComponentBehavior: Bound
Item {
    id: root
    required property var itemId
    required title
    readonly property list<string> names: ["a", "b"]
    default property alias content: inner.data
    signal toggled
    signal moved(int from, int to)
    enum Kind { Plain, Rich = 3 }
    function describe(a: int, b): string {
        if (a > b) { return "{"; }
        return `${a}}`;
    }
    onToggled: if (root.visible)
        root.describe(1, 2)
    else
        console.log("}")
    property int total: 1 +
        2
        - 3
    property string mixed: root.visible
        ? "yes"
        : "no"
    Keys.onPressed: (event) => { event.accepted = true }
    Component.onCompleted: { root.toggled(); }
    Label { text: root.mixed }
}
"#;
    assert_eq!(one(qml), ["Main.qml:28:13"]);
}

#[test]
fn inline_components_are_checked_and_are_text_elements_when_their_root_is() {
    let qml = r#"import QtQuick
import QtQuick.Controls
Item {
    component Cell: Label { elide: Text.ElideRight }
    component SafeCell: Label { textFormat: Text.PlainText }
    component Card: Rectangle {
        Text { text: model.card }
    }
    Cell { text: model.a }
    SafeCell { text: model.b }
    Card {}
}
"#;
    assert_eq!(one(qml), ["Main.qml:7:16", "Main.qml:9:12"]);
}

#[test]
fn a_file_whose_root_is_a_text_element_is_one_to_the_files_using_it() {
    let found = run(&[
        ("Title.qml", "import QtQuick\nText { font.bold: true }\n"),
        (
            "Plain.qml",
            "import QtQuick\nText { textFormat: Text.PlainText }\n",
        ),
        (
            "Heading.qml",
            "import QtQuick\nTitle { font.pixelSize: 20 }\n",
        ),
        (
            "Main.qml",
            "import QtQuick\nItem {\n  Title { text: model.a }\n  Plain { text: model.b }\n  Heading { text: model.c }\n}\n",
        ),
    ]);
    assert_eq!(found, ["Main.qml:3:11", "Main.qml:5:13"]);
}

#[test]
fn directories_are_searched_recursively_for_qml_files_only() {
    let found = run(&[
        ("a/b/Deep.qml", "Item { Text { text: x } }"),
        ("a/notes.txt", "Item { Text { text: x } }"),
        (".hidden/H.qml", "Item { Text { text: x } }"),
    ]);
    assert_eq!(found, ["a/b/Deep.qml:1:15"]);
}

#[test]
fn a_missing_path_is_bad_input() {
    let err = lint(&[PathBuf::from("/nonexistent/qml")]).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string().contains("/nonexistent/qml does not exist"),
        "{err}"
    );
}

#[test]
fn qml_it_cannot_read_is_bad_input_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Broken.qml");
    for (text, place) in [
        ("Item {\n  Label { text: x\n", ":2:"),
        (
            "Item {\n  property string s: \"open\n}\n",
            ":2:22: cannot read this QML: unterminated string",
        ),
        (
            "Item {\n  /* never closed\n}\n",
            ":2:3: cannot read this QML: unterminated comment",
        ),
        (
            "Item { } Item { }",
            ":1:10: cannot read this QML: unexpected text after the root object",
        ),
    ] {
        std::fs::write(&file, text).unwrap();
        let err = lint(std::slice::from_ref(&file)).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{text}");
        let message = err.to_string();
        assert!(
            message.starts_with(&file.display().to_string()),
            "{message}"
        );
        assert!(message.contains(place), "{text}: {message}");
    }
}

/// The framework's own QML: its components and tests and the test fixture's. The example apps'
/// QML is the Makefile's to check (`QML_DIRS`): a framework crate names no app.
#[test]
fn the_frameworks_qml_is_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dirs: Vec<PathBuf> = ["qml", "host/fixture/qml"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    let findings = lint(&dirs).unwrap();
    let text: Vec<String> = findings.iter().map(ToString::to_string).collect();
    assert!(findings.is_empty(), "{}", text.join("\n"));
}
