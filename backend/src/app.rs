//! [`App`]: what an app's backend is made of once built (migrations, resources, routes,
//! state), and what `serve`, `migrate` and the test router are made from. [`crate::Backend`] is
//! the public builder around it.

use std::any::Any;
use std::sync::Arc;

use axum::Router;
use axum::routing::any;

use crate::context::Context;
use crate::db::Migration;
use crate::error::{Error, Result};
use crate::resource::{Api, Hooks, Schema, check_columns, router as resource_router};

pub(crate) type Routes = Box<dyn FnOnce(Router<Context>) -> Router<Context> + Send>;

/// An app's backend, as built.
pub(crate) struct App {
    pub(crate) name: &'static str,
    pub(crate) version: &'static str,
    pub(crate) migrations: &'static [Migration],
    /// Each resource with its hooks, if registered with them.
    pub(crate) resources: Vec<(&'static Schema, Option<Hooks>)>,
    pub(crate) routes: Vec<Routes>,
    pub(crate) state: Option<Arc<dyn Any + Send + Sync>>,
}

impl App {
    /// Checks every resource against `db` once: a table or column the migrations do not
    /// create, or a column whose declared type does not keep its field's values, is a start-up
    /// error (exit 78), not a 500 (or a wrong value) on the first request (`docs/contract.md` §7).
    pub(crate) fn check_tables(apis: &[Arc<Api>], conn: &rusqlite::Connection) -> Result<()> {
        for api in apis {
            check_columns(api.schema(), conn).map_err(|detail| Error::ResourceColumn {
                resource: api.schema().name().to_string(),
                detail,
            })?;
            api.statements()
                .check(conn)
                .map_err(|e| Error::ResourceTable {
                    resource: api.schema().name().to_string(),
                    source: e.into(),
                })?;
        }
        Ok(())
    }

    /// The resources, checked: lowercase URL segments, no name twice (exit 78 otherwise).
    pub(crate) fn apis(&self) -> Result<Vec<Arc<Api>>> {
        let mut apis: Vec<Arc<Api>> = Vec::new();
        for &(schema, hooks) in &self.resources {
            schema.check().map_err(Error::Resource)?;
            if apis.iter().any(|a| a.schema().name() == schema.name()) {
                return Err(Error::Resource(format!(
                    "two resources are named {:?}",
                    schema.name()
                )));
            }
            apis.push(Arc::new(Api::new(schema, hooks)));
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
