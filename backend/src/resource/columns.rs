//! Whether a resource's fields fit its table, checked at start-up and by `migrate --check`
//! (`docs/contract.md` §7): every field has a column of its name, and that column's declared
//! type stores every value the field writes unchanged.
//!
//! SQLite converts a value to its column's *affinity* on the way in, and the affinity comes
//! from the declared type by the five rules of <https://sqlite.org/datatype3.html> §3.1. So the
//! rule is stated on affinities, not on type names: `VARCHAR(80)` is TEXT, `BIGINT` is INTEGER,
//! `DATETIME` is NUMERIC, no type at all is BLOB (which converts nothing).

use rusqlite::{Connection, OptionalExtension};

use super::schema::{Field, FieldKind, Schema};

/// A column's type affinity (datatype3 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Affinity {
    Text,
    Numeric,
    Integer,
    Real,
    /// "BLOB" in the docs, also called none: values are stored as given.
    Blob,
}

impl Affinity {
    /// §3.1: the first rule that matches the declared type, in order. `ANY` in a `STRICT`
    /// table stores values as given (<https://sqlite.org/stricttables.html> §3).
    pub(crate) fn of(declared: &str, strict: bool) -> Affinity {
        let t = declared.to_ascii_uppercase();
        let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
        if strict && t.trim() == "ANY" {
            Affinity::Blob
        } else if has(&["INT"]) {
            Affinity::Integer
        } else if has(&["CHAR", "CLOB", "TEXT"]) {
            Affinity::Text
        } else if has(&["BLOB"]) || t.trim().is_empty() {
            Affinity::Blob
        } else if has(&["REAL", "FLOA", "DOUB"]) {
            Affinity::Real
        } else {
            Affinity::Numeric
        }
    }

    fn name(self) -> &'static str {
        match self {
            Affinity::Text => "TEXT",
            Affinity::Numeric => "NUMERIC",
            Affinity::Integer => "INTEGER",
            Affinity::Real => "REAL",
            Affinity::Blob => "BLOB (none)",
        }
    }
}

/// The affinities that keep every value a field of `kind` writes as written (datatype3 §3.0,
/// §4.0): text stays the same text, a number the same number.
pub(crate) fn accepted(kind: FieldKind) -> &'static [Affinity] {
    use Affinity::*;
    match kind {
        // NUMERIC, INTEGER and REAL turn the text "12" into the number 12.
        FieldKind::Text => &[Text, Blob],
        // RFC 3339 text is never a well-formed number literal: no affinity converts it.
        FieldKind::Datetime => &[Text, Blob, Numeric, Integer, Real],
        // TEXT turns 1 into '1'; REAL turns it into 1.0, and rounds integers beyond 2^53.
        FieldKind::Int | FieldKind::Bool => &[Integer, Numeric, Blob],
        // TEXT turns 2.5 into '2.5'; INTEGER and NUMERIC store 2.0 as the integer 2 (the same
        // number: JSON does not tell them apart) and keep every other real as it is.
        FieldKind::Real => &[Real, Integer, Numeric, Blob],
    }
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "text",
        FieldKind::Int => "int",
        FieldKind::Real => "real",
        FieldKind::Bool => "bool",
        FieldKind::Datetime => "datetime",
    }
}

/// Checks `schema`'s fields against its table's columns. `Ok` when the table is not there
/// either: preparing the statements reports that one.
pub(crate) fn check(schema: &Schema, conn: &Connection) -> Result<(), String> {
    let columns = columns(conn, schema.table).map_err(|e| {
        format!(
            "reading the columns of table {}: {e} (does a migration create it?)",
            schema.table
        )
    })?;
    let Some(table) = columns else {
        return Ok(());
    };
    for field in schema.fields {
        check_field(schema, field, &table.columns, table.strict)?;
    }
    Ok(())
}

fn check_field(
    schema: &Schema,
    field: &Field,
    columns: &[(String, String)],
    strict: bool,
) -> Result<(), String> {
    let table = schema.table;
    let Some((column, declared)) = columns
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(field.name))
    else {
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        return Err(format!(
            "table {table} has no column `{}` for field `{}` (its columns: {}; does a \
             migration create it?)",
            field.name,
            field.name,
            names.join(", ")
        ));
    };
    let affinity = Affinity::of(declared, strict);
    let accepted = accepted(field.kind);
    if accepted.contains(&affinity) {
        return Ok(());
    }
    let names: Vec<&str> = accepted.iter().map(|a| a.name()).collect();
    let declared = if declared.is_empty() {
        "without a type".to_owned()
    } else {
        format!("as {declared}")
    };
    Err(format!(
        "table {table}: column `{column}` is declared {declared} ({} affinity), which does not \
         keep the values of field `{}`, a {}: its column needs {} affinity (sqlite.org/datatype3.html §3.1)",
        affinity.name(),
        field.name,
        kind_name(field.kind),
        names.join(", ")
    ))
}

