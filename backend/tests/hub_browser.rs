//! A real browser's `EventSource` (Debian's `chromium`, headless) against the hub
//! (docs/contract.md §8): `onopen` fires before anything is published (headers and the first
//! comment are flushed at once), the `mercureAuthorization` cookie authorizes it, and published
//! updates arrive with their id, type and multi-line data.
//!
//! The page reports what it sees by `POST /report`; the test waits for those reports. Without
//! `chromium` on `PATH` the test prints why and passes (it is installed by
//! `scripts/install-deps.sh test`).

mod hub_support;

use std::process::Stdio;

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::{get, post};
use hub_support::{config, publisher, subscriber};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use qmlbridge_backend::hub::Hub;
use tokio::sync::mpsc;

/// The browser gets more time than `hub_support::PATIENCE`: its first start on a loaded machine is slow.
const BROWSER_PATIENCE: std::time::Duration = std::time::Duration::from_secs(90);

const PAGE: &str = r#"<!doctype html>
<html><body><p id="out">waiting</p><script>
const report = (line) => fetch('/report', { method: 'POST', body: line });
document.cookie = 'mercureAuthorization=TOKEN; path=/.well-known/mercure; SameSite=Strict';
const es = new EventSource('/.well-known/mercure?topic=' + encodeURIComponent('/api/items'));
es.onopen = () => report('open');
es.onerror = () => report('error ' + es.readyState);
es.onmessage = (e) => {
  document.getElementById('out').textContent = e.data;
  report('message|' + e.lastEventId + '|' + e.data);
};
es.addEventListener('item', (e) => report('item|' + e.lastEventId + '|' + e.data));
</script></body></html>"#;

fn find_chromium() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Kills the browser's whole process group when the test ends, however it ends.
struct Browser(tokio::process::Child);

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.0.id() {
            let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}

#[tokio::test]
async fn a_headless_chromium_event_source_receives_published_updates() {
    let Some(chromium) = find_chromium() else {
        eprintln!("SKIPPED: chromium is not installed (scripts/install-deps.sh test installs it)");
        return;
    };
    let hub = Hub::new(&config()).expect("hub");
    let (tx, mut reports) = mpsc::unbounded_channel::<String>();
    let page = PAGE.replace("TOKEN", &subscriber(&[]));
    let app = Router::new()
        .route("/", get(move || async move { Html(page) }))
        .route(
            "/report",
            post(
                |State(tx): State<mpsc::UnboundedSender<String>>, body: String| async move {
                    let _ = tx.send(body);
                },
            ),
        )
        .with_state(tx)
        .merge(hub.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let profile = tempfile::tempdir().unwrap();
    let _browser = Browser(
        tokio::process::Command::new(chromium)
            .args([
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--no-first-run",
            ])
            .args([
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--mute-audio",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("http://{addr}/"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("start chromium"),
    );

    let mut next = async || {
        tokio::time::timeout(BROWSER_PATIENCE, reports.recv())
            .await
            .expect("no report from the browser within the deadline")
            .expect("report channel closed")
    };
    // Nothing has been published: `onopen` must fire from the headers and the first comment.
    assert_eq!(next().await, "open");
    assert_eq!(hub.subscriber_count(), 1);

    let token = publisher();
    let client = reqwest::Client::new();
    let publish = async |form: &[(&str, &str)]| {
        let response = client
            .post(format!("http://{addr}/.well-known/mercure"))
            .bearer_auth(&token)
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    };
    let first = publish(&[
        ("topic", "/api/items"),
        ("data", "{\"id\":1,\n\"title\":\"Buy milk\"}"),
    ])
    .await;
    assert_eq!(
        next().await,
        format!("message|{first}|{{\"id\":1,\n\"title\":\"Buy milk\"}}")
    );
    let second = publish(&[
        ("topic", "/api/items/2"),
        ("topic", "/api/items"),
        ("type", "item"),
        ("data", "typed"),
    ])
    .await;
    assert_eq!(next().await, format!("item|{second}|typed"));
    // A private update without a matching claim never reaches the page: the next report is the
    // public update published after it.
    publish(&[
        ("topic", "/api/items"),
        ("private", "on"),
        ("data", "secret"),
    ])
    .await;
    let third = publish(&[("topic", "/api/items"), ("data", "after")]).await;
    assert_eq!(next().await, format!("message|{third}|after"));
}
