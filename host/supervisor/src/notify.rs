//! The readiness receiver (issue 3, bundled start step 7; docs/contract.md §4): a unix datagram
//! socket that the backend finds in `NOTIFY_SOCKET` and sends `READY=1` to (the sd_notify
//! protocol). It lives in the private `var/` of the data dir, so only the user's own processes
//! can reach it; when that path is too long for `sockaddr_un`, an abstract name
//! `@qmlbridge-<pid>-<random>` is used instead.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram as StdDatagram};
use std::path::{Path, PathBuf};

use rand::RngCore;
use tokio::net::UnixDatagram;

/// `sun_path` holds 108 bytes including the terminating NUL.
const MAX_PATH: usize = 107;

/// A bound readiness socket; removes its file when dropped.
pub(crate) struct NotifySocket {
    socket: UnixDatagram,
    env_value: String,
    file: Option<PathBuf>,
}

impl NotifySocket {
    /// Binds `<var_dir>/notify.sock` (or an abstract name). Needs a tokio runtime.
    pub fn bind(var_dir: &Path) -> io::Result<NotifySocket> {
        let path = var_dir.join("notify.sock");
        let (std, env_value, file) = if path.as_os_str().len() <= MAX_PATH {
            let _ = std::fs::remove_file(&path); // a stale socket from a host that was killed
            let socket = StdDatagram::bind(&path)?;
            (socket, path.display().to_string(), Some(path))
        } else {
            let name = format!(
                "qmlbridge-{}-{:016x}",
                std::process::id(),
                rand::rng().next_u64()
            );
            let socket = StdDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes())?)?;
            (socket, format!("@{name}"), None)
        };
        std.set_nonblocking(true)?;
        Ok(NotifySocket {
            socket: UnixDatagram::from_std(std)?,
            env_value,
            file,
        })
    }

    /// The value for the child's `NOTIFY_SOCKET`.
    pub fn env_value(&self) -> &str {
        &self.env_value
    }

    /// Discards datagrams already queued (from a previous child), before a new spawn.
    pub fn drain(&self) {
        let mut buf = [0u8; 512];
        while self.socket.try_recv(&mut buf).is_ok() {}
    }

    /// Resolves at the first datagram that carries a `READY=1` line.
    pub async fn ready(&self) -> io::Result<()> {
        let mut buf = vec![0u8; 4096];
        loop {
            let n = self.socket.recv(&mut buf).await?;
            if is_ready(&buf[..n]) {
                return Ok(());
            }
        }
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            let _ = std::fs::remove_file(file);
        }
    }
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

    #[test]
    fn ready_line_anywhere() {
        assert!(is_ready(b"READY=1"));
        assert!(is_ready(b"STATUS=up\nREADY=1\n"));
        assert!(!is_ready(b"READY=0"));
        assert!(!is_ready(b"STATUS=READY=1"));
    }

    #[tokio::test]
    async fn receives_ready_on_path_and_abstract() {
        let tmp = tempfile::tempdir().unwrap();
        let long = tmp.path().join("x".repeat(120));
        std::fs::create_dir_all(&long).unwrap();
        for dir in [tmp.path(), long.as_path()] {
            let sock = NotifySocket::bind(dir).unwrap();
            let sender = StdDatagram::unbound().unwrap();
            match sock.env_value().strip_prefix('@') {
                Some(name) => {
                    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
                    sender.send_to_addr(b"STATUS=stale", &addr).unwrap();
                    sock.drain();
                    sender.send_to_addr(b"READY=1", &addr).unwrap();
                }
                None => {
                    sender.send_to(b"READY=1", sock.env_value()).unwrap();
                    sock.drain();
                    sender.send_to(b"READY=1", sock.env_value()).unwrap();
                }
            }
            sock.ready().await.unwrap();
        }
    }
}
