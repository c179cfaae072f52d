//! HTTP/1 connections: the accept loop `serve` runs (hyper's HTTP/1 state machine, one task per
//! connection, instead of `axum::serve`) and [`Conn`], the socket that hyper and the Mercure hub
//! share.
//!
//! Sharing is what makes live updates cheap (docs/contract.md §8): once an SSE response's head and
//! first chunk are on the wire, the hub writes that stream's next chunks straight to the socket
//! from the publishing task (one `write(2)` per update per subscriber) instead of waking the
//! connection's task and going through hyper's body machinery for each. The hand-over happens at
//! hyper's next flush of this connection ([`Conn::after_flush`]): hyper calls it only once its own
//! write buffer is empty, and it writes nothing more until the body ends, so the two never
//! interleave.
//!
//! `track` bounds the connections themselves: header read and idle timeouts, and a cap below
//! the descriptor limit (`docs/contract.md` §5).

mod track;

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use hyper::body::{Body, Frame, SizeHint};
use nix::sys::socket::Shutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use track::{Activity, Registry};
pub use track::{Limits, raise_fd_limit};

const TARGET: &str = "qmlbridge_backend::serve";

/// What runs at hyper's next flush of a connection.
type Handoff = Box<dyn FnOnce(&Arc<Conn>) + Send>;

/// One accepted TCP connection, shared by hyper (through [`ConnIo`]) and whoever was handed it
/// through the request's extensions.
pub struct Conn {
    tcp: TcpStream,
    armed: AtomicBool,
    handoff: Mutex<Option<Handoff>>,
    activity: Activity,
    /// The server is stopping: responses from now on say `Connection: close`.
    stopping: AtomicBool,
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
            activity: Activity::new(),
            stopping: AtomicBool::new(false),
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

    /// Whether bytes the connection's task has not read yet are in the socket (or the peer
    /// closed): one non-blocking `recv(MSG_PEEK)`.
    fn has_bytes_waiting(&self) -> bool {
        use nix::sys::socket::{MsgFlags, recv};
        let mut byte = [0u8; 1];
        let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
        recv(self.tcp.as_raw_fd(), &mut byte, flags).is_ok()
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
                Ok(n) => {
                    if n > 0 {
                        self.0.activity.on_read();
                    }
                    return Poll::Ready(Ok(()));
                }
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
        self.0.activity.on_flush();
        self.0.run_handoff();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.shutdown(Shutdown::Write))
    }
}

/// A response body that marks its connection's response as ended when hyper drops it (all of
/// it is in hyper's buffer, or the request was abandoned): what tells an idle connection from a
/// busy one ([`track`]).
struct Tracked<B> {
    body: B,
    _end: ResponseEnd,
}

struct ResponseEnd(Arc<Conn>);

