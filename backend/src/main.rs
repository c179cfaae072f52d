//! `qmlbridge-backend`: thin main (arguments, tracing, exit code).

fn main() {
    eprintln!("qmlbridge-backend: not built yet");
    std::process::exit(1);
}
