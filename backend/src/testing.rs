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

/// A backend under test.
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
    /// empty site block) and a fresh in-memory database.
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
    /// The whole router (serve it with `tower::ServiceExt::oneshot`).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The handlers' context (its database, for instance).
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Every update published so far, in order.
    pub fn published(&self) -> Vec<LiveUpdate> {
        self.published
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
