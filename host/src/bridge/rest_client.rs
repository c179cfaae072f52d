//! `RestClient`: imperative calls for the backend's endpoints that are not lists (an app's own
//! routes, docs/contract.md §7). `send(method, path, body)` returns a request id at once;
//! `finished(id, status, body, error)` follows with the parsed JSON body and, for a failure, the
//! problem+json `detail`/`title` as the error text. The session's current token is used, and a
//! 401 right after a token rotation is retried once with the new one.

#[cxx_qt::bridge]
pub mod qobject {
    unsafe extern "C++" {
        include!("cxx-qt-lib/qstring.h");
        type QString = cxx_qt_lib::QString;
        include!("cxx-qt-lib/qvariant.h");
        type QVariant = cxx_qt_lib::QVariant;
    }

    extern "RustQt" {
        #[qobject]
        #[qml_element]
        #[qproperty(i32, pending, READ, NOTIFY)]
        type RestClient = super::RestClientRust;
    }

    extern "RustQt" {
        /// Sends `method path` (a path on the backend, e.g. `/api/stats`) with an optional JSON
        /// body; returns the id that `finished` will carry.
        #[qinvokable]
        fn send(
            self: Pin<&mut RestClient>,
            method: &QString,
            path: &QString,
            body: &QVariant,
        ) -> i32;

        /// A request ended: HTTP `status` (0 when no response), the parsed JSON `body` (a
        /// string when it was not JSON), `error` empty on 2xx, else a text for the user.
        #[qsignal]
        fn finished(
            self: Pin<&mut RestClient>,
            id: i32,
            status: i32,
            body: QVariant,
            error: QString,
        );
    }

    impl cxx_qt::Threading for RestClient {}
}

use std::pin::Pin;

use cxx_qt::{CxxQtType, Threading};
use cxx_qt_lib::{QString, QVariant};
use reqwest::Method;
use serde_json::Value;

use crate::bridge::ffi;
use crate::rest::http;
use crate::session;

/// The methods `send` accepts.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// The client's state: the last id given out and the requests in flight.
#[derive(Default)]
pub struct RestClientRust {
    pending: i32,
    next_id: i32,
}

/// What a request ended with, before it becomes Qt values on the GUI thread.
struct Finished {
    id: i32,
    status: i32,
    body: Value,
    error: String,
}

impl qobject::RestClient {
    fn send(mut self: Pin<&mut Self>, method: &QString, path: &QString, body: &QVariant) -> i32 {
        let id = self.rust().next_id.wrapping_add(1).max(1);
        self.as_mut().rust_mut().next_id = id;
        let method = method.to_string().to_ascii_uppercase();
        let path = path.to_string();
        let body = match ffi::to_json(body) {
            Value::Null => None,
            value => Some(value),
        };
        let invalid = if !METHODS.contains(&method.as_str()) {
            Some(format!(
                "{method:?} is not an HTTP method ({})",
                METHODS.join(", ")
            ))
        } else if !path.starts_with('/') {
            Some(format!(
                "{path:?} is not a path on the backend (it starts with /)"
            ))
        } else {
            None
        };
        self.as_mut().add_pending(1);
        let qt = self.qt_thread();
        let deliver = move |done: Finished| {
            let _ = qt.queue(move |client| client.deliver(done));
        };
        let fail = move |error: String| Finished {
            id,
            status: 0,
            body: Value::Null,
            error,
        };
        let (Some(session), None) = (session::get(), &invalid) else {
            let error = invalid.unwrap_or_else(|| "the host is shutting down".into());
            deliver(fail(error));
            return id;
        };
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        session.runtime().spawn(async move {
            let done = match http::send(method, &path, &[], body.as_ref()).await {
                Ok(response) => Finished {
                    id,
                    status: i32::from(response.status.as_u16()),
                    error: response.error_text().unwrap_or_default(),
                    body: match response.text {
                        Some(text) => Value::String(text),
                        None => response.body,
                    },
                },
                Err(e) => fail(e.to_string()),
            };
            deliver(done);
        });
        id
    }

    fn add_pending(mut self: Pin<&mut Self>, delta: i32) {
        let pending = (self.rust().pending + delta).max(0);
        self.as_mut().rust_mut().pending = pending;
        self.as_mut().pending_changed();
    }

    fn deliver(mut self: Pin<&mut Self>, done: Finished) {
        self.as_mut().add_pending(-1);
        let body = ffi::from_json(&done.body);
        self.as_mut()
            .finished(done.id, done.status, body, QString::from(&done.error));
    }
}
