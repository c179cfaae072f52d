//! Starting, signalling and reaping processes: the crate's only `unsafe` code (docs/contract.md
//! §9, bundled start step 6; §3, §5).
//!
//! Why not `std::process::Command`: `LISTEN_PID` must hold the child's own pid, known only after
//! `fork`, and std builds `envp` before forking (its `pre_exec` hooks run before `environ` is
//! used, and `setenv` after `fork` is not async-signal-safe). So [`spawn`] prepares argv and envp
//! as NUL-terminated buffers *before* `fork`, with a fixed-width `LISTEN_PID=` entry, and the child
//! only makes async-signal-safe calls (`setpgid`, `prctl`, `getppid`, `dup2`, `fcntl`, `chdir`,
//! `execve`, `_exit`) plus plain stores of the pid digits into that pre-allocated buffer.
//!
//! Layers (as in watchexec/process-wrap): own process group; `PR_SET_PDEATHSIG(SIGTERM)` with a
//! `getppid()` re-check (the parent may have died before `prctl`); kill-on-drop of the group;
//! one waiter thread per child so nothing stays a zombie. `PR_SET_PDEATHSIG` fires when the
//! *thread* that forked exits, so callers spawn from one long-lived thread (the supervisor's).
//!
//! The parent-death signal reaches only the backend itself, not what it started, and a backend may
//! ignore SIGTERM; so a [`Guardian`] process (forked once, never exec'd) learns each group's id
//! through a pipe and, when the pipe reports EOF because the host died (even by SIGKILL), sends
//! SIGTERM to that group, then SIGKILL 500 ms later.
//!
//! Submodules: `exec` (the child's side, between `fork` and `execve`) and `guardian`.

mod exec;
mod guardian;

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::{fmt, thread};

use tokio::sync::oneshot;

use exec::{ChildFds, exec_child, prepare};
pub(crate) use guardian::Guardian;

