//! [`Context`]: what every handler of a backend shares, resources' and custom routes' alike —
//! the database, the live-update handle, the app's own state, deferred work. Axum handlers take
//! it as `State(ctx): State<Context>`.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::Connection;
use tokio_util::task::TaskTracker;

use crate::db::Db;
use crate::http::error::ApiError;
use crate::http::guard::Bearer;
use crate::publish::{Live, LiveUpdate};
use crate::resource::Changes;

/// The handlers' shared state. Cheap to clone.
///
/// A handler takes it as axum state, for a route given to [`Backend::routes`](crate::Backend::routes):
///
/// ```
/// use qmlbridge_backend::axum::Json;
/// use qmlbridge_backend::axum::extract::State;
/// use qmlbridge_backend::axum::routing::get;
/// use qmlbridge_backend::{ApiError, Backend, Context};
///
/// /// `GET /api/stats`: how many notes there are.
/// async fn count(State(ctx): State<Context>) -> Result<Json<i64>, ApiError> {
///     let n = ctx.read(|conn| conn.query_row("SELECT count(*) FROM notes", [], |r| r.get(0)))?;
///     Ok(Json(n))
/// }
///
/// let backend = Backend::new("notes", "1.0.0").routes(|r| r.route("/api/stats", get(count)));
/// # drop(backend);
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Db>,
    live: Live,
    bearer: Bearer,
    /// Bumped by every committed write: list caches are valid for one generation.
    generation: AtomicU64,
    app: Option<Arc<dyn Any + Send + Sync>>,
    deferred: TaskTracker,
    /// The app's version, as `/healthz` reports it.
    version: &'static str,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("db", &self.inner.db)
            .field("live", &self.inner.live)
            .finish_non_exhaustive()
    }
}

impl Context {
    pub(crate) fn new(
        db: Arc<Db>,
        live: Live,
        bearer: Bearer,
        app: Option<Arc<dyn Any + Send + Sync>>,
        version: &'static str,
    ) -> Self {
        Context {
            inner: Arc::new(Inner {
                db,
                live,
                bearer,
                generation: AtomicU64::new(0),
                app,
                deferred: TaskTracker::new(),
                version,
            }),
        }
    }

    /// The database (one writer, a few readers). Prefer [`Context::read`] and
    /// [`Context::write`]: they run off the async workers, check the commit and keep the list
    /// caches right.
    ///
    /// ```
    /// # use qmlbridge_backend::{Backend, Migration, Resource};
    /// # #[derive(Resource)]
    /// # #[resource(name = "notes")]
    /// # struct Note { id: i64, text: String }
    /// # const MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_create_notes",
    /// #     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")];
    /// # let app = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).resource::<Note>();
    /// # let app = app.test(None, "token").unwrap();
    /// # let ctx = app.context();
    /// assert_eq!(ctx.db().write_failure(), None);
    /// ```
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The live-update handle (a no-op without a `mercure` block): publishes at once, outside
    /// any write. For an update that belongs to a write, use [`Context::write_with`], which
    /// publishes after the commit, in commit order.
    ///
    /// ```
    /// # use qmlbridge_backend::{Backend, Migration, Resource};
    /// # #[derive(Resource)]
    /// # #[resource(name = "notes")]
    /// # struct Note { id: i64, text: String }
    /// # const MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_create_notes",
    /// #     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")];
    /// # let app = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).resource::<Note>();
    /// # let app = app.test(None, "token").unwrap();
    /// # let ctx = app.context();
    /// use qmlbridge_backend::LiveUpdate;
    ///
    /// let alert = LiveUpdate::new(vec!["notes/alerts".to_owned()], "disk almost full");
    /// ctx.live().publish(alert.event_type("alert"));
    /// # assert_eq!(app.published()[0].event_type.as_deref(), Some("alert"));
    /// ```
    pub fn live(&self) -> &Live {
        &self.inner.live
    }

