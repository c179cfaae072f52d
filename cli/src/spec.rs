//! `--resource SPEC`: `name:field:type,field:type`, parsed into a [`ResourceSpec`] and checked
//! against every place a resource's names end up (an `/api/<name>` segment and table, a Rust
//! struct, SQL columns, the list query's parameters, QML role names, JavaScript property names and
//! QML ids), so a spec that passes generates an app that builds and starts.

use crate::error::{Error, Result};

/// The resource an app gets when `new` is given no `--resource`.
pub const DEFAULT_SPEC: &str = "items:title:text";

/// A field's type, as spelled in a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `text`: a string.
    Text,
    /// `int`: a 64-bit integer.
    Int,
    /// `real`: a double.
    Real,
    /// `bool`: true/false.
    Bool,
    /// `datetime`: an RFC 3339 UTC date-time string.
    Datetime,
}

/// One field of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    /// The JSON member and column name.
    pub name: String,
    /// Its type.
    pub ty: FieldType,
}

/// One resource: `/api/<name>`, a table of the same name, a struct [`ResourceSpec::singular`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSpec {
    /// The plural name: URL segment and table.
    pub name: String,
    /// The client-writable fields (the key and timestamps are added by the generator).
    pub fields: Vec<FieldSpec>,
}

/// Field names the generator writes itself, or that QML's delegates reserve (`index`, `model`,
/// `row`, `column`: the delegate's model object has these besides the roles).
const RESERVED_FIELDS: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "index",
    "model",
    "row",
    "column",
];

/// The list query's own parameters (docs/contract.md §7, `GET /api/<name>?limit=&offset=&after=`):
/// a field of that name could not be a filter, and the backend refuses such a schema at start.
pub(crate) const LIST_PARAMETERS: &[&str] = &["limit", "offset", "after"];

/// ECMAScript's reserved words, those of strict mode (QML's JavaScript is strict) and the
/// restricted `arguments`/`eval`: a field is a JavaScript property name in its page (`{ title:
/// … }`, `row.model.title`), and QML's parser refuses some of these there (Qt 6.4: `public`).
///
/// See: <https://tc39.es/ecma262/#sec-keywords-and-reserved-words>
pub(crate) const JS_RESERVED: &[&str] = &[
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "null",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "let",
    "static",
    "implements",
    "interface",
    "package",
    "private",
    "protected",
    "public",
    "arguments",
    "eval",
    "undefined",
];

/// QML's own keywords (a document's grammar on top of JavaScript's): `pragma` is refused as a
/// property name by QML's parser.
///
/// See: <https://doc.qt.io/qt-6/qtqml-syntax-basics.html>
pub(crate) const QML_KEYWORDS: &[&str] = &[
    "pragma",
    "import",
    "property",
    "readonly",
    "required",
    "signal",
    "alias",
    "component",
    "on",
    "as",
];

/// Table-name prefixes that are not the app's: SQLite reserves `sqlite_` (`CREATE TABLE` of such
/// a name fails), the framework keeps its own tables under `qmlbridge_` (`qmlbridge_migrations`).
///
/// See: <https://sqlite.org/lang_createtable.html>
const RESERVED_TABLE_PREFIXES: &[&str] = &["sqlite_", "qmlbridge_"];

/// Rust keywords (a field is a struct field).
///
/// See: <https://doc.rust-lang.org/reference/keywords.html>
pub(crate) const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "abstract", "become", "box", "do", "final", "gen", "macro", "override",
    "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Type names a resource's struct must not take: the generated backend imports these, or they
/// are in Rust's prelude and its fields use them.
const RESERVED_STRUCTS: &[&str] = &[
    "Backend", "Datetime", "Resource", "String", "Option", "Result", "Vec", "Box", "Some", "None",
    "Ok", "Err", "Self",
];

/// Longest resource or field name (the framework's limit on a resource's URL segment).
const MAX_NAME: usize = 64;

impl FieldType {
    fn parse(s: &str) -> Option<FieldType> {
        Some(match s {
            "text" => FieldType::Text,
            "int" => FieldType::Int,
            "real" => FieldType::Real,
            "bool" => FieldType::Bool,
            "datetime" => FieldType::Datetime,
            _ => return None,
        })
    }
}

