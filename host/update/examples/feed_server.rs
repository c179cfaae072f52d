//! Serves a directory (a release feed: `latest.json`, its `.minisig`, images, `.zsync` files) on
//! 127.0.0.1 with single range requests, printing one line per request with the bytes served:
//! for end-to-end tests and benchmarks of the updater.
//!
//! ```text
//! cargo run -p qmlbridge-update --example feed_server -- DIR [--port N] [--mode MODE]
//! ```
//!
//! - `DIR`: the directory served (`GET /x` is `DIR/x`; nothing outside it).
//! - `--port N`: the port on 127.0.0.1 (default 0: any free one).
//! - `--mode MODE`: `normal` (default), `ignore-ranges` (every answer 200 with the whole file),
//!   `tamper` (images served with their last byte flipped) or `stall:BYTES` (an image's body
//!   stops after BYTES bytes and never ends). Images are the files not named `*.json`,
//!   `*.minisig` or `*.zsync`.
//!
//! Standard output: first `listening on http://127.0.0.1:PORT/` (read the port from it), then
//! per request `GET /path RANGE: STATUS N bytes (served TOTAL)` where RANGE is `a-b` (inclusive),
//! `whole` or `invalid`, N the body bytes of that answer and TOTAL the body bytes served so far.
//! It runs until killed.

#[path = "../tests/support/server.rs"]
#[allow(dead_code, unreachable_pub)]
mod server;

use std::io::Write as _;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: feed_server DIR [--port N] [--mode normal|ignore-ranges|tamper|stall:BYTES]";
    let (mut dir, mut port, mut mode) = (None, 0u16, server::Mode::Normal);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => match it.next().and_then(|p| p.parse().ok()) {
                Some(p) => port = p,
                None => return fail(usage),
            },
            "--mode" => match it.next().and_then(|m| server::Mode::parse(m)) {
                Some(m) => mode = m,
                None => return fail(usage),
            },
            d if dir.is_none() && !d.starts_with("--") => dir = Some(d.to_owned()),
            _ => return fail(usage),
        }
    }
    let Some(dir) = dir else {
        return fail(usage);
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let server = match server::Server::start(std::path::Path::new(&dir), addr, true).await {
        Ok(s) => s,
        Err(e) => return fail(&format!("feed_server: cannot listen on {addr}: {e}")),
    };
    server.set_mode(mode);
    println!("listening on {}", server.url);
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(2)
}
