//! The handle the Qt layer (and the CLI) holds: [`Supervisor::start`] returns at once and the work
//! runs on one dedicated thread with a current-thread tokio runtime. That thread is also the one
//! that forks the backend, because `PR_SET_PDEATHSIG` follows the forking *thread*.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::{broadcast, mpsc};

use crate::options::Options;
use crate::state::{Command, ConnectionState, Event, Shared, Snapshot};

/// The supervisor handle; `Send + Sync`. Dropping it is [`Supervisor::shutdown`].
pub struct Supervisor {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    first_subscriber: Mutex<Option<broadcast::Receiver<Event>>>,
    thread: Option<JoinHandle<()>>,
}

impl Supervisor {
    /// Decides the mode from the environment and starts supervising; returns at once.
    pub fn start(opts: Options) -> Supervisor {
        let env = |name: &str| std::env::var(name).ok();
        let mode = crate::mode::detect(&env);
        let (events, first) = broadcast::channel(256);
        let shared = Arc::new(Shared {
            snapshot: Mutex::new(Snapshot {
                mode,
                url: String::new(),
                token: None,
                state: ConnectionState::Connecting,
                error: None,
                data_dir: None,
                mercure_subscriber_key: None,
                recovery: None,
            }),
            events,
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("qmlbridge-supervisor".into())
            .spawn(move || crate::supervise::run(mode, opts, thread_shared, rx));
        let thread = match thread {
            Ok(handle) => Some(handle),
            Err(e) => {
                shared.update(|s| {
                    s.state = ConnectionState::Offline;
                    s.error = Some(format!("supervisor thread: {e}"));
                });
                None
            }
        };
        Supervisor {
            shared,
            commands: tx,
            first_subscriber: Mutex::new(Some(first)),
            thread,
        }
    }

    /// The current state.
    pub fn snapshot(&self) -> Snapshot {
        self.shared
            .snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A stream of changes. The first call's receiver holds every event since `start` (so the
    /// first `Child` is never missed); later calls see events from then on. A receiver that falls
    /// more than 256 events behind gets `RecvError::Lagged`: then read [`Supervisor::snapshot`].
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        let mut first = self
            .first_subscriber
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        first
            .take()
            .unwrap_or_else(|| self.shared.events.subscribe())
    }

    /// Bundled: stop the backend, reset the restart budget, migrate and respawn with a fresh
    /// token (also the way out of Offline). Dev: probe again now. Returns at once.
    pub fn restart(&self) {
        let _ = self.commands.send(Command::Restart);
    }

    /// Stops the backend's process group gracefully (SIGTERM, 5 s, SIGKILL) and waits for the
    /// supervision thread; blocks at most about 6 s.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_is_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Supervisor>();
    }
}
