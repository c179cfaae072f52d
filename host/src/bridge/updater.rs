//! `Updater`, the QML singleton of the app's self-updates (docs/qml.md, "Updates"): `check()`
//! the signed feed, `download()` the release (a delta against the running image, verified before
//! anything is replaced), `restartToApply()`, and `rollBack()` to the image an update kept. The
//! work is `qmlbridge-update`'s, on the session's runtime; results come back to the GUI thread
//! through `qt_thread().queue(..)`, so neither the window nor the backend ever waits for it.

#[cxx_qt::bridge]
pub mod qobject {
    unsafe extern "C++" {
        include!("cxx-qt-lib/qstring.h");
        type QString = cxx_qt_lib::QString;
    }

    /// Where the updater is (`Updater.Available` in QML).
    #[qenum(Updater)]
    enum UpdateState {
        /// Nothing checked yet.
        Idle,
        Checking,
        UpToDate,
        /// `version` and `notes` say what; `download()` fetches it.
        Available,
        Downloading,
        /// Installed over the image: `restartToApply()` starts it.
        Ready,
        /// `error` says why; nothing was replaced.
        Failed,
        /// No feed in the manifest, or not running from an AppImage (`error` says which).
        Unavailable,
        /// A newer release exists but the image's directory cannot be written: nothing touched.
        NotWritable,
    }

    extern "RustQt" {
        #[qobject]
        #[qml_element]
        #[qml_singleton]
        #[qproperty(UpdateState, state, READ, NOTIFY)]
        #[qproperty(QString, version, READ, NOTIFY)]
        #[qproperty(QString, notes, READ, NOTIFY)]
        #[qproperty(f64, progress, READ, NOTIFY)]
        #[qproperty(f64, bytes_saved, cxx_name = "bytesSaved", READ, NOTIFY)]
        #[qproperty(f64, bytes_fetched, cxx_name = "bytesFetched", READ, NOTIFY)]
        #[qproperty(f64, size, READ, NOTIFY)]
        #[qproperty(QString, error, READ, NOTIFY)]
        #[qproperty(QString, current_version, cxx_name = "currentVersion", READ, NOTIFY)]
        #[qproperty(QString, previous_version, cxx_name = "previousVersion", READ, NOTIFY)]
        #[qproperty(QString, notice, READ, NOTIFY)]
        type Updater = super::UpdaterRust;
    }

    extern "RustQt" {
        /// Fetches and verifies the feed (off the GUI thread); returns at once.
        #[qinvokable]
        fn check(self: Pin<&mut Updater>);

        /// Downloads, verifies and installs the available release; returns at once.
        #[qinvokable]
        fn download(self: Pin<&mut Updater>);

        /// `Ready`: closes the app gracefully and starts the new image.
        #[qinvokable]
        #[cxx_name = "restartToApply"]
        fn restart_to_apply(self: Pin<&mut Updater>);

        /// Puts the kept previous image back and restarts into it.
        #[qinvokable]
        #[cxx_name = "rollBack"]
        fn roll_back(self: Pin<&mut Updater>);

        /// Forgets `notice` once it was shown.
        #[qinvokable]
        #[cxx_name = "dismissNotice"]
        fn dismiss_notice(self: Pin<&mut Updater>);
    }

    impl cxx_qt::Threading for Updater {}
    impl cxx_qt::Initialize for Updater {}
}

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cxx_qt::{CxxQtType, Threading};
use cxx_qt_lib::QString;
use qmlbridge_update::{Check, Config, Error, Installed, Progress, Release};

use crate::updates::{self, chain};
use crate::{relaunch, session};
use qobject::UpdateState;

const TARGET: &str = "qmlbridge::update";

/// Progress reaches QML at most every this many thousandths (and at the end).
const PROGRESS_STEP_PERMILLE: u64 = 5;

