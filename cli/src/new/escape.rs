//! Every target language a value of `qmlbridge new` is written into, with its one escaping rule
//! (or its refusal): Rust, QML (JavaScript), SQL, TOML, Makefiles, shell/TOML/Makefile comments,
//! XML (the icon, the backend's page) and Markdown (the app's README). The template engine
//! (`render.rs`) exposes each as a filter and prints nothing that did not pass one, so a value
//! cannot reach a file unescaped.
//!
//! A refusal is [`Refused`]: a value no escape can carry in that position (a line break in a
//! comment, a backslash in a Makefile variable). Such a value is bad input, exit 2.

use std::fmt::Write as _;

/// Why a value cannot be written into a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refused(pub(crate) String);

type Escaped = Result<String, Refused>;

/// The explicit bidirectional embedding, override and isolate controls (Unicode's UAX #9):
/// text around them reads differently from how compilers read it ("Trojan Source",
/// CVE-2021-42574), and rustc refuses them in comments and literals.
///
/// See: <https://www.unicode.org/reports/tr9/#Explicit_Directional_Formatting_Characters>
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that break a line somewhere: JavaScript's line terminators (LF, CR, U+2028,
/// U+2029: ECMA-262 §12.3) are the widest set, and every control character.
pub(crate) fn is_line_break(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Characters written as an escape inside a string literal: controls, line and paragraph
/// separators, bidirectional controls and marks, zero-width and byte-order marks (all
/// invisible, so an escape is what a reader of the source should see).
fn invisible(c: char) -> bool {
    is_line_break(c)
        || is_bidi_control(c)
        || matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{061C}' | '\u{FEFF}' | '\u{00AD}'
        )
}

fn refuse_if(value: &str, target: &str, bad: impl Fn(char) -> bool, why: &str) -> Escaped {
    match value.chars().find(|&c| bad(c)) {
        Some(c) => Err(Refused(format!(
            "{value:?} cannot be written in {target}: it contains U+{:04X} ({why})",
            c as u32
        ))),
        None => Ok(value.to_owned()),
    }
}

/// A Rust string literal, quotes included (`\u{…}` for the invisible characters).
///
/// See: <https://doc.rust-lang.org/reference/tokens.html#string-literals>
pub(crate) fn rust_str(value: &str) -> String {
    quoted(value, |out, c| {
        let _ = write!(out, "\\u{{{:x}}}", c as u32);
    })
}

/// Text inside a Rust `//` or `//!` comment: one line, no bidirectional control (rustc's
/// `text_direction_codepoint_in_comment` is an error by default).
pub(crate) fn rust_comment(value: &str) -> Escaped {
    refuse_if(
        value,
        "a Rust comment",
        |c| c.is_control() || is_bidi_control(c),
        "a control or bidirectional character",
    )
}

/// A JavaScript (QML) string literal, quotes included; `\uXXXX` for the invisible characters,
/// U+2028/U+2029 among them (line terminators to QML's parser).
///
/// See: <https://tc39.es/ecma262/#sec-literals-string-literals>
pub(crate) fn qml_str(value: &str) -> String {
    quoted(value, |out, c| {
        let mut units = [0u16; 2];
        for u in c.encode_utf16(&mut units) {
            let _ = write!(out, "\\u{u:04x}");
        }
    })
}

/// Text inside a QML `//` comment: no JavaScript line terminator, no control.
pub(crate) fn qml_comment(value: &str) -> Escaped {
    refuse_if(
        value,
        "a QML comment",
        |c| is_line_break(c) || is_bidi_control(c),
        "a line break or control",
    )
}

/// An SQL identifier, double-quoted (`"` doubled). SQLite cannot hold NUL in a name.
///
/// See: <https://sqlite.org/lang_keywords.html>
pub(crate) fn sql_ident(value: &str) -> Escaped {
    refuse_if(value, "an SQL identifier", |c| c == '\0', "NUL")?;
    Ok(format!("\"{}\"", value.replace('"', "\"\"")))
}

/// Text inside an SQL `--` comment: one line.
pub(crate) fn sql_comment(value: &str) -> Escaped {
    refuse_if(
        value,
        "an SQL comment",
        is_line_break,
        "a line break or control",
    )
}

