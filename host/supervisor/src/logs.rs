//! The backend's output (bundled start step 6; docs/contract.md §6): both pipes are drained at
//! all times, so a chatty backend never blocks on a full pipe, into `<data>/var/log/backend.log`
//! through a [`RotatingLog`] (default 5 MiB, `backend.log.1` .. `backend.log.3` kept). Each line
//! is also re-emitted under the tracing target `backend` at *debug* level: backend.log already
//! holds it, so the host's own log (`host.log`, filter `info`) does not repeat the backend's
//! volume. The last stderr lines of each process are kept for error messages.

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::task::JoinHandle;

use crate::rotate::RotatingLog;

/// How many stderr lines an error message quotes.
pub(crate) const TAIL_LINES: usize = 10;
/// A line longer than this is cut into pieces (a backend printing without newlines).
const MAX_LINE: usize = 16 * 1024;

/// The last [`TAIL_LINES`] lines of one process's stderr.
#[derive(Clone, Default)]
pub(crate) struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    pub fn lines(&self) -> Vec<String> {
        let lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().cloned().collect()
    }
}

/// Drains `fd` until EOF into `log` and tracing; stderr lines also go to `tail`.
pub(crate) fn drain(fd: OwnedFd, pid: u32, log: RotatingLog, tail: Option<Tail>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Ok(mut rx) = pipe::Receiver::from_owned_fd(fd) else {
            return;
        };
        let mut buf = vec![0u8; 8192];
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let n = match rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buf[..n]);
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                emit(&line[..end], pid, &log, tail.as_ref());
            }
            if pending.len() > MAX_LINE {
                emit(&std::mem::take(&mut pending), pid, &log, tail.as_ref());
            }
        }
        if !pending.is_empty() {
            emit(&pending, pid, &log, tail.as_ref());
        }
    })
}

fn emit(line: &[u8], pid: u32, log: &RotatingLog, tail: Option<&Tail>) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = String::from_utf8_lossy(line);
    tracing::debug!(target: "backend", pid, "{text}");
    if let Some(e) = log.write_line(line) {
        tracing::warn!(target: "qmlbridge::supervisor", "backend.log: {e}");
    }
    if let Some(tail) = tail {
        tail.push(text.into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        let tail = Tail::default();
        for i in 0..25 {
            tail.push(i.to_string());
        }
        assert_eq!(tail.lines().first().map(String::as_str), Some("15"));
        assert_eq!(tail.lines().len(), TAIL_LINES);
    }
}
