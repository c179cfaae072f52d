//! Todos (issue 4, `docs/contract.md` §8): each change the REST API reports through
//! [`Publisher`] becomes a public update on `/api/todos/{id}` and `/api/todos`.

mod hub_support;

use hub_support::{Server, config, subscriber, topics};
use qmlbridge_backend::publish::{Publisher, Todo, TodoEvent};
use serde_json::{Value, json};

fn todo(id: i64, title: &str, done: bool) -> Todo {
    Todo {
        id,
        title: title.into(),
        done,
        created_at: "2026-11-23T15:00:00Z".into(),
        updated_at: "2026-11-23T15:00:01Z".into(),
    }
}

#[tokio::test]
async fn created_updated_and_deleted_todos_are_published_on_their_topics() {
    let server = Server::start(config()).await;
    let token = subscriber(&[]);
    let mut collection = server.subscribe(&topics(&["/api/todos"]), &token).await;
    let mut item = server
        .subscribe(&topics(&["/api/todos/{id}"]), &token)
        .await;
    let mut only_two = server.subscribe(&topics(&["/api/todos/2"]), &token).await;

    let hub: &dyn Publisher = &server.hub;
    hub.publish(TodoEvent::Created(todo(1, "Buy milk", false)));
    hub.publish(TodoEvent::Updated(todo(1, "Buy milk", true)));
    hub.publish(TodoEvent::Created(todo(2, "Walk", false)));
    hub.publish(TodoEvent::Deleted { id: 1 });

    let expected = [
        serde_json::to_value(todo(1, "Buy milk", false)).unwrap(),
        serde_json::to_value(todo(1, "Buy milk", true)).unwrap(),
        serde_json::to_value(todo(2, "Walk", false)).unwrap(),
        json!({ "id": 1, "deleted": true }),
    ];
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
async fn todo_updates_are_public_and_replayable() {
    let server = Server::start(qmlbridge_backend::config::mercure::MercureConfig {
        anonymous: true,
        ..config()
    })
    .await;
    let hub: &dyn Publisher = &server.hub;
    hub.publish(TodoEvent::Created(todo(5, "a", false)));
    let response = server
        .subscribe_with(&topics(&["/api/todos"]), |r| {
            r.header("last-event-id", "earliest")
        })
        .await;
    assert_eq!(response.status(), 200);
    let mut anon = hub_support::Sse::new(response);
    let event = anon.expect_event().await;
    assert_eq!(serde_json::from_str::<Value>(&event.data).unwrap()["id"], 5);
}
