//! Bundled start, steps 1-5 (docs/contract.md §9): data dir and log, secrets, paths, migrations
//! (with the snapshot `migrate` takes and its restore when they fail, §9 "Recovery"), socket and
//! readiness receiver, plus the backend's command line and environment (docs/contract.md §1, §2).
//! What is created here is [`Kept`] across restarts, so the URL never changes.

use std::ffi::OsString;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::ctx::{Ctx, Outcome};
use crate::error::Error;
use crate::notify::NotifySocket;
use crate::paths::{self, BackendPaths};
use crate::recovery::{self, Armed};
use crate::rotate::RotatingLog;
use crate::secrets::{self, Secret};
use crate::spawn::{self, Guardian};
use crate::state::Command;
use crate::{datadir, listener, migrate};

/// What stays the same across sessions: the URL must never change (docs/contract.md §3).
#[derive(Default)]
pub(super) struct Kept {
    pub data_dir: Option<PathBuf>,
    pub log: Option<RotatingLog>,
    pub mercure_key: Option<Secret>,
    pub listener: Option<TcpListener>,
    pub notify: Option<NotifySocket>,
    pub guardian: Option<Guardian>,
    /// The snapshot of the last upgrade, until its backend reaches Online (§9 "Recovery").
    pub armed: Option<Armed>,
    /// `Options::dev_errors`: `BRIDGE_ENV=dev` instead of `prod`.
    pub dev_errors: bool,
}

/// Tells the guardian (when it runs) which group to kill if the host dies; 0 = none.
pub(super) fn guard(guardian: &mut Option<Guardian>, pgid: i32) {
    if let Some(g) = guardian {
        g.watch(pgid);
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Steps 1-5; `Err` = Offline, or a command that arrived while migrating.
pub(super) async fn prepare(
    ctx: &mut Ctx,
    kept: &mut Kept,
) -> Result<(BackendPaths, String), Outcome> {
    let opts = &ctx.opts;
    // 1. data dir and log
    let data_dir = match &opts.data_dir {
        Some(dir) => std::path::absolute(dir).unwrap_or_else(|_| dir.clone()),
        None => datadir::locate(&opts.org, &opts.app, &env)?,
    };
    datadir::prepare(&data_dir)?;
    if kept.log.is_none() {
        let path = data_dir.join("var/log/backend.log");
        let log =
            RotatingLog::open(&path, opts.log_max_bytes, opts.log_keep).map_err(|source| {
                Error::Spawn {
                    what: format!("open {}", path.display()),
                    source,
                }
            })?;
        kept.log = Some(log);
    }
    // 2. secrets (the Mercure key: one per host session)
    if kept.mercure_key.is_none() {
        kept.mercure_key = Some(secrets::mercure_key()?);
    }
    ctx.shared.update(|s| {
        s.data_dir = Some(data_dir.clone());
        s.mercure_subscriber_key = kept.mercure_key.clone();
    });
    kept.data_dir = Some(data_dir.clone());
    kept.dev_errors = opts.dev_errors;
    // 3. paths
    let exe_dir = match &opts.exe_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .unwrap_or_default(),
    };
    let paths = paths::resolve(&exe_dir, &opts.app, &opts.backend_bin, &env)?;
    tracing::info!(target: "qmlbridge::supervisor", bin = %paths.bin.display(), dir = %paths.dir.display(), "backend");
    // 4. migrations (with a throwaway token: a prod backend may insist on one); first the end of
    // a restore a killed host left, then note the snapshots to tell the one `migrate` takes.
    let snapshots = data_dir.join(recovery::SNAPSHOT_DIR);
    let database = recovery::database_path(&datadir::database_url(&data_dir), &paths.dir);
    if let Some(database) = &database {
        resume(ctx, &snapshots, database);
    }
    let before = recovery::list(&snapshots);
    let cmd = command(
        kept,
        &paths,
        vec!["migrate".into()],
        secrets::token()?,
        None,
    );
    let log = kept.log.as_ref().expect("log opened");
    let ran = tokio::select! {
        r = migrate::run(&cmd, opts.migrate_timeout, log, kept.guardian.as_mut()) => Ok(r),
        cmd = ctx.commands.recv() => Err(cmd.unwrap_or(Command::Shutdown)),
    };
    // The snapshot this run took protects the data as it was before it, unless one of an
    // earlier run that no backend came Online after (an interrupted migrate) already does.
    if kept.armed.is_none() {
        kept.armed = recovery::taken(&snapshots, &before)
            .zip(database)
            .map(|(snapshot, database)| Armed { snapshot, database });
    }
    match ran {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            if let Some(armed) = kept.armed.take() {
                recover(ctx, &armed, &format!("migrate failed: {e}"));
            }
            return Err(e.into());
        }
        Err(cmd) => {
            // Dropping the migration killed its group (kill on drop); the guardian forgets it.
            guard(&mut kept.guardian, 0);
            return Err(cmd.into());
        }
    }
    // 5. socket and readiness receiver (kept across restarts)
    if kept.listener.is_none() {
        kept.listener = Some(listener::bind(listener::port_from_env(env("PORT"))?)?);
    }
    if kept.notify.is_none() {
        kept.notify = Some(NotifySocket::bind(&data_dir.join("var")).map_err(Error::Notify)?);
    }
    let port = kept
        .listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map_or(0, |a| a.port());
    let url = format!("http://127.0.0.1:{port}");
    ctx.shared.update(|s| s.url = url.clone());
    Ok((paths, url))
}

