//! Constraint violations a client can cause in a resource's write, as the client's mistake they
//! are (`docs/contract.md` §7 "Constraints"): `UNIQUE` (and the primary key) and `FOREIGN KEY`
//! are 409, `CHECK` and `NOT NULL` are 422; the detail names the field(s) or the named
//! constraint, never SQL text. SQLite tells them apart by their extended result codes
//! (<https://sqlite.org/rescode.html#constraint>).

use rusqlite::{Connection, ErrorCode, ffi};

use super::schema::Schema;
use crate::http::error::ApiError;

/// The client-caused violation `err` is, if it is one, as its 409/422. `set` are the fields
/// the write set (empty for a delete); `conn` is the write's connection, still in its
/// transaction (read for the table's foreign keys and named checks).
pub(crate) fn violation(
    conn: &Connection,
    schema: &Schema,
    err: &rusqlite::Error,
    set: &[&str],
) -> Option<ApiError> {
    let rusqlite::Error::SqliteFailure(e, message) = err else {
        return None;
    };
    if e.code != ErrorCode::ConstraintViolation {
        return None;
    }
    let message = message.as_deref().unwrap_or_default();
    let name = schema.name;
    let detail = match e.extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            let fields = columns(message, schema.table);
            return Some(ApiError::Conflict(format!(
                "{} must be unique: another {name} row has the same {}",
                fields.join(", "),
                plural(&fields, "value", "values"),
            )));
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
            return Some(ApiError::Conflict(foreign_key(conn, schema, set)));
        }
        ffi::SQLITE_CONSTRAINT_NOTNULL => {
            let fields = columns(message, schema.table);
            format!("{} must not be null", fields.join(", "))
        }
        ffi::SQLITE_CONSTRAINT_CHECK => {
            let tail = message
                .strip_prefix("CHECK constraint failed: ")
                .unwrap_or("");
            if named_checks(conn, schema.table).iter().any(|n| n == tail) {
                format!("the values break the rule `{tail}` of {name}")
            } else if set.is_empty() {
                format!("the change breaks a rule of {name}")
            } else {
                format!("{} break a rule of {name}", set.join(", "))
            }
        }
        _ => return None,
    };
    Some(ApiError::Unprocessable(detail))
}

/// The field names in `UNIQUE constraint failed: t.a, t.b` (or `NOT NULL ...: t.a`).
fn columns(message: &str, table: &str) -> Vec<String> {
    let list = message.split_once(": ").map_or("", |(_, l)| l);
    let prefix = format!("{table}.");
    list.split(", ")
        .filter(|c| !c.is_empty())
        .map(|c| c.strip_prefix(&prefix).unwrap_or(c).to_string())
        .collect()
}

