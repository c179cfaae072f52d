//! One subscriber's bounded queue of SSE frames (docs/contract.md §8, backpressure), and how its
//! frames reach the socket.
//!
//! Two ways out. Through hyper: the stream's task takes the queued frames as body chunks (any
//! server). Or, when the connection allows it ([`crate::conn::Conn`], `serve`'s connections),
//! straight to the socket: once hyper has flushed the response head and the first chunk, the
//! mailbox writes each batch of frames as one HTTP/1.1 chunk, from whoever queued them (the
//! publishing task, after the registry's lock is released). An update then costs one `write(2)`
//! per subscriber and no task wake-up. When the socket's send buffer is full, the rest waits in
//! the queue and the stream's task writes it once the socket drains; a full queue still
//! disconnects the subscriber.
//!
//! A `VecDeque` behind a mutex and a `Notify`, rather than a tokio `mpsc` channel plus a
//! `oneshot` to end the stream: an idle subscriber then costs one small allocation instead of a
//! channel with a preallocated block (the hub's budget is 10,000 idle subscribers under 200 MB).

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write as _};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;

use crate::conn::Conn;

use super::update::HEARTBEAT;

/// At most this many frames are joined into one write.
const BATCH: usize = 64;
/// A queue that grew past this many slots is shrunk again once drained.
const SHRINK_ABOVE: usize = 64;

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The subscriber is `capacity` frames behind.
    Full,
    /// The stream has ended.
    Closed,
}

/// What the caller of [`Mailbox::push`] still has to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Queued {
    /// Nothing: the stream's task was told.
    Done,
    /// Call [`Mailbox::flush`] (soon, and outside any lock of the caller's).
    Flush,
}

enum Mode {
    /// The stream's task yields the frames to hyper.
    Hyper,
    /// Waiting for hyper's flush of the response head ([`Mailbox::hand_over`]); frames queue.
    HandingOver,
    /// Frames are written to the socket as chunks.
    Direct(Direct),
}

struct Direct {
    conn: Arc<Conn>,
    /// Frames were queued since the last write began and a flush is on its way: later pushes
    /// ride along in the same write (batching when updates come faster than the writes).
    dirty: bool,
    /// The chunk being written, when a write was short.
    partial: Option<Chunk>,
    /// The last write found the send buffer full: the stream's task waits for room.
    blocked: bool,
}

/// One HTTP/1.1 chunk over the first `frames` queued frames: `SIZE\r\n`, the frames, `\r\n`.
struct Chunk {
    frames: usize,
    head: [u8; 18],
    head_len: usize,
    len: usize,
    written: usize,
}

impl Chunk {
    fn new(queued: &VecDeque<Bytes>) -> Self {
        let frames = queued.len().min(BATCH);
        let payload: usize = queued.iter().take(frames).map(Bytes::len).sum();
        let mut head = [0u8; 18];
        let mut cursor = &mut head[..];
        // 16 hex digits at most, plus CRLF: always fits.
        let _ = write!(cursor, "{payload:X}\r\n");
        let head_len = 18 - cursor.len();
        Self {
            frames,
            head,
            head_len,
            len: head_len + payload + 2,
            written: 0,
        }
    }
}

struct State {
    frames: VecDeque<Bytes>,
    closed: bool,
    mode: Mode,
}

impl Default for State {
    fn default() -> Self {
        Self {
            frames: VecDeque::new(),
            closed: false,
            mode: Mode::Hyper,
        }
    }
}

/// The queue between the dispatcher and one stream.
#[derive(Default)]
pub struct Mailbox {
    state: Mutex<State>,
    notify: Notify,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `frame` unless `capacity` frames are already waiting or the mailbox is closed.
    /// Never waits.
    pub fn push(&self, frame: Bytes, capacity: usize) -> Result<Queued, Refused> {
        let mut state = self.lock();
        if state.closed {
            return Err(Refused::Closed);
        }
        if state.frames.len() >= capacity {
            return Err(Refused::Full);
        }
        state.frames.push_back(frame);
        match &mut state.mode {
            Mode::Direct(direct) if !direct.blocked && !direct.dirty => {
                direct.dirty = true;
                Ok(Queued::Flush)
            }
            // A flush is on its way, or the stream's task writes once the socket drains.
            Mode::Direct(_) | Mode::HandingOver => Ok(Queued::Done),
            Mode::Hyper => {
                drop(state);
                // Stores a permit when the stream is not waiting yet, so no wake-up is lost.
                self.notify.notify_one();
                Ok(Queued::Done)
            }
        }
    }

