//! `qmlbridge-supervisor`: everything the desktop host decides about its backend, with no Qt type
//! (docs/contract.md §9). The Qt layer's `BackendConnection` and the `qmlbridge-supervise` CLI both
//! mirror a [`Supervisor`]:
//!
//! ```no_run
//! use qmlbridge_supervisor::{Event, Options, Supervisor};
//!
//! let sup = Supervisor::start(Options::new("example", "notes"));
//! let mut events = sup.subscribe();
//! while let Ok(event) = events.blocking_recv() {
//!     if let Event::State(snapshot) = event {
//!         println!("{:?} {}", snapshot.state, snapshot.url);
//!     }
//! }
//! ```
//!
//! Beyond the API agreed with the host: [`Options`] also has
//! `data_dir` (tests and the CLI's `--data-dir`), `log_max_bytes` and `log_keep` (the
//! `backend.log` rotation, 5 MiB x 3); [`Snapshot`] is `PartialEq`; the first
//! [`Supervisor::subscribe`] receives every event since `start`; [`RotatingLog`] is the writer
//! the host's own `host.log` uses too (one rotation rule for every log file, docs/contract.md §6).
//! [`data_dir`] is the one data-dir rule: the host locks and logs into the directory it gives.
//! Supervision rules and defaults are in docs/contract.md §9.
//!
//! Modules, one responsibility each: [`mode`] (Dev or Bundled), `datadir`, `secrets`, `paths`,
//! `migrate`, `recovery` (restoring the snapshot of a failed upgrade), `listener` (fd 3),
//! `notify` (READY=1), `spawn` (fork/exec, the only `unsafe`), `process` and `logs` (a
//! supervised process and its output), `rotate` (size-rotated log files), `probe` (`/healthz`),
//! and `supervise` (the loops and the pure state machine). The host↔backend contract is
//! `docs/contract.md`.
//!
//! Crates considered (STYLE.md, "Before writing it by hand"): `process-wrap` and `command-fds`
//! build on `std`/`tokio` `Command`, which fixes `envp` before `fork`, so `LISTEN_PID` could not
//! be the child's own pid without a shell in between; hence one small `fork`/`execve` module on
//! `libc` (which `nix` would only wrap). `sd-notify` is the sender's side;
//! receiving is one datagram socket, whose `SCM_CREDENTIALS` are read with `nix` (safe wrappers
//! for `recvmsg` and its control messages). `file-rotate` was left for a small size rotation
//! that shares one file between all processes of a session and serves as a tracing `MakeWriter`
//! (one event = one record, never split by a rotation), and that cuts back at open what an
//! earlier run left.

mod api;
#[cfg(test)]
mod contract_check;
mod datadir;
mod error;
mod listener;
mod logs;
mod migrate;
pub mod mode;
mod notify;
mod options;
mod paths;
mod probe;
mod process;
mod recovery;
mod rotate;
mod secrets;
mod spawn;
mod state;
mod supervise;

pub use api::Supervisor;
pub use datadir::{DEV_ENV, DEV_SUFFIX, data_dir, database_url, dev_data_dir, set_aside};
pub use error::{Error, Result};
pub use mode::Mode;
pub use options::Options;
pub use paths::BackendPaths;
pub use rotate::{LOG_KEEP, LOG_MAX_BYTES, RotatingLog, RotatingLogWriter};
pub use secrets::{Secret, token as fresh_token};
pub use state::{ConnectionState, Event, Snapshot};
