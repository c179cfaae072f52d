//! The per-field pieces of a resource's files (struct fields, SQL columns, QML inputs and labels,
//! test values) as placeholder values for the skeleton's `_resource/` templates. Everything else
//! about a file's shape is in the template.

use super::render::Vars;
use crate::spec::{FieldSpec, FieldType, ResourceSpec, pascal};

/// Longest text field (characters) a generated resource accepts (`max_chars`).
const MAX_TEXT: usize = 1000;

/// The placeholder values of one resource, the `number`th (from 1).
pub(super) fn resource_vars(r: &ResourceSpec, number: usize) -> Vars {
    let camel = r.camel();
    let input = |f: &FieldSpec| format!("{}Input", lower_first(&pascal(&f.name)));
    let mut v = Vars::new();
    v.insert("resource", r.name.clone());
    v.insert("resource_pascal", r.pascal());
    v.insert("resource_camel", camel.clone());
    v.insert("struct_name", r.singular());
    v.insert("key_role", r.key_role());
    v.insert("number", format!("{number:04}"));
    v.insert("roles", join(r, ", ", |f| format!("\"{}\"", f.name)));
    v.insert("struct_fields", join(r, "\n", struct_field));
    v.insert("columns", join(r, "\n", column));
    v.insert(
        "form_inputs",
        join(r, "\n", |f| form_input(f, &input(f), &camel)),
    );
    v.insert(
        "form_object",
        join(r, ", ", |f| {
            format!("{}: {}", f.name, value_expr(f, &input(f)))
        }),
    );
    let ready: Vec<String> = r
        .fields
        .iter()
        .filter_map(|f| ready_expr(f, &input(f)))
        .collect();
    v.insert(
        "form_ready",
        if ready.is_empty() {
            "true".to_owned()
        } else {
            ready.join(" && ")
        },
    );
    v.insert("form_clear", join(r, "\n", |f| clear_stmt(f, &input(f))));
    v.insert("delegate_labels", join(r, "\n", delegate_label));
    v.insert(
        "sample_json",
        join(r, ", ", |f| format!("\"{}\": {}", f.name, sample(f))),
    );
    v.insert(
        "sample_js",
        join(r, ", ", |f| format!("{}: {}", f.name, sample(f))),
    );
    let first = &r.fields[0];
    v.insert("first_field", first.name.clone());
    v.insert("first_sample", sample(first));
    v.insert("changed_sample", changed(first));
    v.insert("wrong_type", wrong_type(first).to_owned());
    v
}

