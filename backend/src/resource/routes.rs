//! The routes of one resource (`docs/contract.md` §7, the resource convention):
//! `GET/POST /api/<name>`, `GET/PATCH/DELETE /api/<name>/{id}`. Writes go through
//! [`Context::write`], which publishes each committed change on `/api/<name>/{id}` and
//! `/api/<name>` in commit order; in their transaction run the app's hooks (`hooks`), and a
//! constraint the client broke answers 409/422 (`constraint`). List pages are cached until the
//! next write.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, Uri, header};
use rusqlite::Connection;
use rusqlite::types::Value as Sql;
use serde_json::{Map, Value};

use super::announce;
use super::body::{Mode, values};
use super::constraint::violation;
use super::hooks::{Effects, Hook, Hooks, Op};
use super::query::ListQuery;
use super::schema::{Field, Schema};
use super::sqlite::{Record, Statements};
use crate::context::Context;
use crate::http::error::ApiError;
use crate::publish::LiveUpdate;

/// One registered resource: its schema, statements and list cache.
pub(crate) struct Api {
    schema: &'static Schema,
    /// The app's hooks on its writes, if registered with them.
    hooks: Option<Hooks>,
    sql: Statements,
    /// The last page served: (generation, raw query, body).
    page: Mutex<Option<(u64, Option<String>, Bytes)>>,
}

impl Api {
    pub(crate) fn new(schema: &'static Schema, hooks: Option<Hooks>) -> Self {
        Api {
            schema,
            hooks,
            sql: Statements::new(schema),
            page: Mutex::new(None),
        }
    }

    pub(crate) fn schema(&self) -> &'static Schema {
        self.schema
    }

    pub(crate) fn statements(&self) -> &Statements {
        &self.sql
    }

    fn change(&self, record: &Record) -> Option<LiveUpdate> {
        announce::changed(self.schema, record)
    }

    fn deleted_update(&self, id: i64) -> LiveUpdate {
        announce::deleted(self.schema, id)
    }
}

/// The five routes of `api`.
pub(crate) fn router(api: Arc<Api>) -> Router<Context> {
    let name = api.schema.name;
    let (a, b, c, d, e) = (api.clone(), api.clone(), api.clone(), api.clone(), api);
    Router::new()
        .route(
            &format!("/api/{name}"),
            get(move |s, q| list(a.clone(), s, q)).post(move |s, body| create(b.clone(), s, body)),
        )
        .route(
            &format!("/api/{name}/{{id}}"),
            get(move |s, id| show(c.clone(), s, id))
                .patch(move |s, id, body| update(d.clone(), s, id, body))
                .delete(move |s, id| delete(e.clone(), s, id)),
        )
}

async fn list(
    api: Arc<Api>,
    State(ctx): State<Context>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let generation = ctx.generation();
    if let Some((g, q, body)) = &*lock(&api.page)
        && *g == generation
        && *q == raw
    {
        return Ok(json_bytes(body.clone()));
    }
    let query = ListQuery::parse(api.schema, raw.as_deref())?;
    let rows = api
        .sql
        .list(&ctx.db().reader(), &query)
        .map_err(|e| ApiError::internal("listing", e))?;
    let body = Bytes::from(serde_json::to_vec(&rows).map_err(|e| ApiError::internal("json", e))?);
    // Only cache what was read at the current generation (no write slipped in between).
    if ctx.generation() == generation {
        *lock(&api.page) = Some((generation, raw, body.clone()));
    }
    Ok(json_bytes(body))
}

async fn show(
    api: Arc<Api>,
    State(ctx): State<Context>,
    uri: Uri,
) -> Result<Json<Record>, ApiError> {
    let id = parse_id(&uri)?;
    let found = api
        .sql
        .get(&ctx.db().reader(), id)
        .map_err(|e| ApiError::internal("reading", e))?;
    found.map(Json).ok_or(ApiError::NotFound)
}

async fn create(
    api: Arc<Api>,
    State(ctx): State<Context>,
    body: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Response, ApiError> {
    let object = object(body)?;
    values(api.schema, &object, Mode::Create)?;
    let writer = api.clone();
    let record = run(&ctx, &api, Op::Create, None, object, move |conn, values| {
        writer.sql.create(conn, values).map(Some)
    })
    .await?
    .ok_or(ApiError::NotFound)?;
    let id = record
        .get(api.schema.key())
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let location = HeaderValue::from_str(&format!("/api/{}/{id}", api.schema.name))
        .map_err(|e| ApiError::internal("location", e))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(record),
    )
        .into_response())
}

