//! The live-update seam (`docs/contract.md` §8): each [`LiveUpdate`] handed to the hub through
//! [`Publisher`] (what resources and custom routes publish) becomes an update on its topics, with
//! its privacy, type and id; a resource's changes are public and replayable.

mod hub_support;

use hub_support::{Server, config, subscriber, topics};
use qmlbridge_backend::{LiveUpdate, Publisher};
use serde_json::{Value, json};

fn change(id: i64, data: Value) -> LiveUpdate {
    LiveUpdate::new(
        vec![format!("/api/items/{id}"), "/api/items".to_owned()],
        data.to_string(),
    )
}

#[tokio::test]
async fn resource_changes_are_published_on_their_topics() {
    let server = Server::start(config()).await;
    let token = subscriber(&[]);
    let mut collection = server.subscribe(&topics(&["/api/items"]), &token).await;
    let mut item = server
        .subscribe(&topics(&["/api/items/{id}"]), &token)
        .await;
    let mut only_two = server.subscribe(&topics(&["/api/items/2"]), &token).await;

    let expected = [
        json!({"id": 1, "title": "Buy milk", "done": false}),
        json!({"id": 1, "title": "Buy milk", "done": true}),
        json!({"id": 2, "title": "Walk", "done": false}),
        json!({ "id": 1, "deleted": true }),
    ];
    let hub: &dyn Publisher = &server.hub;
    for want in &expected {
        hub.publish(change(want["id"].as_i64().unwrap(), want.clone()));
    }
    for sse in [&mut collection, &mut item] {
        for want in &expected {
            let event = sse.expect_event().await;
            assert!(
                event
                    .id
                    .as_deref()
                    .is_some_and(|id| id.starts_with("urn:uuid:"))
            );
            assert_eq!(serde_json::from_str::<Value>(&event.data).unwrap(), *want);
        }
    }
    let two = only_two.expect_event().await;
    assert_eq!(
        serde_json::from_str::<Value>(&two.data).unwrap(),
        expected[2]
    );
}

#[tokio::test]
async fn public_updates_are_replayable_and_private_ones_need_the_topic() {
    let server = Server::start(qmlbridge_backend::config::mercure::MercureConfig {
        anonymous: true,
        ..config()
    })
    .await;
    let hub: &dyn Publisher = &server.hub;
    hub.publish(change(5, json!({"id": 5})));
    hub.publish(
        LiveUpdate::new(vec!["/api/items".to_owned()], "secret")
            .private()
            .event_type("announce")
            .id("my-id-1"),
    );
    let response = server
        .subscribe_with(&topics(&["/api/items"]), |r| {
            r.header("last-event-id", "earliest")
        })
        .await;
    assert_eq!(response.status(), 200);
    let mut anon = hub_support::Sse::new(response);
    let event = anon.expect_event().await;
    assert_eq!(serde_json::from_str::<Value>(&event.data).unwrap()["id"], 5);

    let token = subscriber(&["/api/items"]);
    let response = server
        .subscribe_with(&topics(&["/api/items"]), |r| {
            r.header("last-event-id", "earliest").bearer_auth(&token)
        })
        .await;
    let mut allowed = hub_support::Sse::new(response);
    allowed.expect_event().await;
    let private = allowed.expect_event().await;
    assert_eq!(
        (
            private.data.as_str(),
            private.event.as_deref(),
            private.id.as_deref()
        ),
        ("secret", Some("announce"), Some("my-id-1"))
    );
}

#[tokio::test]
async fn an_app_update_with_an_unusable_id_gets_a_generated_one() {
    let server = Server::start(qmlbridge_backend::config::mercure::MercureConfig {
        anonymous: true,
        ..config()
    })
    .await;
    let mut sse = hub_support::Sse::new(server.subscribe_with(&topics(&["/x"]), |r| r).await);
    let hub: &dyn Publisher = &server.hub;
    for bad in ["#own", "a\u{7}b", " padded", ""] {
        hub.publish(
            LiveUpdate::new(vec!["/x".to_owned()], bad)
                .id(bad)
                .event_type("t\u{0}"),
        );
        let event = sse.expect_event().await;
        let id = event.id.unwrap_or_default();
        assert!(id.starts_with("urn:uuid:"), "{bad:?} -> {id:?}");
        assert_eq!(event.event, None, "an unusable type is dropped");
        assert_eq!(event.data, bad);
    }
}
