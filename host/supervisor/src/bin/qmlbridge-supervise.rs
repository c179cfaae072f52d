//! `qmlbridge-supervise`: the supervision core as a CLI printing JSON lines.

fn main() {
    eprintln!("qmlbridge-supervise: not built yet");
    std::process::exit(1);
}
