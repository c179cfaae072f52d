//! Bundled mode (issue 3, "Bundled start" and "Supervision"): prepare (data dir, secrets, paths,
//! migrations, socket), then spawn, wait for readiness, probe, and respawn within the budget.
//! Each failing step ends the session Offline with an error naming the step.

use std::ffi::OsString;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant as StdInstant;

use tokio::time::{Instant, sleep, sleep_until};

use super::machine::{AfterExit, Health, Machine};
use super::{Ctx, pause};
use crate::api::{Command, ConnectionState, Event};
use crate::error::{Error, Result};
use crate::logs::{RotatingFile, SharedLog};
use crate::notify::NotifySocket;
use crate::paths::{self, BackendPaths};
use crate::probe::Prober;
use crate::process::{self, Launched, STOP_GRACE};
use crate::secrets::{self, Secret};
use crate::spawn::{self, ExitStatus, Guardian};
use crate::{datadir, listener, migrate};

/// How a session ended.
enum Outcome {
    Restart,
    Shutdown,
    Offline(Error),
}

/// How one backend process ended.
enum Ended {
    /// Exited (or was killed as not ready / unhealthy); the string says why, for errors.
    Exited(ExitStatus, String),
    Command(Command),
}

/// What stays the same across sessions: the URL must never change (issue 3, step 5).
#[derive(Default)]
struct Kept {
    data_dir: Option<PathBuf>,
    log: Option<SharedLog>,
    mercure_key: Option<Secret>,
    listener: Option<TcpListener>,
    notify: Option<NotifySocket>,
    guardian: Option<Guardian>,
}

pub(super) async fn run(ctx: &mut Ctx) {
    let mut kept = Kept::default();
    match Guardian::start() {
        Ok(g) => kept.guardian = Some(g),
        // A safety net only (the parent-death signal still reaches the backend): go on without.
        Err(e) => tracing::warn!(target: "qmlbridge::supervisor", "cleanup guardian: {e}"),
    }
    loop {
        ctx.set_state(ConnectionState::Connecting, None);
        let outcome = match prepare(ctx, &mut kept).await {
            Ok((paths, url)) => serve(ctx, &mut kept, &paths, &url).await,
            Err(outcome) => outcome,
        };
        match outcome {
            Outcome::Restart => continue,
            Outcome::Shutdown => return,
            Outcome::Offline(e) => {
                if !ctx.offline(&e).await {
                    return;
                }
            }
        }
    }
}

