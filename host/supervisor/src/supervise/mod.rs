//! The supervision thread: one current-thread tokio runtime that drives [`machine::Machine`]
//! with real events (child exits, readiness, probes, commands) and publishes the result through
//! [`Shared`]. Dev mode only probes; Bundled mode lives in [`bundled`].

mod bundled;
pub(crate) mod machine;
mod prepare;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};

use crate::api::{Command, ConnectionState, Options, Shared};
use crate::error::Error;
use crate::mode::{self, Mode};
use crate::probe::Prober;
use machine::{Health, Machine};

/// The supervision thread's body; returns after a shutdown command (or the handle's drop).
pub(crate) fn run(
    mode: Mode,
    opts: Options,
    shared: Arc<Shared>,
    commands: mpsc::UnboundedReceiver<Command>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            return shared.update(|s| {
                s.state = ConnectionState::Offline;
                s.error = Some(format!("supervisor runtime: {e}"));
            });
        }
    };
    let mut ctx = Ctx {
        opts,
        shared,
        commands,
    };
    runtime.block_on(async {
        match mode {
            Mode::Dev => dev(&mut ctx).await,
            Mode::Bundled => bundled::run(&mut ctx).await,
        }
        ctx.shared.update(|s| {
            s.state = ConnectionState::Offline;
            s.error = None;
        });
    });
}

/// What every mode's loop needs.
pub(crate) struct Ctx {
    pub opts: Options,
    pub shared: Arc<Shared>,
    pub commands: mpsc::UnboundedReceiver<Command>,
}

impl Ctx {
    pub fn set_state(&self, state: ConnectionState, error: Option<String>) {
        self.shared.update(|s| {
            s.state = state;
            s.error = error;
        });
    }

    /// Offline with `error` until a command: `true` = restart, `false` = shut down.
    pub async fn offline(&mut self, error: &Error) -> bool {
        self.set_state(ConnectionState::Offline, Some(error.to_string()));
        matches!(self.commands.recv().await, Some(Command::Restart))
    }

    /// Each probe's own time limit: about the probe interval, within 0.5..=2 s.
    pub fn probe_timeout(&self) -> Duration {
        self.opts
            .probe_interval
            .clamp(Duration::from_millis(500), Duration::from_secs(2))
    }
}

/// Dev mode: never spawn or migrate; probe `{BRIDGE_URL}/healthz` forever (docs/contract.md §9,
/// "Modes").
async fn dev(ctx: &mut Ctx) {
    let env = |name: &str| std::env::var(name).ok();
    let target = match mode::dev_target(&env) {
        Ok(target) => target,
        Err(e) => {
            // A bad URL stays bad: restart cannot help, so only wait for shutdown.
            ctx.set_state(ConnectionState::Offline, Some(e.to_string()));
            while let Some(Command::Restart) = ctx.commands.recv().await {}
            return;
        }
    };
    ctx.shared.update(|s| {
        s.url = target.url.clone();
        s.token = Some(target.token.clone());
        s.mercure_subscriber_key = Some(target.mercure_key.clone());
    });
    let prober = Prober::new(&target.url, ctx.probe_timeout());
    let mut machine = Machine::new(ctx.opts.offline_threshold, ctx.opts.healthy_reset);
    loop {
        let result = tokio::select! {
            r = prober.check() => r,
            cmd = ctx.commands.recv() => match cmd {
                // restart() in Dev: a fresh probe series at once (failure clock cleared).
                Some(Command::Restart) => {
                    machine.reset();
                    ctx.set_state(machine.state, None);
                    continue;
                }
                _ => return,
            },
        };
        let error = match (
            machine.probe(result.is_ok(), std::time::Instant::now()),
            result,
        ) {
            (Health::Ok, _) => None,
            (Health::Failing, Err(last)) => Some(last),
            (Health::Dead, Err(last)) => Some(
                Error::Unhealthy {
                    url: target.url.clone(),
                    threshold: ctx.opts.offline_threshold,
                    last,
                }
                .to_string(),
            ),
            (_, Ok(())) => None,
        };
        ctx.set_state(machine.state, error);
        let next = Instant::now() + ctx.opts.probe_interval;
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            cmd = ctx.commands.recv() => match cmd {
                Some(Command::Restart) => {
                    machine.reset();
                    ctx.set_state(machine.state, None);
                }
                _ => return,
            },
        }
    }
}

/// Sleeps `delay` unless a command comes first (returned).
pub(crate) async fn pause(ctx: &mut Ctx, delay: Duration) -> Option<Command> {
    if delay.is_zero() {
        // The first restart's backoff: no timer tick (tokio rounds sleeps up to 1 ms).
        return match ctx.commands.try_recv() {
            Ok(cmd) => Some(cmd),
            Err(mpsc::error::TryRecvError::Empty) => None,
            Err(mpsc::error::TryRecvError::Disconnected) => Some(Command::Shutdown),
        };
    }
    tokio::select! {
        _ = sleep(delay) => None,
        cmd = ctx.commands.recv() => Some(cmd.unwrap_or(Command::Shutdown)),
    }
}
