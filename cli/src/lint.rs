//! `qmlbridge lint`: the QML rule that keeps data text. A `Text`, `Label`, `TextEdit` or
//! `TextArea` whose `text` is bound to anything but a literal (a string, a number, `qsTr("...")`)
//! shows data, and must say how: without an explicit `textFormat`, Qt's default
//! `Text.AutoText` renders a value that looks like markup, `<img src=...>` from any URL included
//! (docs/qml.md, "Data is text").
//!
//! `TextEdit` and `TextArea` default to plain text in Qt 6, but are held to the same rule: the
//! choice is then visible in the file and survives a change of the element. A component whose
//! root is one of these (a file `Title.qml` among the files linted, or an inline
//! `component Title: Label {}`) counts as that element unless its root sets `textFormat` itself.
//! Controls that draw their `text` through their style (`Button`, `ItemDelegate`, `CheckBox`)
//! are plain text already and not checked; `ToolTip` cannot be told, and is left to the engine's
//! network policy (docs/qml.md).

mod lex;
mod parse;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};
use lex::{Kind, Token};
use parse::Object;

/// The elements that render `text` as rich text unless told otherwise.
const TEXT_ELEMENTS: &[&str] = &["Text", "Label", "TextEdit", "TextArea"];

/// What the lint reports: a place in a file and what to do there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file, as found under the path given.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// The problem and its fix.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        write!(f, "{path}:{}:{}: {}", self.line, self.col, self.message)
    }
}

/// Lints the `.qml` files at `paths` (files, or directories searched recursively); an empty list
/// means `qml`. The findings, in file order; [`Error::Usage`] for a path that does not exist or a
/// file that is not QML this reader understands (naming the place), [`Error::Io`] for one that
/// cannot be read.
pub fn lint(paths: &[PathBuf]) -> Result<Vec<Finding>> {
    let default = [PathBuf::from("qml")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    for path in paths {
        if !path.exists() {
            return Err(Error::Usage(format!(
                "lint: {} does not exist (give .qml files or directories)",
                path.display()
            )));
        }
        collect(path, true, &mut seen, &mut files)?;
    }
    let mut documents = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(Error::io(&file))?;
        let root = parse::document(&text).map_err(|e| {
            Error::Usage(format!(
                "{}:{}:{}: cannot read this QML: {}",
                file.display(),
                e.line,
                e.col,
                e.message
            ))
        })?;
        documents.push((file, root));
    }
    // A file `Title.qml` is the type `Title` to the files beside it (and to importers).
    let files_as_types: HashMap<String, &Object> = documents
        .iter()
        .filter_map(|(path, root)| Some((path.file_stem()?.to_str()?.to_owned(), root)))
        .collect();
    let mut findings = Vec::new();
    for (path, root) in &documents {
        let mut types = files_as_types.clone();
        add_inline_components(root, &mut types);
        check(root, &types, path, &mut findings);
    }
    findings.sort_by(|a, b| (&a.path, a.line, a.col).cmp(&(&b.path, b.line, b.col)));
    Ok(findings)
}

/// `.qml` files under `path` (every file given by name), sorted per directory; hidden entries
/// skipped; a directory reached twice (symlinks) is read once.
fn collect(
    path: &Path,
    named: bool,
    seen: &mut HashSet<PathBuf>,
    out: &mut Vec<PathBuf>,
) -> Result<()> {
    let real = path.canonicalize().map_err(Error::io(path))?;
    if !seen.insert(real) {
        return Ok(());
    }
    if !path.is_dir() {
        if named || path.extension().is_some_and(|e| e == "qml") {
            out.push(path.to_path_buf());
        }
        return Ok(());
    }
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(path).map_err(Error::io(path))? {
        let entry = entry.map_err(Error::io(path))?;
        if !entry.file_name().to_string_lossy().starts_with('.') {
            entries.push(entry.path());
        }
    }
    entries.sort();
    for entry in entries {
        collect(&entry, false, seen, out)?;
    }
    Ok(())
}

fn add_inline_components<'a>(object: &'a Object, types: &mut HashMap<String, &'a Object>) {
    for (name, root) in &object.components {
        types.insert(name.clone(), root);
        add_inline_components(root, types);
    }
    for child in &object.children {
        add_inline_components(child, types);
    }
}

