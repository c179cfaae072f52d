//! Bundled mode (docs/contract.md §9, "Bundled start" and "Restarts"): prepare (data dir, secrets,
//! paths, migrations, socket), then spawn, wait for readiness, probe, and respawn within the
//! budget. Each failing step ends the session Offline with an error naming the step; when the
//! session's migrate took a snapshot and its backend never came Online, the snapshot is restored
//! first (§9 "Recovery"). The preparation (steps 1-5) lives in [`super::prepare`].

use std::time::Instant as StdInstant;

use tokio::time::{Instant, sleep, sleep_until};

use super::ctx::{Ctx, Outcome, pause};
use super::machine::{AfterExit, Health, Machine};
use super::prepare::{Kept, command, guard, prepare, recover};
use crate::error::Error;
use crate::notify::NotifySocket;
use crate::paths::BackendPaths;
use crate::probe::Prober;
use crate::process::{self, Launched, STOP_GRACE};
use crate::secrets;
use crate::spawn::{ExitStatus, Guardian};
use crate::state::{Command, ConnectionState, Event};

/// How one backend process ended.
enum Ended {
    /// Exited (or was killed as not ready / unhealthy); the string says why, for errors.
    Exited(ExitStatus, String),
    Command(Command),
}

pub(super) async fn run(ctx: &mut Ctx) {
    let mut kept = Kept::default();
    match Guardian::start() {
        Ok(g) => kept.guardian = Some(g),
        // A safety net only (the parent-death signal still reaches the backend): go on without.
        Err(e) => tracing::warn!(target: "qmlbridge::supervisor", "cleanup guardian: {e}"),
    }
    // A requested restart goes Reconnecting -> Online like a respawn (§9): the URL stays and the
    // UI should say "back in a moment", not "starting".
    let mut state = ConnectionState::Connecting;
    loop {
        ctx.set_state(state, None);
        let outcome = match prepare(ctx, &mut kept).await {
            Ok((paths, url)) => serve(ctx, &mut kept, &paths, &url).await,
            Err(outcome) => outcome,
        };
        state = ConnectionState::Reconnecting;
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

/// Steps 6-7 and supervision: the spawn series of one session.
async fn serve(ctx: &mut Ctx, kept: &mut Kept, paths: &BackendPaths, url: &str) -> Outcome {
    let mut machine = Machine::new(ctx.opts.offline_threshold, ctx.opts.healthy_reset);
    let prober = Prober::new(url, ctx.probe_timeout());
    loop {
        let mut proc = match spawn(ctx, kept, paths) {
            Ok(proc) => proc,
            Err(e) => return offline(ctx, kept, e),
        };
        let notify = kept.notify.as_ref().expect("notify bound");
        let mut online = false;
        let ended = watch(ctx, notify, &prober, &mut machine, &mut proc, &mut online).await;
        if online {
            // The upgrade worked: its snapshot is only kept (§9 "Recovery").
            kept.armed = None;
        }
        let (status, why) = match ended {
            Ended::Exited(status, why) => (status, why),
            Ended::Command(cmd) => {
                proc.stop(STOP_GRACE).await;
                guard(&mut kept.guardian, 0);
                return cmd.into();
            }
        };
        proc.kill_leftovers();
        let stderr = proc.stderr_tail().await;
        guard(&mut kept.guardian, 0);
        tracing::warn!(target: "qmlbridge::supervisor", pid = proc.pid(), "backend {why}");
        match machine.exited(status, StdInstant::now()) {
            AfterExit::Restart(delay) => {
                let error = Some(format!("backend {why}"));
                ctx.set_state(ConnectionState::Reconnecting, error);
                if let Some(cmd) = pause(ctx, delay).await {
                    return cmd.into();
                }
            }
            AfterExit::ConfigError => {
                let status = status.to_string();
                return offline(ctx, kept, Error::Config { status, stderr });
            }
            AfterExit::GiveUp(exits) => {
                let status = why;
                let e = Error::TooManyExits {
                    exits,
                    status,
                    stderr,
                };
                return offline(ctx, kept, e);
            }
        }
    }
}

/// Offline with `e`; first, when this session's migrate took a snapshot and no backend of it
/// came Online (the process is gone by now), the snapshot is restored (§9 "Recovery").
fn offline(ctx: &Ctx, kept: &mut Kept, e: Error) -> Outcome {
    if let Some(armed) = kept.armed.take() {
        recover(ctx, &armed, &format!("the backend never came online: {e}"));
    }
    Outcome::Offline(e)
}

/// Step 6: a fresh token (a `TokenRotated` event when it replaces one; the fixed one of a
/// development session, `Options::fixed_token`, instead), then
/// `<backend> serve --config <Caddyfile>` with fd 3, its output drained, the guardian told.
fn spawn(ctx: &Ctx, kept: &mut Kept, paths: &BackendPaths) -> Result<Launched, Error> {
    let (token, rotated) = match &ctx.opts.fixed_token {
        Some(token) => (token.clone(), false),
        None => {
            let had = ctx
                .shared
                .snapshot
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .token
                .is_some();
            (secrets::token()?, had)
        }
    };
    ctx.shared.update(|s| s.token = Some(token.clone()));
    if rotated {
        ctx.shared.emit(Event::TokenRotated(token.clone()));
    }
    let port = kept
        .listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map_or(0, |a| a.port());
    let args = vec![
        "serve".into(),
        "--config".into(),
        paths.caddyfile.clone().into(),
    ];
    let cmd = command(kept, paths, args, token, Some(port));
    kept.notify.as_ref().expect("notify bound").drain();
    let log = kept.log.as_ref().expect("log opened");
    let proc = process::launch(&cmd, log).map_err(|source| Error::Spawn {
        what: format!("{} serve", paths.bin.display()),
        source,
    })?;
    guard(&mut kept.guardian, proc.pid() as i32);
    tracing::info!(target: "qmlbridge::supervisor", pid = proc.pid(), "spawned");
    ctx.shared.emit(Event::Child { pid: proc.pid() });
    Ok(proc)
}

/// Readiness, then periodic probes, until the process ends or a command arrives.
async fn watch(
    ctx: &mut Ctx,
    notify: &NotifySocket,
    prober: &Prober,
    machine: &mut Machine,
    proc: &mut Launched,
    online: &mut bool,
) -> Ended {
    let deadline = Instant::now() + ctx.opts.ready_timeout;
    let pid = proc.pid();
    tokio::select! {
        _ = ready(notify, prober, pid) => {
            machine.ready(StdInstant::now());
            *online = true;
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

/// The first of: `READY=1` on the notify socket from the child `pid` itself (§4), or `/healthz`
/// answering 200.
async fn ready(notify: &NotifySocket, prober: &Prober, pid: u32) {
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
        r = notify.ready(pid) => if r.is_err() { (&mut by_probe).await },
        _ = &mut by_probe => {}
    }
}