impl ResourceSpec {
    /// Parses one `--resource` value.
    pub fn parse(spec: &str) -> Result<ResourceSpec> {
        let bad = |problem: String| Error::Usage(format!("--resource {spec:?}: {problem}"));
        let (name, fields) = spec
            .split_once(':')
            .ok_or_else(|| bad("expected name:field:type[,field:type...]".to_owned()))?;
        check_resource_name(name).map_err(bad)?;
        let mut out = ResourceSpec {
            name: name.to_owned(),
            fields: Vec::new(),
        };
        for part in fields.split(',') {
            let (field, ty) = part
                .split_once(':')
                .ok_or_else(|| bad(format!("{part:?} is not field:type")))?;
            check_field_name(field).map_err(bad)?;
            let ty = FieldType::parse(ty).ok_or_else(|| {
                bad(format!(
                    "field {field}: unknown type {ty:?} (text, int, real, bool, datetime)"
                ))
            })?;
            if out.fields.iter().any(|f| f.name == field) {
                return Err(bad(format!("field {field} is listed twice")));
            }
            if let Some(other) = out
                .fields
                .iter()
                .find(|f| qml_name(&f.name) == qml_name(field))
            {
                return Err(bad(format!(
                    "fields {} and {field} would both be {}Input in QML (names that differ only \
                     in underscores collide there)",
                    other.name,
                    qml_name(field)
                )));
            }
            out.fields.push(FieldSpec {
                name: field.to_owned(),
                ty,
            });
        }
        Ok(out)
    }

    /// The singular, as a Rust type name: `bookmarks` -> `Bookmark`, `categories` -> `Category`,
    /// `bookmark_tags` -> `BookmarkTag`.
    pub fn singular(&self) -> String {
        pascal(&singular(&self.name))
    }

    /// The plural as a QML type name: `bookmark_tags` -> `BookmarkTags`.
    pub fn pascal(&self) -> String {
        pascal(&self.name)
    }

    /// The plural in camelCase, for QML ids and object names: `bookmark_tags` -> `bookmarkTags`.
    pub fn camel(&self) -> String {
        lower_first(&self.pascal())
    }

    /// The key's QML role name: `bookmarks` -> `bookmarkId`.
    pub fn key_role(&self) -> String {
        format!("{}Id", lower_first(&self.singular()))
    }
}

/// Parses every `--resource` (the default one when there is none) and checks them together.
pub(crate) fn parse_all(specs: &[String]) -> Result<Vec<ResourceSpec>> {
    let specs: Vec<&str> = if specs.is_empty() {
        vec![DEFAULT_SPEC]
    } else {
        specs.iter().map(String::as_str).collect()
    };
    let mut out: Vec<ResourceSpec> = Vec::new();
    for spec in specs {
        let r = ResourceSpec::parse(spec)?;
        if let Some(other) = out
            .iter()
            .find(|o| o.name == r.name || o.singular() == r.singular() || o.pascal() == r.pascal())
        {
            return Err(Error::Usage(format!(
                "--resource {spec:?}: resource {} collides with {} (the same name, struct or page)",
                r.name, other.name
            )));
        }
        out.push(r);
    }
    Ok(out)
}

/// A resource name: `[a-z][a-z0-9_]*` ending in `s` (a plural: its struct is the singular).
fn check_resource_name(name: &str) -> Result<(), String> {
    if !ident(name) || name.len() > MAX_NAME {
        return Err(format!(
            "resource name {name:?} is not an identifier ([a-z][a-z0-9_]*, at most {MAX_NAME})"
        ));
    }
    snake(name).map_err(|why| format!("resource name {name:?} {why}"))?;
    let single = singular(name);
    if !name.ends_with('s') || single.is_empty() || single.ends_with('_') || single == name {
        return Err(format!(
            "resource name {name:?} is not a plural (e.g. bookmarks, categories): its struct is the singular"
        ));
    }
    if let Some(prefix) = RESERVED_TABLE_PREFIXES
        .iter()
        .find(|p| name.starts_with(*p))
    {
        return Err(format!(
            "resource name {name:?} begins with {prefix}, which is not the app's (SQLite reserves \
             sqlite_, the framework's own tables are qmlbridge_)"
        ));
    }
    let ty = pascal(&single);
    if RESERVED_STRUCTS.contains(&ty.as_str()) {
        return Err(format!(
            "resource name {name:?} would make a struct {ty}, a name the backend already uses"
        ));
    }
    Ok(())
}

