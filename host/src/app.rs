//! `App`: an app's whole host in one call. Logging, the single-instance lock (Bundled),
//! the supervisor, the Qt application named after the app's [`Identity`], its main window from
//! the app's QML module, SIGTERM/SIGINT mapped to closing the window, and a graceful backend stop
//! when it closes (docs/contract.md §5, §9).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cxx_qt_lib::{QGuiApplication, QQmlApplicationEngine, QString, QUrl};
use qmlbridge_supervisor::data_dir;

use crate::bridge::ffi;
use crate::{Identity, QML_IMPORT_PATH, dev, instance, logging, network, relaunch, session};

const TARGET: &str = "qmlbridge::host";
/// Exit code of a second launch on a data dir that another host already uses.
pub const EXIT_ALREADY_RUNNING: u8 = 3;

/// An app's host: `App::new(identity).main_qml(url).run()` from the app's `main`.
#[derive(Clone, Debug)]
pub struct App {
    identity: Identity,
    main_qml: String,
}

impl App {
    /// The host of the app `identity` names (see [`identity!`](crate::identity)).
    pub fn new(identity: Identity) -> App {
        App {
            identity,
            main_qml: String::new(),
        }
    }

    /// The window to show: a URL into the app's QML module, e.g.
    /// `qrc:/qt/qml/Bookmarks/qml/Main.qml` (module `Bookmarks`, file `qml/Main.qml`).
    pub fn main_qml(mut self, url: impl Into<String>) -> App {
        self.main_qml = url.into();
        self
    }

    /// Runs the app until its window closes. Exit codes: 0 closed normally, 1 the QML failed to
    /// load (or no window was given), 3 another instance runs on the same data dir (Bundled).
    pub fn run(self) -> ExitCode {
        let id = &self.identity;
        if std::env::args().skip(1).any(|a| a == "--version") {
            println!("{} {}", id.name, id.version);
            return ExitCode::SUCCESS;
        }
        if dev::active() {
            dev::bind_to_parent();
        }
        let bundled = std::env::var("BRIDGE_URL").map_or(true, |v| v.trim().is_empty());
        let data = data_dir(&id.org, &id.name).ok();
        logging::init(data.as_deref());
        if self.main_qml.is_empty() {
            tracing::error!(target: TARGET, "App::main_qml was not given: no window to show");
            return ExitCode::FAILURE;
        }

        // Bundled mode owns a database: never two hosts (two backends) on the same data dir.
        let _lock = match (bundled, &data) {
            (true, Some(dir)) => match instance::acquire(dir) {
                Ok(lock) => Some(lock),
                Err(err @ instance::LockError::AlreadyRunning { .. }) => {
                    tracing::error!(target: TARGET, "{err}");
                    eprintln!(
                        "{}: {err}; close it first (not starting a second backend).",
                        id.name
                    );
                    return ExitCode::from(EXIT_ALREADY_RUNNING);
                }
                Err(err) => {
                    tracing::error!(target: TARGET, "{err}");
                    return ExitCode::FAILURE;
                }
            },
            _ => None,
        };

        network::allow(&id.network);
        let session = session::start_app(id, session::options(id));
        watch_signals(session);
        let qml_dir = dev::qml_dir();
        if dev::active() {
            dev::watch(session, qml_dir.is_some());
        }
        let code = show(id, &self.main_qml, qml_dir.as_deref());
        tracing::info!(target: TARGET, "window closed; stopping the backend");
        dev::closing();
        session::shutdown();
        // A restart into an updated image (src/relaunch.rs) must find the data dir unlocked.
        drop(_lock);
        relaunch::finish(code)
    }
}

/// SIGTERM/SIGINT close the window like the user would, so the backend is stopped gracefully.
fn watch_signals(session: &session::Session) {
    session.runtime().spawn(async {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!(target: TARGET, "signal received; closing");
        ffi::app_quit_queued();
    });
}

