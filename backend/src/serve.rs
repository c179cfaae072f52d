//! `serve` and `migrate`: the two subcommands, from configuration to a running server
//! (`docs/contract.md` §1-§5).

use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::{self, Config};
use crate::conn::{self, Limits};
use crate::db::{self, Db, Migration};
use crate::error::{Error, Result};
use crate::http::app;
use crate::http::guard::Bearer;
use crate::hub::Hub;
use crate::listen::{self, Origin};
use crate::publish::Live;
use crate::settings::{self, Settings};

/// How long in-flight requests may take to finish after SIGTERM/SIGINT.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

const TARGET: &str = "qmlbridge_backend::serve";

/// `<app>-backend migrate`: applies pending migrations to `DATABASE_URL`.
pub(crate) fn migrate(migrations: &'static [Migration]) -> Result<()> {
    let database = settings::database_from_env(&config::process_env)?;
    let mut conn = db::open_connection(&database)?;
    let applied = db::run_migrations(&mut conn, migrations)?;
    let at = migrations.last().map_or("none", |m| m.name());
    tracing::info!(
        target: "qmlbridge_backend::migrate",
        "{}: schema at {at} ({} applied now)",
        db::describe(&database),
        applied.len()
    );
    Ok(())
}

/// `<app>-backend migrate --check`: whether `serve` would get past the database on
/// `DATABASE_URL` (every pending migration applies, every resource's table and columns fit),
/// tried on a copy in memory made without writing anything (`docs/contract.md` §1): where
/// `serve` would create the file, an empty database, and the error `serve` would meet creating
/// it.
pub(crate) fn check(backend: &App) -> Result<()> {
    let apis = backend.apis()?;
    let database = settings::database_from_env(&config::process_env)?;
    let mut conn = db::snapshot(&database)?;
    let pending = db::rehearse_migrations(&mut conn, backend.migrations, |conn| {
        App::check_tables(&apis, conn)
    })?;
    let pending = if pending.is_empty() {
        "none".to_string()
    } else {
        pending.join(", ")
    };
    tracing::info!(
        target: "qmlbridge_backend::migrate",
        "{}: check passed (pending migrations: {pending}; {} resource table(s) checked); nothing written",
        db::describe(&database),
        apis.len()
    );
    Ok(())
}

/// `<app>-backend serve`: reads the configuration from `source`, opens (and migrates) the
/// database, listens, and serves `backend` until SIGTERM/SIGINT.
pub(crate) fn serve(source: &config::Source, mut backend: App) -> Result<()> {
    let apis = backend.apis()?;
    let config = Config::load_source(source, &config::process_env)?;
    if *source == config::Source::BuiltIn {
        tracing::info!(target: TARGET, "no Caddyfile here: using the framework's default configuration");
    }
    if let Some(warning) = &config.warning {
        tracing::warn!(target: TARGET, "{warning}");
    }
    let settings = Settings::from_env(&config::process_env)?;
    if settings.dev_token {
        tracing::warn!(
            target: TARGET,
            "BRIDGE_TOKEN is not set: using the documented dev token (BRIDGE_ENV=prod refuses this)"
        );
    }
    let hub = config
        .mercure
        .as_ref()
        .map(Hub::new)
        .transpose()
        .map_err(Error::Hub)?;
    // Before anything opens descriptors; the connection cap is set below the limit (§5).
    let nofile = conn::raise_fd_limit();
    let limits = Limits {
        header_read: config.timeouts.read_header,
        idle: config.timeouts.idle,
        ..Limits::for_fd_limit(nofile)
    };
    tracing::debug!(target: TARGET, nofile, ?limits, "connection limits");
    let db = Arc::new(Db::open(&settings.database, backend.migrations)?);
    App::check_tables(&apis, &db.reader())?;
    crate::http::error::set_prod(settings.prod);
    let (listener, origin) = listen::acquire(&config.address)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(8)
        .enable_all()
        .build()
        .map_err(|source| Error::Runtime {
            context: "cannot start",
            source,
        })?;
    let live = match &hub {
        Some(hub) => Live::new(Arc::new(hub.clone())),
        None => Live::disabled(),
    };
    let ctx = backend.context(db, live, Bearer::new(&settings.token));
    let api = backend.api_router(&apis);
    let result = runtime.block_on(run(listener, origin, &config, ctx, api, hub, limits));
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn run(
    listener: std::net::TcpListener,
    origin: Origin,
    config: &Config,
    ctx: crate::Context,
    api: axum::Router<crate::Context>,
    hub: Option<Hub>,
    limits: Limits,
) -> Result<()> {
    let io = |context: &str| {
        let context = context.to_string();
        move |source| Error::Listen { context, source }
    };
    listener
        .set_nonblocking(true)
        .map_err(io("setting O_NONBLOCK"))?;
    let listener =
        tokio::net::TcpListener::from_std(listener).map_err(io("registering the socket"))?;
    let served = listener
        .local_addr()
        .map_err(io("reading the socket address"))?;
    // Handlers first, so a SIGTERM right after READY=1 is a graceful stop, not a kill.
    let handler = |context| move |source| Error::Runtime { context, source };
    let mut term = signal(SignalKind::terminate()).map_err(handler("SIGTERM handler"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(handler("SIGINT handler"))?;

    let router = app(ctx.clone(), api, config, served, hub.as_ref());
    let stop = CancellationToken::new();
    let mut server = tokio::spawn(conn::serve_with(listener, router, stop.clone(), limits));
    let how = match origin {
        Origin::Inherited => " (inherited fd 3)",
        Origin::Bound => "",
    };
    tracing::info!(target: TARGET, "listening on http://{served}{how}");
    match listen::notify_ready() {
        Ok(true) => tracing::debug!(target: TARGET, "sent READY=1"),
        Ok(false) => {}
        Err(e) => tracing::warn!(target: TARGET, "NOTIFY_SOCKET: cannot send READY=1: {e}"),
    }

    tokio::select! {
        _ = term.recv() => tracing::info!(target: TARGET, "SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!(target: TARGET, "SIGINT: shutting down"),
        ended = &mut server => {
            return Err(match ended {
                // The listening socket became unusable (accept failed for good, §3).
                Ok(Err(source)) => Error::Listen { context: "serving".into(), source },
                Ok(Ok(())) => Error::ServerEnded { source: None },
                Err(e) => Error::ServerEnded { source: Some(e.into()) },
            });
        }
    }
    if let Some(hub) = &hub {
        hub.shutdown();
    }
    stop.cancel();
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    match tokio::time::timeout_at(deadline, server).await {
        Ok(_) => tracing::info!(target: TARGET, "stopped"),
        Err(_) => {
            tracing::warn!(target: TARGET, "in-flight requests still running after 5 s: stopping anyway")
        }
    }
    // Deferred work runs after its response: it gets what is left of the grace period.
    let deferred = ctx.tracker();
    deferred.close();
    if tokio::time::timeout_at(deadline, deferred.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            target: TARGET,
            "{} deferred task(s) still running at the end of the grace period: dropped",
            deferred.len()
        );
    }
    Ok(())
}
