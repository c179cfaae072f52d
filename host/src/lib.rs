//! `qmlbridge` host library: the Qt adapters of the desktop host, in the QML module
//! `QmlBridge` (`import QmlBridge`): the `BackendConnection` singleton mirroring the supervision
//! core, and the `TodoModel` over the backend's REST API and Mercure hub. Everything that decides
//! what happens lives in `qmlbridge-supervisor`; this crate only translates.

pub mod app;
pub mod backend_connection;
pub mod instance;
pub mod log_tail;
pub mod logging;
pub mod mercure;
mod qt_log;
pub mod session;
pub mod todo_model;
pub mod todo_sync;
pub mod todos;

/// The URL of the main window inside the compiled-in QML module.
pub const MAIN_QML: &str = "qrc:/qt/qml/QmlBridge/qml/Main.qml";
/// Where the compiled-in QML modules live (`<path>/QmlBridge/qmldir`).
pub const QML_IMPORT_PATH: &str = "qrc:/qt/qml";

/// The supervision core this crate mirrors (re-exported for the tests and `main`).
pub use qmlbridge_supervisor as supervisor;
