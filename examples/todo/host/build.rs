//! The todo window's QML module `Todo` (`qrc:/qt/qml/Todo/qml/Main.qml`), and the app's
//! identity for `qmlbridge_qt::identity!()`.
use cxx_qt_build::{CxxQtBuilder, QmlModule};

fn main() {
    // Main.qml and TodoDelegate.qml (every .qml under qml/ but its tests).
    let qml = qmlbridge_manifest::build::qml_files("qml");
    CxxQtBuilder::new_qml_module(QmlModule::new("Todo").qml_files(&qml))
        .crate_include_root(None)
        .build();
    // After the build, which exports the modules' types: QML the engine would refuse (an unknown
    // type or property, a failed import) fails here with its file and line.
    qmlbridge_manifest::build::check_qml(&qml);
    // See qmlbridge-qt's build.rs: every Qt binary links with rust-lld here.
    println!("cargo::rustc-link-arg=-fuse-ld=lld");
    // The identity for `identity!()`, from the one manifest packaging reads too (org
    // `qmlbridge`, name `todo`: users' data stays in ~/.local/share/qmlbridge/todo).
    qmlbridge_manifest::build::emit("../qmlbridge.toml");
}
