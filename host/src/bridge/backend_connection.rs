//! `BackendConnection`, the QML singleton mirroring the supervision core: mode, URL,
//! token, connection state, error and a failed upgrade's recovery as read-only properties,
//! `restart()`, `tokenRotated`.
//! It holds no logic of its own: every value comes from a `qmlbridge_supervisor::Snapshot`.

#[cxx_qt::bridge]
pub mod qobject {
    unsafe extern "C++" {
        include!("cxx-qt-lib/qstring.h");
        type QString = cxx_qt_lib::QString;
    }

    /// How the backend is reached (`BackendConnection.Dev` in QML).
    #[qenum(BackendConnection)]
    enum Mode {
        Dev,
        Bundled,
    }

    /// The supervisor's view of the backend (`BackendConnection.Online` in QML).
    #[qenum(BackendConnection)]
    enum ConnectionState {
        Connecting,
        Online,
        Reconnecting,
        Offline,
    }

    extern "RustQt" {
        #[qobject]
        #[qml_element]
        #[qml_singleton]
        #[qproperty(Mode, mode, READ, NOTIFY)]
        #[qproperty(QString, url, READ, NOTIFY)]
        #[qproperty(QString, token, READ, NOTIFY)]
        #[qproperty(
            ConnectionState,
            connection_state,
            cxx_name = "connectionState",
            READ,
            NOTIFY
        )]
        #[qproperty(QString, error, READ, NOTIFY)]
        #[qproperty(QString, data_dir, cxx_name = "dataDir", READ, NOTIFY)]
        #[qproperty(QString, log_tail, cxx_name = "logTail", READ, NOTIFY)]
        #[qproperty(QString, recovery, READ, NOTIFY)]
        type BackendConnection = super::BackendConnectionRust;
    }

    extern "RustQt" {
        /// Bundled: respawn the backend with a fresh budget; Dev: probe again. Returns at once.
        #[qinvokable]
        fn restart(self: &BackendConnection);

        /// Re-reads the tail of `<data>/var/log/backend.log` into `logTail` (off the GUI thread).
        #[qinvokable]
        #[cxx_name = "refreshLogTail"]
        fn refresh_log_tail(self: &BackendConnection);

        /// The backend was respawned with a new bearer token (already in `token`).
        #[qsignal]
        #[cxx_name = "tokenRotated"]
        fn token_rotated(self: Pin<&mut BackendConnection>, new_token: QString);
    }

    impl cxx_qt::Threading for BackendConnection {}
    impl cxx_qt::Initialize for BackendConnection {}
}

use std::pin::Pin;

use cxx_qt::{CxxQtType, Threading};
use cxx_qt_lib::QString;
use qmlbridge_supervisor::{ConnectionState, Event, Mode, Snapshot};
use tokio::sync::broadcast::error::RecvError;

use crate::{log_tail, session};

/// How many lines of `backend.log` the Offline overlay shows.
const LOG_TAIL_LINES: usize = 12;

/// The singleton's state: the last snapshot, as Qt values.
pub struct BackendConnectionRust {
    mode: qobject::Mode,
    url: QString,
    token: QString,
    connection_state: qobject::ConnectionState,
    error: QString,
    data_dir: QString,
    log_tail: QString,
    /// What the supervisor did after a failed upgrade (`Snapshot::recovery`), or empty.
    recovery: QString,
}

impl Default for BackendConnectionRust {
    fn default() -> Self {
        Self {
            mode: qobject::Mode::Bundled,
            url: QString::default(),
            token: QString::default(),
            connection_state: qobject::ConnectionState::Connecting,
            error: QString::default(),
            data_dir: QString::default(),
            log_tail: QString::default(),
            recovery: QString::default(),
        }
    }
}

impl cxx_qt::Initialize for qobject::BackendConnection {
    fn initialize(mut self: Pin<&mut Self>) {
        crate::relaunch::quit_again_if_requested();
        let Some(session) = session::get() else {
            // QML loaded without `App` (or `testing::quick_test`): nothing to mirror.
            self.as_mut().rust_mut().error =
                QString::from("no qmlbridge session: start the app with qmlbridge_qt::App");
            return;
        };
        // Subscribe before reading the snapshot so no change falls between the two.
        let Some(events) = session.subscribe() else {
            return;
        };
        if let Some(snapshot) = session.snapshot() {
            self.as_mut().apply(&snapshot);
        }
        let qt = self.qt_thread();
        session.runtime().spawn(async move {
            forward(events, qt).await;
        });
    }
}

