//! The expense window's QML module `Expenses` (`qrc:/qt/qml/Expenses/qml/Main.qml`), and the
//! app's identity for `qmlbridge_qt::identity!()`.
use cxx_qt_build::{CxxQtBuilder, QmlModule};

fn main() {
    // Every .qml file under qml/ (tests aside), through the `host/qml -> ../qml` symlink:
    // cxx-qt-build uses the path as the qrc alias and requires it inside the crate.
    let qml = qmlbridge_manifest::build::qml_files("qml");
    CxxQtBuilder::new_qml_module(QmlModule::new("Expenses").qml_files(&qml))
        // Otherwise every file written inside the crate re-runs this build script.
        .crate_include_root(None)
        .build();
    // After the build, which exports the modules' types: QML the engine would refuse (an unknown
    // type or property, a failed import) fails here with its file and line.
    qmlbridge_manifest::build::check_qml(&qml);
    // See qmlbridge-qt's build.rs: every Qt binary links with rust-lld here.
    println!("cargo::rustc-link-arg=-fuse-ld=lld");
    // The identity (org `example`, name `expenses`: data in ~/.local/share/example/expenses).
    qmlbridge_manifest::build::emit("../qmlbridge.toml");
}
