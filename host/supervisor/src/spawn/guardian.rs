//! The guardian: a process forked once from the supervisor's thread (never exec'd) that kills
//! the backend's process group when the host dies, even by SIGKILL (docs/contract.md §5).

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::{ptr, thread};

use super::{pipe, reap_now};

/// The process that cleans up after a host that died without stopping its backend (see module
/// docs). Dropping it tells it the host is done, and it exits.
pub(crate) struct Guardian {
    pipe: File,
}

impl Guardian {
    /// Forks the guardian. Call early, from the same long-lived thread that spawns backends.
    pub fn start() -> io::Result<Guardian> {
        let (read, write) = pipe()?;
        // SAFETY: as in `spawn`; the child runs `guard`, which only makes async-signal-safe calls.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: we are the freshly forked child.
            unsafe { guard(read.as_raw_fd()) }
        }
        drop(read);
        thread::Builder::new()
            .name("reap-guardian".into())
            .spawn(move || reap_now(pid))?;
        Ok(Guardian { pipe: write.into() })
    }

    /// From now on, group `pgid` is the one to kill if the host dies; 0 = none.
    pub fn watch(&mut self, pgid: i32) {
        // A 4-byte write to a pipe is atomic (< PIPE_BUF). If the guardian is gone we can do
        // nothing more about it here; stopping the backend does not depend on it.
        let _ = self.pipe.write_all(&pgid.to_ne_bytes());
    }
}

/// The guardian's whole life: remember the last group id, and on EOF kill that group.
///
/// # Safety
/// Only in the child right after `fork`: async-signal-safe calls only, never returns.
unsafe fn guard(read: RawFd) -> ! {
    // SAFETY (whole block): raw syscalls on our own fds and stack buffers.
    unsafe {
        libc::setpgid(0, 0); // out of the host's group: a terminal's Ctrl-C is the host's to handle
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mask: libc::sigset_t = {
            let mut set = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            set
        };
        libc::sigprocmask(libc::SIG_SETMASK, &mask, ptr::null_mut());
        // Hold nothing of the host's (its listener, its pipes) except our pipe, now fd 0.
        if libc::dup2(read, 0) < 0 {
            libc::_exit(1);
        }
        libc::syscall(libc::SYS_close_range, 1u32, u32::MAX, 0u32);
        let mut pgid: i32 = 0;
        let mut buf = [0u8; 4];
        let mut have = 0;
        loop {
            let n = libc::read(0, buf[have..].as_mut_ptr().cast(), 4 - have);
            if n > 0 {
                have += n as usize;
                if have == 4 {
                    pgid = i32::from_ne_bytes(buf);
                    have = 0;
                }
            } else if n < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            } else {
                break; // EOF: every write end is closed, the host is gone or done
            }
        }
        if pgid > 0 {
            libc::kill(-pgid, libc::SIGTERM);
            let pause = libc::timespec {
                tv_sec: 0,
                tv_nsec: 500_000_000,
            };
            libc::nanosleep(&pause, ptr::null_mut());
            libc::kill(-pgid, libc::SIGKILL);
        }
        libc::_exit(0)
    }
}