/// The Qt application named after `id`, showing `url` until its window closes: `SUCCESS`, or
/// `FAILURE` when the QML did not load (after an error window naming the files and lines was
/// closed). With `qml_dir` (a development session) the window's files come from there and a load
/// error shows an error window that the next good save replaces (src/dev.rs).
fn show(id: &Identity, url: &str, qml_dir: Option<&std::path::Path>) -> ExitCode {
    let mut app = QGuiApplication::new();
    let mut engine = QQmlApplicationEngine::new();
    let (Some(mut app_ref), Some(mut engine_ref)) = (app.as_mut(), engine.as_mut()) else {
        tracing::error!(target: TARGET, "cannot create the Qt application");
        return ExitCode::FAILURE;
    };
    app_ref
        .as_mut()
        .set_application_name(&QString::from(&id.name));
    app_ref
        .as_mut()
        .set_organization_name(&QString::from(&id.org));
    app_ref
        .as_mut()
        .set_application_version(&QString::from(&id.version));
    app_ref
        .as_mut()
        .set_application_display_name(&QString::from(&id.display_name));
    // The desktop file's name is the Wayland app_id (and X11 WM_CLASS hint): the identifier the
    // packaged `<identifier>.desktop` is installed under.
    QGuiApplication::set_desktop_file_name(&QString::from(&id.identifier));

    let failed = Arc::new(AtomicBool::new(false));
    let flag = failed.clone();
    engine_ref
        .as_mut()
        .on_object_creation_failed(move |_, url| {
            tracing::error!(target: TARGET, url = %url, "the QML window failed to load");
            flag.store(true, Ordering::SeqCst);
            ffi::app_exit(1);
        })
        .release();
    // Before anything loads: the engine fetches from the backend and `[qml] network` only (a
    // record's value must not make the window request any URL; docs/qml.md, "Network"). The
    // development session's reloads use this same engine.
    ffi::network_install(engine_ref.as_mut());
    // Qt 6.5 made `qrc:/qt/qml` a default import path; 6.4 (Debian 12) needs it to find the
    // modules' qmldir files, which register the QML-file types (StatusIndicator, ...).
    engine_ref
        .as_mut()
        .add_import_path(&QString::from(QML_IMPORT_PATH));
    if let Some(dir) = qml_dir {
        tracing::info!(target: TARGET, dir = %dir.display(), "the window's QML comes from disk");
        ffi::dev_install(engine_ref.as_mut(), url, &dir.to_string_lossy());
        ffi::dev_load_now();
        let code = app_ref.as_mut().exec();
        ffi::dev_close();
        drop(engine);
        return if code == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    ffi::load_errors_watch(engine_ref.as_mut());
    engine_ref.as_mut().load(&QUrl::from(url));
    let errors = ffi::load_errors_take();
    // objectCreationFailed fires inside load(), before exec() could see exit(1). Nothing to
    // reload from here: the user sees why in a window (file and line, as logged), and the host
    // ends with 1 once it is closed.
    if failed.load(Ordering::SeqCst) {
        let errors = if errors.is_empty() {
            format!("{url}: the window could not be created")
        } else {
            errors
        };
        tracing::error!(target: TARGET, url, "the QML window failed to load:\n{errors}");
        let title = format!("{}: the window failed to load", id.display_name);
        let intro = format!(
            "{} {} cannot show its window: its QML has errors. Please report them to the \
             app's developers.",
            id.display_name, id.version
        );
        // Shown until the user closes it (or SIGTERM): then the app ends with 1.
        if !ffi::load_error_window(engine_ref.as_mut(), &title, &intro, &errors) {
            tracing::error!(target: TARGET, "cannot show the error window either");
        }
        drop(engine);
        return ExitCode::FAILURE;
    }
    let code = app_ref.as_mut().exec();
    drop(engine);
    if code == 0 && !failed.load(Ordering::SeqCst) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
