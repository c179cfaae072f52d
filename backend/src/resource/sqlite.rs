//! The SQLite dialect: every statement of the resource convention, built from a [`Schema`]
//! once at start-up, and run through rusqlite's per-connection statement cache. Apps never write
//! this SQL; another store would be another module beside this one.

pub(crate) use super::body::Record;
use super::body::row_json;
use super::query::ListQuery;
use super::schema::{Field, FieldRole, Schema};
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

/// Now as RFC 3339 UTC, in SQL.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')";

/// One resource's statements.
#[derive(Debug)]
pub(crate) struct Statements {
    schema: &'static Schema,
    /// `"id", "title", ...`
    columns: String,
    table: String,
    key: String,
    get: String,
    delete: String,
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

impl Statements {
    pub(crate) fn new(schema: &'static Schema) -> Self {
        let columns = schema
            .fields
            .iter()
            .map(|f| quote(f.name))
            .collect::<Vec<_>>()
            .join(", ");
        let table = quote(schema.table);
        let key = quote(schema.key());
        Statements {
            get: format!("SELECT {columns} FROM {table} WHERE {key} = ?1"),
            delete: format!("DELETE FROM {table} WHERE {key} = ?1"),
            schema,
            columns,
            table,
            key,
        }
    }

    /// A page, ordered by the key.
    pub(crate) fn list(&self, conn: &Connection, q: &ListQuery) -> rusqlite::Result<Vec<Record>> {
        let mut sql = format!("SELECT {} FROM {}", self.columns, self.table);
        let mut params: Vec<Sql> = Vec::with_capacity(q.filters.len() + 3);
        for (field, value) in &q.filters {
            let joiner = if params.is_empty() {
                " WHERE "
            } else {
                " AND "
            };
            params.push(value.clone());
            sql.push_str(&format!(
                "{joiner}{} = ?{}",
                quote(field.name),
                params.len()
            ));
        }
        if let Some(after) = q.after {
            let joiner = if params.is_empty() {
                " WHERE "
            } else {
                " AND "
            };
            params.push(Sql::Integer(after));
            sql.push_str(&format!("{joiner}{} > ?{}", self.key, params.len()));
        }
        let n = params.len();
        sql.push_str(&format!(
            " ORDER BY {} LIMIT ?{} OFFSET ?{}",
            self.key,
            n + 1,
            n + 2
        ));
        let mut stmt = conn.prepare_cached(&sql)?;
        params.extend([Sql::Integer(q.limit), Sql::Integer(q.offset)]);
        let rows = stmt.query_map(params_from_iter(params), |row| row_json(self.schema, row))?;
        rows.collect()
    }

    /// One row.
    pub(crate) fn get(&self, conn: &Connection, id: i64) -> rusqlite::Result<Option<Record>> {
        let mut stmt = conn.prepare_cached(&self.get)?;
        stmt.query_row([id], |row| row_json(self.schema, row))
            .optional()
    }

    /// Inserts the given values (the others take their column defaults); the row as stored.
    pub(crate) fn create(
        &self,
        conn: &Connection,
        values: &[(&'static Field, Sql)],
    ) -> rusqlite::Result<Record> {
        let sql = if values.is_empty() {
            format!(
                "INSERT INTO {} DEFAULT VALUES RETURNING {}",
                self.table, self.columns
            )
        } else {
            let names: Vec<String> = values.iter().map(|(f, _)| quote(f.name)).collect();
            let marks: Vec<String> = (1..=values.len()).map(|i| format!("?{i}")).collect();
            format!(
                "INSERT INTO {} ({}) VALUES ({}) RETURNING {}",
                self.table,
                names.join(", "),
                marks.join(", "),
                self.columns
            )
        };
        let mut stmt = conn.prepare_cached(&sql)?;
        let params = values.iter().map(|(_, v)| v.clone());
        stmt.query_row(params_from_iter(params), |row| row_json(self.schema, row))
    }

    /// Sets the given values and the `updated_at` fields; `None` when there is no such row.
    pub(crate) fn update(
        &self,
        conn: &Connection,
        id: i64,
        values: &[(&'static Field, Sql)],
    ) -> rusqlite::Result<Option<Record>> {
        let mut sets: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, (f, _))| format!("{} = ?{}", quote(f.name), i + 2))
            .collect();
        sets.extend(
            self.schema
                .fields
                .iter()
                .filter(|f| f.role == FieldRole::UpdatedAt)
                .map(|f| format!("{} = {NOW}", quote(f.name))),
        );
        if sets.is_empty() {
            sets.push(format!("{0} = {0}", self.key));
        }
        let sql = format!(
            "UPDATE {} SET {} WHERE {} = ?1 RETURNING {}",
            self.table,
            sets.join(", "),
            self.key,
            self.columns
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let params = std::iter::once(Sql::Integer(id)).chain(values.iter().map(|(_, v)| v.clone()));
        stmt.query_row(params_from_iter(params), |row| row_json(self.schema, row))
            .optional()
    }

    /// Deletes a row; false when there was none.
    pub(crate) fn delete(&self, conn: &Connection, id: i64) -> rusqlite::Result<bool> {
        Ok(conn.prepare_cached(&self.delete)?.execute([id])? > 0)
    }

    /// Checks every statement against the database once (a missing table or column is a
    /// start-up error, not a 500 on the first request).
    pub(crate) fn check(&self, conn: &Connection) -> rusqlite::Result<()> {
        conn.prepare(&format!(
            "SELECT {} FROM {} WHERE 0 ORDER BY {}",
            self.columns, self.table, self.key
        ))
        .map(drop)
    }
}
