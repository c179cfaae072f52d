//! The readiness receiver (bundled start step 7; docs/contract.md §4): a unix datagram socket
//! that the backend finds in `NOTIFY_SOCKET` and sends `READY=1` to (the sd_notify protocol).
//!
//! Two defences, each enough on its own against a foreign process claiming readiness:
//! - The socket is always a filesystem socket in a private (0700) directory: `<data>/var/` when
//!   `<data>/var/notify.sock` fits `sockaddr_un`, otherwise a fresh `qmlbridge-notify-<pid>-<hex>`
//!   directory (made with `mkdir` 0700, which fails if the name exists) under `$XDG_RUNTIME_DIR`,
//!   the temp dir or `/tmp`, whichever gives a path that fits. Never the abstract namespace,
//!   which has no permissions: any local user could send to it.
//! - `SO_PASSCRED` is set, so the kernel attaches the sender's `SCM_CREDENTIALS` to every
//!   datagram (a sender cannot claim another pid without `CAP_SYS_ADMIN`, see unix(7)); `READY=1`
//!   counts only from the spawned child's own pid, as systemd's `NotifyAccess=main` does.

use std::fs::{self, DirBuilder};
use std::io::{self, IoSliceMut};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixDatagram as StdDatagram;
use std::path::{Path, PathBuf};

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, UnixCredentials, recvmsg, setsockopt, sockopt,
};
use rand::RngCore;
use tokio::io::Interest;
use tokio::net::UnixDatagram;

/// `sun_path` holds 108 bytes including the terminating NUL.
const MAX_PATH: usize = 107;
const SOCKET_NAME: &str = "notify.sock";
/// Prefix of the fallback directories; the host's pid follows, so stale ones can be recognised.
const DIR_PREFIX: &str = "qmlbridge-notify-";

/// A bound readiness socket; removes its file (and its fallback directory) when dropped.
pub(crate) struct NotifySocket {
    socket: UnixDatagram,
    path: PathBuf,
    /// The fallback directory this socket created, if any.
    dir: Option<PathBuf>,
}

fn fits(path: &Path) -> bool {
    path.as_os_str().len() <= MAX_PATH
}

/// Where a fallback directory may go, in order of preference.
fn fallback_bases() -> Vec<PathBuf> {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    runtime
        .into_iter()
        .chain([std::env::temp_dir(), PathBuf::from("/tmp")])
        .collect()
}

impl NotifySocket {
    /// Binds `<var_dir>/notify.sock`, or one in a fresh private directory when that path is too
    /// long (see the module docs). Needs a tokio runtime.
    pub fn bind(var_dir: &Path) -> io::Result<NotifySocket> {
        NotifySocket::bind_with(var_dir, &fallback_bases())
    }

    fn bind_with(var_dir: &Path, bases: &[PathBuf]) -> io::Result<NotifySocket> {
        let path = var_dir.join(SOCKET_NAME);
        let (path, dir) = if fits(&path) {
            let _ = fs::remove_file(&path); // a stale socket from a host that was killed
            (path, None)
        } else {
            let dir = private_dir(bases)?;
            (dir.join(SOCKET_NAME), Some(dir))
        };
        let bound = StdDatagram::bind(&path).and_then(|socket| {
            setsockopt(&socket, sockopt::PassCred, &true)?;
            socket.set_nonblocking(true)?;
            UnixDatagram::from_std(socket)
        });
        match bound {
            Ok(socket) => Ok(NotifySocket { socket, path, dir }),
            Err(e) => {
                remove(&path, dir.as_deref());
                Err(e)
            }
        }
    }

    /// The value for the child's `NOTIFY_SOCKET`.
    pub fn env_value(&self) -> String {
        self.path.display().to_string()
    }

    /// Discards datagrams already queued (from a previous child), before a new spawn.
    pub fn drain(&self) {
        let mut buf = [0u8; 512];
        while self.socket.try_recv(&mut buf).is_ok() {}
    }

    /// Resolves at the first datagram from process `pid` that carries a `READY=1` line.
    pub async fn ready(&self, pid: u32) -> io::Result<()> {
        let mut buf = vec![0u8; 4096];
        let mut reported = false;
        loop {
            let fd = self.socket.as_raw_fd();
            let (n, sender) = self
                .socket
                .async_io(Interest::READABLE, || recv_with_pid(fd, &mut buf))
                .await?;
            if !is_ready(&buf[..n]) {
                continue;
            }
            if sender == Some(pid as i32) {
                return Ok(());
            }
            // Once per child: a process flooding the socket must not flood the log as well.
            if !std::mem::replace(&mut reported, true) {
                tracing::warn!(
                    target: "qmlbridge::supervisor",
                    sender = sender.unwrap_or(0),
                    child = pid,
                    "READY=1 ignored: not sent by the backend process"
                );
            }
        }
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        remove(&self.path, self.dir.as_deref());
    }
}

fn remove(path: &Path, dir: Option<&Path>) {
    let _ = fs::remove_file(path);
    if let Some(dir) = dir {
        let _ = fs::remove_dir(dir);
    }
}

