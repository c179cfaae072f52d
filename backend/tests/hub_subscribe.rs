//! Subscribing (Mercure spec, "Subscription", "Topic Selectors"): the stream opens at once, topic
//! selectors route updates, every SSE field survives, heartbeats flow, shutdown ends streams.

mod hub_support;

use std::time::Duration;

use hub_support::{Event, Server, Sse, config, subscriber, topics};
use qmlbridge_backend::config::mercure::MercureConfig;

/// Collects `sse`'s events up to and including the one whose data is `end`.
async fn until_end(sse: &mut Sse) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let e = sse.expect_event().await;
        if e.data == "end" {
            return seen;
        }
        seen.push(e.data);
    }
}

#[tokio::test]
async fn the_stream_opens_with_headers_and_a_comment_before_any_update() {
    let server = Server::start(config()).await;
    let token = subscriber(&[]);
    let mut sse = server.subscribe(&topics(&["/nothing/ever"]), &token).await;
    let h = sse.response.headers();
    assert_eq!(h["content-type"], "text/event-stream");
    assert!(h["cache-control"].to_str().unwrap().contains("no-store"));
    assert!(
        h.get("last-event-id").is_none(),
        "no Last-Event-ID asked, none answered"
    );
    // Nothing is ever published: the first comment must still arrive on its own.
    sse.expect_comments(1).await;
}

#[tokio::test]
async fn selectors_match_star_exact_and_uri_templates() {
    let server = Server::start(config()).await;
    let token = subscriber(&[]);
    let mut star = server.subscribe(&topics(&["*"]), &token).await;
    let mut exact = server
        .subscribe(&topics(&["/books/1", "/end"]), &token)
        .await;
    let mut template = server
        .subscribe(&topics(&["/books/{id}", "/end"]), &token)
        .await;
    let mut query = server
        .subscribe(&topics(&["/search{?q}", "/end"]), &token)
        .await;

    for topic in [
        "/books/1",
        "/books/2",
        "/books/1/pages",
        "/authors/1",
        "/search?q=rust",
    ] {
        server.publish(&[("topic", topic), ("data", topic)]).await;
    }
    server.publish(&[("topic", "/end"), ("data", "end")]).await;

    assert_eq!(
        until_end(&mut star).await,
        [
            "/books/1",
            "/books/2",
            "/books/1/pages",
            "/authors/1",
            "/search?q=rust"
        ]
    );
    assert_eq!(until_end(&mut exact).await, ["/books/1"]);
    assert_eq!(until_end(&mut template).await, ["/books/1", "/books/2"]);
    assert_eq!(until_end(&mut query).await, ["/search?q=rust"]);
}

#[tokio::test]
async fn alternate_topics_reach_their_subscribers() {
    let server = Server::start(config()).await;
    let mut alt = server
        .subscribe(&topics(&["/alternate"]), &subscriber(&[]))
        .await;
    server
        .publish(&[
            ("topic", "/canonical"),
            ("topic", "/alternate"),
            ("data", "x"),
        ])
        .await;
    assert_eq!(alt.expect_event().await.data, "x");
}

#[tokio::test]
async fn every_sse_field_is_delivered() {
    let server = Server::start(config()).await;
    let mut sse = server.subscribe(&topics(&["/f"]), &subscriber(&[])).await;
    let form = [
        ("topic", "/f"),
        ("id", "urn:example:1"),
        ("type", "item-changed"),
        ("retry", "2500"),
        ("data", "line one\nline two\r\nline three"),
    ];
    let id = server.publish(&form).await;
    assert_eq!(id, "urn:example:1");
    let expected = Event {
        id: Some("urn:example:1".into()),
        event: Some("item-changed".into()),
        retry: Some(2500),
        data: "line one\nline two\nline three".into(),
    };
    assert_eq!(sse.expect_event().await, expected);
}

#[tokio::test]
async fn heartbeats_are_comments_at_the_configured_interval() {
    let cfg = MercureConfig {
        heartbeat: Duration::from_millis(100),
        ..config()
    };
    let server = Server::start(cfg).await;
    let mut sse = server
        .subscribe(&topics(&["/quiet"]), &subscriber(&[]))
        .await;
    // The opening comment plus at least three heartbeats, with nothing published.
    sse.expect_comments(4).await;
}

#[tokio::test]
async fn a_subscription_needs_a_topic() {
    let server = Server::start(config()).await;
    let token = subscriber(&[]);
    let response = server.subscribe_with("", |r| r.bearer_auth(&token)).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn shutdown_ends_every_stream_and_refuses_new_ones() {
    let server = Server::start(config()).await;
    let token = subscriber(&[]);
    let mut a = server.subscribe(&topics(&["*"]), &token).await;
    let mut b = server.subscribe(&topics(&["/b"]), &token).await;
    assert_eq!(server.hub.subscriber_count(), 2);
    server.hub.shutdown();
    a.expect_end().await;
    b.expect_end().await;
    let response = server
        .subscribe_with(&topics(&["*"]), |r| r.bearer_auth(&token))
        .await;
    assert_eq!(response.status(), 503);
}
