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

/// An app's backend, before it runs: its migrations, resources, routes and state. An app's
/// `lib.rs` builds it in one function that `main` runs and the tests drive:
///
/// ```
/// use qmlbridge_backend::{Backend, Migration, Resource};
///
/// #[derive(Resource)]
/// #[resource(name = "notes")]
/// struct Note {
///     id: i64,
///     #[resource(non_blank, max_chars = 200)]
///     text: String,
/// }
///
/// /// What `migrations!()` embeds from `migrations/0001_create_notes.sql`.
/// const MIGRATIONS: &[Migration] = &[Migration::new(
///     1,
///     "0001_create_notes",
///     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
/// )];
///
/// pub fn backend() -> Backend {
///     Backend::new("notes", "1.0.0").migrations(MIGRATIONS).resource::<Note>()
/// }
///
/// // main.rs: `fn main() -> std::process::ExitCode { backend().run() }`
/// let app = backend().test(None, "token").unwrap();
/// # drop(app);
/// ```
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
    ///
    /// ```
    /// let backend = qmlbridge_backend::Backend::new("notes", env!("CARGO_PKG_VERSION"));
    /// # drop(backend);
    /// ```
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

    /// The app's migrations, usually `qmlbridge_backend::migrations!()` (the crate's
    /// `migrations/NNNN_name.sql`, embedded), applied by `migrate` and before `serve`.
    ///
    /// ```
    /// use qmlbridge_backend::{Backend, Migration};
    ///
    /// static MIGRATIONS: &[Migration] =
    ///     &[Migration::new(1, "0001_create_notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY)")];
    /// let backend = Backend::new("notes", "1.0.0").migrations(MIGRATIONS);
    /// # drop(backend);
    /// ```
    pub fn migrations(mut self, migrations: &'static [Migration]) -> Self {
        self.app.migrations = migrations;
        self
    }

    /// Serves `R` under the resource convention: `/api/<name>` and `/api/<name>/{id}`
    /// (`docs/contract.md` §7). Its table and columns must come from the migrations: `serve`
    /// and [`Backend::test`] refuse to start otherwise, naming what is missing.
    ///
    /// ```
    /// use qmlbridge_backend::{Backend, Migration, Resource};
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
    /// let backend = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).resource::<Note>();
    /// assert!(backend.test(None, "token").is_ok());
    ///
    /// // Without its table: refused, naming the resource.
    /// let err = Backend::new("notes", "1.0.0").resource::<Note>().test(None, "token").unwrap_err();
    /// assert!(err.to_string().contains("notes"), "{err}");
    /// ```
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
    ///
    /// ```
    /// use qmlbridge_backend::axum::extract::State;
    /// use qmlbridge_backend::axum::routing::get;
    /// use qmlbridge_backend::{Backend, Context};
    ///
    /// async fn version(State(ctx): State<Context>) -> String {
    ///     ctx.version().to_owned()
    /// }
    ///
    /// let backend = Backend::new("notes", "1.0.0")
    ///     .routes(|r| r.route("/api/version", get(version)).route("/about", get(|| async { "notes" })));
    /// # drop(backend);
    /// ```
    pub fn routes(
        mut self,
        routes: impl FnOnce(Router<Context>) -> Router<Context> + Send + 'static,
    ) -> Self {
        self.app.routes.push(Box::new(routes));
        self
    }

    /// The app's own state, reached in handlers with [`Context::state`].
    ///
    /// ```
    /// use qmlbridge_backend::axum::extract::State;
    /// use qmlbridge_backend::{Backend, Context};
    ///
    /// struct Settings {
    ///     currency: &'static str,
    /// }
    ///
    /// async fn currency(State(ctx): State<Context>) -> &'static str {
    ///     ctx.state::<Settings>().map_or("EUR", |s| s.currency)
    /// }
    ///
    /// let backend = Backend::new("notes", "1.0.0").state(Settings { currency: "CHF" });
    /// # drop(backend);
    /// ```
    pub fn state<T: Send + Sync + 'static>(mut self, state: T) -> Self {
        self.app.state = Some(Arc::new(state));
        self
    }

    /// Parses the command line and runs `migrate` or `serve`; the exit code of §5. An app's
    /// whole `main.rs`:
    ///
    /// ```no_run
    /// # mod notes_backend { pub fn backend() -> qmlbridge_backend::Backend {
    /// #     qmlbridge_backend::Backend::new("notes", "1.0.0") } }
    /// fn main() -> std::process::ExitCode {
    ///     notes_backend::backend().run()
    /// }
    /// ```
    pub fn run(self) -> ExitCode {
        crate::cli::run(self.app)
    }
}
