//! Builds the `QmlBridge` QML module as a library other crates build on: the cxx-qt bridges,
//! the module's QML components compiled into qrc, the C++ helpers behind `src/ffi.rs`, and
//! `export()` so dependents (an app's host crate) get the headers and the module.
use cxx_qt_build::{CxxQtBuilder, QmlModule};

/// The components every app gets, through the `host/qml -> ../qml` symlink: cxx-qt-build uses
/// the path as the qrc alias (`qrc:/qt/qml/QmlBridge/qml/components/...`) and requires it inside
/// the crate.
const QML_FILES: &[&str] = &[
    "qml/components/StatusIndicator.qml",
    "qml/components/OfflineOverlay.qml",
    "qml/components/UpdateBanner.qml",
];

fn main() {
    CxxQtBuilder::new_qml_module(QmlModule::new("QmlBridge").qml_files(QML_FILES.iter().copied()))
        .files([
            "src/bridge/ffi.rs",
            "src/bridge/backend_connection.rs",
            "src/bridge/rest_model.rs",
            "src/bridge/rest_client.rs",
            "src/bridge/mercure_subscription.rs",
            "src/bridge/updater.rs",
        ])
        .qt_module("Gui")
        .qt_module("Quick")
        .qt_module("QuickTest")
        // The engines' network policy (cpp/network.h).
        .qt_module("Network")
        .include_dir("cpp")
        .cpp_file("cpp/qmlbridge.cpp")
        .cpp_file("cpp/network.cpp")
        // Run moc on it: Qt Quick Test calls its setup object's slot.
        .cpp_file("cpp/network.h")
        .cpp_file("cpp/dev.cpp")
        // Otherwise every file written inside the crate re-runs this ~30 s script (CXX-QT-NOTES).
        .crate_include_root(None)
        .build()
        .export();
    println!("cargo::rerun-if-changed=cpp");
    // Debian's bfd + qt-build-utils' switch to gold fails the final link with an undefined
    // `cxx_qt_init_crate_cxx_qt_lib`; rustc's bundled rust-lld links it (CXX-QT-NOTES, "Linker").
    // This reaches this crate's own targets only: every app's build.rs prints it too.
    println!("cargo::rustc-link-arg=-fuse-ld=lld");
}
