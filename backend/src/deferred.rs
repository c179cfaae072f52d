//! Deferred work: tasks a handler hands over with [`Context::defer`](crate::Context::defer)
//! that run once its response has been written (the body dropped by the connection). While a
//! request is handled, a task-local queue collects them; the response body carries them and
//! spawns them when it is dropped. Each task is tracked from the moment it is queued, so the
//! shutdown (`docs/contract.md` §5) waits for it within the grace period.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};

/// A queued task (already tracked by the backend's task tracker).
pub(crate) type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

tokio::task_local! {
    static QUEUE: RefCell<Vec<Task>>;
}

/// Queues `task` for after the current response; `Err(task)` outside a request.
pub(crate) fn queue(task: Task) -> Result<(), Task> {
    let mut slot = Some(task);
    match QUEUE.try_with(|q| q.borrow_mut().push(slot.take().expect("once"))) {
        Ok(()) => Ok(()),
        Err(_) => Err(slot.take().expect("not taken")),
    }
}

/// Runs a request's handling with a queue, and hands what was queued to its response body.
/// Without deferred tasks (the common case) this allocates nothing.
pub(crate) async fn scope(handle: impl Future<Output = Response>) -> Response {
    let mut fut = std::pin::pin!(QUEUE.scope(RefCell::new(Vec::new()), handle));
    let resp = (&mut fut).await;
    let tasks = fut
        .as_mut()
        .take_value()
        .map(RefCell::into_inner)
        .unwrap_or_default();
    if tasks.is_empty() {
        return resp;
    }
    resp.map(|body| Body::new(After { body, tasks }))
}

/// A response body that spawns its tasks when the connection is done with it.
struct After {
    body: Body,
    tasks: Vec<Task>,
}

impl Drop for After {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for task in self.tasks.drain(..) {
            runtime.spawn(task);
        }
    }
}

impl http_body::Body for After {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
