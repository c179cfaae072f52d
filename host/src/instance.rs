//! One host per data dir in Bundled mode: an exclusive `flock` on
//! `<data>/qmlbridge.lock`, held for the life of the process, so a second launch never starts a
//! second backend on the same database. The kernel drops the lock when the process dies, however
//! it dies: a stale file never blocks a launch.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// The lock file's name inside the data dir.
pub const LOCK_FILE: &str = "qmlbridge.lock";

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it; `pid` is what that process wrote into the file.
    #[error("another qmlbridge (pid {pid}) already runs on {}", dir.display())]
    AlreadyRunning { dir: PathBuf, pid: String },
    /// The file could not be created or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct InstanceLock {
    _lock: Flock<File>,
}

/// Takes the lock on `dir` (created if missing) without waiting, and writes our pid into it.
pub fn acquire(dir: &Path) -> Result<InstanceLock, LockError> {
    let path = dir.join(LOCK_FILE);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => lock,
        Err((mut file, Errno::EWOULDBLOCK)) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim().to_string();
            return Err(LockError::AlreadyRunning {
                dir: dir.to_path_buf(),
                pid: if pid.is_empty() { "?".into() } else { pid },
            });
        }
        Err((_, errno)) => return Err(io(errno.into())),
    };
    lock.set_len(0).map_err(io)?;
    lock.rewind().map_err(io)?;
    writeln!(lock, "{}", std::process::id()).map_err(io)?;
    Ok(InstanceLock { _lock: lock })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_on_the_same_dir_fails_until_the_first_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let first = acquire(&dir).unwrap();
        let err = acquire(&dir).unwrap_err();
        let LockError::AlreadyRunning { pid, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(pid, &std::process::id().to_string());
        assert!(err.to_string().contains("already runs"), "{err}");
        drop(first);
        acquire(&dir).unwrap();
    }
}
