//! `GET /api/<name>?limit=&offset=&after=&<filter>=`: the list query, checked against the schema.
//! Anything else in the query string is a 400 naming it (`docs/contract.md` §7).

use rusqlite::types::Value as Sql;

use super::schema::{Field, FieldKind, Schema};
use crate::http::error::ApiError;

/// The page size when `limit` is absent.
///
/// ```
/// assert_eq!(qmlbridge_backend::DEFAULT_LIMIT, 100); // `GET /api/notes` is `?limit=100`
/// ```
pub const DEFAULT_LIMIT: i64 = 100;
/// The largest `limit` (a larger one is a 400; `RestModel` pages with it).
///
/// ```
/// assert_eq!(qmlbridge_backend::MAX_LIMIT, 1000);
/// ```
pub const MAX_LIMIT: i64 = 1000;

/// A checked list query.
#[derive(Debug)]
pub(crate) struct ListQuery {
    pub(crate) limit: i64,
    pub(crate) offset: i64,
    /// Keyset paging: only rows whose key is greater (a client paging with `after=<last id>`
    /// neither skips nor repeats a row when others are deleted or created meanwhile).
    pub(crate) after: Option<i64>,
    /// `field = value` conditions, in schema order.
    pub(crate) filters: Vec<(&'static Field, Sql)>,
}

impl ListQuery {
    pub(crate) fn parse(schema: &Schema, raw: Option<&str>) -> Result<ListQuery, ApiError> {
        let mut q = ListQuery {
            limit: DEFAULT_LIMIT,
            offset: 0,
            after: None,
            filters: Vec::new(),
        };
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if seen.iter().any(|k| *k == key) {
                return Err(bad(format!("query parameter `{key}` is given twice")));
            }
            seen.push(key.to_string());
            match &*key {
                "limit" => {
                    q.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| bad(format!("limit must be 1..={MAX_LIMIT}")))?;
                }
                "offset" => {
                    q.offset = value
                        .parse()
                        .ok()
                        .filter(|n: &i64| *n >= 0)
                        .ok_or_else(|| bad("offset must be >= 0".to_owned()))?;
                }
                "after" => {
                    q.after = Some(
                        value
                            .parse()
                            .ok()
                            .filter(|n: &i64| *n >= 0)
                            .ok_or_else(|| bad("after must be an id >= 0".to_owned()))?,
                    );
                }
                name => match schema.field(name).filter(|f| f.filter) {
                    Some(field) => q.filters.push((field, filter_value(field, &value)?)),
                    None => {
                        let mut allowed = vec!["limit", "offset", "after"];
                        allowed.extend(schema.fields.iter().filter(|f| f.filter).map(|f| f.name));
                        return Err(bad(format!(
                            "unknown query parameter `{name}` (allowed: {})",
                            allowed.join(", ")
                        )));
                    }
                },
            }
        }
        q.filters
            .sort_by_key(|(f, _)| schema.fields.iter().position(|g| g.name == f.name));
        Ok(q)
    }
}

fn bad(detail: String) -> ApiError {
    ApiError::BadRequest(detail)
}

/// A filter's text as the field's SQL value.
fn filter_value(field: &Field, text: &str) -> Result<Sql, ApiError> {
    let name = field.name;
    let parsed = match field.kind {
        FieldKind::Text | FieldKind::Datetime => Some(Sql::Text(text.to_owned())),
        FieldKind::Int => text.parse().ok().map(Sql::Integer),
        FieldKind::Real => text
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite())
            .map(Sql::Real),
        FieldKind::Bool => match text {
            "true" | "1" => Some(Sql::Integer(1)),
            "false" | "0" => Some(Sql::Integer(0)),
            _ => None,
        },
    };
    parsed.ok_or_else(|| {
        bad(format!(
            "filter `{name}`: {text:?} is not a {:?} value",
            field.kind
        ))
    })
}
