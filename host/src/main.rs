//! `qmlbridge`: the desktop host (Qt adapter over `qmlbridge-supervisor`).

fn main() {
    eprintln!("qmlbridge: not built yet");
    std::process::exit(1);
}
