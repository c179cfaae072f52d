//! [`Backend`]: the builder an app's `main` calls. It collects the app's migrations, resources,
//! custom routes and state, and `run()` is the whole command line of `docs/contract.md` §1 and §5
//! (`migrate`, `serve --config`, `--help`, `--version`, exit codes 0/1/2/78).

use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;

use crate::app::App;
use crate::context::Context;
use crate::db::Migration;
use crate::resource::{Hooks, Resource, ResourceHooks};

/// An app's backend, before it runs.
pub struct Backend {
    pub(crate) app: App,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let app = &self.app;
        f.debug_struct("Backend")
            .field("name", &app.name)
            .field("version", &app.version)
            .field("migrations", &app.migrations.len())
            .field(
                "resources",
                &app.resources
                    .iter()
                    .map(|(s, _)| s.name())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// The backend of app `name` (its binary: `<name>-backend`), at `version`.
    pub fn new(name: &'static str, version: &'static str) -> Self {
        Backend {
            app: App {
                name,
                version,
                migrations: &[],
                resources: Vec::new(),
                routes: Vec::new(),
                state: None,
            },
        }
    }

    /// The app's migrations, usually `qmlbridge_backend::migrations!()`.
    pub fn migrations(mut self, migrations: &'static [Migration]) -> Self {
        self.app.migrations = migrations;
        self
    }

    /// Serves `R` under the resource convention: `/api/<name>` and `/api/<name>/{id}`.
    pub fn resource<R: Resource>(mut self) -> Self {
        self.app.resources.push((R::schema(), None));
        self
    }

    /// Serves `R` like [`Backend::resource`], with its [`ResourceHooks`] run inside each
    /// write's transaction (`docs/contract.md` §7 "Hooks"). `.resource::<R>()` does not run
    /// them: register a hooked resource with this call only.
    ///
    /// ```
    /// use qmlbridge_backend::{ApiError, Backend, Hook, Resource, ResourceHooks};
    ///
    /// #[derive(Resource)]
    /// #[resource(name = "notes")]
    /// struct Note {
    ///     id: i64,
    ///     text: String,
    /// }
    ///
    /// impl ResourceHooks for Note {
    ///     fn before_delete(_hook: &mut Hook<'_>) -> Result<(), ApiError> {
    ///         Err(ApiError::field("id", "notes are kept forever"))
    ///     }
    /// }
    ///
    /// let backend = Backend::new("notes", "1.0.0").resource_with_hooks::<Note>();
    /// # drop(backend);
    /// ```
    pub fn resource_with_hooks<R: ResourceHooks>(mut self) -> Self {
        self.app
            .resources
            .push((R::schema(), Some(Hooks::of::<R>())));
        self
    }

    /// Adds the app's own routes. Those under `/api/` are behind the bearer token like the
    /// resources; the others are public. Handlers take `State<Context>`.
    pub fn routes(
        mut self,
        routes: impl FnOnce(Router<Context>) -> Router<Context> + Send + 'static,
    ) -> Self {
        self.app.routes.push(Box::new(routes));
        self
    }

    /// The app's own state, reached in handlers with [`Context::state`].
    pub fn state<T: Send + Sync + 'static>(mut self, state: T) -> Self {
        self.app.state = Some(Arc::new(state));
        self
    }

    /// Parses the command line and runs `migrate` or `serve`; the exit code of §5.
    pub fn run(self) -> ExitCode {
        crate::cli::run(self.app)
    }
}
