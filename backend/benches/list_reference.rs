//! A reference point for `scripts/bench-backend.sh`: bare axum on the same runtime settings
//! (2 workers), answering `GET /{*path}` (whichever resource path the script measures) with
//! fixed bytes (the real server's 100-row page, read from the file given as the first argument).
//! No auth, no database, no layers. Running wrk on both at the same moment separates the
//! backend's own cost from the machine's load.
//!
//! `list_reference BODY_FILE` binds 127.0.0.1:0 and prints `listening on http://ADDR`.

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;

fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .expect("usage: list_reference BODY_FILE");
    let body = Bytes::from(std::fs::read(path)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let page = move || {
            let body = body.clone();
            async move { ([(http::header::CONTENT_TYPE, "application/json")], body).into_response() }
        };
        let app = Router::new().route("/{*path}", get(page));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening on http://{}", listener.local_addr()?);
        axum::serve(listener, app).await
    })
}
