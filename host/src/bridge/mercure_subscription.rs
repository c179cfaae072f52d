//! `MercureSubscription`: any topics of the backend's hub (docs/contract.md §8) for QML.
//! `topics` and `active` choose what is followed; `connected` and `lastEventId` say where it
//! stands; `update(id, kind, data)` carries each update and `historyLost()` says that a reconnect
//! could not resume (refetch what you show). Reconnects with backoff across backend restarts.

#[cxx_qt::bridge]
pub mod qobject {
    unsafe extern "C++" {
        include!("cxx-qt-lib/qstring.h");
        type QString = cxx_qt_lib::QString;
        include!("cxx-qt-lib/qstringlist.h");
        type QStringList = cxx_qt_lib::QStringList;
    }

    extern "RustQt" {
        #[qobject]
        #[qml_element]
        #[qproperty(QStringList, topics)]
        #[qproperty(bool, active)]
        #[qproperty(bool, connected, READ, NOTIFY)]
        #[qproperty(QString, last_event_id, cxx_name = "lastEventId", READ, NOTIFY)]
        type MercureSubscription = super::MercureSubscriptionRust;
    }

    extern "RustQt" {
        /// One update: its id, its event type (empty for the default `message`) and its data.
        #[qsignal]
        fn update(self: Pin<&mut MercureSubscription>, id: QString, kind: QString, data: QString);

        /// A reconnect could not resume after `lastEventId`: updates were missed.
        #[qsignal]
        #[cxx_name = "historyLost"]
        fn history_lost(self: Pin<&mut MercureSubscription>);
    }

    impl cxx_qt::Threading for MercureSubscription {}
    impl cxx_qt::Initialize for MercureSubscription {}
}

use std::pin::Pin;
use std::sync::Arc;

use cxx_qt::{CxxQtType, Threading};
use cxx_qt_lib::{QList, QString, QStringList};

use crate::rest::subscription::{Output, Subscription};

/// The object's state and its running subscription.
pub struct MercureSubscriptionRust {
    topics: QStringList,
    active: bool,
    connected: bool,
    last_event_id: QString,
    subscription: Option<Subscription>,
    restart_queued: bool,
}

impl Default for MercureSubscriptionRust {
    fn default() -> Self {
        Self {
            topics: QStringList::default(),
            active: true,
            connected: false,
            last_event_id: QString::default(),
            subscription: None,
            restart_queued: false,
        }
    }
}

impl cxx_qt::Initialize for qobject::MercureSubscription {
    fn initialize(mut self: Pin<&mut Self>) {
        // Properties are assigned after construction: one restart once the event loop turns.
        self.as_mut()
            .on_topics_changed(|sub| sub.queue_restart())
            .release();
        self.as_mut()
            .on_active_changed(|sub| sub.queue_restart())
            .release();
        self.queue_restart();
    }
}

impl qobject::MercureSubscription {
    fn queue_restart(mut self: Pin<&mut Self>) {
        if self.rust().restart_queued {
            return;
        }
        self.as_mut().rust_mut().restart_queued = true;
        let _ = self.qt_thread().queue(|sub| sub.restart());
    }

    fn restart(mut self: Pin<&mut Self>) {
        self.as_mut().rust_mut().restart_queued = false;
        self.as_mut().rust_mut().subscription = None;
        self.as_mut().set_connected_flag(false);
        let topics: Vec<String> = QList::<QString>::from(&self.rust().topics)
            .iter()
            .map(|t| t.to_string())
            .filter(|t| !t.is_empty())
            .collect();
        if !self.rust().active || topics.is_empty() {
            return;
        }
        let last = self.rust().last_event_id.to_string();
        let qt = self.qt_thread();
        let deliver =
            Arc::new(move |output: Output| qt.queue(move |sub| sub.on_output(output)).is_ok());
        let subscription =
            Subscription::start(topics, Some(last).filter(|l| !l.is_empty()), deliver);
        self.as_mut().rust_mut().subscription = subscription;
    }

    fn set_connected_flag(mut self: Pin<&mut Self>, connected: bool) {
        if self.rust().connected != connected {
            self.as_mut().rust_mut().connected = connected;
            self.as_mut().connected_changed();
        }
    }

    fn on_output(mut self: Pin<&mut Self>, output: Output) {
        match output {
            Output::Connected(connected) => self.set_connected_flag(connected),
            Output::HistoryLost => self.history_lost(),
            Output::Update { id, kind, data } => {
                let id = QString::from(&id);
                if !id.is_empty() && self.rust().last_event_id != id {
                    self.as_mut().rust_mut().last_event_id = id.clone();
                    self.as_mut().last_event_id_changed();
                }
                self.update(id, QString::from(&kind), QString::from(&data));
            }
        }
    }
}