/// The singleton's state: its properties, and what its work needs.
pub struct UpdaterRust {
    state: UpdateState,
    version: QString,
    notes: QString,
    progress: f64,
    bytes_saved: f64,
    bytes_fetched: f64,
    size: f64,
    error: QString,
    current_version: QString,
    previous_version: QString,
    notice: QString,
    /// `None`: updates are off (`Unavailable`).
    config: Option<Arc<Config>>,
    /// The release the last check offered.
    release: Option<Release>,
    auto_download: bool,
}

impl Default for UpdaterRust {
    fn default() -> Self {
        Self {
            state: UpdateState::Idle,
            version: QString::default(),
            notes: QString::default(),
            progress: 0.0,
            bytes_saved: 0.0,
            bytes_fetched: 0.0,
            size: 0.0,
            error: QString::default(),
            current_version: QString::default(),
            previous_version: QString::default(),
            notice: QString::default(),
            config: None,
            release: None,
            auto_download: false,
        }
    }
}

/// What a check found, for the GUI thread.
enum Checked {
    UpToDate,
    Available(Release),
    NotWritable(Release, String),
    Failed(String),
}

impl cxx_qt::Initialize for qobject::Updater {
    fn initialize(mut self: Pin<&mut Self>) {
        crate::relaunch::quit_again_if_requested();
        let Some(identity) = session::get().and_then(|s| s.identity()) else {
            self.as_mut().set_state_to(UpdateState::Unavailable);
            self.as_mut().set_error_text(
                "updates are off: no app session (start the app with qmlbridge_qt::App)",
            );
            return;
        };
        self.as_mut().set_text(Text::Current, &identity.version);
        let cfg = match updates::config(identity, updates::image_from_env()) {
            Ok(cfg) => Arc::new(cfg),
            Err(why) => {
                tracing::info!(target: TARGET, "{why}");
                self.as_mut().set_state_to(UpdateState::Unavailable);
                self.as_mut().set_error_text(&why);
                return;
            }
        };
        let settings = identity.update.as_ref();
        let check_at_start = settings.is_some_and(|u| u.check_at_start);
        self.as_mut().rust_mut().config = Some(cfg.clone());
        self.as_mut().rust_mut().auto_download = settings.is_some_and(|u| u.auto_download);
        // The kept image and the last rollback's notice: small files, read off the GUI thread.
        let qt = self.qt_thread();
        if let Some(session) = session::get() {
            session.runtime().spawn_blocking(move || {
                let previous = qmlbridge_update::previous(&cfg).map(|p| p.version);
                // A window created after a rollback asked for the restart (the failed version's
                // own, closing at once) leaves the notice to the restarted version: taken here,
                // it would be lost with this process.
                let notice = if relaunch::requested() {
                    None
                } else {
                    qmlbridge_update::take_notice(&cfg)
                };
                let _ = qt.queue(move |mut obj| {
                    let previous = previous.unwrap_or_default();
                    obj.as_mut().set_text(Text::Previous, &previous);
                    obj.as_mut()
                        .set_text(Text::Notice, notice.as_deref().unwrap_or(""));
                });
            });
        }
        if check_at_start {
            // Queued: it runs once the event loop turns, after the window was created and shown.
            let _ = self.qt_thread().queue(|obj| obj.check());
        }
    }
}

impl qobject::Updater {
    fn check(mut self: Pin<&mut Self>) {
        let busy = matches!(
            self.rust().state,
            UpdateState::Unavailable
                | UpdateState::Checking
                | UpdateState::Downloading
                | UpdateState::Ready
        );
        let (Some(cfg), Some(session), false) = (self.rust().config.clone(), session::get(), busy)
        else {
            return;
        };
        self.as_mut().set_error_text("");
        self.as_mut().set_state_to(UpdateState::Checking);
        let qt = self.qt_thread();
        session.runtime().spawn(async move {
            let checked = match qmlbridge_update::check(&cfg).await {
                Ok(Check::UpToDate) => Checked::UpToDate,
                Ok(Check::Available(release)) => match qmlbridge_update::writable(&cfg.image) {
                    Ok(()) => Checked::Available(release),
                    Err(e) => Checked::NotWritable(release, chain(&e)),
                },
                Err(e) => Checked::Failed(format!("check: {}", chain(&e))),
            };
            let _ = qt.queue(move |obj| obj.checked(checked));
        });
    }

