//! Active Subscriptions (Mercure spec, "Subscription Events", "Subscription API"): a private
//! update on every subscribe and unsubscribe, and the JSON-LD web API.

mod hub_support;

use hub_support::{Server, config, publisher, subscriber, token, topics};
use qmlbridge_backend::config::mercure::MercureConfig;
use serde_json::{Value, json};

const SUBSCRIPTIONS: &str = "/.well-known/mercure/subscriptions{/topic}{/subscriber}";

async fn get(server: &Server, path: &str, token: &str) -> reqwest::Response {
    let url = format!("http://{}{path}", server.addr);
    server
        .client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn subscribe_and_unsubscribe_publish_private_subscription_updates() {
    let server = Server::start(MercureConfig {
        subscriptions: true,
        ..config()
    })
    .await;
    let watcher_token = subscriber(&[SUBSCRIPTIONS]);
    let mut watcher = server
        .subscribe(&topics(&[SUBSCRIPTIONS]), &watcher_token)
        .await;
    let own: Value = serde_json::from_str(&watcher.expect_event().await.data).unwrap();
    assert_eq!(own["topic"], SUBSCRIPTIONS);
    // A subscriber allowed everything else but not subscription topics sees none of them.
    let mut outsider = server
        .subscribe(&topics(&["*"]), &subscriber(&["/t"]))
        .await;
    let joined: Value = serde_json::from_str(&watcher.expect_event().await.data).unwrap();
    assert_eq!(joined["topic"], "*");

    let payload_token =
        token(json!({ "mercure": { "subscribe": [], "payload": { "user": "u1" } } }));
    let client = server
        .subscribe(&topics(&["https://example.com/{selector}"]), &payload_token)
        .await;
    let event = watcher.expect_event().await;
    let doc: Value = serde_json::from_str(&event.data).unwrap();
    let subscriber_iri = doc["subscriber"].as_str().unwrap().to_owned();
    assert!(subscriber_iri.starts_with("urn:uuid:"), "{doc}");
    let id = format!(
        "/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2F%7Bselector%7D/{}",
        subscriber_iri.replace(':', "%3A")
    );
    assert_eq!(
        doc,
        json!({
            "@context": "https://mercure.rocks/",
            "id": id,
            "type": "Subscription",
            "topic": "https://example.com/{selector}",
            "subscriber": subscriber_iri,
            "active": true,
            "payload": { "user": "u1" },
        })
    );

    // The API lists it while it is active.
    let one = get(&server, &id, &watcher_token).await;
    assert_eq!(one.status(), 200);
    assert_eq!(one.headers()["content-type"], "application/ld+json");
    let one: Value = one.json().await.unwrap();
    assert_eq!(one["active"], true);
    assert_eq!(one["payload"]["user"], "u1");
    assert!(one["lastEventID"].is_string());

    drop(client);
    let left: Value = serde_json::from_str(&watcher.expect_event().await.data).unwrap();
    assert_eq!(left["id"], id);
    assert_eq!(left["active"], false);
    assert_eq!(get(&server, &id, &watcher_token).await.status(), 404);

    server.publish(&[("topic", "/t"), ("data", "marker")]).await;
    assert_eq!(outsider.expect_event().await.data, "marker");
}

#[tokio::test]
async fn the_api_lists_subscriptions_for_authorized_clients() {
    let server = Server::start(MercureConfig {
        subscriptions: true,
        ..config()
    })
    .await;
    let api_token = subscriber(&[SUBSCRIPTIONS]);
    assert_eq!(
        get(&server, "/.well-known/mercure/subscriptions", &api_token)
            .await
            .json::<Value>()
            .await
            .unwrap()["lastEventID"],
        "earliest"
    );
    let _a = server
        .subscribe(&topics(&["/a", "/b"]), &subscriber(&[]))
        .await;
    let _b = server.subscribe(&topics(&["/a"]), &subscriber(&[])).await;
    let last = server.publish(&[("topic", "/a")]).await;

    let all = get(&server, "/.well-known/mercure/subscriptions", &api_token).await;
    assert_eq!(all.status(), 200);
    assert_eq!(all.headers()["content-type"], "application/ld+json");
    let all: Value = all.json().await.unwrap();
    assert_eq!(all["type"], "Subscriptions");
    assert_eq!(all["id"], "/.well-known/mercure/subscriptions");
    assert_eq!(all["lastEventID"], last.as_str());
    assert_eq!(all["subscriptions"].as_array().unwrap().len(), 3);

    let for_a: Value = get(
        &server,
        "/.well-known/mercure/subscriptions/%2Fa",
        &api_token,
    )
    .await
    .json()
    .await
    .unwrap();
    let subs = for_a["subscriptions"].as_array().unwrap();
    assert_eq!(subs.len(), 2);
    assert!(
        subs.iter()
            .all(|s| s["topic"] == "/a" && s["type"] == "Subscription")
    );

    let forbidden = subscriber(&["/a"]);
    assert_eq!(
        get(&server, "/.well-known/mercure/subscriptions", &forbidden)
            .await
            .status(),
        403
    );
    assert_eq!(
        get(&server, "/.well-known/mercure/subscriptions", &publisher())
            .await
            .status(),
        403
    );
    let unknown = "/.well-known/mercure/subscriptions/%2Fa/urn%3Auuid%3Anobody";
    assert_eq!(get(&server, unknown, &api_token).await.status(), 404);
}

#[tokio::test]
async fn without_the_directive_there_are_no_subscription_events_nor_api() {
    let server = Server::start(config()).await;
    let mut everything = server.subscribe(&topics(&["*"]), &subscriber(&["*"])).await;
    let _other = server.subscribe(&topics(&["/x"]), &subscriber(&[])).await;
    server.publish(&[("topic", "/x"), ("data", "first")]).await;
    assert_eq!(everything.expect_event().await.data, "first");
    let api = get(
        &server,
        "/.well-known/mercure/subscriptions",
        &subscriber(&["*"]),
    )
    .await;
    assert_eq!(api.status(), 404);
}