fn join(r: &ResourceSpec, sep: &str, f: impl Fn(&FieldSpec) -> String) -> String {
    r.fields.iter().map(f).collect::<Vec<_>>().join(sep)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn struct_field(f: &FieldSpec) -> String {
    let (attr, ty) = match f.ty {
        FieldType::Text => (
            format!("    #[resource(non_blank, max_chars = {MAX_TEXT})]\n"),
            "String",
        ),
        FieldType::Int => (String::new(), "i64"),
        FieldType::Real => (String::new(), "f64"),
        FieldType::Bool => ("    #[resource(default, filter)]\n".to_owned(), "bool"),
        FieldType::Datetime => (String::new(), "Datetime"),
    };
    format!("{attr}    {}: {ty},", f.name)
}

/// The column for `f` (docs/contract.md §7: booleans are 0/1 integers, date-times RFC 3339
/// text). Identifiers are quoted so that a field may be named like an SQL keyword (`order`).
fn column(f: &FieldSpec) -> String {
    let n = &f.name;
    let def = match f.ty {
        FieldType::Text => {
            format!("TEXT    NOT NULL CHECK (length(\"{n}\") BETWEEN 1 AND {MAX_TEXT})")
        }
        FieldType::Int => "INTEGER NOT NULL".to_owned(),
        FieldType::Real => "REAL    NOT NULL".to_owned(),
        FieldType::Bool => format!("INTEGER NOT NULL DEFAULT 0 CHECK (\"{n}\" IN (0, 1))"),
        FieldType::Datetime => "TEXT    NOT NULL".to_owned(),
    };
    format!("    {:<12} {def},", format!("\"{n}\""))
}

/// RFC 3339 UTC as the framework stores it (`2026-12-01T10:00:00Z`).
const DATETIME_RE: &str = r"/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z/";

fn form_input(f: &FieldSpec, id: &str, resource_camel: &str) -> String {
    let object = format!("{resource_camel}{}", pascal(&f.name));
    let n = &f.name;
    let (ty, extra) = match f.ty {
        FieldType::Bool => ("CheckBox", format!("text: qsTr(\"{n}\")")),
        FieldType::Text => (
            "TextField",
            format!("placeholderText: qsTr(\"{n}\")\n                Layout.fillWidth: true"),
        ),
        FieldType::Int | FieldType::Real | FieldType::Datetime => {
            let (re, hint) = match f.ty {
                FieldType::Int => ("/-?[0-9]+/".to_owned(), n.clone()),
                FieldType::Real => ("/-?[0-9]+([.][0-9]+)?/".to_owned(), n.clone()),
                _ => (
                    DATETIME_RE.to_owned(),
                    format!("{n} (2026-12-01T10:00:00Z)"),
                ),
            };
            (
                "TextField",
                format!(
                    "placeholderText: qsTr(\"{hint}\")\n                \
                     validator: RegularExpressionValidator {{\n                    \
                     regularExpression: {re}\n                }}\n                \
                     Layout.fillWidth: true"
                ),
            )
        }
    };
    format!(
        "            {ty} {{\n                id: {id}\n\n                \
         objectName: \"{object}Input\"\n                {extra}\n            }}"
    )
}

fn value_expr(f: &FieldSpec, id: &str) -> String {
    match f.ty {
        FieldType::Text | FieldType::Datetime => format!("{id}.text"),
        FieldType::Int => format!("parseInt({id}.text, 10)"),
        FieldType::Real => format!("Number({id}.text)"),
        FieldType::Bool => format!("{id}.checked"),
    }
}

fn ready_expr(f: &FieldSpec, id: &str) -> Option<String> {
    match f.ty {
        FieldType::Text => Some(format!("{id}.text.trim().length > 0")),
        FieldType::Int | FieldType::Real | FieldType::Datetime => {
            Some(format!("{id}.acceptableInput"))
        }
        FieldType::Bool => None,
    }
}

fn clear_stmt(f: &FieldSpec, id: &str) -> String {
    match f.ty {
        FieldType::Bool => format!("        {id}.checked = false;"),
        _ => format!("        {id}.clear();"),
    }
}

fn delegate_label(f: &FieldSpec) -> String {
    let n = &f.name;
    let text = match f.ty {
        FieldType::Bool => format!("row.model.{n} ? qsTr(\"{n}\") : \"\""),
        _ => format!("String(row.model.{n})"),
    };
    format!(
        "                    Label {{\n                        text: {text}\n                        \
         elide: Text.ElideRight\n                        Layout.fillWidth: true\n                    }}"
    )
}

/// A valid value, as JSON (and JS) source.
fn sample(f: &FieldSpec) -> String {
    match f.ty {
        FieldType::Text => format!("\"{} 1\"", f.name),
        FieldType::Int => "42".to_owned(),
        FieldType::Real => "1.5".to_owned(),
        FieldType::Bool => "true".to_owned(),
        FieldType::Datetime => "\"2026-12-01T10:00:00Z\"".to_owned(),
    }
}

/// Another valid value, for the update test.
fn changed(f: &FieldSpec) -> String {
    match f.ty {
        FieldType::Text => format!("\"{} 2\"", f.name),
        FieldType::Int => "43".to_owned(),
        FieldType::Real => "2.5".to_owned(),
        FieldType::Bool => "false".to_owned(),
        FieldType::Datetime => "\"2026-12-02T10:00:00Z\"".to_owned(),
    }
}

/// A value of the wrong type (a 422).
fn wrong_type(f: &FieldSpec) -> &'static str {
    match f.ty {
        FieldType::Text => "5",
        FieldType::Int | FieldType::Real => "\"many\"",
        FieldType::Bool => "\"yes\"",
        FieldType::Datetime => "\"yesterday\"",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_piece_per_field() {
        let r = ResourceSpec::parse("bookmarks:title:text,visits:int,starred:bool").unwrap();
        let v = resource_vars(&r, 2);
        assert_eq!(v["number"], "0002");
        assert_eq!(v["roles"], "\"title\", \"visits\", \"starred\"");
        assert_eq!(v["key_role"], "bookmarkId");
        assert!(
            v["struct_fields"]
                .contains("    #[resource(non_blank, max_chars = 1000)]\n    title: String,")
        );
        assert!(v["struct_fields"].contains("    visits: i64,"));
        assert!(v["columns"].contains("    \"starred\"    INTEGER NOT NULL DEFAULT 0"));
        assert_eq!(
            v["form_object"],
            "title: titleInput.text, visits: parseInt(visitsInput.text, 10), starred: starredInput.checked"
        );
        assert_eq!(
            v["form_ready"],
            "titleInput.text.trim().length > 0 && visitsInput.acceptableInput"
        );
        assert!(v["form_inputs"].contains("objectName: \"bookmarksVisitsInput\""));
        assert_eq!(
            v["sample_json"],
            "\"title\": \"title 1\", \"visits\": 42, \"starred\": true"
        );
        assert_eq!(v["wrong_type"], "5");
    }

    #[test]
    fn a_resource_of_booleans_is_always_ready() {
        let r = ResourceSpec::parse("flags:on:bool").unwrap();
        assert_eq!(resource_vars(&r, 1)["form_ready"], "true");
    }
}