/// The text element `object` is (itself, or through the component it instantiates) when it
/// renders rich text by default: `None` for anything else, or when the component's root sets
/// `textFormat`.
fn text_element<'a>(object: &'a Object, types: &HashMap<String, &'a Object>) -> Option<&'a str> {
    let mut current = object;
    // A chain of components (`A.qml` is a `B`, `B.qml` a `Label`), guarded against cycles.
    for _ in 0..16 {
        if current.group {
            return None;
        }
        let base = current.base_type();
        if let Some(element) = TEXT_ELEMENTS.iter().find(|e| **e == base) {
            return Some(element);
        }
        let root = types.get(base)?;
        if root.binding("textFormat").is_some() {
            return None;
        }
        current = root;
    }
    None
}

fn check(object: &Object, types: &HashMap<String, &Object>, path: &Path, out: &mut Vec<Finding>) {
    if let (Some(element), Some(text)) = (text_element(object, types), object.binding("text"))
        && object.binding("textFormat").is_none()
        && !text.value.is_empty()
        && !is_literal(&text.value)
    {
        let enum_name = if element.starts_with("TextEdit") || element == "TextArea" {
            "TextEdit"
        } else {
            "Text"
        };
        out.push(Finding {
            path: path.to_path_buf(),
            line: text.line,
            col: text.col,
            message: format!(
                "{} `text` is bound to `{}` (not a literal) without a `textFormat`: add \
                 `textFormat: {enum_name}.PlainText` (Qt's default AutoText renders markup in \
                 data, images from any URL included; docs/qml.md)",
                object.type_name,
                excerpt(&text.value)
            ),
        });
    }
    for child in &object.children {
        check(child, types, path, out);
    }
    for (_, root) in &object.components {
        check(root, types, path, out);
    }
}

/// A value no data reaches: literals (strings, numbers) joined by `+`, each perhaps a
/// translation call on literals only (`qsTr("Add")`, `qsTranslate("ctx", "Add")`), in parentheses
/// or not. `qsTr("%1").arg(x)` is not: `x` may be anything.
fn is_literal(tokens: &[Token]) -> bool {
    let mut tokens = tokens;
    while tokens.len() >= 2 && tokens[0].text == "(" && tokens[tokens.len() - 1].text == ")" {
        tokens = &tokens[1..tokens.len() - 1];
    }
    let mut expect_operand = true;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if expect_operand {
            if matches!(t.kind, Kind::Str | Kind::Num) {
                i += 1;
            } else if let Some(n) = translation(&tokens[i..]) {
                i += n;
            } else {
                return false;
            }
        } else if t.text == "+" {
            i += 1;
        } else {
            return false;
        }
        expect_operand = !expect_operand;
    }
    !expect_operand
}

/// The length of a translation call on literals at the start of `tokens`, if there is one.
fn translation(tokens: &[Token]) -> Option<usize> {
    const CALLS: &[&str] = &[
        "qsTr",
        "qsTrId",
        "qsTranslate",
        "qsTrNoOp",
        "qsTrIdNoOp",
        "qsTranslateNoOp",
    ];
    let name = tokens.first()?;
    if name.kind != Kind::Ident || !CALLS.contains(&name.text.as_str()) {
        return None;
    }
    if tokens.get(1)?.text != "(" {
        return None;
    }
    let mut i = 2;
    loop {
        let t = tokens.get(i)?;
        match (t.kind, t.text.as_str()) {
            (_, ")") => return Some(i + 1),
            (Kind::Str | Kind::Num, _) | (_, ",") => i += 1,
            _ => return None,
        }
    }
}

/// The binding as one short line, for the message.
fn excerpt(tokens: &[Token]) -> String {
    let mut text = String::new();
    for (i, t) in tokens.iter().enumerate() {
        let joined = i == 0
            || matches!(t.text.as_str(), "." | "(" | ")" | "," | "[" | "]")
            || matches!(tokens[i - 1].text.as_str(), "." | "(" | "[" | "!");
        if !joined {
            text.push(' ');
        }
        text.push_str(&t.text);
    }
    if text.chars().count() > 60 {
        text = text.chars().take(57).collect::<String>() + "...";
    }
    text
}

#[cfg(test)]
mod tests;