/// Mirrors supervisor events onto the object until it is gone or the supervisor stopped.
async fn forward(
    mut events: tokio::sync::broadcast::Receiver<Event>,
    qt: cxx_qt::CxxQtThread<qobject::BackendConnection>,
) {
    loop {
        let queued = match events.recv().await {
            Ok(Event::State(snapshot)) => qt.queue(move |obj| obj.apply(&snapshot)),
            Ok(Event::TokenRotated(token)) => {
                let token = QString::from(token.expose());
                qt.queue(move |obj| obj.rotated(token))
            }
            Ok(Event::Child { pid }) => {
                tracing::debug!(target: "qmlbridge::host", pid, "backend child spawned");
                Ok(())
            }
            Err(RecvError::Lagged(_)) => match session::get().and_then(|s| s.snapshot()) {
                Some(snapshot) => qt.queue(move |obj| obj.apply(&snapshot)),
                None => break,
            },
            Err(RecvError::Closed) => break,
        };
        if queued.is_err() {
            break; // the QObject is gone
        }
    }
}

/// The Rust enum as the QML one.
fn qml_mode(mode: Mode) -> qobject::Mode {
    match mode {
        Mode::Dev => qobject::Mode::Dev,
        Mode::Bundled => qobject::Mode::Bundled,
    }
}

/// The Rust enum as the QML one.
fn qml_state(state: ConnectionState) -> qobject::ConnectionState {
    match state {
        ConnectionState::Connecting => qobject::ConnectionState::Connecting,
        ConnectionState::Online => qobject::ConnectionState::Online,
        ConnectionState::Reconnecting => qobject::ConnectionState::Reconnecting,
        ConnectionState::Offline => qobject::ConnectionState::Offline,
    }
}

impl qobject::BackendConnection {
    fn restart(&self) {
        if let Some(session) = session::get() {
            session.restart();
        }
    }

    fn refresh_log_tail(&self) {
        let dir = self.rust().data_dir.to_string();
        if dir.is_empty() {
            return;
        }
        let Some(session) = session::get() else {
            return;
        };
        let qt = self.qt_thread();
        session.runtime().spawn_blocking(move || {
            let tail = log_tail::read(&log_tail::backend_log(&dir), LOG_TAIL_LINES);
            let _ = qt.queue(move |obj| obj.set_log_tail(QString::from(&tail)));
        });
    }

    /// Copies a snapshot into the properties, emitting NOTIFY only for what changed.
    fn apply(mut self: Pin<&mut Self>, snapshot: &Snapshot) {
        let mode = qml_mode(snapshot.mode);
        if self.rust().mode != mode {
            self.as_mut().rust_mut().mode = mode;
            self.as_mut().mode_changed();
        }
        let url = QString::from(&snapshot.url);
        if self.rust().url != url {
            self.as_mut().rust_mut().url = url;
            self.as_mut().url_changed();
        }
        let token = QString::from(snapshot.token.as_ref().map_or("", |t| t.expose()));
        self.as_mut().set_token(token);
        let error = QString::from(snapshot.error.as_deref().unwrap_or(""));
        if self.rust().error != error {
            self.as_mut().rust_mut().error = error;
            self.as_mut().error_changed();
        }
        let dir = snapshot.data_dir.as_ref().map(|d| d.display().to_string());
        let dir = QString::from(dir.as_deref().unwrap_or(""));
        if self.rust().data_dir != dir {
            self.as_mut().rust_mut().data_dir = dir;
            self.as_mut().data_dir_changed();
        }
        let recovery = QString::from(snapshot.recovery.as_deref().unwrap_or(""));
        if self.rust().recovery != recovery {
            self.as_mut().rust_mut().recovery = recovery;
            self.as_mut().recovery_changed();
        }
        let state = qml_state(snapshot.state);
        if self.rust().connection_state != state {
            self.as_mut().rust_mut().connection_state = state;
            if state == qobject::ConnectionState::Offline {
                self.as_ref().refresh_log_tail();
            }
            self.as_mut().connection_state_changed();
        }
    }

    fn set_token(mut self: Pin<&mut Self>, token: QString) {
        if self.rust().token != token {
            self.as_mut().rust_mut().token = token;
            self.as_mut().token_changed();
        }
    }

    fn set_log_tail(mut self: Pin<&mut Self>, tail: QString) {
        if self.rust().log_tail != tail {
            self.as_mut().rust_mut().log_tail = tail;
            self.as_mut().log_tail_changed();
        }
    }

    /// `token` holds the new value before `tokenRotated` fires, so handlers may read either.
    fn rotated(mut self: Pin<&mut Self>, token: QString) {
        self.as_mut().set_token(token.clone());
        self.as_mut().token_rotated(token);
    }
}
