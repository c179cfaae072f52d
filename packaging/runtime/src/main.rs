//! The `runtime` binary: the start of every AppImage `qmlbridge bundle` writes (the logic is in
//! the library; this maps its result to an exit status).

fn main() {
    let code = match qmlbridge_appimage_runtime::main(std::env::args_os().collect()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("qmlbridge-runtime: error: {e}");
            127
        }
    };
    std::process::exit(code);
}