/// A field name: `[a-z][a-z0-9_]*`, not reserved, not a Rust keyword.
fn check_field_name(name: &str) -> Result<(), String> {
    if !ident(name) || name.len() > MAX_NAME {
        return Err(format!(
            "field name {name:?} is not an identifier ([a-z][a-z0-9_]*, at most {MAX_NAME})"
        ));
    }
    snake(name).map_err(|why| format!("field name {name:?} {why}"))?;
    if RESERVED_FIELDS.contains(&name) {
        return Err(format!(
            "field name {name:?} is reserved ({} are the generator's or QML's)",
            RESERVED_FIELDS.join(", ")
        ));
    }
    if RUST_KEYWORDS.contains(&name) {
        return Err(format!("field name {name:?} is a Rust keyword"));
    }
    if LIST_PARAMETERS.contains(&name) {
        return Err(format!(
            "field name {name:?} is a parameter of the list query ({}: docs/contract.md §7)",
            LIST_PARAMETERS.join(", ")
        ));
    }
    if JS_RESERVED.contains(&name) {
        return Err(format!(
            "field name {name:?} is a JavaScript reserved word (the QML page uses it as a property name)"
        ));
    }
    if QML_KEYWORDS.contains(&name) {
        return Err(format!("field name {name:?} is a QML keyword"));
    }
    Ok(())
}

/// Rust's snake case (its `non_snake_case` lint, which the app's `clippy -D warnings` turns into
/// an error): no two underscores in a row inside the name.
fn snake(s: &str) -> Result<(), String> {
    if s.trim_matches('_').contains("__") {
        return Err(
            "has two underscores in a row (not snake case to Rust: the app's clippy would fail)"
                .to_owned(),
        );
    }
    Ok(())
}