async fn update(
    api: Arc<Api>,
    State(ctx): State<Context>,
    uri: Uri,
    body: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Json<Record>, ApiError> {
    let id = parse_id(&uri)?;
    let object = object(body)?;
    values(api.schema, &object, Mode::Update)?;
    let writer = api.clone();
    let record = run(
        &ctx,
        &api,
        Op::Update,
        Some(id),
        object,
        move |conn, values| writer.sql.update(conn, id, values),
    )
    .await?;
    record.map(Json).ok_or(ApiError::NotFound)
}

async fn delete(
    api: Arc<Api>,
    State(ctx): State<Context>,
    uri: Uri,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&uri)?;
    let writer = api.clone();
    let deleted = run(
        &ctx,
        &api,
        Op::Delete,
        Some(id),
        Map::new(),
        move |conn, _| {
            // The row as it was: what the after hook sees.
            let Some(row) = writer.sql.get(conn, id)? else {
                return Ok(None);
            };
            Ok(writer.sql.delete(conn, id)?.then_some(row))
        },
    )
    .await?;
    match deleted {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(ApiError::NotFound),
    }
}

/// One convention write in one transaction: the before hook on the body's `object` (checked
/// again if it changed it), `statement` with the values, the after hook on the row it returns
/// (`None`: no such row, 404, rolled back). After the commit, the convention's update, then what
/// the hooks published; their deferred work once the handler returns (`docs/contract.md` §7
/// "Hooks").
async fn run(
    ctx: &Context,
    api: &Arc<Api>,
    op: Op,
    id: Option<i64>,
    object: Map<String, Value>,
    statement: impl FnOnce(&Connection, &[(&'static Field, Sql)]) -> rusqlite::Result<Option<Record>>
    + Send
    + 'static,
) -> Result<Option<Record>, ApiError> {
    let (writer, hook_ctx) = (api.clone(), ctx.clone());
    let publisher = api.clone();
    let written = ctx
        .write_publishing(
            move |conn| {
                let api = &*writer;
                let mode = if op == Op::Create {
                    Mode::Create
                } else {
                    Mode::Update
                };
                let mut hook = Hook::new(&hook_ctx, conn, id, object, Effects::default());
                if let Some(hooks) = &api.hooks {
                    hooks.before(op, &mut hook).map_err(ApiError::into_sqlite)?;
                }
                let values = match op {
                    Op::Delete => Vec::new(),
                    _ => values(api.schema, &hook.values, mode).map_err(ApiError::into_sqlite)?,
                };
                let set = names(&values);
                let record = statement(conn, &values)
                    .map_err(|e| refused(conn, api, e, &set))?
                    .ok_or_else(|| ApiError::NotFound.into_sqlite())?;
                let effects = match &api.hooks {
                    Some(hooks) => {
                        let row = match serde_json::to_value(&record) {
                            Ok(Value::Object(row)) => row,
                            _ => Map::new(),
                        };
                        let key = record.get(api.schema.key()).and_then(Value::as_i64);
                        let mut after = Hook::new(&hook_ctx, conn, key.or(id), row, hook.effects);
                        hooks.after(op, &mut after).map_err(ApiError::into_sqlite)?;
                        after.effects
                    }
                    None => hook.effects,
                };
                Ok((record, effects))
            },
            move |(record, effects): &(Record, Effects)| {
                let own = match op {
                    Op::Delete => id.map(|id| publisher.deleted_update(id)),
                    _ => publisher.change(record),
                };
                own.into_iter()
                    .chain(effects.updates.iter().cloned())
                    .collect()
            },
        )
        .await;
    match written {
        Ok((record, effects)) => {
            for task in effects.tasks {
                ctx.defer(task);
            }
            Ok(Some(record))
        }
        Err(ApiError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The names of the fields a write sets.
fn names(values: &[(&'static Field, Sql)]) -> Vec<&'static str> {
    values.iter().map(|(f, _)| f.name).collect()
}

/// A constraint violation the client caused, carried out of the transaction as its 409/422
/// (`docs/contract.md` §7 "Constraints"); any other error as it is (a 5xx).
fn refused(conn: &Connection, api: &Api, err: rusqlite::Error, set: &[&str]) -> rusqlite::Error {
    match violation(conn, api.schema, &err, set) {
        Some(answer) => {
            tracing::info!(target: "qmlbridge_backend::http", "{} write refused: {err}", api.schema.name);
            answer.into_sqlite()
        }
        None => err,
    }
}

/// A request body: a JSON object (a struct would also take an array), else 422.
fn object(
    body: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Map<String, Value>, ApiError> {
    Ok(body?.0)
}

/// The row a request names: the last segment of the path as sent, before percent-decoding,
/// must be an id's one spelling, a positive decimal integer without sign or leading zero
/// (`docs/contract.md` §7). Anything else names no row, 404: `01`, `+1` and `%31` do not alias
/// row 1 (one URL per row, as the live-update topics assume), and a segment that does not
/// decode to UTF-8 (`%FF`) is a 404 problem+json like any other non-id, not the router's 400.
fn parse_id(uri: &Uri) -> Result<i64, ApiError> {
    let raw = uri.path().rsplit('/').next().unwrap_or_default();
    let canonical = raw
        .bytes()
        .next()
        .is_some_and(|b| (b'1'..=b'9').contains(&b))
        && raw.bytes().all(|b| b.is_ascii_digit());
    canonical
        .then(|| raw.parse::<i64>().ok())
        .flatten()
        .ok_or(ApiError::NotFound)
}

fn json_bytes(body: Bytes) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