/// A TOML basic string, quotes included (`\uXXXX` for controls and the invisible characters).
///
/// See: <https://toml.io/en/v1.0.0#string>
pub(crate) fn toml_str(value: &str) -> String {
    quoted(value, |out, c| {
        let _ = write!(out, "\\U{:08X}", c as u32);
    })
}

/// A double-quoted literal in the C family's escaping, which Rust, JavaScript and TOML share
/// (`\"`, `\\`, `\n`, `\t`), with each language's own `unicode` escape for an invisible
/// character.
fn quoted(value: &str, unicode: impl Fn(&mut String, char)) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if invisible(c) => unicode(&mut out, c),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text inside a `#` comment of TOML, a shell script or a Makefile: no control character (TOML
/// allows none but tab there; a line break would end the comment anywhere) and not ending in a
/// backslash (a Makefile comment would go on to the next line).
pub(crate) fn hash_comment(value: &str) -> Escaped {
    refuse_if(
        value,
        "a # comment",
        |c| is_line_break(c) || is_bidi_control(c),
        "a line break or control",
    )?;
    if value.ends_with('\\') {
        return Err(Refused(format!(
            "{value:?} cannot end a Makefile comment line: it ends in a backslash"
        )));
    }
    Ok(value.to_owned())
}

/// The value of a Makefile variable (`VAR ?= value`) that recipes use through the environment
/// (`"$$VAR"`), so the shell never reads it as code: `$` doubled, `#` escaped; a backslash or
/// a line break has no escape there, and make strips leading and trailing blanks.
///
/// See: <https://www.gnu.org/software/make/manual/html_node/Setting.html>
pub(crate) fn make_value(value: &str) -> Escaped {
    refuse_if(
        value,
        "a Makefile variable",
        |c| c.is_control() || c == '\\',
        "a backslash or control",
    )?;
    if value.trim() != value {
        return Err(Refused(format!(
            "{value:?} cannot be a Makefile variable's value: make strips its leading and trailing blanks"
        )));
    }
    Ok(value.replace('$', "$$").replace('#', "\\#"))
}

/// A shell word: as it is when it holds only characters no shell treats specially, else in
/// single quotes (`'` as `'\''`). Controls are refused: a recipe or a command is one line.
///
/// See: <https://pubs.opengroup.org/onlinepubs/9799919799/utilities/V3_chap02.html#tag_19_02_02>
pub(crate) fn sh_word(value: &str) -> Escaped {
    refuse_if(
        value,
        "a shell command",
        |c| c.is_control(),
        "a control character",
    )?;
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        return Ok(value.to_owned());
    }
    Ok(format!("'{}'", value.replace('\'', "'\\''")))
}

/// A shell word in a Makefile recipe: [`sh_word`], with `$` doubled (make expands the recipe
/// before the shell reads it).
pub(crate) fn make_sh_word(value: &str) -> Escaped {
    Ok(sh_word(value)?.replace('$', "$$"))
}

