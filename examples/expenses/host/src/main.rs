//! `expenses`: the expense tracker's window (`qml/Main.qml`) and its supervised backend, on
//! `qmlbridge-qt`. The identity (org, name, id, backend binary) comes from `qmlbridge.toml` at
//! build time.

use std::process::ExitCode;

use qmlbridge_qt::{App, identity};

fn main() -> ExitCode {
    App::new(identity!())
        .main_qml("qrc:/qt/qml/Expenses/qml/Main.qml")
        .run()
}