    /// Writes what is queued to the socket, in direct mode and unless the socket is full.
    pub fn flush(&self) {
        let state = self.lock();
        if !state.closed && matches!(&state.mode, Mode::Direct(d) if !d.blocked) {
            self.write_out(state);
        }
    }

    /// Ends the stream: [`Mailbox::recv`] returns `None` from now on, frames still queued are
    /// dropped (the subscriber resumes with `Last-Event-ID`).
    pub fn close(&self) {
        Self::close_locked(&mut self.lock());
        self.notify.notify_one();
    }

    fn close_locked(state: &mut State) {
        state.closed = true;
        state.frames = VecDeque::new();
        if let Mode::Direct(direct) = std::mem::replace(&mut state.mode, Mode::Hyper)
            && direct.partial.is_some()
        {
            // Half a chunk is on the wire: the response cannot end cleanly.
            direct.conn.abort();
        }
    }

    /// Asks for direct writes on `conn` from its next flush on; until then frames queue. Call it
    /// only between hyper's polls of the body, after the chunks hyper must write itself (the
    /// first comment, the replay), and only for a chunked HTTP/1.1 response.
    pub fn hand_over(self: &Arc<Self>, conn: &Arc<Conn>) {
        let mut state = self.lock();
        if state.closed || !matches!(state.mode, Mode::Hyper) {
            return;
        }
        state.mode = Mode::HandingOver;
        drop(state);
        let mailbox = Arc::clone(self);
        conn.after_flush(move |conn| mailbox.go_direct(conn));
    }

    /// hyper has flushed: write directly from now on, starting with what queued meanwhile.
    fn go_direct(&self, conn: &Arc<Conn>) {
        let mut state = self.lock();
        if state.closed || !matches!(state.mode, Mode::HandingOver) {
            return;
        }
        state.mode = Mode::Direct(Direct {
            conn: Arc::clone(conn),
            dirty: false,
            partial: None,
            blocked: false,
        });
        self.write_out(state);
    }

    /// Writes chunks until the queue is empty or the socket is full (then the stream's task is
    /// told to wait for room); a failed write ends the stream.
    fn write_out(&self, mut state: MutexGuard<'_, State>) {
        let State { frames, mode, .. } = &mut *state;
        let Mode::Direct(direct) = mode else { return };
        // Whatever is queued from here on goes in this write or needs a flush of its own.
        direct.dirty = false;
        match write_chunks(frames, direct) {
            Ok(()) => {
                if frames.is_empty() && frames.capacity() > SHRINK_ABOVE {
                    *frames = VecDeque::new();
                }
                return;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => direct.blocked = true,
            // The peer is gone (reset, broken pipe): hyper sees it too and ends the connection.
            Err(_) => Self::close_locked(&mut state),
        }
        drop(state);
        self.notify.notify_one();
    }

    /// What the stream sends when its heartbeat is due: the comment for hyper to write, or `None`
    /// when the mailbox writes it itself (or frames are on their way anyway).
    pub fn heartbeat(&self) -> Option<Bytes> {
        let mut state = self.lock();
        let write = match &state.mode {
            Mode::Hyper => return Some(Bytes::from_static(HEARTBEAT)),
            Mode::HandingOver => false,
            Mode::Direct(direct) => state.frames.is_empty() && !direct.blocked,
        };
        if write {
            state.frames.push_back(Bytes::from_static(HEARTBEAT));
            self.write_out(state);
        }
        None
    }

    /// For hyper: the next frames (up to 64 joined into one chunk); `None` once closed. In
    /// direct mode nothing is returned: this waits for the end, writing what a full socket held
    /// back whenever it drains.
    pub async fn recv(&self) -> Option<Bytes> {
        loop {
            let conn = {
                let mut state = self.lock();
                if state.closed {
                    return None;
                }
                match &state.mode {
                    Mode::Hyper => {
                        if let Some(chunk) = take(&mut state.frames) {
                            return Some(chunk);
                        }
                        None
                    }
                    Mode::HandingOver => None,
                    Mode::Direct(direct) => direct.blocked.then(|| Arc::clone(&direct.conn)),
                }
            };
            let Some(conn) = conn else {
                self.notify.notified().await;
                continue;
            };
            tokio::select! {
                ready = std::future::poll_fn(|cx| conn.poll_write_ready(cx)) => match ready {
                    Ok(()) => {
                        let mut state = self.lock();
                        if let Mode::Direct(direct) = &mut state.mode {
                            direct.blocked = false;
                            self.write_out(state);
                        }
                    }
                    Err(_) => self.close(),
                },
                // Closed meanwhile.
                () = self.notify.notified() => {}
            }
        }
    }
}

/// Writes queued frames as chunks until done or the socket refuses more (`WouldBlock`).
fn write_chunks(frames: &mut VecDeque<Bytes>, direct: &mut Direct) -> io::Result<()> {
    const CRLF: &[u8] = b"\r\n";
    loop {
        if direct.partial.is_none() {
            if frames.is_empty() {
                return Ok(());
            }
            direct.partial = Some(Chunk::new(frames));
        }
        let Some(chunk) = direct.partial.as_mut() else {
            return Ok(());
        };
        let pieces = std::iter::once(&chunk.head[..chunk.head_len])
            .chain(frames.iter().take(chunk.frames).map(|f| &f[..]))
            .chain(std::iter::once(CRLF));
        let mut slices = [IoSlice::new(&[]); BATCH + 2];
        let (mut n, mut skip) = (0, chunk.written);
        for piece in pieces {
            if skip >= piece.len() {
                skip -= piece.len();
                continue;
            }
            slices[n] = IoSlice::new(&piece[skip..]);
            (n, skip) = (n + 1, 0);
        }
        match direct.conn.try_write_vectored(&slices[..n])? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            wrote => chunk.written += wrote,
        }
        if chunk.written == chunk.len {
            frames.drain(..chunk.frames);
            direct.partial = None;
        }
    }
}

