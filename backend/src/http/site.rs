//! The layers the Caddyfile's site directives ask for: `file_server` + `root`, `encode`,
//! `header`, `log`; and the mapping of bare error responses (a 405 from the router, a 404 from
//! the file server) to problem+json.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::{self, HeaderName};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

use super::error::{ApiError, problem};
use super::guard::Guards;
use crate::config::{Config, Encoding, HeaderOp};

/// The fallback for paths no route takes (404 problem+json).
pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// Adds the file server or a 404 fallback. Files are served from under `root` and never from
/// outside it: `ServeDir` refuses `..`, and [`stays_inside`] refuses what a symlink would take
/// outside (§10). The root is resolved once, here: it must exist when `serve` starts.
pub(crate) fn static_files(router: Router, config: &Config) -> Router {
    match (&config.root, config.file_server) {
        (Some(root), true) => match root.canonicalize() {
            Ok(real) if real.is_dir() => {
                let files = ServeDir::new(&real).append_index_html_on_directories(true);
                let real = Arc::new(real);
                router
                    .fallback(move |req: Request| serve_file(Arc::clone(&real), files.clone(), req))
            }
            _ => {
                tracing::warn!(target: "qmlbridge_backend::http", root = %root.display(), "file_server root is not a directory: serving nothing");
                router.fallback(not_found)
            }
        },
        (None, true) => {
            tracing::warn!(target: "qmlbridge_backend::http", "file_server without root: serving nothing");
            router.fallback(not_found)
        }
        _ => router.fallback(not_found),
    }
}

async fn serve_file(root: Arc<PathBuf>, files: ServeDir, req: Request) -> Response {
    let Some(rel) = requested(req.uri().path()) else {
        return ApiError::NotFound.into_response();
    };
    let inside = tokio::task::spawn_blocking(move || stays_inside(&root, &rel)).await;
    if !inside.unwrap_or(false) {
        return ApiError::NotFound.into_response();
    }
    match tower::ServiceExt::oneshot(files, req).await {
        Ok(resp) => resp.into_response(),
        Err(never) => match never {},
    }
}

