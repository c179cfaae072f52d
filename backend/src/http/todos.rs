//! `/api/todos`: list, create, show, update, delete (`docs/contract.md` §7). Every committed
//! change is handed to the [`Publisher`](crate::publish::Publisher) seam.

use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Json, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use crate::db::todos;
use crate::publish::{Todo, TodoEvent};

/// The longest title accepted, in characters.
pub const MAX_TITLE: usize = 1000;
/// The page size when `limit` is absent, and the largest allowed.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// The routes, and a catch-all under `/api/` so that unknown API paths are behind the token too
/// (404 only with it). Flat routes rather than `nest`: no URI rewriting per request.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/todos", get(list).post(create))
        .route("/api/todos/{id}", get(show).patch(update).delete(delete))
        .route("/api/{*rest}", any(super::site::not_found))
}

/// `?limit=&offset=`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<i64>,
    offset: Option<i64>,
}

/// The body of `POST /api/todos`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTodo {
    title: String,
    #[serde(default)]
    done: bool,
}

/// The body of `PATCH /api/todos/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTodo {
    title: Option<String>,
    done: Option<bool>,
}

async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1..={MAX_LIMIT}"
        )));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::BadRequest("offset must be >= 0".into()));
    }
    state.list_json(limit, offset).map(json_bytes)
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Todo>, ApiError> {
    let id = parse_id(&id)?;
    let found =
        todos::get(&state.db.reader(), id).map_err(|e| ApiError::internal("reading a todo", e))?;
    found.map(Json).ok_or(ApiError::NotFound)
}

async fn create(
    State(state): State<AppState>,
    body: Result<Json<JsonObject>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input: CreateTodo = from_object(body)?;
    validate_title(&input.title)?;
    let todo = state
        .write(
            move |conn| todos::create(conn, &input.title, input.done),
            |todo| Some(TodoEvent::Created(todo.clone())),
        )
        .await?;
    let location = HeaderValue::from_str(&format!("/api/todos/{}", todo.id))
        .map_err(|e| ApiError::internal("location", e))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(todo),
    )
        .into_response())
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<JsonObject>, JsonRejection>,
) -> Result<Json<Todo>, ApiError> {
    let id = parse_id(&id)?;
    let input: UpdateTodo = from_object(body)?;
    if let Some(title) = &input.title {
        validate_title(title)?;
    }
    let todo = state
        .write(
            move |conn| todos::update(conn, id, input.title.as_deref(), input.done),
            |todo| todo.clone().map(TodoEvent::Updated),
        )
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(todo))
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let deleted = state
        .write(
            move |conn| todos::delete(conn, id),
            move |deleted| deleted.then_some(TodoEvent::Deleted { id }),
        )
        .await?;
    if !deleted {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

type JsonObject = serde_json::Map<String, serde_json::Value>;

/// A request body: a JSON object (serde would also take an array for a struct), then its fields.
fn from_object<T: serde::de::DeserializeOwned>(
    body: Result<Json<JsonObject>, JsonRejection>,
) -> Result<T, ApiError> {
    let Json(object) = body?;
    serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|e| ApiError::Unprocessable(format!("invalid request body: {e}")))
}

/// An id that is not a positive integer names no todo: 404.
fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(ApiError::NotFound)
}

fn validate_title(title: &str) -> Result<(), ApiError> {
    if title.trim().is_empty() {
        return Err(ApiError::Unprocessable("title must not be empty".into()));
    }
    if title.chars().count() > MAX_TITLE {
        return Err(ApiError::Unprocessable(format!(
            "title must be at most {MAX_TITLE} characters"
        )));
    }
    Ok(())
}

fn json_bytes(body: bytes::Bytes) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
