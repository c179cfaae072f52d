//! `todo`: the todo example's desktop host. Everything is the framework's: the identity comes
//! from the build, the window from this crate's QML module `Todo`.

use std::process::ExitCode;

use qmlbridge_qt::{App, identity};

fn main() -> ExitCode {
    App::new(identity!())
        .main_qml("qrc:/qt/qml/Todo/qml/Main.qml")
        .run()
}