/// The path below the root that `ServeDir` maps a request path to (percent-decoded, `.`
/// dropped); `None` where it refuses (`..`, a root or prefix component, not UTF-8).
fn requested(uri_path: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(uri_path.trim_start_matches('/'))
        .decode_utf8()
        .ok()?;
    let mut rel = PathBuf::new();
    for component in Path::new(&*decoded).components() {
        match component {
            Component::Normal(name) => rel.push(name),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(rel)
}

/// Whether `root/rel`, and the `index.html` that `ServeDir` serves for a directory, really lie
/// under `root` (canonical) once symlinks are resolved. Cheap in the usual case: one `lstat` per
/// component below the root; the path is resolved only when one of them is a symlink. A path
/// that does not exist passes: `ServeDir` answers 404 for it.
fn stays_inside(root: &Path, rel: &Path) -> bool {
    let mut path = root.to_path_buf();
    let mut is_dir = true;
    for component in rel.components() {
        path.push(component);
        match path.symlink_metadata() {
            Ok(meta) if meta.is_symlink() => return resolves_inside(root, &root.join(rel)),
            Ok(meta) => is_dir = meta.is_dir(),
            Err(_) => return true,
        }
    }
    if is_dir {
        path.push("index.html");
        if path.symlink_metadata().is_ok_and(|m| m.is_symlink()) {
            return resolves_inside(root, &path);
        }
    }
    true
}

/// `path` resolved (with the `index.html` of a directory) lies under `root`; `false` when it
/// cannot be resolved (a dangling link, a loop).
fn resolves_inside(root: &Path, path: &Path) -> bool {
    let Ok(real) = path.canonicalize() else {
        return false;
    };
    if !real.starts_with(root) {
        return false;
    }
    let index = real.join("index.html");
    !real.is_dir() || index.symlink_metadata().is_err() || resolves_inside(root, &index)
}

/// Compression, then one front layer for everything per-request (one layer instead of five:
/// this is the hot path of every API request): the `Host` guard, the bearer token on `/api/`, the
/// bare-error mapping, `header` edits and the `log` line.
pub(crate) fn layers(router: Router, config: &Config, guards: Guards) -> Router {
    let mut router = router;
    if !config.encode.is_empty() {
        let has = |e| config.encode.contains(&e);
        let layer = CompressionLayer::new()
            .gzip(has(Encoding::Gzip))
            .zstd(has(Encoding::Zstd));
        router = router.layer(layer);
    }
    front(router, config, guards)
}

/// The front layer alone (guards, bare-error mapping, `header`, `log`), without
/// compression: for the Mercure hub, whose SSE streams are never compressed and whose idle
/// subscribers would each keep the compression body wrapper alive (~4.7 KB per subscriber).
pub(crate) fn front(router: Router, config: &Config, guards: Guards) -> Router {
    let front = Arc::new(Front {
        guards,
        ops: header_ops(&config.headers),
        access_log: config.access_log,
    });
    router.layer(middleware::from_fn_with_state(front, front_layer))
}

struct Front {
    guards: Guards,
    ops: Vec<Op>,
    access_log: bool,
}

async fn front_layer(State(front): State<Arc<Front>>, req: Request, next: Next) -> Response {
    let log = (front.access_log
        && tracing::enabled!(target: "qmlbridge_backend::access", tracing::Level::INFO))
    .then(|| {
        (
            Instant::now(),
            req.method().clone(),
            req.uri().path().to_owned(),
        )
    });
    let mut resp = match front.guards.refuse(&req) {
        None => problem_for_bare_errors(crate::deferred::scope(next.run(req)).await),
        Some(refusal) => refusal.into_response(),
    };
    apply(&front.ops, resp.headers_mut());
    if let Some((start, method, path)) = log {
        tracing::info!(
            target: "qmlbridge_backend::access",
            "{method} {path} {} {:.1}ms",
            resp.status().as_u16(),
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
    resp
}

enum Op {
    Set(HeaderName, HeaderValue),
    Add(HeaderName, HeaderValue),
    Remove(HeaderName),
}

fn header_ops(ops: &[HeaderOp]) -> Vec<Op> {
    let parse = |name: &str, value: Option<&str>| {
        let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
        let value = value.map(HeaderValue::from_str).transpose().ok()?;
        Some((name, value))
    };
    let mut out = Vec::new();
    for op in ops {
        let parsed = match op {
            HeaderOp::Set(n, v) => {
                parse(n, Some(v)).map(|(n, v)| Op::Set(n, v.unwrap_or_else(empty)))
            }
            HeaderOp::Add(n, v) => {
                parse(n, Some(v)).map(|(n, v)| Op::Add(n, v.unwrap_or_else(empty)))
            }
            HeaderOp::Remove(n) => parse(n, None).map(|(n, _)| Op::Remove(n)),
        };
        match parsed {
            Some(op) => out.push(op),
            None => {
                tracing::warn!(target: "qmlbridge_backend::http", ?op, "header: invalid name or value, skipped")
            }
        }
    }
    out
}

fn empty() -> HeaderValue {
    HeaderValue::from_static("")
}

fn apply(ops: &[Op], headers: &mut http::HeaderMap) {
    for op in ops {
        match op {
            Op::Set(n, v) => {
                headers.insert(n, v.clone());
            }
            Op::Add(n, v) => {
                headers.append(n, v.clone());
            }
            Op::Remove(n) => {
                headers.remove(n);
            }
        }
    }
}

/// A 4xx/5xx without a body type (axum's 405, `ServeDir`'s 404) becomes problem+json; the other
/// headers (`Allow`, ...) are kept.
fn problem_for_bare_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error())
        || resp.headers().contains_key(header::CONTENT_TYPE)
    {
        return resp;
    }
    let (mut parts, _) = resp.into_parts();
    let detail = match status.as_u16() {
        404 => "no such resource",
        405 => "this method is not allowed on this resource",
        _ => status.canonical_reason().unwrap_or("error"),
    };
    let fresh = problem(status, detail);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(fresh.headers().clone());
    let (_, body) = fresh.into_parts();
    Response::from_parts(parts, body).into_response()
}