fn ident(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// English plural to singular for the common endings: `-ies` -> `-y`, `-sses`/`-xes`/`-ches`/
/// `-shes`/`-zes` -> drop `es`, else drop `s`.
fn singular(plural: &str) -> String {
    if let Some(stem) = plural.strip_suffix("ies")
        && !stem.is_empty()
    {
        return format!("{stem}y");
    }
    for ending in ["sses", "xes", "ches", "shes", "zes"] {
        if plural.ends_with(ending) {
            return plural[..plural.len() - 2].to_owned();
        }
    }
    plural.strip_suffix('s').unwrap_or(plural).to_owned()
}

/// `bookmark_tags` -> `BookmarkTags`; digits stay (`v2_items` -> `V2Items`).
pub(crate) fn pascal(snake: &str) -> String {
    snake
        .split(['_', '-'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A field's name in QML (its input's id is this + `Input`): `starred_at` -> `starredAt`.
pub(crate) fn qml_name(field: &str) -> String {
    lower_first(&pascal(field))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(spec: &str) -> String {
        match ResourceSpec::parse(spec) {
            Err(Error::Usage(m)) => m,
            other => panic!("{spec}: {other:?}"),
        }
    }

    #[test]
    fn parses_fields_and_types() {
        let r = ResourceSpec::parse(
            "bookmarks:title:text,url:text,visits:int,score:real,starred:bool,seen:datetime",
        )
        .unwrap();
        assert_eq!(r.name, "bookmarks");
        let types: Vec<_> = r.fields.iter().map(|f| (f.name.as_str(), f.ty)).collect();
        assert_eq!(
            types,
            [
                ("title", FieldType::Text),
                ("url", FieldType::Text),
                ("visits", FieldType::Int),
                ("score", FieldType::Real),
                ("starred", FieldType::Bool),
                ("seen", FieldType::Datetime),
            ]
        );
        assert_eq!(r.singular(), "Bookmark");
        assert_eq!(r.key_role(), "bookmarkId");
    }

    #[test]
    fn names_derived_from_the_plural() {
        let r = |n: &str| ResourceSpec {
            name: n.into(),
            fields: vec![],
        };
        assert_eq!(r("categories").singular(), "Category");
        assert_eq!(r("taxes").singular(), "Tax");
        assert_eq!(r("addresses").singular(), "Address");
        assert_eq!(r("bookmark_tags").singular(), "BookmarkTag");
        assert_eq!(r("bookmark_tags").pascal(), "BookmarkTags");
        assert_eq!(r("bookmark_tags").camel(), "bookmarkTags");
        assert_eq!(r("bookmark_tags").key_role(), "bookmarkTagId");
        assert_eq!(r("v2_items").singular(), "V2Item");
    }

    #[test]
    fn bad_specs() {
        assert!(usage("bookmarks").contains("expected name:field:type"));
        assert!(usage("bookmarks:").contains("is not field:type"));
        assert!(usage("bookmarks:title").contains("is not field:type"));
        assert!(usage("bookmarks:title:string").contains("unknown type \"string\""));
        assert!(usage("bookmarks:title:text,title:int").contains("twice"));
        for reserved in ["id", "created_at", "updated_at", "index", "model"] {
            assert!(
                usage(&format!("bookmarks:{reserved}:int")).contains("reserved"),
                "{reserved}"
            );
        }
        assert!(usage("bookmarks:type:text").contains("Rust keyword"));
        for param in LIST_PARAMETERS {
            assert!(
                usage(&format!("bookmarks:{param}:bool")).contains("list query"),
                "{param}"
            );
        }
        for word in [
            "public",
            "pragma",
            "class",
            "delete",
            "interface",
            "arguments",
            "eval",
        ] {
            assert!(
                usage(&format!("bookmarks:{word}:text")).contains("JavaScript reserved word")
                    || usage(&format!("bookmarks:{word}:text")).contains("QML keyword"),
                "{word}"
            );
        }
        for (a, b) in [("ab", "ab_"), ("x1", "x_1"), ("a_b", "a_b_")] {
            let m = usage(&format!("bookmarks:{a}:text,{b}:int"));
            assert!(
                m.contains(&format!("fields {a} and {b} would both be")),
                "{m}"
            );
        }
        assert!(usage("bookmarks:a__b:text").contains("two underscores"));
        assert!(usage("book__marks:a:text").contains("two underscores"));
        for bad in ["sqlite_stats", "sqlite_sequences", "qmlbridge_migrations"] {
            assert!(
                usage(&format!("{bad}:title:text")).contains("is not the app's"),
                "{bad}"
            );
        }
        for bad in ["Title", "1x", "ti-tle", "ti tle", ""] {
            assert!(
                usage(&format!("bookmarks:{bad}:text")).contains("not an identifier"),
                "{bad}"
            );
        }
        for bad in ["Bookmarks", "book-marks", "1s", "_s", ""] {
            assert!(
                usage(&format!("{bad}:title:text")).contains("not an identifier"),
                "{bad}"
            );
        }
        for bad in ["bookmark", "data", "s", "x_s"] {
            assert!(
                usage(&format!("{bad}:title:text")).contains("not a plural"),
                "{bad}"
            );
        }
        for bad in ["resources", "strings", "options", "backends"] {
            assert!(
                usage(&format!("{bad}:title:text")).contains("already uses"),
                "{bad}"
            );
        }
        assert!(usage(&format!("{}s:a:text", "a".repeat(64))).contains("not an identifier"));
    }

    #[test]
    fn the_default_and_collisions() {
        let d = parse_all(&[]).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].name.as_str(), d[0].fields[0].name.as_str()),
            ("items", "title")
        );
        assert_eq!(d[0].fields[0].ty, FieldType::Text);
        let two = parse_all(&["bookmarks:title:text".into(), "tags:label:text".into()]).unwrap();
        assert_eq!(two.len(), 2);
        for (a, b) in [
            ("tags:a:text", "tags:b:int"),
            ("taxes:a:text", "taxs:a:text"),
        ] {
            match parse_all(&[a.into(), b.into()]) {
                Err(Error::Usage(m)) => assert!(m.contains("collides"), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }
}