/// A fresh 0700 directory under the first base where its socket path fits.
fn private_dir(bases: &[PathBuf]) -> io::Result<PathBuf> {
    let pid = std::process::id();
    let mut last = io::Error::new(
        io::ErrorKind::InvalidInput,
        "no directory gives a socket path short enough for sockaddr_un",
    );
    for base in bases {
        // `<base>/qmlbridge-notify-<pid>-<16 hex>/notify.sock`
        let probe = base
            .join(format!("{DIR_PREFIX}{pid}-{:016x}", 0))
            .join(SOCKET_NAME);
        if !fits(&probe) {
            continue;
        }
        remove_stale(base);
        for _ in 0..8 {
            let dir = base.join(format!("{DIR_PREFIX}{pid}-{:016x}", rand::rng().next_u64()));
            // Not recursive: mkdir fails on an existing name, so the directory is ours alone.
            match DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(dir),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    last = io::Error::new(e.kind(), format!("{}: {e}", base.display()));
                    break;
                }
            }
        }
    }
    Err(last)
}

/// Removes fallback directories left by hosts that were killed (their pid is gone). Directories
/// of other users cannot be removed and are left alone.
fn remove_stale(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let gone = pid > 0
            && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                == Err(nix::errno::Errno::ESRCH);
        if gone {
            remove(&entry.path().join(SOCKET_NAME), Some(&entry.path()));
        }
    }
}

/// One datagram without blocking: its length and the sender's pid from `SCM_CREDENTIALS`
/// (`None` when the kernel attached none, or the control data was truncated).
fn recv_with_pid(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<i32>)> {
    let mut iov = [IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!(UnixCredentials);
    // MSG_CMSG_CLOEXEC: a sender may attach file descriptors; none may leak into a backend.
    let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC;
    let msg = recvmsg::<()>(fd, &mut iov, Some(&mut space), flags)?;
    let pid = msg.cmsgs().ok().and_then(|mut cmsgs| {
        cmsgs.find_map(|c| match c {
            ControlMessageOwned::ScmCredentials(creds) => Some(creds.pid()),
            _ => None,
        })
    });
    Ok((msg.bytes, pid))
}

/// sd_notify datagrams are newline-separated `KEY=VALUE` assignments.
fn is_ready(datagram: &[u8]) -> bool {
    datagram
        .split(|&b| b == b'\n')
        .any(|line| line == b"READY=1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    #[test]
    fn ready_line_anywhere() {
        assert!(is_ready(b"READY=1"));
        assert!(is_ready(b"STATUS=up\nREADY=1\n"));
        assert!(!is_ready(b"READY=0"));
        assert!(!is_ready(b"STATUS=READY=1"));
    }

    #[test]
    fn sender_pid_comes_from_the_kernel() {
        let tmp = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let sock = NotifySocket::bind(tmp.path()).unwrap();
        StdDatagram::unbound()
            .unwrap()
            .send_to(b"READY=1", sock.env_value())
            .unwrap();
        let fd = sock.socket.as_raw_fd();
        let mut buf = [0u8; 64];
        let (n, pid) = recv_with_pid(fd, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        assert_eq!(pid, Some(std::process::id() as i32));
    }

    #[tokio::test]
    async fn ready_counts_only_from_the_child() {
        let tmp = tempfile::tempdir().unwrap();
        let sock = NotifySocket::bind(tmp.path()).unwrap();
        let path = tmp.path().join(SOCKET_NAME);
        assert_eq!(sock.env_value(), path.display().to_string());
        // First from this process (not the child), then from the child itself.
        let me = StdDatagram::unbound().unwrap();
        me.send_to(b"READY=1", &path).unwrap();
        let script = "import os,socket\n\
            s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\n\
            s.sendto(b'STATUS=up\\nREADY=1', os.environ['NOTIFY_SOCKET'])\n";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .env("NOTIFY_SOCKET", &path)
            .spawn()
            .unwrap();
        assert!(child.wait().unwrap().success());
        sock.ready(child.id()).await.unwrap();
        // Both datagrams were consumed: the first one, ours, did not count.
        let mut buf = [0u8; 64];
        let left = sock.socket.try_recv(&mut buf);
        assert_eq!(left.map_err(|e| e.kind()), Err(io::ErrorKind::WouldBlock));
    }

    #[tokio::test]
    async fn long_paths_fall_back_to_a_private_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let long = tmp.path().join("x".repeat(120));
        let base = tmp.path().join("run");
        fs::create_dir_all(&base).unwrap();
        // A stale directory of a dead host, and one of a live process (this one).
        let stale = base.join(format!("{DIR_PREFIX}{}-{:016x}", i32::MAX, 1));
        let live = base.join(format!("{DIR_PREFIX}{}-{:016x}", std::process::id(), 2));
        fs::create_dir(&stale).unwrap();
        fs::create_dir(&live).unwrap();
        let too_long = tmp.path().join("y".repeat(120));
        let sock = NotifySocket::bind_with(&long, &[too_long, base.clone()]).unwrap();
        let path = PathBuf::from(sock.env_value());
        assert!(!sock.env_value().starts_with('@'), "never abstract");
        let dir = path.parent().unwrap().to_path_buf();
        assert_eq!(dir.parent(), Some(base.as_path()));
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(!stale.exists(), "a dead host's directory is removed");
        assert!(live.exists(), "a live process's directory is kept");
        StdDatagram::unbound()
            .unwrap()
            .send_to(b"READY=1", &path)
            .unwrap();
        sock.ready(std::process::id()).await.unwrap();
        drop(sock);
        assert!(!dir.exists(), "the fallback directory goes with the socket");
    }
}
