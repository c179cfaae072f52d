//! Resource hooks: an app's own code inside the convention's writes (`docs/contract.md` §7
//! "Hooks"). [`ResourceHooks`] is the typed trait an app implements for its resource struct and
//! registers with [`crate::Backend::resource_with_hooks`]; [`Hook`] is what each hook gets: the
//! write's transaction, the values, and publish/defer that take effect only once it commits.

use std::future::Future;

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::Resource;
use crate::context::Context;
use crate::deferred::Task;
use crate::http::error::ApiError;
use crate::publish::LiveUpdate;

/// Hooks on a resource's writes, run inside the write's transaction (one `BEGIN IMMEDIATE` ...
/// `COMMIT`). Every method has a no-op default: implement the ones you need.
///
/// - `before_*` run before the statement: they may refuse the write (return an [`ApiError`],
///   usually [`ApiError::field`], a 422 naming the field) or change the values it sets
///   ([`Hook::set`]: computed fields). Changed values are checked again by the field rules.
/// - `after_*` run after the statement, still in the transaction: they see the row as stored
///   ([`Hook::get`]), may write more with [`Hook::conn`], [`Hook::publish`] on their own topics
///   and [`Hook::defer`] work. An error from an after hook **rolls the whole write back** and is
///   the answer (nothing is published, nothing deferred).
///
/// What a hook publishes goes out after the commit, right after the convention's own update,
/// while the writer is held: in commit order with every other write's updates.
///
/// ```
/// use qmlbridge_backend::{ApiError, Backend, Hook, LiveUpdate, Resource, ResourceHooks};
///
/// #[derive(Resource)]
/// #[resource(name = "expenses")]
/// struct Expense {
///     id: i64,
///     cents: i64,
///     label: String,
/// }
///
/// impl ResourceHooks for Expense {
///     fn before_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
///         if hook.get("cents").and_then(|v| v.as_i64()).is_some_and(|c| c <= 0) {
///             return Err(ApiError::field("cents", "must be positive"));
///         }
///         // A computed field: the label as the user typed it, trimmed.
///         let label = hook.get("label").and_then(|v| v.as_str()).unwrap_or("").trim().to_owned();
///         hook.set("label", label);
///         Ok(())
///     }
///
///     fn after_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
///         let total: i64 = hook
///             .conn()
///             .query_row("SELECT total(cents) FROM expenses", [], |r| r.get::<_, f64>(0))
///             .map(|t| t as i64)
///             .map_err(|e| ApiError::internal("summing", e))?;
///         hook.publish(LiveUpdate::new(vec!["/summary".into()], total.to_string()));
///         Ok(())
///     }
/// }
///
/// let backend = Backend::new("expenses", "1.0.0").resource_with_hooks::<Expense>();
/// # drop(backend);
/// ```
pub trait ResourceHooks: Resource {
    /// Before a `POST`: [`Hook::values`] are the fields the body sets, checked.
    fn before_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        let _ = hook;
        Ok(())
    }

    /// Before a `PATCH` of row [`Hook::id`]: the fields the body sets, checked.
    fn before_update(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        let _ = hook;
        Ok(())
    }

    /// Before a `DELETE` of row [`Hook::id`] (no values).
    fn before_delete(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        let _ = hook;
        Ok(())
    }

    /// After the row was inserted: [`Hook::values`] is the row as stored.
    fn after_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        let _ = hook;
        Ok(())
    }

    /// After the row was updated: the row as stored.
    fn after_update(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        let _ = hook;
        Ok(())
    }

    /// After the row was deleted: [`Hook::values`] is the row as it was.
    fn after_delete(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        let _ = hook;
        Ok(())
    }
}

/// One hook function, type-erased.
type HookFn = fn(&mut Hook<'_>) -> Result<(), ApiError>;

/// A resource's hooks as registered: `[create, update, delete]` before and after.
#[derive(Clone, Copy)]
pub(crate) struct Hooks {
    before: [HookFn; 3],
    after: [HookFn; 3],
}

impl Hooks {
    pub(crate) fn of<R: ResourceHooks>() -> Hooks {
        Hooks {
            before: [R::before_create, R::before_update, R::before_delete],
            after: [R::after_create, R::after_update, R::after_delete],
        }
    }

    pub(crate) fn before(&self, op: Op, hook: &mut Hook<'_>) -> Result<(), ApiError> {
        (self.before[op as usize])(hook)
    }

    pub(crate) fn after(&self, op: Op, hook: &mut Hook<'_>) -> Result<(), ApiError> {
        (self.after[op as usize])(hook)
    }
}

/// Which write a hook runs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Create = 0,
    Update = 1,
    Delete = 2,
}

