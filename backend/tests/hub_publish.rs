//! Publishing (Mercure spec, "Publication", "Publishers"): ids, validation, and the
//! `mercure.publish` claim checked on every topic with nothing dispatched on refusal.

mod hub_support;

use hub_support::{Server, config, publisher, subscriber, token, topics};
use serde_json::json;

#[tokio::test]
async fn a_publish_answers_200_text_plain_with_a_generated_urn_uuid() {
    let server = Server::start(config()).await;
    let mut sse = server.subscribe(&topics(&["/p"]), &subscriber(&[])).await;
    let response = server
        .publish_as(&publisher(), &[("topic", "/p"), ("data", "d")])
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let id = response.text().await.unwrap();
    let uuid = id.strip_prefix("urn:uuid:").expect("urn:uuid id");
    assert_eq!(uuid.len(), 36, "{id}");
    let event = sse.expect_event().await;
    assert_eq!(event.id.as_deref(), Some(id.as_str()));
    // A second publish gets another id.
    assert_ne!(server.publish(&[("topic", "/p")]).await, id);
}

#[tokio::test]
async fn malformed_publications_are_rejected() {
    let server = Server::start(config()).await;
    let token = publisher();
    for form in [
        vec![("id", "#1"), ("topic", "/p")],
        vec![("data", "no topic")],
        vec![("topic", "/p"), ("retry", "soon")],
        vec![("topic", "/p"), ("type", "two\nlines")],
    ] {
        let response = server.publish_as(&token, &form).await;
        assert_eq!(response.status(), 400, "{form:?}");
    }
    let response = server
        .client
        .post(server.url(""))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"topic":"/p"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn every_topic_must_match_a_publish_selector_else_403_and_nothing_dispatched() {
    let server = Server::start(config()).await;
    let mut sse = server.subscribe(&topics(&["*"]), &subscriber(&[])).await;
    let limited = token(json!({ "mercure": { "publish": ["/allowed/{id}"] } }));
    let no_claim = token(json!({ "sub": "x" }));
    let empty_claim = token(json!({ "mercure": { "publish": [] } }));

    let refused = [
        (
            &limited,
            vec![
                ("topic", "/allowed/1"),
                ("topic", "/other"),
                ("data", "mixed"),
            ],
        ),
        (&limited, vec![("topic", "/other"), ("data", "other")]),
        (
            &no_claim,
            vec![("topic", "/allowed/1"), ("data", "no claim")],
        ),
        (
            &empty_claim,
            vec![("topic", "/allowed/1"), ("data", "empty claim")],
        ),
    ];
    for (token, form) in &refused {
        assert_eq!(
            server.publish_as(token, form).await.status(),
            403,
            "{form:?}"
        );
    }
    let ok = server
        .publish_as(&limited, &[("topic", "/allowed/2"), ("data", "ok")])
        .await;
    assert_eq!(ok.status(), 200);
    // The first update the subscriber sees is the allowed one: nothing refused went out.
    assert_eq!(sse.expect_event().await.data, "ok");
}

#[tokio::test]
async fn publishing_needs_a_valid_token() {
    let server = Server::start(config()).await;
    let response = server
        .client
        .post(server.url(""))
        .form(&[("topic", "/p")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let forged = hub_support::token_with("another key", json!({ "mercure": { "publish": ["*"] } }));
    assert_eq!(
        server
            .publish_as(&forged, &[("topic", "/p")])
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn private_in_any_form_makes_an_update_private() {
    let server = Server::start(config()).await;
    let mut public_only = server.subscribe(&topics(&["*"]), &subscriber(&[])).await;
    let mut allowed = server.subscribe(&topics(&["*"]), &subscriber(&["*"])).await;
    for value in ["on", "", "false", "0"] {
        server
            .publish(&[("topic", "/p"), ("private", value), ("data", value)])
            .await;
    }
    server.publish(&[("topic", "/p"), ("data", "public")]).await;
    for value in ["on", "", "false", "0"] {
        assert_eq!(allowed.expect_event().await.data, value);
    }
    assert_eq!(allowed.expect_event().await.data, "public");
    assert_eq!(public_only.expect_event().await.data, "public");
}
