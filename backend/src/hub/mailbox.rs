//! One subscriber's bounded queue of SSE frames (issue 4, backpressure).
//!
//! A `VecDeque` behind a mutex and a `Notify`, rather than a tokio `mpsc` channel plus a
//! `oneshot` to end the stream: an idle subscriber then costs one small allocation instead of a
//! channel with a preallocated block (the hub's budget is 10,000 idle subscribers under 200 MB,
//! most of it hyper's per-connection buffers).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;

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

#[derive(Default)]
struct State {
    frames: VecDeque<Bytes>,
    closed: bool,
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
    pub fn push(&self, frame: Bytes, capacity: usize) -> Result<(), Refused> {
        let mut state = self.lock();
        if state.closed {
            return Err(Refused::Closed);
        }
        if state.frames.len() >= capacity {
            return Err(Refused::Full);
        }
        state.frames.push_back(frame);
        drop(state);
        // Stores a permit when the stream is not waiting yet, so no wake-up is lost.
        self.notify.notify_one();
        Ok(())
    }

    /// Ends the stream: [`Mailbox::recv`] returns `None` from now on, frames still queued are
    /// dropped (the subscriber resumes with `Last-Event-ID`).
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.frames = VecDeque::new();
        drop(state);
        self.notify.notify_one();
    }

    /// The next frames (up to 64 joined into one chunk), or `None` once closed.
    pub async fn recv(&self) -> Option<Bytes> {
        loop {
            if let Some(chunk) = self.take()? {
                return Some(chunk);
            }
            self.notify.notified().await;
        }
    }

    /// `None` when closed, `Some(None)` when empty.
    fn take(&self) -> Option<Option<Bytes>> {
        let mut state = self.lock();
        if state.closed {
            return None;
        }
        let Some(first) = state.frames.pop_front() else {
            return Some(None);
        };
        let chunk = if state.frames.is_empty() {
            first
        } else {
            let n = state.frames.len().min(BATCH - 1);
            let len = first.len() + state.frames.iter().take(n).map(Bytes::len).sum::<usize>();
            let mut buf = BytesMut::with_capacity(len);
            buf.extend_from_slice(&first);
            for frame in state.frames.drain(..n) {
                buf.extend_from_slice(&frame);
            }
            buf.freeze()
        };
        if state.frames.is_empty() && state.frames.capacity() > SHRINK_ABOVE {
            state.frames = VecDeque::new();
        }
        Some(Some(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn batches_frames_and_refuses_when_full_or_closed() {
        let m = Mailbox::default();
        m.push(Bytes::from_static(b"a"), 2).unwrap();
        m.push(Bytes::from_static(b"b"), 2).unwrap();
        assert_eq!(m.push(Bytes::from_static(b"c"), 2), Err(Refused::Full));
        assert_eq!(m.recv().await.as_deref(), Some(&b"ab"[..]));
        m.push(Bytes::from_static(b"d"), 2).unwrap();
        m.close();
        assert_eq!(m.recv().await, None);
        assert_eq!(m.push(Bytes::from_static(b"e"), 2), Err(Refused::Closed));
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken() {
        let m = std::sync::Arc::new(Mailbox::default());
        let rx = tokio::spawn({
            let m = m.clone();
            async move { m.recv().await }
        });
        tokio::task::yield_now().await;
        m.push(Bytes::from_static(b"x"), 1).unwrap();
        assert_eq!(rx.await.unwrap().as_deref(), Some(&b"x"[..]));
    }
}