/// The next chunk for hyper: the queued frames (up to 64) joined.
fn take(frames: &mut VecDeque<Bytes>) -> Option<Bytes> {
    let first = frames.pop_front()?;
    let chunk = if frames.is_empty() {
        first
    } else {
        let n = frames.len().min(BATCH - 1);
        let len = first.len() + frames.iter().take(n).map(Bytes::len).sum::<usize>();
        let mut buf = BytesMut::with_capacity(len);
        buf.extend_from_slice(&first);
        for frame in frames.drain(..n) {
            buf.extend_from_slice(&frame);
        }
        buf.freeze()
    };
    if frames.is_empty() && frames.capacity() > SHRINK_ABOVE {
        *frames = VecDeque::new();
    }
    Some(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn batches_frames_and_refuses_when_full_or_closed() {
        let m = Mailbox::default();
        assert_eq!(m.push(Bytes::from_static(b"a"), 2), Ok(Queued::Done));
        let _ = m.push(Bytes::from_static(b"b"), 2).unwrap();
        assert_eq!(m.push(Bytes::from_static(b"c"), 2), Err(Refused::Full));
        assert_eq!(m.recv().await.as_deref(), Some(&b"ab"[..]));
        let _ = m.push(Bytes::from_static(b"d"), 2).unwrap();
        m.close();
        assert_eq!(m.recv().await, None);
        assert_eq!(m.push(Bytes::from_static(b"e"), 2), Err(Refused::Closed));
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken() {
        let m = Arc::new(Mailbox::default());
        let rx = tokio::spawn({
            let m = m.clone();
            async move { m.recv().await }
        });
        tokio::task::yield_now().await;
        let _ = m.push(Bytes::from_static(b"x"), 1).unwrap();
        assert_eq!(rx.await.unwrap().as_deref(), Some(&b"x"[..]));
    }

    #[test]
    fn chunk_head_is_the_hex_size() {
        let frames: VecDeque<Bytes> = [&b"data: 1\n\n"[..], &[b'x'; 300][..]]
            .into_iter()
            .map(Bytes::copy_from_slice)
            .collect();
        let chunk = Chunk::new(&frames);
        assert_eq!(&chunk.head[..chunk.head_len], b"135\r\n");
        assert_eq!(chunk.len, 5 + 309 + 2);
    }

    /// A server-side [`Conn`] over loopback and its peer.
    async fn pair() -> (Arc<Conn>, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (Conn::new(server), client)
    }

    /// What hyper does once its buffer is empty.
    async fn hyper_flush(conn: &Arc<Conn>) {
        use tokio::io::AsyncWriteExt;
        crate::conn::ConnIo(Arc::clone(conn)).flush().await.unwrap();
    }

    /// Reads HTTP/1.1 chunks until `payload` bytes of chunk data arrived; returns the data.
    async fn read_chunks(client: &mut tokio::net::TcpStream, payload: usize) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        let (mut raw, mut data) = (Vec::new(), Vec::new());
        let mut at = 0;
        while data.len() < payload {
            let mut buf = vec![0u8; 1 << 16];
            let n = client.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed after {} of {payload} bytes", data.len());
            raw.extend_from_slice(&buf[..n]);
            // Every complete chunk in `raw[at..]`.
            while let Some(eol) = raw[at..].windows(2).position(|w| w == b"\r\n") {
                let size =
                    usize::from_str_radix(std::str::from_utf8(&raw[at..at + eol]).unwrap(), 16)
                        .expect("a chunk size line");
                let start = at + eol + 2;
                if raw.len() < start + size + 2 {
                    break;
                }
                assert_eq!(
                    &raw[start + size..start + size + 2],
                    b"\r\n",
                    "chunk trailer"
                );
                data.extend_from_slice(&raw[start..start + size]);
                at = start + size + 2;
            }
        }
        data
    }

    #[tokio::test]
    async fn after_hyper_flushes_frames_go_to_the_socket_as_chunks() {
        let (conn, mut client) = pair().await;
        let m = Arc::new(Mailbox::default());
        m.hand_over(&conn);
        // Queued while hyper still owns the socket, written at its flush.
        assert_eq!(
            m.push(Bytes::from_static(b"data: 1\n\n"), 8),
            Ok(Queued::Done)
        );
        hyper_flush(&conn).await;
        assert_eq!(
            m.push(Bytes::from_static(b"data: 2\n\n"), 8),
            Ok(Queued::Flush)
        );
        assert_eq!(
            m.push(Bytes::from_static(b"data: 3\n\n"), 8),
            Ok(Queued::Done),
            "rides along with the flush already due"
        );
        m.flush();
        assert_eq!(m.heartbeat(), None, "written by the mailbox itself");
        assert_eq!(
            read_chunks(&mut client, 29).await,
            b"data: 1\n\ndata: 2\n\ndata: 3\n\n:\n"
        );
    }

    #[tokio::test]
    async fn a_full_socket_is_drained_by_the_stream_task_in_order() {
        let (conn, mut client) = pair().await;
        let m = Arc::new(Mailbox::default());
        m.hand_over(&conn);
        hyper_flush(&conn).await;
        // 32 MB while nobody reads: the socket fills and the rest waits in the queue.
        let frames: Vec<Bytes> = (0..128u8)
            .map(|i| Bytes::from(vec![i; 256 * 1024]))
            .collect();
        for frame in &frames {
            if m.push(frame.clone(), 1024).unwrap() == Queued::Flush {
                m.flush();
            }
        }
        assert_eq!(
            m.push(Bytes::from_static(b"x"), 1024),
            Ok(Queued::Done),
            "blocked: the stream's task writes"
        );
        let task = tokio::spawn({
            let m = Arc::clone(&m);
            async move { m.recv().await }
        });
        let data = read_chunks(&mut client, 128 * 256 * 1024 + 1).await;
        let expected: Vec<u8> = frames
            .iter()
            .flat_map(|f| f.iter().copied())
            .chain([b'x'])
            .collect();
        assert!(data == expected, "every frame, in order");
        m.close();
        assert_eq!(task.await.unwrap(), None);
    }

    #[tokio::test]
    async fn closing_with_half_a_chunk_written_ends_the_connection() {
        use tokio::io::AsyncReadExt;
        let (conn, mut client) = pair().await;
        let m = Arc::new(Mailbox::default());
        m.hand_over(&conn);
        hyper_flush(&conn).await;
        // One frame larger than any socket buffer: written in part, then blocked.
        assert_eq!(
            m.push(Bytes::from(vec![b'y'; 64 << 20]), 8),
            Ok(Queued::Flush)
        );
        m.flush();
        m.close();
        let mut total = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
        assert!(total < 64 << 20, "the stream was cut, not completed");
    }
}
