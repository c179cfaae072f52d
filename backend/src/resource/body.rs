//! JSON in and out of a resource: a request body checked against the [`Schema`] (object only,
//! known writable members, the right kinds, the field rules: 422 otherwise), and a row read back
//! as a JSON object in schema order.

use rusqlite::Row;
use rusqlite::types::{Value as Sql, ValueRef};
use serde_json::{Map, Value};

use super::schema::{Field, FieldKind, Schema};
use crate::http::error::ApiError;

/// Which request a body belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `POST`: required fields must be present.
    Create,
    /// `PATCH`: any subset of the writable fields.
    Update,
}

/// The writable members of `object`, checked, in schema order, as SQL values.
pub(crate) fn values(
    schema: &Schema,
    object: &Map<String, Value>,
    mode: Mode,
) -> Result<Vec<(&'static Field, Sql)>, ApiError> {
    for key in object.keys() {
        match schema.field(key) {
            Some(f) if f.writable() => {}
            Some(_) => return Err(invalid(format!("field `{key}` is read-only"))),
            None => {
                let known: Vec<&str> = schema
                    .fields
                    .iter()
                    .filter(|f| f.writable())
                    .map(|f| f.name)
                    .collect();
                return Err(invalid(format!(
                    "unknown field `{key}`, expected one of: {}",
                    known.join(", ")
                )));
            }
        }
    }
    let mut out = Vec::new();
    for field in schema.fields.iter().filter(|f| f.writable()) {
        match object.get(field.name) {
            Some(value) => out.push((field, to_sql(field, value)?)),
            None if mode == Mode::Create && field.required() => {
                return Err(invalid(format!("missing field `{}`", field.name)));
            }
            None => {}
        }
    }
    Ok(out)
}

fn invalid(detail: String) -> ApiError {
    ApiError::Unprocessable(format!("invalid request body: {detail}"))
}

/// One member's value, checked against its field.
fn to_sql(field: &Field, value: &Value) -> Result<Sql, ApiError> {
    let name = field.name;
    let kind_error = |what: &str| invalid(format!("field `{name}` must be {what}"));
    let sql = match (field.kind, value) {
        (_, Value::Null) if field.optional => return Ok(Sql::Null),
        (_, Value::Null) => return Err(invalid(format!("field `{name}` must not be null"))),
        (FieldKind::Text, Value::String(s)) => {
            check_text(field, s)?;
            Sql::Text(s.clone())
        }
        (FieldKind::Datetime, Value::String(s)) if is_datetime(s) => Sql::Text(s.clone()),
        (FieldKind::Int, Value::Number(n)) if n.as_i64().is_some() => {
            let n = n.as_i64().unwrap_or_default();
            check_range(field, n as f64)?;
            Sql::Integer(n)
        }
        (FieldKind::Real, Value::Number(n)) if n.as_f64().is_some() => {
            let n = n.as_f64().unwrap_or_default();
            check_range(field, n)?;
            Sql::Real(n)
        }
        (FieldKind::Bool, Value::Bool(b)) => Sql::Integer(i64::from(*b)),
        (FieldKind::Text, _) => return Err(kind_error("a string")),
        (FieldKind::Datetime, _) => {
            return Err(kind_error(
                "an RFC 3339 date-time that exists (2026-12-01T10:00:00Z)",
            ));
        }
        (FieldKind::Int, _) => return Err(kind_error("an integer")),
        (FieldKind::Real, _) => return Err(kind_error("a number")),
        (FieldKind::Bool, _) => return Err(kind_error("true or false")),
    };
    Ok(sql)
}

/// The text rules; lengths count Unicode scalar values, `non_blank` trims only for the check.
fn check_text(field: &Field, s: &str) -> Result<(), ApiError> {
    let name = field.name;
    if let Some((at, c)) = control_char(s) {
        return Err(ApiError::Unprocessable(format!(
            "{name} must not contain control characters (U+{:04X} at character {})",
            u32::from(c),
            at + 1
        )));
    }
    if field.non_blank && s.trim().is_empty() {
        return Err(ApiError::Unprocessable(format!("{name} must not be empty")));
    }
    let chars = || s.chars().count();
    if let Some(max) = field.max_chars
        && chars() > max
    {
        return Err(ApiError::Unprocessable(format!(
            "{name} must be at most {max} characters"
        )));
    }
    if let Some(min) = field.min_chars
        && chars() < min
    {
        return Err(ApiError::Unprocessable(format!(
            "{name} must be at least {min} characters"
        )));
    }
    Ok(())
}

fn check_range(field: &Field, n: f64) -> Result<(), ApiError> {
    let name = field.name;
    if let Some(min) = field.min
        && n < min
    {
        return Err(ApiError::Unprocessable(format!(
            "{name} must be at least {min}"
        )));
    }
    if let Some(max) = field.max
        && n > max
    {
        return Err(ApiError::Unprocessable(format!(
            "{name} must be at most {max}"
        )));
    }
    Ok(())
}

