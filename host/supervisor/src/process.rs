//! One supervised process with its output attached: [`spawn`](crate::spawn::spawn) plus the log drains
//! of [`logs`], and the graceful stop of docs/contract.md §5 (SIGTERM to the group,
//! a grace period, SIGKILL to the group, reap).

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};

use crate::logs::{self, Tail};
use crate::rotate::RotatingLog;
use crate::spawn::{self, Child, Command, ExitStatus};

/// How long a stopped process may take after SIGTERM before its group gets SIGKILL.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running process whose stdout and stderr are being drained.
pub(crate) struct Launched {
    pub child: Child,
    pub tail: Tail,
    stderr_done: JoinHandle<()>,
    _stdout_done: JoinHandle<()>,
}

/// Spawns `cmd` and starts draining its output into `log`.
pub(crate) fn launch(cmd: &Command, log: &RotatingLog) -> std::io::Result<Launched> {
    let mut child = spawn::spawn(cmd)?;
    let tail = Tail::default();
    let pid = child.pid();
    let out = child.stdout.take().expect("fresh child has stdout");
    let err = child.stderr.take().expect("fresh child has stderr");
    Ok(Launched {
        _stdout_done: logs::drain(out, pid, log.clone(), None),
        stderr_done: logs::drain(err, pid, log.clone(), Some(tail.clone())),
        tail,
        child,
    })
}

impl Launched {
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// The last stderr lines, once the pipe has been read to its end (bounded wait: a
    /// grandchild may still hold the pipe open).
    pub async fn stderr_tail(&mut self) -> Vec<String> {
        let _ = timeout(Duration::from_millis(300), &mut self.stderr_done).await;
        self.tail.lines()
    }

    /// After the leader exited on its own: nothing it started may linger in its group.
    pub fn kill_leftovers(&self) {
        self.child.signal_group(libc::SIGKILL);
    }

    /// SIGTERM to the group, up to `grace` for the whole group to go, then SIGKILL; reaps.
    pub async fn stop(&mut self, grace: Duration) -> ExitStatus {
        let deadline = Instant::now() + grace;
        self.child.signal_group(libc::SIGTERM);
        let status = match tokio::time::timeout_at(deadline, self.child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                self.child.signal_group(libc::SIGKILL);
                self.child.wait().await
            }
        };
        while self.child.group_alive() && Instant::now() < deadline {
            sleep(Duration::from_millis(20)).await;
        }
        self.child.signal_group(libc::SIGKILL);
        status
    }

    /// SIGKILL to the group now, and reap.
    pub async fn kill(&mut self) -> ExitStatus {
        self.child.signal_group(libc::SIGKILL);
        self.child.wait().await
    }
}