/// What a hook sees and does: the write's transaction, its values, and the effects that wait
/// for the commit.
///
/// ```
/// use qmlbridge_backend::{ApiError, Backend, Hook, LiveUpdate, Migration, Resource, ResourceHooks};
///
/// #[derive(Resource)]
/// #[resource(name = "notes")]
/// struct Note {
///     id: i64,
///     text: String,
///     words: Option<i64>,
/// }
///
/// impl ResourceHooks for Note {
///     // A computed field: `words` from `text`.
///     fn before_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
///         let text = hook.get("text").and_then(|v| v.as_str()).unwrap_or_default();
///         let words = text.split_whitespace().count() as i64;
///         hook.set("words", words);
///         Ok(())
///     }
///
///     // After the insert, in the same transaction: the row as stored, with its key.
///     fn after_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
///         let id = hook.id().unwrap_or_default();
///         hook.publish(LiveUpdate::new(vec!["notes/new".into()], id.to_string()));
///         Ok(())
///     }
/// }
///
/// static MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_create_notes",
///     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, words INTEGER)")];
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # use qmlbridge_backend::axum::{body::Body, http::{Request, header}};
/// # use tower::ServiceExt;
/// let backend = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).resource_with_hooks::<Note>();
/// let app = backend.test(None, "t").unwrap();
/// # let req = Request::post("/api/notes").header(header::HOST, "127.0.0.1:8765")
/// #     .header(header::AUTHORIZATION, "Bearer t").header(header::CONTENT_TYPE, "application/json")
/// #     .body(Body::from(r#"{"text":"three little words"}"#)).unwrap();
/// # assert_eq!(app.router().oneshot(req).await.unwrap().status(), 201);
/// // POST /api/notes {"text": "three little words"} stores `words: 3`, then publishes:
/// let words: i64 = app.context().read(|c| c.query_row("SELECT words FROM notes", [], |r| r.get(0))).unwrap();
/// assert_eq!(words, 3);
/// assert_eq!(app.published().last().unwrap().topics, ["notes/new"]);
/// # }
/// ```
pub struct Hook<'a> {
    ctx: &'a Context,
    conn: &'a Connection,
    id: Option<i64>,
    pub(crate) values: Map<String, Value>,
    pub(crate) effects: Effects,
}

/// What hooks asked for, applied once the write commits.
#[derive(Default)]
pub(crate) struct Effects {
    pub(crate) updates: Vec<LiveUpdate>,
    pub(crate) tasks: Vec<Task>,
}

impl std::fmt::Debug for Hook<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hook")
            .field("id", &self.id)
            .field("values", &self.values)
            .finish_non_exhaustive()
    }
}

impl<'a> Hook<'a> {
    pub(crate) fn new(
        ctx: &'a Context,
        conn: &'a Connection,
        id: Option<i64>,
        values: Map<String, Value>,
        effects: Effects,
    ) -> Self {
        Hook {
            ctx,
            conn,
            id,
            values,
            effects,
        }
    }

    /// The write's connection, inside its transaction: what a hook reads or writes here
    /// commits or rolls back with the write.
    ///
    /// ```
    /// # use qmlbridge_backend::{ApiError, Hook, LiveUpdate};
    /// fn after_delete(hook: &mut Hook<'_>) -> Result<(), ApiError> {
    ///     hook.conn()
    ///         .execute("DELETE FROM note_tags WHERE note_id = ?1", [hook.id()])
    ///         .map_err(|e| ApiError::internal("deleting the note's tags", e))?;
    ///     Ok(())
    /// }
    /// ```
    pub fn conn(&self) -> &Connection {
        self.conn
    }

    /// The backend's context (the app's state, its version). Publish and defer through
    /// [`Hook::publish`] and [`Hook::defer`], not through the context: those wait for the commit.
    ///
    /// ```
    /// # use qmlbridge_backend::{ApiError, Hook, LiveUpdate};
    /// fn after_update(hook: &mut Hook<'_>) -> Result<(), ApiError> {
    ///     let ctx = hook.context().clone();
    ///     hook.defer(async move {
    ///         let _ = ctx.write(|conn| conn.execute("UPDATE stats SET edits = edits + 1", [])).await;
    ///     });
    ///     Ok(())
    /// }
    /// ```
    pub fn context(&self) -> &Context {
        self.ctx
    }

