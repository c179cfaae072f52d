//! Starting, signalling and reaping processes: the crate's only `unsafe` code (issue 3, bundled
//! start step 6; docs/contract.md §3, §5).
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

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::{fmt, ptr, thread};

use libc::c_char;
use tokio::sync::oneshot;

/// Width reserved for the decimal pid in `LISTEN_PID=` (pid_max is at most 2^22).
const PID_WIDTH: usize = 20;
const LISTEN_PID_PREFIX: &[u8] = b"LISTEN_PID=";

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

/// Everything the child needs, allocated before `fork` so the child never allocates.
struct Prepared {
    program: CString,
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    _envp: Vec<Vec<u8>>,
    envp_ptrs: Vec<*const c_char>,
    /// Points at the first digit of the `LISTEN_PID=` entry inside `_envp`.
    listen_pid: Option<*mut u8>,
    cwd: CString,
    parent: libc::pid_t,
    empty_mask: libc::sigset_t,
}

fn cstring(bytes: &[u8], what: &str) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} contains a NUL byte"),
        )
    })
}

fn prepare(cmd: &Command) -> io::Result<Prepared> {
    let program = cstring(cmd.program.as_os_str().as_bytes(), "program path")?;
    let mut argv = vec![program.clone()];
    for arg in &cmd.args {
        argv.push(cstring(arg.as_bytes(), "argument")?);
    }
    let mut argv_ptrs: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(ptr::null());

    let mut envp: Vec<Vec<u8>> = Vec::new();
    for (key, value) in &cmd.env {
        let key = key.as_bytes();
        if key.starts_with(b"LISTEN_") || key.contains(&b'=') || key.is_empty() {
            continue; // socket activation variables are ours alone to set
        }
        let mut entry = [key, b"=", value.as_bytes()].concat();
        if entry.contains(&0) {
            return Err(cstring(&entry, "environment").unwrap_err());
        }
        entry.push(0);
        envp.push(entry);
    }
    let mut listen_index = None;
    if cmd.listener.is_some() {
        envp.push(b"LISTEN_FDS=1\0".to_vec());
        let mut entry = LISTEN_PID_PREFIX.to_vec();
        entry.extend([b'0'; PID_WIDTH]);
        entry.push(0);
        listen_index = Some(envp.len());
        envp.push(entry);
    }
    let mut listen_pid = None;
    let mut envp_ptrs: Vec<*const c_char> = Vec::with_capacity(envp.len() + 1);
    for (i, entry) in envp.iter_mut().enumerate() {
        let p = entry.as_mut_ptr();
        if Some(i) == listen_index {
            // SAFETY: the entry is LISTEN_PID_PREFIX + PID_WIDTH digits + NUL, so the offset is
            // inside the allocation, which lives (unmoved) in `Prepared` until after exec.
            listen_pid = Some(unsafe { p.add(LISTEN_PID_PREFIX.len()) });
        }
        envp_ptrs.push(p as *const c_char);
    }
    envp_ptrs.push(ptr::null());

    // SAFETY: sigemptyset initialises the set it is given; zeroed is a valid starting value.
    let empty_mask = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        set
    };
    Ok(Prepared {
        program,
        _argv: argv,
        argv_ptrs,
        _envp: envp,
        envp_ptrs,
        listen_pid,
        cwd: cstring(cmd.cwd.as_os_str().as_bytes(), "working directory")?,
        // SAFETY: getpid(2) cannot fail.
        parent: unsafe { libc::getpid() },
        empty_mask,
    })
}

/// A pipe whose both ends are close-on-exec: `(read, write)`.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
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
fn reap_now(pid: i32) -> ExitStatus {
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

struct ChildFds {
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    listener: RawFd,
    status: RawFd,
}

/// The forked child: sets up and execs, or reports `(step, errno)` on the status pipe and exits.
///
/// # Safety
/// Call only in the child right after `fork` from a multi-threaded process: every call below is
/// async-signal-safe (signal-safety(7)) and nothing allocates, locks or unwinds.
unsafe fn exec_child(p: &Prepared, fds: &ChildFds) -> ! {
    // SAFETY (whole block): raw syscalls on fds and buffers prepared before fork.
    unsafe {
        let fail = |step: u32| -> ! {
            let errno = *libc::__errno_location();
            let mut report = [0u8; 8];
            report[..4].copy_from_slice(&step.to_ne_bytes());
            report[4..].copy_from_slice(&errno.to_ne_bytes());
            libc::write(fds.status, report.as_ptr().cast(), report.len());
            libc::_exit(127)
        };
        // Undo what the host's runtime set up: blocked signals, Rust's ignored SIGPIPE.
        libc::sigprocmask(libc::SIG_SETMASK, &p.empty_mask, ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        if libc::setpgid(0, 0) != 0 {
            fail(0);
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
            fail(1);
        }
        if libc::getppid() != p.parent {
            libc::_exit(127); // the host died before prctl: nobody to serve
        }
        // Move every source above the targets first, so no dup2 clobbers a later source.
        let wanted = [fds.stdin, fds.stdout, fds.stderr, fds.listener];
        let mut high = [-1; 4];
        for (i, &fd) in wanted.iter().enumerate() {
            if fd >= 0 {
                high[i] = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10);
                if high[i] < 0 {
                    fail(3);
                }
            }
        }
        for (target, &fd) in high.iter().enumerate() {
            // dup2 onto a different fd clears FD_CLOEXEC on the target: 0..=3 survive exec.
            if fd >= 0 && libc::dup2(fd, target as i32) < 0 {
                fail(3);
            }
        }
        // Anything else the host left inheritable must not leak into the backend.
        let first = if fds.listener >= 0 { 4 } else { 3 };
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        if let Some(digits) = p.listen_pid {
            write_decimal(digits, libc::getpid());
        }
        if libc::chdir(p.cwd.as_ptr()) != 0 {
            fail(4);
        }
        libc::execve(
            p.program.as_ptr(),
            p.argv_ptrs.as_ptr(),
            p.envp_ptrs.as_ptr(),
        );
        fail(5)
    }
}

/// Writes `value` in decimal followed by NUL at `out` (room for `PID_WIDTH` + 1 bytes).
///
/// # Safety
/// `out` must point at `PID_WIDTH + 1` writable bytes.
unsafe fn write_decimal(out: *mut u8, value: i32) {
    let mut digits = [0u8; PID_WIDTH];
    let mut n = value.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 || len == PID_WIDTH {
            break;
        }
    }
    for i in 0..len {
        // SAFETY: i < len <= PID_WIDTH, within the caller's buffer.
        unsafe { *out.add(i) = digits[len - 1 - i] };
    }
    // SAFETY: len <= PID_WIDTH, so the terminator is within the buffer too.
    unsafe { *out.add(len) = 0 };
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_fits_the_reserved_width() {
        let mut buf = [b'x'; PID_WIDTH + 1];
        // SAFETY: the buffer has PID_WIDTH + 1 bytes.
        unsafe { write_decimal(buf.as_mut_ptr(), 4_194_304) };
        assert_eq!(&buf[..8], b"4194304\0");
    }

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
