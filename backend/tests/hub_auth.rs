//! Authorization (Mercure spec, "Authorization", "Subscribers", "Security Considerations"): where
//! a token is read, what makes it invalid, private updates, `anonymous`, `exp`, CSRF and CORS.

mod hub_support;

use hub_support::{Server, Sse, config, now, publisher, subscriber, token, token_with, topics};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use qmlbridge_backend::config::mercure::MercureConfig;
use serde_json::json;

fn cookie(token: &str) -> String {
    format!("other=1; mercureAuthorization={token}")
}

async fn status(
    server: &Server,
    query: &str,
    req: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> u16 {
    server.subscribe_with(query, req).await.status().as_u16()
}

#[tokio::test]
async fn the_header_wins_then_the_query_parameter_then_the_cookie() {
    let server = Server::start(config()).await;
    let good = subscriber(&[]);
    let bad = token_with("wrong key", json!({}));
    let q = |t: &str| format!("{}&authorization={t}", topics(&["/t"]));
    // Each source alone.
    assert_eq!(
        status(&server, &topics(&["/t"]), |r| r.bearer_auth(&good)).await,
        200
    );
    assert_eq!(status(&server, &q(&good), |r| r).await, 200);
    assert_eq!(
        status(&server, &topics(&["/t"]), |r| r
            .header("cookie", cookie(&good)))
        .await,
        200
    );
    // The header is used and the others ignored, whichever is valid.
    assert_eq!(
        status(&server, &q(&bad), |r| r
            .bearer_auth(&good)
            .header("cookie", cookie(&bad)))
        .await,
        200
    );
    assert_eq!(
        status(&server, &q(&good), |r| r
            .bearer_auth(&bad)
            .header("cookie", cookie(&good)))
        .await,
        401
    );
    // Without a header the query parameter is used and the cookie ignored.
    assert_eq!(
        status(&server, &q(&good), |r| r.header("cookie", cookie(&bad))).await,
        200
    );
    assert_eq!(
        status(&server, &q(&bad), |r| r.header("cookie", cookie(&good))).await,
        401
    );
}

#[tokio::test]
async fn invalid_expired_and_wrong_algorithm_tokens_get_401() {
    let server = Server::start(MercureConfig {
        anonymous: true,
        ..config()
    })
    .await;
    let claims = json!({ "mercure": { "subscribe": ["*"], "publish": ["*"] } });
    let mut expired = claims.clone();
    expired["exp"] = json!(now() - 60);
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(hub_support::KEY.as_bytes()),
    )
    .unwrap();
    // `alg: none` (the header is base64url of `{"alg":"none","typ":"JWT"}`), valid claims, no
    // signature.
    let valid = token(claims.clone());
    let payload = valid.split('.').nth(1).unwrap();
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let tokens = [
        ("garbage", "not.a.jwt".to_owned()),
        ("wrong key", token_with("wrong key", claims.clone())),
        ("expired", token(expired)),
        ("HS512", hs512),
        ("none", none),
    ];
    for (what, t) in &tokens {
        // Even with `anonymous`, a bad token is refused rather than ignored.
        assert_eq!(
            status(&server, &topics(&["/t"]), |r| r.bearer_auth(t)).await,
            401,
            "subscribe {what}"
        );
        assert_eq!(
            server.publish_as(t, &[("topic", "/t")]).await.status(),
            401,
            "publish {what}"
        );
    }
    let basic = status(&server, &topics(&["/t"]), |r| {
        r.header("authorization", "Basic eDp5")
    })
    .await;
    assert_eq!(basic, 401);
}

#[tokio::test]
async fn anonymous_subscribers_only_when_configured_and_only_public_updates() {
    let closed = Server::start(config()).await;
    assert_eq!(status(&closed, &topics(&["/t"]), |r| r).await, 401);

    let server = Server::start(MercureConfig {
        anonymous: true,
        ..config()
    })
    .await;
    let response = server.subscribe_with(&topics(&["*"]), |r| r).await;
    assert_eq!(response.status(), 200);
    let mut anon = Sse::new(response);
    server
        .publish(&[("topic", "/t"), ("private", "on"), ("data", "secret")])
        .await;
    server.publish(&[("topic", "/t"), ("data", "public")]).await;
    assert_eq!(anon.expect_event().await.data, "public");
}