    /// The app's own state ([`Context::state`]).
    ///
    /// ```
    /// # use qmlbridge_backend::{ApiError, Hook, LiveUpdate};
    /// struct Limits {
    ///     max_notes: i64,
    /// }
    ///
    /// fn before_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
    ///     let max = hook.state::<Limits>().map_or(i64::MAX, |l| l.max_notes);
    ///     let n: i64 = hook
    ///         .conn()
    ///         .query_row("SELECT count(*) FROM notes", [], |r| r.get(0))
    ///         .map_err(|e| ApiError::internal("counting notes", e))?;
    ///     if n >= max {
    ///         return Err(ApiError::Conflict(format!("at most {max} notes")));
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.ctx.state()
    }

    /// The row's key: `None` before a create.
    ///
    /// ```
    /// # use qmlbridge_backend::{ApiError, Hook, LiveUpdate};
    /// fn before_delete(hook: &mut Hook<'_>) -> Result<(), ApiError> {
    ///     if hook.id() == Some(1) {
    ///         return Err(ApiError::field("id", "1 is the welcome note and stays"));
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn id(&self) -> Option<i64> {
        self.id
    }

    /// Before: the fields the write sets (JSON, checked). After: the row as stored.
    ///
    /// ```
    /// # use qmlbridge_backend::{ApiError, Hook, LiveUpdate};
    /// fn before_update(hook: &mut Hook<'_>) -> Result<(), ApiError> {
    ///     if hook.values().contains_key("created_by") {
    ///         return Err(ApiError::field("created_by", "cannot change"));
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// One of [`Hook::values`].
    ///
    /// ```
    /// # use qmlbridge_backend::{ApiError, Hook, LiveUpdate};
    /// fn before_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
    ///     if hook.get("cents").and_then(|v| v.as_i64()).is_some_and(|c| c <= 0) {
    ///         return Err(ApiError::field("cents", "must be positive"));
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.values.get(field)
    }

    /// Before hooks: sets `field` (a writable field of the resource; checked by its rules
    /// after the hook, 422 otherwise). Ignored after the statement.
    ///
    /// ```
    /// # use qmlbridge_backend::{ApiError, Hook, LiveUpdate};
    /// fn before_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
    ///     let label = hook.get("label").and_then(|v| v.as_str()).unwrap_or_default();
    ///     let label = label.trim().to_owned();
    ///     hook.set("label", label);
    ///     Ok(())
    /// }
    /// ```
    pub fn set(&mut self, field: &str, value: impl Into<Value>) {
        self.values.insert(field.to_owned(), value.into());
    }

    /// Before hooks: drops `field` from the write (a create then gives it its column default).
    ///
    /// ```
    /// # use qmlbridge_backend::{ApiError, Hook, LiveUpdate};
    /// fn before_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
    ///     // An empty colour means "the default colour".
    ///     if hook.get("colour").and_then(|v| v.as_str()) == Some("") {
    ///         hook.remove("colour");
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn remove(&mut self, field: &str) -> Option<Value> {
        self.values.remove(field)
    }

    /// Publishes `update` once the write has committed, right after the convention's own
    /// update for this row (nothing if it rolls back).
    ///
    /// ```
    /// # use qmlbridge_backend::{ApiError, Hook, LiveUpdate};
    /// fn after_update(hook: &mut Hook<'_>) -> Result<(), ApiError> {
    ///     let data = format!("{{\"id\":{}}}", hook.id().unwrap_or_default());
    ///     hook.publish(LiveUpdate::new(vec!["notes/edited".into()], data).event_type("edited"));
    ///     Ok(())
    /// }
    /// ```
    pub fn publish(&mut self, update: LiveUpdate) {
        self.effects.updates.push(update);
    }

    /// Runs `task` after the response, as [`Context::defer`] does, once the write has
    /// committed (never if it rolls back).
    ///
    /// ```
    /// # use qmlbridge_backend::{ApiError, Hook, LiveUpdate};
    /// fn after_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
    ///     let id = hook.id();
    ///     hook.defer(async move { qmlbridge_backend::log::info!(note = id, "a note was added") });
    ///     Ok(())
    /// }
    /// ```
    pub fn defer(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.effects.tasks.push(Box::pin(task));
    }
}