    /// The app's own state, given to [`Backend::state`](crate::Backend::state); `None` when
    /// none was given or it is not a `T`.
    ///
    /// ```
    /// use qmlbridge_backend::Backend;
    ///
    /// struct Greeting(&'static str);
    ///
    /// let app = Backend::new("notes", "1.0.0").state(Greeting("hello"));
    /// let app = app.test(None, "token").unwrap();
    /// let ctx = app.context();
    /// assert_eq!(ctx.state::<Greeting>().map(|g| g.0), Some("hello"));
    /// assert!(ctx.state::<String>().is_none());
    /// ```
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.app.as_deref()?.downcast_ref()
    }

    /// The app's version ([`Backend::new`](crate::Backend::new)), as `/healthz` reports it.
    ///
    /// ```
    /// let app = qmlbridge_backend::Backend::new("notes", "1.2.0").test(None, "token").unwrap();
    /// assert_eq!(app.context().version(), "1.2.0");
    /// ```
    pub fn version(&self) -> &'static str {
        self.inner.version
    }

    pub(crate) fn bearer(&self) -> &Bearer {
        &self.inner.bearer
    }

    pub(crate) fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Runs `f` on a read-only connection (reads never wait for a write's fsync). A SQLite
    /// error is a 500 whose cause goes to the log.
    ///
    /// ```
    /// # fn main() -> Result<(), qmlbridge_backend::ApiError> {
    /// # use qmlbridge_backend::{Backend, Migration, Resource};
    /// # #[derive(Resource)]
    /// # #[resource(name = "notes")]
    /// # struct Note { id: i64, text: String }
    /// # const MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_create_notes",
    /// #     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")];
    /// # let app = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).resource::<Note>();
    /// # let app = app.test(None, "token").unwrap();
    /// # let ctx = app.context();
    /// let n: i64 = ctx.read(|conn| conn.query_row("SELECT count(*) FROM notes", [], |r| r.get(0)))?;
    /// assert_eq!(n, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, ApiError> {
        f(&self.inner.db.reader()).map_err(|e| ApiError::internal("reading", e))
    }

    /// Runs a write in one transaction, off the async workers; see [`Context::write_with`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), qmlbridge_backend::ApiError> {
    /// # use qmlbridge_backend::{Backend, Migration, Resource};
    /// # #[derive(Resource)]
    /// # #[resource(name = "notes")]
    /// # struct Note { id: i64, text: String }
    /// # const MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_create_notes",
    /// #     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")];
    /// # let app = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).resource::<Note>();
    /// # let app = app.test(None, "token").unwrap();
    /// # let ctx = app.context();
    /// let id = ctx
    ///     .write(|conn| {
    ///         conn.execute("INSERT INTO notes (text) VALUES (?1)", ["first"])?;
    ///         Ok(conn.last_insert_rowid())
    ///     })
    ///     .await?;
    /// assert_eq!(id, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.write_with(f, |_| None).await
    }

    /// Runs a write in one `BEGIN IMMEDIATE` transaction on the writer, off the async workers
    /// (a commit fsyncs). Once it has committed, and while the writer is still held, the list
    /// caches are invalidated and `publish`'s update (if any) goes to the hub: updates follow
    /// commit order, and a write that did not commit publishes nothing (`docs/contract.md` §7
    /// "Durability"). A failed commit is 507 (disk full), 503 (storage) or 500.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), qmlbridge_backend::ApiError> {
    /// # use qmlbridge_backend::{Backend, Migration, Resource};
    /// # #[derive(Resource)]
    /// # #[resource(name = "notes")]
    /// # struct Note { id: i64, text: String }
    /// # const MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_create_notes",
    /// #     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")];
    /// # let app = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).resource::<Note>();
    /// # let app = app.test(None, "token").unwrap();
    /// # let ctx = app.context();
    /// use qmlbridge_backend::LiveUpdate;
    ///
    /// let text = "hello".to_owned();
    /// ctx.write_with(
    ///     move |conn| conn.execute("INSERT INTO notes (text) VALUES (?1)", [text]),
    ///     |_rows| Some(LiveUpdate::new(vec!["notes/count".to_owned()], "1").event_type("count")),
    /// )
    /// .await?;
    /// # assert_eq!(app.published().last().unwrap().topics, ["notes/count"]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn write_with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
        publish: impl FnOnce(&T) -> Option<LiveUpdate> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.write_publishing(f, move |out| publish(out).into_iter().collect())
            .await
    }

    /// Runs a custom write like [`Context::write`] and announces the rows of resources it
    /// changed: `f` names them in `changes` ([`Changes::row`]), and once the write has
    /// committed each gets the resource convention's own update (`docs/contract.md` §8: the
    /// row's JSON, or `{"id": N, "deleted": true}` when it is gone), in commit order. Every
    /// client's `RestModel` on that resource then follows the change as it follows a `PATCH`.
    ///
    /// ```
    /// use qmlbridge_backend::axum::extract::State;
    /// use qmlbridge_backend::{ApiError, Context, Resource};
    ///
    /// #[derive(Resource)]
    /// #[resource(name = "expenses")]
    /// struct Expense {
    ///     id: i64,
    ///     #[resource(default)]
    ///     paid: bool,
    /// }
    ///
    /// /// `POST /api/settle`: marks every expense paid.
    /// async fn settle(State(ctx): State<Context>) -> Result<String, ApiError> {
    ///     let n = ctx
    ///         .write_announcing(|conn, changes| {
    ///             let mut stmt =
    ///                 conn.prepare("UPDATE expenses SET paid = 1 WHERE paid = 0 RETURNING id")?;
    ///             let ids = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
    ///             changes.rows::<Expense>(ids.iter().copied());
    ///             Ok(ids.len())
    ///         })
    ///         .await?;
    ///     Ok(format!("{n} settled"))
    /// }
    /// ```
    pub async fn write_announcing<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &mut Changes) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (out, _) = self
            .write_publishing(
                move |conn| {
                    let mut changes = Changes::default();
                    let out = f(conn, &mut changes)?;
                    let updates = changes.updates(conn)?;
                    Ok((out, updates))
                },
                |(_, updates): &(T, Vec<LiveUpdate>)| updates.clone(),
            )
            .await?;
        Ok(out)
    }

    /// [`Context::write_with`] publishing any number of updates, in order.
    pub(crate) async fn write_publishing<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
        publish: impl FnOnce(&T) -> Vec<LiveUpdate> + Send + 'static,
    ) -> Result<T, ApiError> {
        let ctx = self.clone();
        tokio::task::spawn_blocking(move || {
            let inner = &ctx.inner;
            inner.db.write(f, |out| {
                inner.generation.fetch_add(1, Ordering::AcqRel);
                for update in publish(out) {
                    inner.live.publish(update);
                }
            })
        })
        .await
        .map_err(|e| ApiError::internal("writer task", e))?
        .map_err(ApiError::write)
    }

    /// Runs `task` after the current response has been written (called outside a request: at
    /// once, in the background). On SIGTERM the backend waits for pending tasks within its
    /// grace period and logs the ones it had to drop (`docs/contract.md` §5).
    ///
    /// ```
    /// use qmlbridge_backend::axum::extract::State;
    /// use qmlbridge_backend::{Context, log};
    ///
    /// /// `POST /api/cleanup`: answers at once; the cleanup runs after the response.
    /// async fn cleanup(State(ctx): State<Context>) -> &'static str {
    ///     let worker = ctx.clone();
    ///     ctx.defer(async move {
    ///         let gone = worker.write(|conn| conn.execute("DELETE FROM notes WHERE text = ''", [])).await;
    ///         log::info!("cleanup: {gone:?}");
    ///     });
    ///     "started"
    /// }
    /// ```
    pub fn defer(&self, task: impl Future<Output = ()> + Send + 'static) {
        let task: crate::deferred::Task = Box::pin(self.inner.deferred.track_future(task));
        if let Err(task) = crate::deferred::queue(task) {
            tokio::spawn(task);
        }
    }

    pub(crate) fn tracker(&self) -> &TaskTracker {
        &self.inner.deferred
    }
}