    fn checked(mut self: Pin<&mut Self>, checked: Checked) {
        match checked {
            Checked::UpToDate => self.as_mut().set_state_to(UpdateState::UpToDate),
            Checked::Available(release) => {
                tracing::info!(target: TARGET, version = %release.version, "an update is available");
                self.as_mut().offer(release);
                self.as_mut().set_state_to(UpdateState::Available);
                if self.rust().auto_download {
                    self.as_mut().download();
                }
            }
            Checked::NotWritable(release, why) => {
                tracing::warn!(target: TARGET, version = %release.version, "{why}");
                self.as_mut().offer(release);
                self.as_mut().set_error_text(&why);
                self.as_mut().set_state_to(UpdateState::NotWritable);
            }
            Checked::Failed(why) => self.as_mut().fail(&why),
        }
    }

    fn offer(mut self: Pin<&mut Self>, release: Release) {
        self.as_mut().set_text(Text::Version, &release.version);
        self.as_mut().set_text(Text::Notes, &release.notes);
        self.as_mut().set_number(Number::Size, release.size as f64);
        self.as_mut().rust_mut().release = Some(release);
    }

    fn download(mut self: Pin<&mut Self>) {
        if !matches!(
            self.rust().state,
            UpdateState::Available | UpdateState::Failed
        ) {
            return;
        }
        let (Some(cfg), Some(release), Some(session)) = (
            self.rust().config.clone(),
            self.rust().release.clone(),
            session::get(),
        ) else {
            return;
        };
        self.as_mut().set_error_text("");
        for n in [Number::Progress, Number::Saved, Number::Fetched] {
            self.as_mut().set_number(n, 0.0);
        }
        self.as_mut().set_state_to(UpdateState::Downloading);
        let qt = self.qt_thread();
        session.runtime().spawn(async move {
            let last = AtomicU64::new(0);
            let progress_qt = qt.clone();
            let progress = move |p: Progress| {
                let permille = (p.done * 1000).checked_div(p.total).unwrap_or(0);
                let before = last.load(Ordering::Relaxed);
                if permille < before + PROGRESS_STEP_PERMILLE && p.done < p.total {
                    return;
                }
                last.store(permille, Ordering::Relaxed);
                let _ = progress_qt.queue(move |obj| obj.progressed(p));
            };
            let outcome = qmlbridge_update::download(&cfg, &release, progress).await;
            let _ = qt.queue(move |obj| obj.downloaded(outcome));
        });
    }

    fn progressed(mut self: Pin<&mut Self>, p: Progress) {
        if self.rust().state != UpdateState::Downloading {
            return;
        }
        let fraction = if p.total == 0 {
            0.0
        } else {
            p.done as f64 / p.total as f64
        };
        self.as_mut().set_number(Number::Progress, fraction);
        self.as_mut().set_number(Number::Saved, p.reused as f64);
        self.as_mut().set_number(Number::Fetched, p.fetched as f64);
    }

    fn downloaded(mut self: Pin<&mut Self>, outcome: qmlbridge_update::Result<Installed>) {
        match outcome {
            Ok(installed) => {
                tracing::info!(
                    target: TARGET,
                    version = %installed.version,
                    size = installed.size,
                    fetched = installed.fetched,
                    reused = installed.reused,
                    "update installed; it runs after a restart"
                );
                self.as_mut().set_number(Number::Progress, 1.0);
                self.as_mut()
                    .set_number(Number::Size, installed.size as f64);
                self.as_mut()
                    .set_number(Number::Saved, installed.reused as f64);
                self.as_mut()
                    .set_number(Number::Fetched, installed.fetched as f64);
                let running = self.rust().current_version.to_string();
                self.as_mut().set_text(Text::Previous, &running);
                self.as_mut().set_state_to(UpdateState::Ready);
            }
            Err(e @ Error::NotWritable { .. }) => {
                let why = chain(&e);
                tracing::warn!(target: TARGET, "{why}");
                self.as_mut().set_error_text(&why);
                self.as_mut().set_state_to(UpdateState::NotWritable);
            }
            Err(e) => self.as_mut().fail(&format!("download: {}", chain(&e))),
        }
    }

