//! Migrations before every spawn series (docs/contract.md §9, bundled start step 4; §1):
//! `<backend> migrate` in the backend dir, bounded by a timeout after which its whole process
//! group is killed. A failure quotes the last lines of its stderr.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::process;
use crate::rotate::RotatingLog;
use crate::spawn::{Command, ExitStatus, Guardian};

/// Runs `cmd` (already `<backend> migrate`) to completion or until `limit` passes.
pub(crate) async fn run(
    cmd: &Command,
    limit: Duration,
    log: &RotatingLog,
    mut guardian: Option<&mut Guardian>,
) -> Result<()> {
    let mut proc = process::launch(cmd, log).map_err(|source| Error::Spawn {
        what: format!("{} migrate", cmd.program.display()),
        source,
    })?;
    if let Some(g) = guardian.as_deref_mut() {
        g.watch(proc.pid() as i32);
    }
    tracing::info!(target: "qmlbridge::supervisor", pid = proc.pid(), "migrating");
    let outcome = tokio::time::timeout(limit, proc.child.wait()).await;
    let result = match outcome {
        Ok(ExitStatus::Code(0)) => {
            proc.kill_leftovers();
            Ok(())
        }
        Ok(status) => {
            proc.kill_leftovers();
            Err(Error::Migration {
                program: cmd.program.clone(),
                status: status.to_string(),
                stderr: proc.stderr_tail().await,
            })
        }
        Err(_) => {
            proc.kill().await;
            Err(Error::MigrationTimeout {
                program: cmd.program.clone(),
                timeout: limit,
                stderr: proc.stderr_tail().await,
            })
        }
    };
    if let Some(g) = guardian {
        g.watch(0);
    }
    result
}