/// A table as `PRAGMA table_xinfo` and `table_list` describe it.
struct Table {
    /// `(name, declared type)` of each column, in order.
    columns: Vec<(String, String)>,
    strict: bool,
}

/// `table`'s columns; `None` when there is no such table or view.
fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Option<Table>> {
    let strict: Option<bool> = conn
        .query_row(
            "SELECT strict FROM pragma_table_list WHERE name = ?1 COLLATE NOCASE AND schema = 'main'",
            [table],
            |r| r.get(0),
        )
        .optional()?;
    let Some(strict) = strict else {
        return Ok(None);
    };
    let mut stmt = conn.prepare("SELECT name, type FROM pragma_table_xinfo(?1)")?;
    let columns = stmt
        .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(Table { columns, strict }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_by_the_five_rules() {
        use Affinity::*;
        for (declared, affinity) in [
            ("INTEGER", Integer),
            ("BIGINT", Integer),
            ("POINT", Integer), // rule 1 first: "POINT" contains "INT"
            ("TEXT", Text),
            ("VARCHAR(80)", Text),
            ("clob", Text),
            ("BLOB", Blob),
            ("", Blob),
            ("REAL", Real),
            ("DOUBLE PRECISION", Real),
            ("FLOAT", Real),
            ("NUMERIC", Numeric),
            ("DATETIME", Numeric),
            ("BOOLEAN", Numeric),
            ("ANY", Numeric),
        ] {
            assert_eq!(Affinity::of(declared, false), affinity, "{declared}");
        }
        assert_eq!(Affinity::of("ANY", true), Blob);
    }

    /// What the framework's generator and examples declare is accepted.
    #[test]
    fn the_usual_columns_fit() {
        for (kind, declared) in [
            (FieldKind::Int, "INTEGER"),
            (FieldKind::Text, "TEXT"),
            (FieldKind::Real, "REAL"),
            (FieldKind::Bool, "INTEGER"),
            (FieldKind::Datetime, "TEXT"),
            (FieldKind::Datetime, "DATETIME"),
        ] {
            assert!(
                accepted(kind).contains(&Affinity::of(declared, false)),
                "{kind:?} {declared}"
            );
        }
        for (kind, declared) in [
            (FieldKind::Bool, "TEXT"),
            (FieldKind::Int, "TEXT"),
            (FieldKind::Int, "REAL"),
            (FieldKind::Text, "INTEGER"),
            (FieldKind::Text, "NUMERIC"),
            (FieldKind::Real, "VARCHAR"),
        ] {
            assert!(
                !accepted(kind).contains(&Affinity::of(declared, false)),
                "{kind:?} {declared}"
            );
        }
    }

    /// The accepted affinities really keep the values: stored and read back, each value has its
    /// storage class (or, for a real over an integer affinity, the same number).
    #[test]
    fn accepted_affinities_keep_the_values_and_refused_ones_do_not() {
        let conn = Connection::open_in_memory().unwrap();
        let kinds = [
            (FieldKind::Text, rusqlite::types::Value::Text("12".into())),
            (
                FieldKind::Int,
                rusqlite::types::Value::Integer(9_007_199_254_740_993),
            ),
            (FieldKind::Bool, rusqlite::types::Value::Integer(1)),
            (FieldKind::Real, rusqlite::types::Value::Real(2.5)),
            (
                FieldKind::Datetime,
                rusqlite::types::Value::Text("2026-12-01T10:00:00Z".into()),
            ),
        ];
        for declared in ["TEXT", "INTEGER", "REAL", "NUMERIC", ""] {
            conn.execute_batch(&format!(
                "DROP TABLE IF EXISTS t; CREATE TABLE t (v {declared});"
            ))
            .unwrap();
            for (kind, value) in &kinds {
                conn.execute("DELETE FROM t", []).unwrap();
                conn.execute("INSERT INTO t (v) VALUES (?1)", [value])
                    .unwrap();
                let back: rusqlite::types::Value =
                    conn.query_row("SELECT v FROM t", [], |r| r.get(0)).unwrap();
                let kept = back == *value;
                let fits = accepted(*kind).contains(&Affinity::of(declared, false));
                assert_eq!(
                    fits, kept,
                    "{kind:?} over {declared:?}: {value:?} -> {back:?}"
                );
            }
        }
    }
}
