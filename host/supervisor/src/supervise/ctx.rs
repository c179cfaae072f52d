//! What the modes' loops ([`super::bundled`], Dev in [`super`]) and the bundled preparation
//! share: the [`Ctx`] they run with, [`pause`] (a backoff a command can cut short) and the
//! [`Outcome`] a bundled session ends with.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::sleep;

use crate::error::Error;
use crate::options::Options;
use crate::state::{Command, ConnectionState, Shared};

/// What every mode's loop needs.
pub(super) struct Ctx {
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

/// How a session ended.
pub(super) enum Outcome {
    Restart,
    Shutdown,
    Offline(Error),
}

impl From<Error> for Outcome {
    fn from(e: Error) -> Outcome {
        Outcome::Offline(e)
    }
}

impl From<Command> for Outcome {
    fn from(cmd: Command) -> Outcome {
        match cmd {
            Command::Restart => Outcome::Restart,
            Command::Shutdown => Outcome::Shutdown,
        }
    }
}

/// Sleeps `delay` unless a command comes first (returned).
pub(super) async fn pause(ctx: &mut Ctx, delay: Duration) -> Option<Command> {
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