/// SQLite does not say which foreign key failed: the table's own keys among the fields the
/// write set are the suspects; with none (a delete, or a key changed under its referrers) the
/// row is still referred to by others.
fn foreign_key(conn: &Connection, schema: &Schema, set: &[&str]) -> String {
    let keys = foreign_keys(conn, schema.table);
    let suspects: Vec<&(String, String)> = keys
        .iter()
        .filter(|(from, _)| set.contains(&from.as_str()))
        .collect();
    if suspects.is_empty() {
        return format!(
            "this {} row is still referred to by other rows",
            schema.name
        );
    }
    suspects
        .iter()
        .map(|(from, to)| format!("{from} must refer to an existing row of {to}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `(column, referenced table)` of each foreign key of `table`.
fn foreign_keys(conn: &Connection, table: &str) -> Vec<(String, String)> {
    let read = || -> rusqlite::Result<Vec<(String, String)>> {
        let mut stmt =
            conn.prepare("SELECT \"from\", \"table\" FROM pragma_foreign_key_list(?1)")?;
        stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
    };
    read().unwrap_or_default()
}

/// The names of `table`'s `CONSTRAINT name CHECK (...)` clauses, read from its schema text.
fn named_checks(conn: &Connection, table: &str) -> Vec<String> {
    let Ok(sql) = conn.query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get::<_, String>(0),
    ) else {
        return Vec::new();
    };
    let re = regex::Regex::new(
        r#"(?i)\bCONSTRAINT\s+(?:"((?:[^"]|"")+)"|`([^`]+)`|\[([^\]]+)\]|(\w+))\s+CHECK\b"#,
    )
    .expect("a valid regex");
    re.captures_iter(&sql)
        .filter_map(|c| {
            (1..=4)
                .find_map(|i| c.get(i))
                .map(|m| m.as_str().replace("\"\"", "\""))
        })
        .collect()
}

fn plural<'a>(items: &[String], one: &'a str, many: &'a str) -> &'a str {
    if items.len() == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::schema::{Field, FieldKind, FieldRole};

    static FIELDS: [Field; 4] = [
        Field::new("id", FieldKind::Int).role(FieldRole::Key),
        Field::new("parent", FieldKind::Int),
        Field::new("code", FieldKind::Text),
        Field::new("rank", FieldKind::Int),
    ];
    static SCHEMA: Schema = Schema::new("kids", "kids", &FIELDS);

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parents (id INTEGER PRIMARY KEY);
             INSERT INTO parents VALUES (1);
             CREATE TABLE kids (
                 id INTEGER PRIMARY KEY,
                 parent INTEGER REFERENCES parents(id),
                 code TEXT NOT NULL UNIQUE CHECK (code <> 'x'),
                 rank INTEGER CONSTRAINT \"rank in range\" CHECK (rank < 10)
             );
             INSERT INTO kids VALUES (1, 1, 'a', 0);",
        )
        .unwrap();
        conn
    }

    fn answer(conn: &Connection, sql: &str, set: &[&str]) -> (u16, String) {
        let err = conn.execute_batch(sql).unwrap_err();
        let e = violation(conn, &SCHEMA, &err, set).unwrap_or_else(|| panic!("{err}"));
        let status = e.status().as_u16();
        match e {
            ApiError::Conflict(d) | ApiError::Unprocessable(d) => (status, d),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_kind_names_its_field_or_rule() {
        let conn = db();
        let set = ["parent", "code", "rank"];
        let (s, d) = answer(&conn, "INSERT INTO kids VALUES (2, 1, 'a', 0)", &set);
        assert_eq!(
            (s, d.as_str()),
            (
                409,
                "code must be unique: another kids row has the same value"
            )
        );
        let (s, d) = answer(&conn, "INSERT INTO kids VALUES (1, 1, 'b', 0)", &set);
        assert_eq!(
            (s, d.as_str()),
            (
                409,
                "id must be unique: another kids row has the same value"
            )
        );
        let (s, d) = answer(&conn, "INSERT INTO kids VALUES (2, 7, 'b', 0)", &set);
        assert_eq!(
            (s, d.as_str()),
            (409, "parent must refer to an existing row of parents")
        );
        let (s, d) = answer(&conn, "DELETE FROM parents WHERE id = 1", &[]);
        assert_eq!(
            (s, d.as_str()),
            (409, "this kids row is still referred to by other rows")
        );
        let (s, d) = answer(&conn, "INSERT INTO kids VALUES (2, 1, NULL, 0)", &set);
        assert_eq!((s, d.as_str()), (422, "code must not be null"));
        let (s, d) = answer(&conn, "INSERT INTO kids VALUES (2, 1, 'b', 11)", &set);
        assert_eq!(
            (s, d.as_str()),
            (422, "the values break the rule `rank in range` of kids")
        );
        let (s, d) = answer(&conn, "INSERT INTO kids VALUES (2, 1, 'x', 5)", &set);
        assert_eq!(
            (s, d.as_str()),
            (422, "parent, code, rank break a rule of kids")
        );
    }

    #[test]
    fn other_errors_are_not_violations() {
        let conn = db();
        let err = conn.execute_batch("SELECT * FROM nowhere").unwrap_err();
        assert!(violation(&conn, &SCHEMA, &err, &[]).is_none());
    }
}