#[tokio::test]
async fn private_updates_reach_only_subscribers_whose_claim_matches_a_topic() {
    let server = Server::start(MercureConfig {
        anonymous: true,
        ..config()
    })
    .await;
    let mut owner = server
        .subscribe(&topics(&["/books/{id}"]), &subscriber(&["/books/1"]))
        .await;
    let mut template = server
        .subscribe(&topics(&["*"]), &subscriber(&["/books/{id}"]))
        .await;
    let mut other = server
        .subscribe(&topics(&["/books/{id}"]), &subscriber(&["/books/2"]))
        .await;
    let mut no_claim = server
        .subscribe(&topics(&["*"]), &token(json!({ "sub": "u" })))
        .await;
    let mut anon = Sse::new(server.subscribe_with(&topics(&["*"]), |r| r).await);
    // The spec's example: the claim matches an alternate topic, not the canonical one.
    let mut via_alternate = server
        .subscribe(
            &topics(&["/books/{id}"]),
            &subscriber(&["/users/foo/{?topic}"]),
        )
        .await;

    server
        .publish(&[("topic", "/books/1"), ("private", "on"), ("data", "p1")])
        .await;
    let alternate = "/users/foo/?topic=%2Fbooks%2F3";
    server
        .publish(&[
            ("topic", "/books/3"),
            ("topic", alternate),
            ("private", "on"),
            ("data", "p3"),
        ])
        .await;
    server
        .publish(&[("topic", "/books/9"), ("data", "public")])
        .await;

    assert_eq!(owner.expect_event().await.data, "p1");
    assert_eq!(owner.expect_event().await.data, "public");
    assert_eq!(template.expect_event().await.data, "p1");
    assert_eq!(template.expect_event().await.data, "p3");
    assert_eq!(template.expect_event().await.data, "public");
    assert_eq!(via_alternate.expect_event().await.data, "p3");
    assert_eq!(via_alternate.expect_event().await.data, "public");
    for sse in [&mut other, &mut no_claim, &mut anon] {
        assert_eq!(sse.expect_event().await.data, "public");
    }
}

#[tokio::test]
async fn the_stream_closes_when_the_token_expires() {
    let server = Server::start(config()).await;
    let t = token(json!({ "exp": now() + 2, "mercure": { "subscribe": ["*"] } }));
    let mut sse = server.subscribe(&topics(&["/t"]), &t).await;
    server.publish(&[("topic", "/t"), ("data", "before")]).await;
    assert_eq!(sse.expect_event().await.data, "before");
    // The stream ends on its own (waited for, up to the shared deadline).
    sse.expect_end().await;
    assert_eq!(server.hub.subscriber_count(), 0);
}

#[tokio::test]
async fn cookie_publishes_need_an_allowed_origin() {
    let cfg = MercureConfig {
        publish_origins: vec!["http://127.0.0.1:8765".into()],
        ..config()
    };
    let server = Server::start(cfg).await;
    let mut sse = server.subscribe(&topics(&["*"]), &subscriber(&[])).await;
    let post = |origin: Option<(&'static str, &'static str)>, data: &'static str| {
        let mut r = server
            .client
            .post(server.url(""))
            .header("cookie", cookie(&publisher()))
            .form(&[("topic", "/t"), ("data", data)]);
        if let Some((name, value)) = origin {
            r = r.header(name, value);
        }
        r.send()
    };
    assert_eq!(post(None, "no origin").await.unwrap().status(), 403);
    assert_eq!(
        post(Some(("origin", "http://evil.example")), "evil")
            .await
            .unwrap()
            .status(),
        403
    );
    let referer = Some(("referer", "http://evil.example/page"));
    assert_eq!(post(referer, "evil referer").await.unwrap().status(), 403);
    let ok = post(Some(("origin", "http://127.0.0.1:8765")), "ok")
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(sse.expect_event().await.data, "ok");
    // A bearer publish needs no origin at all.
    assert_eq!(
        server
            .publish_as(&publisher(), &[("topic", "/t")])
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn cors_answers_only_the_configured_origins() {
    let cfg = MercureConfig {
        cors_origins: vec!["http://localhost:8765".into()],
        ..config()
    };
    let server = Server::start(cfg).await;
    let preflight = |origin: &'static str| {
        server
            .client
            .request(reqwest::Method::OPTIONS, server.url(""))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "last-event-id")
            .send()
    };
    let ok = preflight("http://localhost:8765").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "http://localhost:8765"
    );
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let evil = preflight("http://evil.example").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());

    let token = subscriber(&[]);
    let response = server
        .subscribe_with(&topics(&["/t"]), |r| {
            r.bearer_auth(&token)
                .header("origin", "http://localhost:8765")
        })
        .await;
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:8765"
    );
    assert_eq!(
        response.headers()["access-control-allow-credentials"],
        "true"
    );
    assert_eq!(
        response.headers()["access-control-expose-headers"],
        "last-event-id"
    );
    assert!(
        ok.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("last-event-id")
    );

    // A request without `Origin` (the desktop client) gets no CORS headers, nor does a publish
    // from an unlisted origin.
    let plain = server
        .subscribe_with(&topics(&["/t"]), |r| r.bearer_auth(&token))
        .await;
    assert_eq!(plain.status(), 200);
    assert!(
        !plain
            .headers()
            .keys()
            .any(|k| k.as_str().starts_with("access-control-") || k == "vary"),
        "{:?}",
        plain.headers()
    );
    let evil_publish = server
        .client
        .post(server.url(""))
        .bearer_auth(publisher())
        .header("origin", "http://evil.example")
        .form(&[("topic", "/t")])
        .send()
        .await
        .unwrap();
    assert!(
        evil_publish
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
