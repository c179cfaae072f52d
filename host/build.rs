//! Builds the `QmlBridge` QML module: the cxx-qt bridges, the QML files compiled into qrc, and
//! the tiny C++ entry point of the QtQuickTest runner.
use cxx_qt_build::{CxxQtBuilder, QmlModule};

/// QML files of the module, through the `host/qml -> ../qml` symlink: cxx-qt-build uses the path
/// as the qrc alias (`qrc:/qt/qml/QmlBridge/qml/Main.qml`) and requires it inside the crate.
const QML_FILES: &[&str] = &[
    "qml/Main.qml",
    "qml/components/StatusIndicator.qml",
    "qml/components/OfflineOverlay.qml",
    "qml/components/TodoDelegate.qml",
];

fn main() {
    CxxQtBuilder::new_qml_module(QmlModule::new("QmlBridge").qml_files(QML_FILES.iter().copied()))
        .files(["src/backend_connection.rs", "src/todo_model.rs"])
        .qt_module("Gui")
        .qt_module("Quick")
        .qt_module("QuickTest")
        .cpp_files(["cpp/helpers.cpp", "cpp/quick_test.cpp"])
        // Otherwise every file written inside the crate re-runs this ~30 s script (CXX-QT-NOTES).
        .crate_include_root(None)
        .build();
    // Debian's bfd + qt-build-utils' switch to gold fails the final link with an undefined
    // `cxx_qt_init_crate_cxx_qt_lib`; rustc's bundled rust-lld links it (CXX-QT-NOTES, "Linker").
    println!("cargo::rustc-link-arg=-fuse-ld=lld");
}
