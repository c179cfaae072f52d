//! The child's side of [`spawn`](super::spawn): argv and envp built before `fork` (so the child
//! never allocates), and what runs between `fork` and `execve`: async-signal-safe calls only.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::ptr;

use libc::c_char;

use super::Command;

/// Width reserved for the decimal pid in `LISTEN_PID=` (pid_max is at most 2^22).
const PID_WIDTH: usize = 20;
const LISTEN_PID_PREFIX: &[u8] = b"LISTEN_PID=";

/// Everything the child needs, allocated before `fork` so the child never allocates.
pub(super) struct Prepared {
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

pub(super) fn prepare(cmd: &Command) -> io::Result<Prepared> {
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

/// The fds the child moves to 0..=3 (`listener` -1 = none) and its exec-error pipe.
pub(super) struct ChildFds {
    pub stdin: RawFd,
    pub stdout: RawFd,
    pub stderr: RawFd,
    pub listener: RawFd,
    pub status: RawFd,
}

/// The forked child: sets up and execs, or reports `(step, errno)` on the status pipe and exits.
///
/// # Safety
/// Call only in the child right after `fork` from a multi-threaded process: every call below is
/// async-signal-safe (signal-safety(7)) and nothing allocates, locks or unwinds.
pub(super) unsafe fn exec_child(p: &Prepared, fds: &ChildFds) -> ! {
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
}
