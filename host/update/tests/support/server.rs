//! A static file server on 127.0.0.1 for release feeds, with what the updater's tests need to
//! see and to break: single range requests (`Range: bytes=a-b` and `bytes=a-`, answered 206 with
//! `Content-Range`), a count of the body bytes served, and modes that ignore ranges (200, the
//! whole file), serve a tampered image (its last byte flipped) or stall an image's body
//! after some bytes. "Image" means any file not named `*.json`, `*.minisig` or `*.zsync`.
//!
//! Shared by the tests (`tests/support`) and `examples/feed_server.rs`.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;

/// How the server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Ranges honoured, files as they are.
    Normal,
    /// Every answer is 200 with the whole file, as a server without range support answers.
    IgnoreRanges,
    /// Images are served with their last byte flipped (so a delta fetches it too).
    Tamper,
    /// An image's body stops after this many bytes and never ends.
    Stall(u64),
}

impl Mode {
    /// `normal`, `ignore-ranges`, `tamper` or `stall:<bytes>`.
    pub fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "normal" => Mode::Normal,
            "ignore-ranges" => Mode::IgnoreRanges,
            "tamper" => Mode::Tamper,
            _ => Mode::Stall(s.strip_prefix("stall:")?.parse().ok()?),
        })
    }
}

struct Shared {
    root: PathBuf,
    mode: Mutex<Mode>,
    served: AtomicU64,
    image_served: AtomicU64,
    log: bool,
}

/// A running server; it stops with the runtime it was started on.
#[derive(Clone)]
pub struct Server {
    /// `http://127.0.0.1:<port>/`.
    pub url: String,
    shared: Arc<Shared>,
}

impl Server {
    /// Serves `root` on `addr` (port 0: any free port). With `log`, one line per request on
    /// standard output.
    pub async fn start(root: &Path, addr: SocketAddr, log: bool) -> std::io::Result<Server> {
        let shared = Arc::new(Shared {
            root: root.to_owned(),
            mode: Mutex::new(Mode::Normal),
            served: AtomicU64::new(0),
            image_served: AtomicU64::new(0),
            log,
        });
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}/", listener.local_addr()?);
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Server { url, shared })
    }

    /// Changes how it answers from the next request on.
    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// Body bytes served so far, all files.
    pub fn served(&self) -> u64 {
        self.shared.served.load(Ordering::SeqCst)
    }

    /// Body bytes of images served so far.
    pub fn image_served(&self) -> u64 {
        self.shared.image_served.load(Ordering::SeqCst)
    }
}

fn is_image(path: &Path) -> bool {
    let name = path.to_string_lossy();
    ![".json", ".minisig", ".zsync"]
        .iter()
        .any(|s| name.ends_with(s))
}

async fn serve(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    let mode = *shared.mode.lock().unwrap();
    let rel = Path::new(uri.path().trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return status(StatusCode::NOT_FOUND);
    }
    let path = shared.root.join(rel);
    let Ok(meta) = std::fs::metadata(&path) else {
        return answer(&shared, &uri, "-", status(StatusCode::NOT_FOUND), 0);
    };
    if !meta.is_file() {
        return status(StatusCode::NOT_FOUND);
    }
    let len = meta.len();
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) if mode != Mode::IgnoreRanges => match parse_range(r, len) {
            Ok(r) => r,
            Err(()) => {
                let r = Response::builder()
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                    .body(Body::empty())
                    .unwrap();
                return answer(&shared, &uri, "invalid", r, 0);
            }
        },
        _ => None,
    };
    let (start, end) = range.unwrap_or((0, len));
    let mut bytes = vec![0u8; (end - start) as usize];
    let read = std::fs::File::open(&path).and_then(|mut f| {
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut bytes)
    });
    if read.is_err() {
        return status(StatusCode::INTERNAL_SERVER_ERROR);
    }
    let image = is_image(&path);
    if image && mode == Mode::Tamper && end == len {
        bytes[(len - 1 - start) as usize] ^= 0x55;
    }
    let mut builder = Response::builder()
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, end - start);
    builder = match range {
        Some(_) => builder.status(StatusCode::PARTIAL_CONTENT).header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{len}", end - 1),
        ),
        None => builder.status(StatusCode::OK),
    };
    let what = match range {
        Some(_) => format!("{start}-{}", end - 1),
        None => "whole".to_owned(),
    };
    let (body, sent) = match mode {
        Mode::Stall(after) if image && after < bytes.len() as u64 => {
            bytes.truncate(after as usize);
            let first = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes)]);
            let never = futures_util::stream::pending();
            (
                Body::from_stream(futures_util::StreamExt::chain(first, never)),
                after,
            )
        }
        _ => {
            let n = bytes.len() as u64;
            (Body::from(bytes), n)
        }
    };
    if image {
        shared.image_served.fetch_add(sent, Ordering::SeqCst);
    }
    answer(&shared, &uri, &what, builder.body(body).unwrap(), sent)
}

fn status(code: StatusCode) -> Response {
    Response::builder()
        .status(code)
        .body(Body::empty())
        .unwrap()
}

/// Counts and logs an answer.
fn answer(shared: &Shared, uri: &Uri, what: &str, r: Response, sent: u64) -> Response {
    let total = shared.served.fetch_add(sent, Ordering::SeqCst) + sent;
    if shared.log {
        println!(
            "GET {} {what}: {} {sent} bytes (served {total})",
            uri.path(),
            r.status().as_u16()
        );
    }
    r
}

/// One range `bytes=a-b` or `bytes=a-` as `(start, end)` (end exclusive); `None` for what a
/// server may ignore (several ranges, other units); `Err` when it cannot be satisfied.
fn parse_range(value: &str, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let start: u64 = a.trim().parse().map_err(|_| ())?;
    let end = match b.trim() {
        "" => len,
        b => b.parse::<u64>().map_err(|_| ())?.saturating_add(1).min(len),
    };
    if start >= end {
        return Err(());
    }
    Ok(Some((start, end)))
}
