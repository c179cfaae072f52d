//! `qmlbridge-supervisor`: everything the desktop host decides about its backend, with no Qt type
//! (issue 3). The Qt layer's `BackendConnection` and the `qmlbridge-supervise` CLI both mirror a
//! [`Supervisor`]:
//!
//! ```no_run
//! use qmlbridge_supervisor::{Event, Options, Supervisor};
//!
//! let sup = Supervisor::start(Options::new("qmlbridge", "todo"));
//! let mut events = sup.subscribe();
//! while let Ok(event) = events.blocking_recv() {
//!     if let Event::State(snapshot) = event {
//!         println!("{:?} {}", snapshot.state, snapshot.url);
//!     }
//! }
//! ```
//!
//! Beyond the API agreed with the host (/work/briefs/supervisor-api.md): [`Options`] also has
//! `data_dir` (tests and the CLI's `--data-dir`), `log_max_bytes` and `log_keep` (the
//! `backend.log` rotation, 5 MB x 3); [`Snapshot`] is `PartialEq`; the first
//! [`Supervisor::subscribe`] receives every event since `start`. Supervision rules and defaults
//! are in docs/contract.md §9.
//!
//! Modules, one responsibility each: [`mode`] (Dev or Bundled), `datadir`, `secrets`, `paths`,
//! `migrate`, `listener` (fd 3), `notify` (READY=1), `spawn` (fork/exec, the only `unsafe`),
//! `process` and `logs` (a supervised process and its output), `probe` (`/healthz`), and
//! `supervise` (the loops and the pure state machine). The host↔backend contract is
//! `docs/contract.md`.

mod api;
mod datadir;
mod error;
mod listener;
mod logs;
mod migrate;
pub mod mode;
mod notify;
mod paths;
mod probe;
mod process;
mod secrets;
mod spawn;
mod supervise;

pub use api::{ConnectionState, Event, Options, Snapshot, Supervisor};
pub use error::{Error, Result};
pub use mode::Mode;
pub use paths::{BACKEND_BIN, BackendPaths};
pub use secrets::Secret;