/// An RFC 3339 §5.6 `date-time`, `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, that names a real
/// instant: the `time` crate's RFC 3339 parser checks the calendar (2026-02-30, 2025-02-29 and
/// 2026-04-31 are refused), the offset (hours 00-23, minutes 00-59, §5.6 `time-numoffset`) and
/// second 60 (only 23:59:60 UTC at the end of a month, where leap seconds go, §5.7). `T` is the
/// only separator (the parser also takes a space, which §5.6 allows but the contract does not).
pub(crate) fn is_datetime(s: &str) -> bool {
    use time::format_description::well_known::Rfc3339;
    matches!(s.as_bytes().get(10), Some(b'T' | b't'))
        && time::OffsetDateTime::parse(s, &Rfc3339).is_ok()
}

/// The first character of `s` that a text column does not hold as text: a control character
/// (Unicode general category Cc: U+0000-U+001F and U+007F-U+009F) other than tab, line feed
/// and carriage return. NUL ends SQLite's `length()`, so a `CHECK (length(..) ..)` in the
/// migration would refuse the row (a 500); the others are never meant as text either
/// (`docs/contract.md` §7).
fn control_char(s: &str) -> Option<(usize, char)> {
    s.chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// A row as read: one JSON value per field, serialized as an object in schema order.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    schema: &'static Schema,
    values: Vec<Value>,
}

impl Record {
    /// The value of field `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        let i = self.schema.fields.iter().position(|f| f.name == name)?;
        self.values.get(i)
    }
}

impl serde::Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.values.len()))?;
        for (field, value) in self.schema.fields.iter().zip(&self.values) {
            map.serialize_entry(field.name, value)?;
        }
        map.end()
    }
}

/// A row (its columns in schema order) as a [`Record`].
pub(crate) fn row_json(schema: &'static Schema, row: &Row<'_>) -> rusqlite::Result<Record> {
    let mut values = Vec::with_capacity(schema.fields.len());
    for (i, field) in schema.fields.iter().enumerate() {
        let value = match (field.kind, row.get_ref(i)?) {
            (_, ValueRef::Null) => Value::Null,
            (FieldKind::Bool, ValueRef::Integer(n)) => Value::Bool(n != 0),
            (_, ValueRef::Integer(n)) => Value::from(n),
            (_, ValueRef::Real(x)) => Value::from(x),
            (_, ValueRef::Text(t)) => Value::String(String::from_utf8_lossy(t).into_owned()),
            (_, ValueRef::Blob(_)) => Value::Null,
        };
        values.push(value);
    }
    Ok(Record { schema, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        for ok in [
            "2026-12-01T10:00:00Z",
            "2026-12-01t10:00:00.123z",
            "2024-02-29T00:00:00Z",
            "2026-12-31T23:59:60Z",
            "2027-01-01T00:59:60+01:00",
            "2026-12-01T10:00:00+23:59",
            "2026-12-01T10:00:00-00:00",
            "2026-12-01T10:00:00.123456789012Z",
        ] {
            assert!(is_datetime(ok), "{ok}");
        }
        for bad in [
            "",
            "2026-12-01",
            "2026-13-01T10:00:00Z",
            "2026-12-01 10:00:00Z",
            "2026-12-01T10:00:00",
            "2026-12-01T10:00:00.Z",
            "2026-12-01T10:00:00+1:00",
            "2026-12-01T25:00:00Z",
            "2026-02-30T10:00:00Z",
            "2025-02-29T10:00:00Z",
            "2026-04-31T10:00:00Z",
            "2026-06-31T10:00:00Z",
            "2026-12-01T10:00:00+25:00",
            "2026-12-01T10:00:00+24:00",
            "2026-12-01T10:00:00+05:60",
            "2026-02-28T23:59:60+01:00",
            "2026-12-01T10:00:00Z ",
        ] {
            assert!(!is_datetime(bad), "{bad}");
        }
    }

    #[test]
    fn control_characters_but_tab_newline_and_return() {
        assert_eq!(control_char("a\tb\nc\r\nd"), None);
        assert_eq!(control_char("\u{0} milk"), Some((0, '\u{0}')));
        assert_eq!(control_char("ab\u{1b}[31m"), Some((2, '\u{1b}')));
        assert_eq!(control_char("é\u{7f}"), Some((1, '\u{7f}')));
        assert_eq!(control_char("x\u{85}"), Some((1, '\u{85}')));
        // Not Cc: format characters and separators are text.
        assert_eq!(control_char("a\u{200b}\u{2028}\u{a0}b"), None);
    }
}
