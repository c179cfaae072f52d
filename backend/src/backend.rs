//! [`Backend`]: the builder an app's `main` calls. It collects the app's migrations, resources,
//! custom routes and state, and `run()` is the whole command line of `docs/contract.md` §1 and §5
//! (`migrate`, `serve --config`, `--help`, `--version`, exit codes 0/1/2/78).

use std::any::Any;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::routing::any;

use crate::context::Context;
use crate::db::Migration;
use crate::error::{Error, Result};
use crate::resource::{Api, Resource, Schema, router as resource_router};

type Routes = Box<dyn FnOnce(Router<Context>) -> Router<Context> + Send>;

/// An app's backend, before it runs.
pub struct Backend {
    pub(crate) name: &'static str,
    pub(crate) version: &'static str,
    pub(crate) migrations: &'static [Migration],
    resources: Vec<&'static Schema>,
    routes: Vec<Routes>,
    state: Option<Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("migrations", &self.migrations.len())
            .field(
                "resources",
                &self.resources.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// The backend of app `name` (its binary: `<name>-backend`), at `version`.
    pub fn new(name: &'static str, version: &'static str) -> Self {
        Backend {
            name,
            version,
            migrations: &[],
            resources: Vec::new(),
            routes: Vec::new(),
            state: None,
        }
    }

    /// The app's migrations, usually `qmlbridge_backend::migrations!()`.
    pub fn migrations(mut self, migrations: &'static [Migration]) -> Self {
        self.migrations = migrations;
        self
    }

    /// Serves `R` under the resource convention: `/api/<name>` and `/api/<name>/{id}`.
    pub fn resource<R: Resource>(mut self) -> Self {
        self.resources.push(R::schema());
        self
    }

    /// Adds the app's own routes. Those under `/api/` are behind the bearer token like the
    /// resources; the others are public. Handlers take `State<Context>`.
    pub fn routes(
        mut self,
        routes: impl FnOnce(Router<Context>) -> Router<Context> + Send + 'static,
    ) -> Self {
        self.routes.push(Box::new(routes));
        self
    }

    /// The app's own state, reached in handlers with [`Context::state`].
    pub fn state<T: Send + Sync + 'static>(mut self, state: T) -> Self {
        self.state = Some(Arc::new(state));
        self
    }

    /// Parses the command line and runs `migrate` or `serve`; the exit code of §5.
    pub fn run(self) -> ExitCode {
        crate::cli::run(self)
    }

    /// The resources, checked: lowercase URL segments, no name twice (exit 78 otherwise).
    pub(crate) fn apis(&self) -> Result<Vec<Arc<Api>>> {
        let mut apis: Vec<Arc<Api>> = Vec::new();
        for schema in &self.resources {
            schema.check().map_err(Error::Resource)?;
            if apis.iter().any(|a| a.schema().name() == schema.name()) {
                return Err(Error::Resource(format!(
                    "two resources are named {:?}",
                    schema.name()
                )));
            }
            apis.push(Arc::new(Api::new(schema)));
        }
        Ok(apis)
    }

    /// The state handlers share, over `db`, publishing into `live`.
    pub(crate) fn context(
        &self,
        db: Arc<crate::db::Db>,
        live: crate::publish::Live,
        bearer: crate::http::guard::Bearer,
    ) -> Context {
        Context::new(db, live, bearer, self.state.clone(), self.version)
    }

    /// Every `/api` route: the resources, the app's routes, and the catch-all that keeps unknown
    /// `/api/...` paths behind the token (401 without it, 404 with it).
    pub(crate) fn api_router(&mut self, apis: &[Arc<Api>]) -> Router<Context> {
        let mut router = Router::new();
        for api in apis {
            router = router.merge(resource_router(api.clone()));
        }
        for routes in self.routes.drain(..) {
            router = routes(router);
        }
        router.route("/api/{*rest}", any(crate::http::site::not_found))
    }
}
