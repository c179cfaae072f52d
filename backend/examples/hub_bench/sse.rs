//! Raw-socket SSE subscribers: open a stream, then read `data: <seq>` lines and time them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{AnyResult, FLAT_OUT_UPDATES, PACED_UPDATES};

/// Opens a subscription on a raw socket and waits for the headers and the first comment.
pub async fn open(addr: SocketAddr, topic: &str, token: &str) -> AnyResult<(TcpStream, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET /.well-known/mercure?topic={topic} HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("closed before the first comment".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            if !buf.starts_with(b"HTTP/1.1 200") {
                return Err(format!("subscribe: {}", String::from_utf8_lossy(&buf[..end])).into());
            }
            if find(&buf[end..], b":\n").is_some() {
                let rest = buf.split_off(end + 4);
                return Ok((stream, rest));
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What every subscriber task shares.
pub struct Shared {
    pub base: Instant,
    /// Send time of each update (ns since `base`), by sequence number.
    pub sent: Vec<AtomicU64>,
    pub deliveries: AtomicUsize,
    pub disconnected: AtomicUsize,
}

impl Shared {
    /// For `updates` sequence numbers.
    pub fn new(updates: usize) -> Self {
        Self {
            base: Instant::now(),
            sent: (0..updates).map(|_| AtomicU64::new(0)).collect(),
            deliveries: AtomicUsize::new(0),
            disconnected: AtomicUsize::new(0),
        }
    }
}

/// Reads `data: <seq>` lines and records each latency; returns them at the end of the stream.
pub async fn read_updates(
    mut stream: TcpStream,
    mut buf: Vec<u8>,
    shared: Arc<Shared>,
) -> Vec<(u32, u64)> {
    let mut latencies = Vec::with_capacity(PACED_UPDATES + FLAT_OUT_UPDATES);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let mut consumed = 0;
        while let Some(nl) = buf[consumed..].iter().position(|&b| b == b'\n') {
            let line = &buf[consumed..consumed + nl];
            consumed += nl + 1;
            if let Some(seq) = line.strip_prefix(b"data: ") {
                let now = shared.base.elapsed().as_nanos() as u64;
                if let Some(seq) = std::str::from_utf8(seq)
                    .ok()
                    .and_then(|s| s.parse::<u32>().ok())
                {
                    let sent = shared.sent[seq as usize].load(Ordering::Acquire);
                    latencies.push((seq, now.saturating_sub(sent)));
                    shared.deliveries.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        buf.drain(..consumed);
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                shared.disconnected.fetch_add(1, Ordering::Relaxed);
                return latencies;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
