//! What the skeleton's templates are given: the app's values and, per resource and field, the
//! names derived from the spec (struct, QML ids and object names, role names) and the sample
//! values its tests send. Values only: every file's shape, indentation and escaping is the
//! template's (`templates/app`, filters in `render.rs`).

use std::collections::BTreeMap;

use minijinja::value::Value;

use crate::spec::{FieldSpec, FieldType, ResourceSpec, pascal, qml_name};

/// Longest text field (characters) a generated resource accepts (`max_chars`, the column's
/// `CHECK`).
pub(super) const MAX_TEXT: i64 = 1000;

/// The app-wide values a template sees (besides `resources`, added by [`app`]).
pub(super) struct AppValues<'a> {
    pub(super) name: &'a str,
    pub(super) org: &'a str,
    pub(super) identifier: &'a str,
    pub(super) display_name: &'a str,
    pub(super) version: &'a str,
    pub(super) framework: &'a str,
    pub(super) initial: String,
    pub(super) icon_colour: &'a str,
}

/// A template object (minijinja's map value).
pub(super) fn map<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    let m: BTreeMap<String, Value> = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    Value::from(m)
}

/// The context of every template: the app's values and its resources.
pub(super) fn app(a: &AppValues<'_>, resources: &[ResourceSpec]) -> Value {
    let resources: Vec<Value> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| resource(r, i + 1))
        .collect();
    map([
        ("name", Value::from(a.name)),
        ("name_snake", Value::from(a.name.replace('-', "_"))),
        ("org", Value::from(a.org)),
        ("identifier", Value::from(a.identifier)),
        ("display_name", Value::from(a.display_name)),
        ("version", Value::from(a.version)),
        ("module", Value::from(pascal(a.name))),
        ("framework", Value::from(a.framework)),
        ("initial", Value::from(a.initial.as_str())),
        ("icon_colour", Value::from(a.icon_colour)),
        ("max_text", Value::from(MAX_TEXT)),
        ("resources", Value::from(resources)),
    ])
}

/// One resource, the `number`th (from 1).
pub(super) fn resource(r: &ResourceSpec, number: usize) -> Value {
    let fields: Vec<Value> = r.fields.iter().map(field).collect();
    map([
        ("name", Value::from(r.name.as_str())),
        ("number", Value::from(format!("{number:04}"))),
        ("pascal", Value::from(r.pascal())),
        ("camel", Value::from(r.camel())),
        ("singular", Value::from(r.singular())),
        ("key_role", Value::from(r.key_role())),
        ("first", field(&r.fields[0])),
        ("fields", Value::from(fields)),
    ])
}

fn field(f: &FieldSpec) -> Value {
    let ty = match f.ty {
        FieldType::Text => "text",
        FieldType::Int => "int",
        FieldType::Real => "real",
        FieldType::Bool => "bool",
        FieldType::Datetime => "datetime",
    };
    map([
        ("name", Value::from(f.name.as_str())),
        ("type", Value::from(ty)),
        ("pascal", Value::from(pascal(&f.name))),
        ("input", Value::from(format!("{}Input", qml_name(&f.name)))),
        ("sample", sample(f, 1)),
        ("changed", sample(f, 2)),
        ("wrong", wrong_type(f)),
    ])
}

/// A valid value (`n`: 1 for create, 2 for the update test).
fn sample(f: &FieldSpec, n: i64) -> Value {
    match f.ty {
        FieldType::Text => Value::from(format!("{} {n}", f.name)),
        FieldType::Int => Value::from(41 + n),
        FieldType::Real => Value::from(0.5 + n as f64),
        FieldType::Bool => Value::from(n == 1),
        FieldType::Datetime => Value::from(format!("2026-12-0{n}T10:00:00Z")),
    }
}

/// A value of the wrong type (a 422).
fn wrong_type(f: &FieldSpec) -> Value {
    match f.ty {
        FieldType::Text => Value::from(5),
        FieldType::Int | FieldType::Real => Value::from("many"),
        FieldType::Bool => Value::from("yes"),
        FieldType::Datetime => Value::from("yesterday"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_names_and_samples() {
        let r = ResourceSpec::parse("bookmark_tags:starred_at:datetime,visits:int").unwrap();
        let v = resource(&r, 2);
        let get = |path: &[&str]| {
            let mut x = v.clone();
            for p in path {
                x = x.get_attr(p).unwrap();
            }
            x.to_string()
        };
        assert_eq!(get(&["number"]), "0002");
        assert_eq!(get(&["singular"]), "BookmarkTag");
        assert_eq!(get(&["camel"]), "bookmarkTags");
        assert_eq!(get(&["key_role"]), "bookmarkTagId");
        assert_eq!(get(&["first", "input"]), "starredAtInput");
        assert_eq!(get(&["first", "sample"]), "2026-12-01T10:00:00Z");
        assert_eq!(get(&["first", "changed"]), "2026-12-02T10:00:00Z");
        let visits = v.get_attr("fields").unwrap().get_item_by_index(1).unwrap();
        assert_eq!(visits.get_attr("sample").unwrap().as_i64(), Some(42));
        assert_eq!(visits.get_attr("changed").unwrap().as_i64(), Some(43));
    }
}
