//! The few system calls std does not wrap: pipes that survive `exec`, `fork`, `setsid`, advisory
//! locks, signal dispositions. The runtime's only `unsafe` code besides `fnmatch` lives here.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};

/// A pipe (read end, write end), both close-on-exec.
pub fn pipe() -> io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// Lets `fd` survive `exec` (the app inherits it on purpose).
pub fn keep_across_exec(fd: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: F_SETFD on a descriptor we hold; no memory is passed.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Which side of a fork this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    /// The new process.
    Child,
    /// The caller, with the child's pid.
    Parent(libc::pid_t),
}

/// `fork(2)`. Call only while the process has one thread (the runtime forks before it starts
/// any), so the child may allocate and start threads of its own.
pub fn fork() -> io::Result<Forked> {
    // SAFETY: the runtime is single-threaded at this point (see above), so no lock held by
    // another thread is copied into the child in a locked state.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

/// Starts a new session: no controlling terminal, its own process group, so a Ctrl-C or a
/// signal sent to the app's group does not take the mount's server down with the app.
pub fn setsid() {
    // SAFETY: no arguments; failure (already a group leader) leaves things as they were.
    unsafe { libc::setsid() };
}

/// Ignores SIGINT, SIGHUP and SIGPIPE in this process (the mount server outlives its terminal).
pub fn ignore_terminal_signals() {
    for sig in [libc::SIGINT, libc::SIGHUP, libc::SIGPIPE] {
        // SAFETY: SIG_IGN is a valid disposition for these signals.
        unsafe { libc::signal(sig, libc::SIG_IGN) };
    }
}

/// Points stdin, stdout and stderr at /dev/null, so that whoever reads the app's output (a
/// `$(...)`, a pipe) sees end-of-file when the app exits, not when the mount server does.
pub fn detach_stdio() {
    let Ok(null) = File::options().read(true).write(true).open("/dev/null") else {
        return;
    };
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors; `null` stays valid during the call.
        unsafe { libc::dup2(null.as_raw_fd(), fd) };
    }
}

/// Waits for child `pid`; its exit status (128 + signal when killed).
pub fn wait(pid: libc::pid_t) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid int for waitpid to fill.
        if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    })
}

/// Whether process `pid` exists.
pub fn alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    unsafe { libc::kill(pid, 0) == 0 || *libc::__errno_location() == libc::EPERM }
}

/// Takes a shared (`exclusive == false`) or exclusive lock on `file`, without waiting; false
/// when another process holds a conflicting one.
pub fn try_lock(file: &File, exclusive: bool) -> io::Result<bool> {
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    } | libc::LOCK_NB;
    // SAFETY: flock on a descriptor we hold.
    if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    if err.kind() == io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(err)
    }
}

/// The real user and group ids.
pub fn ids() -> (u32, u32) {
    // SAFETY: getuid/getgid cannot fail.
    unsafe { (libc::getuid(), libc::getgid()) }
}

/// Detaches the mount at `path` now, or as soon as it is no longer busy (`MNT_DETACH`); only
/// root may (others go through `fusermount -u -z`).
pub fn umount_lazy(path: &std::path::Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: a NUL-terminated path that outlives the call.
    if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}