/// Text in XML or HTML (the icon's letter, the backend's page): the five entities; a control
/// character is not allowed in XML 1.0 at all.
///
/// See: <https://www.w3.org/TR/xml/#charsets>
pub(crate) fn xml_text(value: &str) -> Escaped {
    refuse_if(value, "XML", |c| c.is_control(), "a control character")?;
    Ok(value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;"))
}

/// Markdown text: every ASCII punctuation character backslash-escaped (CommonMark allows that
/// for all of them, so no character starts emphasis, a link or HTML).
///
/// See: <https://spec.commonmark.org/0.31.2/#backslash-escapes>
pub(crate) fn md_text(value: &str) -> Escaped {
    refuse_if(
        value,
        "a Markdown line",
        is_line_break,
        "a line break or control",
    )?;
    let mut out = String::new();
    for c in value.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

/// A Markdown code span: a backtick fence longer than any run of backticks inside, with a space
/// inside the fence when the value starts or ends with a backtick.
///
/// See: <https://spec.commonmark.org/0.31.2/#code-spans>
pub(crate) fn md_code(value: &str) -> Escaped {
    refuse_if(
        value,
        "a Markdown code span",
        is_line_break,
        "a line break or control",
    )?;
    let longest = value.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') {
        " "
    } else {
        ""
    };
    Ok(format!("{fence}{pad}{value}{pad}{fence}"))
}

/// A Markdown link destination in angle brackets (spaces allowed), `<`, `>` and `\` escaped.
///
/// See: <https://spec.commonmark.org/0.31.2/#link-destination>
pub(crate) fn md_url(value: &str) -> Escaped {
    refuse_if(
        value,
        "a Markdown link",
        is_line_break,
        "a line break or control",
    )?;
    let mut out = String::from("<");
    for c in value.chars() {
        if matches!(c, '<' | '>' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('>');
    Ok(out)
}

/// An identifier as the generator derives them (`[A-Za-z_][A-Za-z0-9_]*`, ASCII): the names of
/// structs, fields, QML ids and types. The spec's rules made them so; this is the guard that a
/// template never prints anything else where code expects a name.
pub(crate) fn ident(value: &str, target: &str, keywords: &[&[&str]]) -> Escaped {
    let ok = value
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        return Err(Refused(format!(
            "{value:?} is not an identifier in {target}"
        )));
    }
    if keywords.iter().any(|list| list.contains(&value)) {
        return Err(Refused(format!("{value:?} is a keyword in {target}")));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals() {
        assert_eq!(rust_str(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(rust_str("x\u{202E}y\u{2028}"), r#""x\u{202e}y\u{2028}""#);
        assert_eq!(rust_str("Café ☕"), "\"Café ☕\"");
        assert_eq!(
            qml_str("a\"\\\u{2028}\u{1F600}"),
            "\"a\\\"\\\\\\u2028\u{1F600}\""
        );
        assert_eq!(qml_str("\u{200F}"), "\"\\u200f\"");
        assert_eq!(toml_str("a\"\\\u{7}"), "\"a\\\"\\\\\\U00000007\"");
    }

    #[test]
    fn comments_refuse_line_breaks_and_bidi() {
        for bad in ["a\nb", "a\rb", "x\u{202E}y", "\u{2066}"] {
            assert!(rust_comment(bad).is_err(), "{bad:?}");
            assert!(qml_comment(bad).is_err(), "{bad:?}");
            assert!(hash_comment(bad).is_err(), "{bad:?}");
        }
        assert!(qml_comment("a\u{2028}b").is_err());
        assert!(
            rust_comment("a\u{2028}b").is_ok(),
            "not a line break in Rust"
        );
        assert!(hash_comment("ends in \\").is_err());
        assert!(sql_comment("a\nb").is_err());
        assert_eq!(
            rust_comment("Café — ☕ \u{200F}").unwrap(),
            "Café — ☕ \u{200F}"
        );
    }

    #[test]
    fn sql_and_make() {
        assert_eq!(sql_ident("or\"der").unwrap(), "\"or\"\"der\"");
        assert!(sql_ident("a\0").is_err());
        assert_eq!(
            make_value("/tmp/a b/$x#1").unwrap(),
            "/tmp/a b/$$x\\#1".to_owned()
        );
        assert!(make_value("/tmp/a\\b").is_err());
        assert!(make_value("/tmp/a\nb").is_err());
        assert!(make_value("/tmp/a ").is_err());
    }

    #[test]
    fn shell_words() {
        assert_eq!(sh_word("bookmarks-backend").unwrap(), "bookmarks-backend");
        assert_eq!(sh_word("a b").unwrap(), "'a b'");
        assert_eq!(sh_word("it's").unwrap(), "'it'\\''s'");
        assert_eq!(make_sh_word("$x").unwrap(), "'$$x'");
        assert!(sh_word("a\nb").is_err());
    }

    #[test]
    fn xml_and_markdown() {
        assert_eq!(xml_text("<A&'\">").unwrap(), "&lt;A&amp;&#39;&quot;&gt;");
        assert_eq!(md_text("*x* [y](z)").unwrap(), "\\*x\\* \\[y\\]\\(z\\)");
        assert_eq!(md_code("a").unwrap(), "`a`");
        assert_eq!(md_code("a`b").unwrap(), "``a`b``");
        assert_eq!(md_code("`a").unwrap(), "`` `a ``");
        assert_eq!(md_url("/a b/<c>").unwrap(), "</a b/\\<c\\>>");
    }

    #[test]
    fn identifiers() {
        assert!(ident("bookmarkId", "QML", &[]).is_ok());
        assert!(ident("a-b", "QML", &[]).is_err());
        assert!(ident("public", "QML", &[&["public"]]).is_err());
    }
}