impl Drop for ResponseEnd {
    fn drop(&mut self) {
        self.0.activity.on_response_end();
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Tracked<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// [`serve_with`] with the default [`Limits`] for this process's descriptor limit.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    stop: CancellationToken,
) -> io::Result<()> {
    serve_with(listener, router, stop, Limits::for_this_process()).await
}

/// Serves `router` over HTTP/1.1 until `stop`, within `limits`; then closes every connection
/// with no request in flight at once, tells the others to close after their current response,
/// and waits for them all. Each request carries its connection's `Arc<Conn>` as an extension.
/// One task per connection holding only hyper's HTTP/1 state: ~8 KB less per open connection
/// than `axum::serve` (an idle Mercure subscriber is one; `scripts/bench-hub.sh`).
pub async fn serve_with(
    listener: TcpListener,
    router: axum::Router,
    stop: CancellationToken,
    limits: Limits,
) -> io::Result<()> {
    let registry = Arc::new(Registry::default());
    tokio::spawn(Arc::clone(&registry).sweep(limits, stop.clone()));
    // Every connection task holds a sender: `recv` returns `None` once they have all ended.
    let (open, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    loop {
        // Evicted connections close their descriptors when their tasks see it: wait for that.
        registry.settle(&limits).await;
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    if let Some(fatal) = crate::listen::accept_failed_for_good(&e) {
                        return Err(fatal);
                    }
                    // As axum::serve: a connection that failed before accept is no matter; on
                    // anything else wait a little instead of spinning. Out of descriptors (the
                    // cap should prevent it): make room by closing the longest waiting one.
                    use std::io::ErrorKind::*;
                    if !matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
                        let pause = if is_fd_exhaustion(&e) && registry.evict_one() { 50 } else { 1000 };
                        tracing::error!(target: TARGET, "accept: {e}");
                        tokio::time::sleep(Duration::from_millis(pause)).await;
                    }
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        // Responses go out in one write; no reason to let Nagle hold back the last segment.
        let _ = tcp.set_nodelay(true);
        let conn = Conn::new(tcp);
        let Some(registered) = registry.admit(&conn, &limits) else {
            refuse(&conn);
            continue;
        };
        let (router, stop, open) = (router.clone(), stop.clone(), open.clone());
        tokio::spawn(async move {
            connection(conn, router, stop).await;
            // Last: the registry holds the last reference, so the descriptor is closed here.
            drop(registered);
            drop(open);
        });
    }
    // No new connections during the grace period (as axum::serve): they are refused, not queued.
    drop(listener);
    drop(open);
    let _ = all_closed.recv().await;
    Ok(())
}

/// How long, after `stop`, a connection waiting for a request head may take to complete it and
/// have that request served (`docs/contract.md` §5). Go's `http.Server.Shutdown` gives a new
/// connection 5 s; here the whole stop has 5 s, and a client that connected is writing already.
const HEAD_AT_STOP: Duration = Duration::from_secs(1);

/// Serves one connection until it ends, or until `stop`: then a request in flight is finished, a
/// request coming (the connection is new, or bytes of a head are in) is served if its head is
/// complete within [`HEAD_AT_STOP`], both with keep-alive off; an idle keep-alive connection
/// with nothing arrived is closed at once.
async fn connection(conn: Arc<Conn>, router: axum::Router, stop: CancellationToken) {
    let shared = Arc::clone(&conn);
    // What tracking costs per request (the keep-alive fast path): here a relaxed store, a
    // relaxed load (`stopping`) and one `Arc` clone (the end marker; the extension's was there
    // before); in `ConnIo` a relaxed load per read and per flush, and a store each when the phase
    // changes. No allocation, no syscall: the clock is `track`'s coarse one.
    let service = hyper::service::service_fn(move |mut req: http::Request<_>| {
        shared.activity.on_request();
        req.extensions_mut().insert(Arc::clone(&shared));
        let end = ResponseEnd(Arc::clone(&shared));
        tower::ServiceExt::oneshot(router.clone(), req).map(move |resp| {
            resp.map(|mut resp| {
                if end.0.stopping.load(Ordering::Relaxed) {
                    let close = http::HeaderValue::from_static("close");
                    resp.headers_mut().insert(http::header::CONNECTION, close);
                }
                resp.map(|body| Tracked { body, _end: end })
            })
        })
    });
    let http = hyper::server::conn::http1::Builder::new().serve_connection(
        hyper_util::rt::TokioIo::new(ConnIo(Arc::clone(&conn))),
        service,
    );
    tokio::pin!(http);
    tokio::select! {
        _ = http.as_mut() => return,
        () = stop.cancelled() => {}
    }
    conn.stopping.store(true, Ordering::Relaxed);
    if !conn.activity.in_request() {
        // Closing a connection whose request is unread makes the kernel answer the client with
        // a reset instead of a response (RFC 9293 §3.6.1): a client that connected just before
        // the stop (across a backend swap the host's socket queues the next ones) must get its
        // answer. Only an idle keep-alive connection with nothing arrived closes at once: its
        // next request, if one crosses the close, is the client's to retry (RFC 9112 §9.3.1).
        if !conn.activity.awaits_head() && !conn.has_bytes_waiting() {
            return;
        }
        let head = std::future::poll_fn(|cx| match http.as_mut().poll(cx) {
            Poll::Ready(_) => Poll::Ready(false),
            Poll::Pending if conn.activity.awaits_head() => Poll::Pending,
            // hyper called the service (the request is in flight), or answered it already.
            Poll::Pending => Poll::Ready(true),
        });
        if !matches!(tokio::time::timeout(HEAD_AT_STOP, head).await, Ok(true)) {
            return;
        }
        if !conn.activity.in_request() {
            return;
        }
    }
    // Keep-alive off (for a response already begun, an SSE stream, too): hyper closes after it.
    http.as_mut().graceful_shutdown();
    let _ = http.await;
}

/// Answers a connection over the cap when none can be closed for it (all are busy).
fn refuse(conn: &Conn) {
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\
                          Connection: close\r\n\r\n";
    tracing::debug!(target: TARGET, "connection cap reached and no connection idle: 503");
    let _ = conn.try_write_vectored(&[io::IoSlice::new(BUSY)]);
}

fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(code) if code == nix::errno::Errno::EMFILE as i32 || code == nix::errno::Errno::ENFILE as i32
    )
}
