//! The todo queries. Statements go through rusqlite's per-connection statement cache.

use rusqlite::{Connection, OptionalExtension, Row};

use crate::publish::Todo;

const COLUMNS: &str = "id, title, done, created_at, updated_at";

fn todo(row: &Row<'_>) -> rusqlite::Result<Todo> {
    Ok(Todo {
        id: row.get(0)?,
        title: row.get(1)?,
        done: row.get(2)?,
        created_at: row.get(3)?,
        updated_at: row.get(4)?,
    })
}

/// Todos ordered by `id`, a page of them.
pub fn list(conn: &Connection, limit: i64, offset: i64) -> rusqlite::Result<Vec<Todo>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM todos ORDER BY id LIMIT ?1 OFFSET ?2"
    ))?;
    stmt.query_map((limit, offset), todo)?.collect()
}

/// One todo.
pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Todo>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM todos WHERE id = ?1"))?;
    stmt.query_row([id], todo).optional()
}

/// Inserts a todo and returns it as stored.
pub fn create(conn: &Connection, title: &str, done: bool) -> rusqlite::Result<Todo> {
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO todos (title, done) VALUES (?1, ?2) RETURNING {COLUMNS}"
    ))?;
    stmt.query_row((title, done), todo)
}

/// Changes the given fields of a todo; `None` when there is no such todo.
pub fn update(
    conn: &Connection,
    id: i64,
    title: Option<&str>,
    done: Option<bool>,
) -> rusqlite::Result<Option<Todo>> {
    let mut stmt = conn.prepare_cached(&format!(
        "UPDATE todos SET title = coalesce(?2, title), done = coalesce(?3, done), \
         updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?1 RETURNING {COLUMNS}"
    ))?;
    stmt.query_row((id, title, done), todo).optional()
}

/// Deletes a todo; false when there was none.
pub fn delete(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare_cached("DELETE FROM todos WHERE id = ?1")?;
    Ok(stmt.execute([id])? > 0)
}