    fn restart_to_apply(self: Pin<&mut Self>) {
        if self.rust().state != UpdateState::Ready {
            return;
        }
        if let Some(cfg) = &self.rust().config {
            relaunch::request(cfg.image.clone());
        }
    }

    fn roll_back(self: Pin<&mut Self>) {
        let (Some(cfg), Some(session)) = (self.rust().config.clone(), session::get()) else {
            return;
        };
        if self.rust().previous_version.is_empty() || relaunch::requested() {
            return;
        }
        let reason = session
            .snapshot()
            .and_then(|s| s.recovery)
            .unwrap_or_else(|| "the user asked for the previous version".into());
        let qt = self.qt_thread();
        session
            .runtime()
            .spawn_blocking(move || match updates::roll_back(&cfg, &reason) {
                Some(image) => relaunch::request(image),
                None => {
                    let why = "cannot put the previous image back (see the host's log)".to_owned();
                    let _ = qt.queue(move |obj| obj.fail(&why));
                }
            });
    }

    fn dismiss_notice(self: Pin<&mut Self>) {
        self.set_text(Text::Notice, "");
    }

    fn fail(mut self: Pin<&mut Self>, why: &str) {
        tracing::warn!(target: TARGET, "{why}");
        self.as_mut().set_error_text(why);
        self.as_mut().set_state_to(UpdateState::Failed);
    }

    fn set_state_to(mut self: Pin<&mut Self>, state: UpdateState) {
        if self.rust().state != state {
            self.as_mut().rust_mut().state = state;
            self.as_mut().state_changed();
        }
    }

    fn set_error_text(self: Pin<&mut Self>, text: &str) {
        self.set_text(Text::Error, text);
    }

    /// Sets one of the string properties, emitting its NOTIFY only when it changed.
    fn set_text(mut self: Pin<&mut Self>, which: Text, text: &str) {
        let value = QString::from(text);
        let mut rust = self.as_mut().rust_mut();
        let slot = match which {
            Text::Version => &mut rust.version,
            Text::Notes => &mut rust.notes,
            Text::Error => &mut rust.error,
            Text::Current => &mut rust.current_version,
            Text::Previous => &mut rust.previous_version,
            Text::Notice => &mut rust.notice,
        };
        if *slot == value {
            return;
        }
        *slot = value;
        match which {
            Text::Version => self.version_changed(),
            Text::Notes => self.notes_changed(),
            Text::Error => self.error_changed(),
            Text::Current => self.current_version_changed(),
            Text::Previous => self.previous_version_changed(),
            Text::Notice => self.notice_changed(),
        }
    }

    /// Sets one of the number properties, emitting its NOTIFY only when it changed.
    fn set_number(mut self: Pin<&mut Self>, which: Number, value: f64) {
        let mut rust = self.as_mut().rust_mut();
        let slot = match which {
            Number::Progress => &mut rust.progress,
            Number::Saved => &mut rust.bytes_saved,
            Number::Fetched => &mut rust.bytes_fetched,
            Number::Size => &mut rust.size,
        };
        if *slot == value {
            return;
        }
        *slot = value;
        match which {
            Number::Progress => self.progress_changed(),
            Number::Saved => self.bytes_saved_changed(),
            Number::Fetched => self.bytes_fetched_changed(),
            Number::Size => self.size_changed(),
        }
    }
}

/// The string properties.
#[derive(Clone, Copy)]
enum Text {
    Version,
    Notes,
    Error,
    Current,
    Previous,
    Notice,
}

/// The number properties (bytes as doubles: exact to 2^53, and numbers to QML).
#[derive(Clone, Copy)]
enum Number {
    Progress,
    Saved,
    Fetched,
    Size,
}
