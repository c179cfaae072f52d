//! HTTP/1 connections: the accept loop `serve` runs (hyper's HTTP/1 state machine, one task per
//! connection, instead of `axum::serve`) and [`Conn`], the socket that hyper and the Mercure hub
//! share.
//!
//! Sharing is what makes live updates cheap (issue 4): once an SSE response's head and first
//! chunk are on the wire, the hub writes that stream's next chunks straight to the socket from the
//! publishing task (one `write(2)` per update per subscriber) instead of waking the connection's
//! task and going through hyper's body machinery for each. The hand-over happens at hyper's next
//! flush of this connection ([`Conn::after_flush`]): hyper calls it only once its own write buffer
//! is empty, and it writes nothing more until the body ends, so the two never interleave.

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use nix::sys::socket::Shutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

const TARGET: &str = "qmlbridge_backend::serve";

/// What runs at hyper's next flush of a connection.
type Handoff = Box<dyn FnOnce(&Arc<Conn>) + Send>;

/// One accepted TCP connection, shared by hyper (through [`ConnIo`]) and whoever was handed it
/// through the request's extensions.
pub struct Conn {
    tcp: TcpStream,
    armed: AtomicBool,
    handoff: Mutex<Option<Handoff>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("tcp", &self.tcp).finish()
    }
}

impl Conn {
    pub fn new(tcp: TcpStream) -> Arc<Self> {
        Arc::new(Self {
            tcp,
            armed: AtomicBool::new(false),
            handoff: Mutex::new(None),
        })
    }

    /// Runs `f` at hyper's next flush of this connection, when everything hyper buffered (the
    /// response head and the body chunks so far) has been written. Replaces an earlier `f` not
    /// yet run.
    pub fn after_flush(&self, f: impl FnOnce(&Arc<Conn>) + Send + 'static) {
        *self.handoff.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(f));
        self.armed.store(true, Ordering::Release);
    }

    /// Writes without waiting; `WouldBlock` when the socket's send buffer is full (then
    /// [`Conn::poll_write_ready`] tells when to try again).
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.tcp.try_write_vectored(bufs)
    }

    /// Ready once the socket takes writes again (after a `WouldBlock`). Only the connection's own
    /// task may wait here (one waker per direction, shared with hyper's writes).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tcp.poll_write_ready(cx)
    }

    /// Shuts both directions down: the peer sees the end of the stream, hyper an error on its
    /// next read or write. For a stream that cannot end cleanly (a chunk half written).
    pub fn abort(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        nix::sys::socket::shutdown(self.tcp.as_raw_fd(), how).map_err(io::Error::from)
    }

    fn run_handoff(self: &Arc<Self>) {
        if !self.armed.swap(false, Ordering::AcqRel) {
            return;
        }
        let f = self
            .handoff
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(f) = f {
            f(self);
        }
    }
}

/// hyper's side of a [`Conn`]: reads and writes through tokio's readiness, runs the hand-over at
/// each flush.
pub struct ConnIo(pub Arc<Conn>);

impl AsyncRead for ConnIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.tcp.poll_read_ready(cx))?;
            // Into the uninitialised part as it is: zeroing it first would make hyper's 8 KB
            // read buffer resident in every idle connection (+80 MB at 10,000 subscribers).
            match self.0.tcp.try_read_buf(buf) {
                Ok(_) => return Poll::Ready(Ok(())),
                // Readiness was stale: tokio cleared it, wait again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.tcp.poll_write_ready(cx))?;
            match self.0.tcp.try_write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return Poll::Ready(other),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // hyper flushes its IO only once its own buffer is empty.
        self.0.run_handoff();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.shutdown(Shutdown::Write))
    }
}

/// Serves `router` over HTTP/1.1 until `stop`, then tells every open connection to close after
/// its current response and waits for them all. Each request carries its connection's
/// `Arc<Conn>` as an extension. One task per connection holding only hyper's HTTP/1 state:
/// ~8 KB less per open connection than `axum::serve` (an idle Mercure subscriber is one;
/// `scripts/bench-hub.sh`).
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    stop: CancellationToken,
) -> io::Result<()> {
    // Every connection task holds a sender: `recv` returns `None` once they have all ended.
    let (open, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // As axum::serve: a connection that failed before accept is no matter; on
                    // anything else (EMFILE, ...) wait a little instead of spinning.
                    use std::io::ErrorKind::*;
                    if !matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
                        tracing::error!(target: TARGET, "accept: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        // Responses go out in one write; no reason to let Nagle hold back the last segment.
        let _ = tcp.set_nodelay(true);
        let (router, stop, open) = (router.clone(), stop.clone(), open.clone());
        tokio::spawn(async move {
            let conn = Conn::new(tcp);
            let shared = Arc::clone(&conn);
            let service = hyper::service::service_fn(move |mut req: http::Request<_>| {
                req.extensions_mut().insert(Arc::clone(&shared));
                tower::ServiceExt::oneshot(router.clone(), req)
            });
            let http = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(ConnIo(conn)), service);
            tokio::pin!(http);
            tokio::select! {
                _ = http.as_mut() => {}
                () = stop.cancelled() => {
                    http.as_mut().graceful_shutdown();
                    let _ = http.await;
                }
            }
            drop(open);
        });
    }
    // No new connections during the grace period (as axum::serve): they are refused, not queued.
    drop(listener);
    drop(open);
    let _ = all_closed.recv().await;
    Ok(())
}
