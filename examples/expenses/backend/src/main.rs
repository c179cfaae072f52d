//! `expenses-backend`: `migrate`, `serve --config` and the rest of the qmlbridge contract.

fn main() -> std::process::ExitCode {
    expenses_backend::backend().run()
}
