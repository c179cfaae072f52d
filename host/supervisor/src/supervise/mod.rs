//! The supervision thread: one current-thread tokio runtime that drives [`machine::Machine`]
//! with real events (child exits, readiness, probes, commands) and publishes the result through
//! [`Shared`]. Dev mode only probes; Bundled mode lives in [`bundled`].

mod bundled;
mod ctx;
pub(crate) mod machine;
mod prepare;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::error::Error;
use crate::mode::{self, Mode};
use crate::options::Options;
use crate::probe::Prober;
use crate::state::{Command, ConnectionState, Shared};
use ctx::Ctx;
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
