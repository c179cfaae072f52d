//! `todo-backend`: `migrate`, `serve --config` and the rest of the qmlbridge contract.

fn main() -> std::process::ExitCode {
    todo_backend::backend().run()
}