/// Tells the guardian (when it runs) which group to kill if the host dies; 0 = none.
fn guard(guardian: &mut Option<Guardian>, pgid: i32) {
    if let Some(g) = guardian {
        g.watch(pgid);
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl From<Error> for Outcome {
    fn from(e: Error) -> Outcome {
        Outcome::Offline(e)
    }
}

/// Steps 1-5; `Err` = Offline, or a command that arrived while migrating.
async fn prepare(ctx: &mut Ctx, kept: &mut Kept) -> Result<(BackendPaths, String), Outcome> {
    let opts = &ctx.opts;
    // 1. data dir and log
    let data_dir = match &opts.data_dir {
        Some(dir) => std::path::absolute(dir).unwrap_or_else(|_| dir.clone()),
        None => datadir::locate(&opts.org, &opts.app, &env)?,
    };
    datadir::prepare(&data_dir)?;
    if kept.log.is_none() {
        let path = data_dir.join("var/log/backend.log");
        let file =
            RotatingFile::open(&path, opts.log_max_bytes, opts.log_keep).map_err(|source| {
                Error::Spawn {
                    what: format!("open {}", path.display()),
                    source,
                }
            })?;
        kept.log = Some(Arc::new(Mutex::new(file)));
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
    // 3. paths
    let exe_dir = match &opts.exe_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .unwrap_or_default(),
    };
    let paths = paths::resolve(&exe_dir, &opts.app, &env)?;
    tracing::info!(target: "qmlbridge::supervisor", bin = %paths.bin.display(), dir = %paths.dir.display(), "backend");
    // 4. migrations (with a throwaway token: a prod backend may insist on one)
    let cmd = command(
        kept,
        &paths,
        vec!["migrate".into()],
        secrets::token()?,
        None,
    );
    let log = kept.log.as_ref().expect("log opened");
    let interrupted = tokio::select! {
        r = migrate::run(&cmd, opts.migrate_timeout, log, kept.guardian.as_mut()) => {
            r?;
            None
        }
        cmd = ctx.commands.recv() => Some(cmd.unwrap_or(Command::Shutdown)),
    };
    if let Some(cmd) = interrupted {
        // Dropping the migration killed its group (kill on drop); the guardian forgets it.
        guard(&mut kept.guardian, 0);
        return Err(match cmd {
            Command::Restart => Outcome::Restart,
            Command::Shutdown => Outcome::Shutdown,
        });
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

/// `<backend> <args>` with the host's environment plus the contract's variables (§2).
fn command(
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
    let database = env("DATABASE_URL")
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("var/data.sqlite").display()));
    let mut ours: Vec<(&str, String)> = vec![
        ("BRIDGE_TOKEN", token.expose().to_string()),
        ("BRIDGE_ENV", "prod".into()),
        ("DATABASE_URL", database),
        ("MERCURE_PUBLISHER_JWT_KEY", key.to_string()),
        ("MERCURE_SUBSCRIBER_JWT_KEY", key.to_string()),
    ];
    if let Some(port) = port {
        ours.push(("PORT", port.to_string()));
        if let Some(notify) = &kept.notify {
            ours.push(("NOTIFY_SOCKET", notify.env_value().to_string()));
        }
    }
    let drop_key = |k: &OsString| {
        let k = k.to_string_lossy();
        k == "BRIDGE_URL"
            || k == "PORT"
            || k == "NOTIFY_SOCKET"
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

/// Steps 6-7 and supervision: the spawn series of one session.
async fn serve(ctx: &mut Ctx, kept: &mut Kept, paths: &BackendPaths, url: &str) -> Outcome {
    let mut machine = Machine::new(ctx.opts.offline_threshold, ctx.opts.healthy_reset);
    let prober = Prober::new(url, ctx.probe_timeout());
    let port = kept
        .listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map_or(0, |a| a.port());
    loop {
        let token = match secrets::token() {
            Ok(t) => t,
            Err(e) => return Outcome::Offline(e),
        };
        let rotated = ctx
            .shared
            .snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .token
            .is_some();
        ctx.shared.update(|s| s.token = Some(token.clone()));
        if rotated {
            ctx.shared.emit(Event::TokenRotated(token.clone()));
        }
        let cmd = command(
            kept,
            paths,
            vec![
                "serve".into(),
                "--config".into(),
                paths.caddyfile.clone().into(),
            ],
            token,
            Some(port),
        );
        let notify = kept.notify.as_ref().expect("notify bound");
        notify.drain();
        let log = kept.log.as_ref().expect("log opened");
        let mut proc = match process::launch(&cmd, log) {
            Ok(p) => p,
            Err(source) => {
                let what = format!("{} serve", paths.bin.display());
                return Outcome::Offline(Error::Spawn { what, source });
            }
        };
        guard(&mut kept.guardian, proc.pid() as i32);
        tracing::info!(target: "qmlbridge::supervisor", pid = proc.pid(), "spawned");
        ctx.shared.emit(Event::Child { pid: proc.pid() });

        let ended = watch(ctx, notify, &prober, &mut machine, &mut proc).await;
        let (status, why) = match ended {
            Ended::Command(cmd) => {
                proc.stop(STOP_GRACE).await;
                guard(&mut kept.guardian, 0);
                return match cmd {
                    Command::Restart => Outcome::Restart,
                    Command::Shutdown => Outcome::Shutdown,
                };
            }
            Ended::Exited(status, why) => (status, why),
        };
        proc.kill_leftovers();
        let stderr = proc.stderr_tail().await;
        guard(&mut kept.guardian, 0);
        tracing::warn!(target: "qmlbridge::supervisor", pid = proc.pid(), "backend {why}");
        match machine.exited(status, StdInstant::now()) {
            AfterExit::Restart(delay) => {
                ctx.set_state(
                    ConnectionState::Reconnecting,
                    Some(format!("backend {why}")),
                );
                if let Some(cmd) = pause(ctx, delay).await {
                    return match cmd {
                        Command::Restart => Outcome::Restart,
                        Command::Shutdown => Outcome::Shutdown,
                    };
                }
            }
            AfterExit::ConfigError => {
                return Outcome::Offline(Error::Config {
                    status: status.to_string(),
                    stderr,
                });
            }
            AfterExit::GiveUp(exits) => {
                return Outcome::Offline(Error::TooManyExits {
                    exits,
                    status: why,
                    stderr,
                });
            }
        }
    }
}

/// Readiness, then periodic probes, until the process ends or a command arrives.
async fn watch(
    ctx: &mut Ctx,
    notify: &NotifySocket,
    prober: &Prober,
    machine: &mut Machine,
    proc: &mut Launched,
) -> Ended {
    let deadline = Instant::now() + ctx.opts.ready_timeout;
    tokio::select! {
        _ = ready(notify, prober) => {
            machine.ready(StdInstant::now());
            ctx.set_state(ConnectionState::Online, None);
        }
        status = proc.child.wait() => return Ended::Exited(status, status.to_string()),
        _ = sleep_until(deadline) => {
            let status = proc.kill().await;
            return Ended::Exited(status, Error::ReadyTimeout(ctx.opts.ready_timeout).to_string());
        }
        cmd = ctx.commands.recv() => return Ended::Command(cmd.unwrap_or(Command::Shutdown)),
    }
    loop {
        let result = tokio::select! {
            r = async { sleep(ctx.opts.probe_interval).await; prober.check().await } => r,
            status = proc.child.wait() => return Ended::Exited(status, status.to_string()),
            cmd = ctx.commands.recv() => return Ended::Command(cmd.unwrap_or(Command::Shutdown)),
        };
        match (machine.probe(result.is_ok(), StdInstant::now()), result) {
            (Health::Ok, _) | (_, Ok(())) => ctx.set_state(ConnectionState::Online, None),
            (Health::Failing, Err(e)) => ctx.set_state(ConnectionState::Reconnecting, Some(e)),
            (Health::Dead, Err(e)) => {
                let status = proc.kill().await;
                let why = format!(
                    "unhealthy for {:?} ({e}), killed",
                    ctx.opts.offline_threshold
                );
                return Ended::Exited(status, why);
            }
        }
    }
}

/// The first of: `READY=1` on the notify socket, or `/healthz` answering 200.
async fn ready(notify: &NotifySocket, prober: &Prober) {
    let by_probe = async {
        loop {
            if prober.check().await.is_ok() {
                return;
            }
            sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    tokio::pin!(by_probe);
    tokio::select! {
        r = notify.ready() => if r.is_err() { (&mut by_probe).await },
        _ = &mut by_probe => {}
    }
}