/// What to run.
pub(crate) struct Command {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// The child's whole environment (the caller merges the host's with its own variables).
    pub env: Vec<(OsString, OsString)>,
    pub cwd: PathBuf,
    /// Passed as fd 3 with `LISTEN_FDS=1` and `LISTEN_PID=<child pid>` (socket activation).
    pub listener: Option<RawFd>,
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(code)`.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exited with code {c}"),
            ExitStatus::Signal(s) => write!(f, "killed by signal {}", signal_name(*s)),
        }
    }
}

fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        _ => return sig.to_string(),
    };
    format!("{name} ({sig})")
}

/// A started process: the leader of its own process group (pgid = pid).
pub(crate) struct Child {
    pid: i32,
    /// Read ends of the child's stdout and stderr pipes (taken by the log drain).
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    exit: Option<oneshot::Receiver<ExitStatus>>,
    status: Option<ExitStatus>,
    reaped: Arc<AtomicBool>,
}

impl Child {
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Waits until the process has exited and been reaped (the group may live on).
    /// Cancel-safe: it sits in `select!` loops, so the receiver stays in place until it answers.
    pub async fn wait(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let status = match self.exit.as_mut() {
            // The waiter thread always sends before it ends; an error would mean it panicked.
            Some(rx) => rx.await.unwrap_or(ExitStatus::Signal(libc::SIGKILL)),
            None => ExitStatus::Signal(libc::SIGKILL),
        };
        self.exit = None;
        self.status = Some(status);
        status
    }

    /// Sends `sig` to the whole process group. Harmless once the group is gone.
    pub fn signal_group(&self, sig: i32) {
        signal_group(self.pid, sig);
    }

    /// Whether any process of the group is still alive (zombies included until reaped).
    pub fn group_alive(&self) -> bool {
        group_alive(self.pid)
    }
}

impl Drop for Child {
    /// Kill on drop: a child nobody supervises must not outlive its handle.
    fn drop(&mut self) {
        if !self.reaped.load(Ordering::Acquire) {
            signal_group(self.pid, libc::SIGKILL);
        }
    }
}

/// Sends `sig` to process group `pgid`; `ESRCH` (nobody left) is not an error worth reporting.
pub(crate) fn signal_group(pgid: i32, sig: i32) {
    if pgid > 0 {
        // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names a group.
        unsafe { libc::kill(-pgid, sig) };
    }
}

/// Whether process group `pgid` still has a member.
pub(crate) fn group_alive(pgid: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks for existence and permission.
    pgid > 0 && unsafe { libc::kill(-pgid, 0) } == 0
}

/// A pipe whose both ends are close-on-exec: `(read, write)`.
pub(super) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array on success; we own them from then on.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Which step failed in the child, reported through the exec-error pipe.
const STEPS: [&str; 6] = ["setpgid", "prctl", "getppid", "dup2", "chdir", "execve"];

/// Starts `cmd` in its own process group with stdin `/dev/null` and stdout/stderr piped.
pub(crate) fn spawn(cmd: &Command) -> io::Result<Child> {
    let prep = prepare(cmd)?;
    let null: OwnedFd = File::options()
        .read(true)
        .write(true)
        .open("/dev/null")?
        .into();
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (status_r, status_w) = pipe()?;
    let fds = ChildFds {
        stdin: null.as_raw_fd(),
        stdout: out_w.as_raw_fd(),
        stderr: err_w.as_raw_fd(),
        listener: cmd.listener.unwrap_or(-1),
        status: status_w.as_raw_fd(),
    };

    // SAFETY: fork(2) duplicates only the calling thread; the child runs `exec_child`, which makes
    // only async-signal-safe calls and never returns, allocates or unwinds.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: we are the freshly forked child (see exec_child's contract).
        unsafe { exec_child(&prep, &fds) }
    }
    drop((null, out_w, err_w, status_w));
    // Also from the parent, so the group exists before we may signal it (the classic race).
    // SAFETY: setpgid has no memory preconditions; EACCES after exec is expected and harmless.
    unsafe { libc::setpgid(pid, pid) };

    let mut report = [0u8; 8];
    let n = read_full(&status_r, &mut report);
    if n == report.len() {
        let step = u32::from_ne_bytes(report[..4].try_into().unwrap_or_default()) as usize;
        let errno = i32::from_ne_bytes(report[4..].try_into().unwrap_or_default());
        reap_now(pid);
        let err = io::Error::from_raw_os_error(errno);
        let step = STEPS.get(step).copied().unwrap_or("child setup");
        return Err(io::Error::new(err.kind(), format!("{step}: {err}")));
    }

    let reaped = Arc::new(AtomicBool::new(false));
    let (tx, rx) = oneshot::channel();
    let flag = reaped.clone();
    thread::Builder::new()
        .name(format!("reap-{pid}"))
        .spawn(move || {
            let status = reap_now(pid);
            flag.store(true, Ordering::Release);
            let _ = tx.send(status);
        })?;
    Ok(Child {
        pid,
        stdout: Some(out_r),
        stderr: Some(err_r),
        exit: Some(rx),
        status: None,
        reaped,
    })
}

/// Reads until `buf` is full or EOF; returns how many bytes were read.
fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> usize {
    let mut have = 0;
    while have < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                buf[have..].as_mut_ptr().cast(),
                buf.len() - have,
            )
        };
        if n > 0 {
            have += n as usize;
        } else if n == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            break;
        }
    }
    have
}

/// Blocks until `pid` exits and reaps it.
pub(super) fn reap_now(pid: i32) -> ExitStatus {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes the status into a valid c_int.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return ExitStatus::Signal(libc::SIGKILL); // ECHILD: someone else reaped it
        }
    }
    if libc::WIFEXITED(status) {
        ExitStatus::Code(libc::WEXITSTATUS(status))
    } else {
        ExitStatus::Signal(libc::WTERMSIG(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listen_pid_is_the_childs_own_pid() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let cmd = Command {
            program: "/bin/sh".into(),
            args: vec![
                "-c".into(),
                "echo $$ $LISTEN_PID $LISTEN_FDS; test -S /proc/self/fd/3 || ls -l /proc/$$/fd/3"
                    .into(),
            ],
            env: vec![
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("LISTEN_PID".into(), "1".into()),
            ],
            cwd: "/".into(),
            listener: Some(listener.as_raw_fd()),
        };
        let mut child = spawn(&cmd).unwrap();
        let out =
            tokio::net::unix::pipe::Receiver::from_owned_fd(child.stdout.take().unwrap()).unwrap();
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut tokio::io::BufReader::new(out), &mut text)
            .await
            .unwrap();
        assert_eq!(child.wait().await, ExitStatus::Code(0));
        let words: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(words[0], child.pid().to_string(), "{text}");
        assert_eq!(words[1], words[0], "{text}");
        assert_eq!(words[2], "1", "{text}");
    }

    #[test]
    fn exec_failure_names_the_step() {
        let cmd = Command {
            program: "/nonexistent/backend".into(),
            args: vec![],
            env: vec![],
            cwd: "/".into(),
            listener: None,
        };
        let err = spawn(&cmd).err().expect("spawn must fail");
        assert!(err.to_string().starts_with("execve: "), "{err}");
        let cmd = Command {
            program: "/bin/true".into(),
            cwd: "/nonexistent/dir".into(),
            ..cmd
        };
        let err = spawn(&cmd).err().expect("spawn must fail");
        assert!(err.to_string().starts_with("chdir: "), "{err}");
    }
}
