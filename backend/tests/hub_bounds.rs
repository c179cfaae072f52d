//! What a hostile client may ask of the hub is bounded (`docs/contract.md` §8): selectors per
//! subscribe and topics per publish (`max_topics`), their length (`max_topic_length`), a
//! template's variables; each refusal is a 400 naming the bound, and nothing is registered or
//! dispatched. Values the hub echoes (`id`, `type`) are refused unless they survive both an SSE
//! field and a `Last-Event-ID` header.

mod hub_support;

use hub_support::{Server, Sse, config, publisher, subscriber, token, topics};
use qmlbridge_backend::config::mercure::MercureConfig;
use serde_json::json;

/// A template with `n` variables.
fn template(n: usize) -> String {
    (0..n).map(|i| format!("/{{v{i}}}")).collect()
}

async fn refused(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), 400, "{what}");
    let body = response.text().await.unwrap();
    assert!(body.starts_with("Invalid "), "{what}: {body}");
}

#[tokio::test]
async fn oversized_subscriptions_are_refused_with_400() {
    let server = Server::start(config()).await;
    let token = subscriber(&[]);
    let many: Vec<String> = (0..101).map(|i| format!("/t/{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let long = format!("/{}", "x".repeat(2048));
    let complex = template(17);
    for (query, what) in [
        (topics(&many), "101 selectors"),
        (topics(&[long.as_str()]), "a 2 KiB + 1 selector"),
        (topics(&[complex.as_str()]), "a template with 17 variables"),
    ] {
        let response = server
            .subscribe_with(&query, |r| r.bearer_auth(&token))
            .await;
        refused(response, what).await;
    }
    // The same in the token's claim: refused before anything is compiled.
    let claim = hub_support::token(json!({ "mercure": { "subscribe": [complex] } }));
    let response = server
        .subscribe_with(&topics(&["/a"]), |r| r.bearer_auth(&claim))
        .await;
    refused(response, "a claimed template with 17 variables").await;
    assert_eq!(server.hub.subscriber_count(), 0, "nothing was registered");

    // At the bounds, all is well.
    let at_bound: Vec<&str> = many[..100].to_vec();
    let mut sse = server.subscribe(&topics(&at_bound), &token).await;
    let sixteen = template(16);
    let _templated = server.subscribe(&topics(&[sixteen.as_str()]), &token).await;
    server
        .publish(&[("topic", "/t/99"), ("data", "last")])
        .await;
    assert_eq!(sse.expect_event().await.data, "last");
}

#[tokio::test]
async fn oversized_publications_are_refused_with_400_and_not_dispatched() {
    let server = Server::start(config()).await;
    let mut sse = server.subscribe(&topics(&["*"]), &subscriber(&[])).await;
    let many: Vec<String> = (0..101).map(|i| format!("/t/{i}")).collect();
    let mut form: Vec<(&str, &str)> = many.iter().map(|t| ("topic", t.as_str())).collect();
    refused(server.publish_as(&publisher(), &form).await, "101 topics").await;
    let long = "x".repeat(2049);
    for (field, what) in [
        ("topic", "a long topic"),
        ("id", "a long id"),
        ("type", "a long type"),
    ] {
        let form = [("topic", "/p"), (field, long.as_str())];
        refused(server.publish_as(&publisher(), &form).await, what).await;
    }
    let complex = template(17);
    let claim = token(json!({ "mercure": { "publish": [complex] } }));
    refused(
        server.publish_as(&claim, &[("topic", "/p")]).await,
        "a claimed template with 17 variables",
    )
    .await;

    form.truncate(100);
    form.push(("data", "at the bound"));
    server.publish(&form).await;
    let event = sse.expect_event().await;
    assert_eq!(event.data, "at the bound", "nothing refused was dispatched");
}

#[tokio::test]
async fn the_bounds_are_configurable() {
    let server = Server::start(MercureConfig {
        max_topics: 2,
        max_topic_length: 8,
        ..config()
    })
    .await;
    let token = subscriber(&[]);
    let response = server
        .subscribe_with(&topics(&["/a", "/b", "/c"]), |r| r.bearer_auth(&token))
        .await;
    refused(response, "3 of 2").await;
    let response = server
        .subscribe_with(&topics(&["/123456789"]), |r| r.bearer_auth(&token))
        .await;
    refused(response, "9 bytes of 8").await;
    let _ok = server.subscribe(&topics(&["/a", "/b"]), &token).await;
}

#[tokio::test]
async fn ids_and_types_a_header_or_sse_field_cannot_carry_are_refused() {
    let server = Server::start(MercureConfig {
        anonymous: true,
        ..config()
    })
    .await;
    for (field, value) in [
        ("id", "a\u{1}b"),
        ("id", "a\u{0}b"),
        ("id", "a\tb"),
        ("id", "a\u{7f}"),
        ("id", " padded"),
        ("type", "a\u{1}b"),
    ] {
        let form = [("topic", "/p"), (field, value)];
        refused(
            server.publish_as(&publisher(), &form).await,
            &format!("{field} {value:?}"),
        )
        .await;
    }
    // What is accepted comes back in the header on reconnect, unchanged.
    let id = server
        .publish(&[("topic", "/p"), ("id", "urn:x:é ok")])
        .await;
    server.publish(&[("topic", "/p"), ("data", "after")]).await;
    let response = server
        .subscribe_with(&topics(&["/p"]), |r| r.header("last-event-id", &id))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("last-event-id")
            .map(|v| v.as_bytes()),
        Some(id.as_bytes())
    );
    let mut sse = Sse::new(response);
    assert_eq!(sse.expect_event().await.data, "after");
}