/// Finishes a restore that a killed host left half done (§9 "Recovery").
fn resume(ctx: &Ctx, snapshots: &Path, database: &Path) {
    let message = match recovery::resume(snapshots, database) {
        Ok(None) => return,
        Ok(Some(snapshot)) => format!(
            "restored the database from {} (a restore interrupted earlier was finished)",
            snapshot.display()
        ),
        Err(e) => format!("could not finish an interrupted restore: {e}"),
    };
    tracing::warn!(target: "qmlbridge::supervisor", "{message}");
    ctx.shared.update(|s| s.recovery = Some(message));
}

/// Puts the database back as `armed`'s snapshot holds it, because of `why`; the snapshot stays
/// (§9 "Recovery"). The backend must be gone: it is, whenever this is called.
pub(super) fn recover(ctx: &Ctx, armed: &Armed, why: &str) {
    let message = match recovery::restore(&armed.snapshot, &armed.database) {
        Ok(()) => format!(
            "restored the database from {} after {why}",
            armed.snapshot.display()
        ),
        Err(e) => format!(
            "could not restore the database from {} after {why}: {e}; the snapshot is kept",
            armed.snapshot.display()
        ),
    };
    tracing::warn!(target: "qmlbridge::supervisor", "{message}");
    ctx.shared.update(|s| s.recovery = Some(message));
}

/// `<backend> <args>` with the host's environment plus the contract's variables (§2).
pub(super) fn command(
    kept: &Kept,
    paths: &BackendPaths,
    args: Vec<OsString>,
    token: Secret,
    port: Option<u16>,
) -> spawn::Command {
    let data_dir = kept.data_dir.as_deref().unwrap_or(Path::new("."));
    let key = kept
        .mercure_key
        .as_ref()
        .map(Secret::expose)
        .unwrap_or_default();
    let database = crate::datadir::database_url(data_dir);
    let mut ours: Vec<(&str, String)> = vec![
        ("BRIDGE_TOKEN", token.expose().to_string()),
        (
            "BRIDGE_ENV",
            if kept.dev_errors { "dev" } else { "prod" }.into(),
        ),
        ("DATABASE_URL", database),
        ("MERCURE_PUBLISHER_JWT_KEY", key.to_string()),
        ("MERCURE_SUBSCRIBER_JWT_KEY", key.to_string()),
    ];
    if port.is_none() {
        // `migrate`: where it puts its snapshot before an upgrade (§1).
        let snapshots = data_dir.join(recovery::SNAPSHOT_DIR);
        ours.push(("BRIDGE_SNAPSHOT_DIR", snapshots.display().to_string()));
    }
    if let Some(port) = port {
        ours.push(("PORT", port.to_string()));
        if let Some(notify) = &kept.notify {
            ours.push(("NOTIFY_SOCKET", notify.env_value()));
        }
    }
    let drop_key = |k: &OsString| {
        let k = k.to_string_lossy();
        k == "BRIDGE_URL"
            || k == "PORT"
            || k == "NOTIFY_SOCKET"
            || k == "BRIDGE_SNAPSHOT_DIR"
            || ours.iter().any(|(o, _)| *o == k)
    };
    let mut env: Vec<(OsString, OsString)> =
        std::env::vars_os().filter(|(k, _)| !drop_key(k)).collect();
    env.extend(ours.into_iter().map(|(k, v)| (k.into(), v.into())));
    spawn::Command {
        program: paths.bin.clone(),
        args,
        env,
        cwd: paths.dir.clone(),
        listener: port.and(kept.listener.as_ref().map(|l| l.as_raw_fd())),
    }
}
