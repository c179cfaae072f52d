//! [`TestBackend`]: an app's backend as a router without a socket, for tests in axum's
//! `oneshot` style: a Caddyfile's site settings, an in-memory database with the app's migrations,
//! a token, and a recorder in place of the hub that keeps every published update.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;

use crate::app::App;
use crate::backend::Backend;
use crate::config::{Config, SourceFile};
use crate::context::Context;
use crate::db::Db;
use crate::error::Result;
use crate::http::guard::Bearer;
use crate::publish::{Live, LiveUpdate, Publisher};
use crate::secret::Secret;
use crate::settings::Database;

/// The Caddyfile a test backend uses unless told otherwise.
const CADDYFILE: &str = "127.0.0.1:8765 {\n}\n";

/// A backend under test: [`Backend::test`]'s answer. Requests go through
/// [`TestBackend::router`] with `tower::ServiceExt::oneshot`, with the `Host` `127.0.0.1:8765`
/// and, under `/api/`, the token; [`TestBackend::published`] has every live update since.
///
/// ```
/// use qmlbridge_backend::axum::body::{Body, to_bytes};
/// use qmlbridge_backend::axum::http::{Request, StatusCode, header};
/// use qmlbridge_backend::{Backend, Migration, Resource};
/// use tower::ServiceExt;
///
/// #[derive(Resource)]
/// #[resource(name = "notes")]
/// struct Note {
///     id: i64,
///     text: String,
/// }
///
/// static MIGRATIONS: &[Migration] = &[Migration::new(
///     1,
///     "0001_create_notes",
///     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
/// )];
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let backend = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).resource::<Note>();
/// let app = backend.test(None, "test-token").unwrap();
/// let req = Request::post("/api/notes")
///     .header(header::HOST, "127.0.0.1:8765")
///     .header(header::AUTHORIZATION, "Bearer test-token")
///     .header(header::CONTENT_TYPE, "application/json")
///     .body(Body::from(r#"{"text":"hello"}"#))
///     .unwrap();
/// let resp = app.router().oneshot(req).await.unwrap();
/// assert_eq!(resp.status(), StatusCode::CREATED);
/// let body = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
/// assert_eq!(body, r#"{"id":1,"text":"hello"}"#);
///
/// // The convention's live update for the new row.
/// assert_eq!(app.published()[0].topics, ["/api/notes/1", "/api/notes"]);
/// # }
/// ```
pub struct TestBackend {
    router: Router,
    context: Context,
    published: Arc<Recorder>,
}

impl std::fmt::Debug for TestBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestBackend").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<LiveUpdate>>);

impl Publisher for Recorder {
    fn publish(&self, update: LiveUpdate) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(update);
    }
}

impl Backend {
    /// The router of this backend as `serve` would build it on `127.0.0.1:8765` (the `Host`
    /// the requests must carry), accepting `token`, with `caddyfile`'s site settings (`None`: an
    /// empty site block) and a fresh in-memory database. Fails as `serve` would: a Caddyfile
    /// it cannot read, a migration that does not apply, a resource without its table.
    ///
    /// ```
    /// use qmlbridge_backend::Backend;
    ///
    /// let caddyfile = "127.0.0.1:8765 {\n\trequest_body {\n\t\tmax_size 2KiB\n\t}\n}\n";
    /// let app = Backend::new("notes", "1.0.0").test(Some(caddyfile), "test-token").unwrap();
    /// # drop(app);
    /// ```
    pub fn test(self, caddyfile: Option<&str>, token: &str) -> Result<TestBackend> {
        let mut app = self.app;
        let src = SourceFile::new("Caddyfile", caddyfile.unwrap_or(CADDYFILE));
        let config = Config::parse(&src, &|_| None)?;
        let apis = app.apis()?;
        let db = Arc::new(Db::open(&Database::Memory, app.migrations)?);
        App::check_tables(&apis, &db.reader())?;
        let published = Arc::new(Recorder::default());
        let live = Live::new(published.clone());
        let context = app.context(db, live, Bearer::new(&Secret::new(token)));
        let api = app.api_router(&apis);
        let served: SocketAddr = ([127, 0, 0, 1], 8765).into();
        let router = crate::http::app(context.clone(), api, &config, served, None);
        Ok(TestBackend {
            router,
            context,
            published,
        })
    }
}

impl TestBackend {
    /// The whole router (serve it with `tower::ServiceExt::oneshot`): guards, resources,
    /// the app's routes, problem+json, as `serve` has them.
    ///
    /// ```
    /// use qmlbridge_backend::axum::body::Body;
    /// use qmlbridge_backend::axum::http::{Request, StatusCode, header};
    /// use tower::ServiceExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = qmlbridge_backend::Backend::new("notes", "1.0.0").test(None, "t").unwrap();
    /// let req = Request::get("/healthz").header(header::HOST, "127.0.0.1:8765");
    /// let resp = app.router().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(resp.status(), StatusCode::OK);
    /// # }
    /// ```
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The handlers' context (its database, for instance): seed rows or check what a route
    /// stored.
    ///
    /// ```
    /// use qmlbridge_backend::{Backend, Migration};
    ///
    /// static MIGRATIONS: &[Migration] =
    ///     &[Migration::new(1, "0001_create_notes", "CREATE TABLE notes (text TEXT)")];
    /// let app = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).test(None, "t").unwrap();
    /// let n: i64 = app
    ///     .context()
    ///     .read(|conn| conn.query_row("SELECT count(*) FROM notes", [], |r| r.get(0)))
    ///     .unwrap();
    /// assert_eq!(n, 0);
    /// ```
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Every update published so far, in order: the resources' own, hooks', and the app's
    /// (`Context::live`, `Context::write_with`). A recorder stands in for the hub.
    ///
    /// ```
    /// use qmlbridge_backend::{Backend, LiveUpdate};
    ///
    /// let app = Backend::new("notes", "1.0.0").test(None, "t").unwrap();
    /// app.context().live().publish(LiveUpdate::new(vec!["notes/alerts".into()], "hi").event_type("alert"));
    /// let published = app.published();
    /// assert_eq!(published[0].topics, ["notes/alerts"]);
    /// assert_eq!(published[0].event_type.as_deref(), Some("alert"));
    /// ```
    pub fn published(&self) -> Vec<LiveUpdate> {
        self.published
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
