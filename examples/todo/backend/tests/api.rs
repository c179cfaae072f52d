//! `/api/todos` and `/healthz` through the router (`tower::ServiceExt::oneshot`) on an in-memory
//! database: every endpoint's success and error paths, bearer auth, the `Host` guard, and the
//! live updates (`API.md`; the resource convention of `docs/contract.md` §7).

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode, header};
use qmlbridge_backend::{LiveUpdate, TestBackend};
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "api-test-token";
const HOST: &str = "127.0.0.1:8765";

struct App {
    router: Router,
    backend: TestBackend,
}

fn setup_with(caddyfile: &str) -> App {
    let backend = todo_backend::backend()
        .test(Some(caddyfile), TOKEN)
        .unwrap();
    App {
        router: backend.router(),
        backend,
    }
}

fn setup() -> App {
    setup_with("127.0.0.1:8765 {\n\trequest_body {\n\t\tmax_size 2KiB\n\t}\n}\n")
}

/// A published change: its topics and its data as JSON.
fn change(update: &LiveUpdate) -> (Vec<String>, Value) {
    let data = serde_json::from_str(&update.data).unwrap();
    (update.topics.clone(), data)
}

struct Resp {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Value,
}

impl App {
    async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    /// An authorised request with a JSON body.
    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> Resp {
        let mut req = base(method, uri).header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).unwrap()).await
    }

    /// An authorised request with raw bytes and a content type.
    async fn raw(&self, method: &str, uri: &str, ctype: &str, body: impl Into<Body>) -> Resp {
        let req = base(method, uri)
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_TYPE, ctype)
            .body(body.into())
            .unwrap();
        self.send(req).await
    }

    fn events(&self) -> Vec<LiveUpdate> {
        self.backend.published()
    }
}

fn base(method: &str, uri: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST)
}

/// The RFC 9457 shape with `status`.
fn assert_problem(resp: &Resp, status: StatusCode) {
    assert_eq!(resp.status, status, "{}", resp.body);
    let ctype = resp.headers.get(header::CONTENT_TYPE).unwrap();
    assert_eq!(ctype, "application/problem+json");
    assert_eq!(resp.body["status"], status.as_u16());
    for member in ["type", "title", "detail"] {
        assert!(resp.body[member].is_string(), "{member}: {}", resp.body);
    }
}

#[tokio::test]
async fn healthz_needs_no_token() {
    let app = setup();
    let resp = app
        .send(base("GET", "/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(
        resp.body,
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );
}

#[tokio::test]
async fn api_needs_the_bearer_token() {
    let app = setup();
    let none = app
        .send(base("GET", "/api/todos").body(Body::empty()).unwrap())
        .await;
    assert_problem(&none, StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.headers.get(header::WWW_AUTHENTICATE).unwrap(),
        "Bearer"
    );
    for wrong in [
        "Bearer nope",
        "Bearer api-test-token2",
        "Basic api-test-token",
        TOKEN,
    ] {
        let req = base("GET", "/api/todos").header(header::AUTHORIZATION, wrong);
        let resp = app.send(req.body(Body::empty()).unwrap()).await;
        assert_problem(&resp, StatusCode::UNAUTHORIZED);
    }
    // Unknown paths under /api are behind the token too: no probing without it.
    let resp = app
        .send(base("GET", "/api/secret").body(Body::empty()).unwrap())
        .await;
    assert_problem(&resp, StatusCode::UNAUTHORIZED);
    let right = app.call("GET", "/api/todos", None).await;
    assert_eq!(right.status, StatusCode::OK);
    assert_eq!(right.body, json!([]));
}

#[tokio::test]
async fn create_then_show_list_update_delete() {
    let app = setup();
    let created = app
        .call("POST", "/api/todos", Some(json!({"title": "Buy milk"})))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let todo = created.body.clone();
    let id = todo["id"].as_i64().unwrap();
    assert_eq!(
        created.headers.get(header::LOCATION).unwrap(),
        &format!("/api/todos/{id}")
    );
    assert_eq!(
        (todo["title"].as_str(), todo["done"].as_bool()),
        (Some("Buy milk"), Some(false))
    );
    let stamp = todo["created_at"].as_str().unwrap();
    assert!(
        stamp.len() == 20 && stamp.ends_with('Z') && stamp.contains('T'),
        "{stamp}"
    );

    let shown = app.call("GET", &format!("/api/todos/{id}"), None).await;
    assert_eq!((shown.status, &shown.body), (StatusCode::OK, &todo));

    let patched = app
        .call(
            "PATCH",
            &format!("/api/todos/{id}"),
            Some(json!({"done": true})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["done"], true);
    assert_eq!(patched.body["title"], "Buy milk");
    let renamed = app
        .call(
            "PATCH",
            &format!("/api/todos/{id}"),
            Some(json!({"title": "Buy oat milk"})),
        )
        .await;
    assert_eq!(
        (
            renamed.body["title"].as_str(),
            renamed.body["done"].as_bool()
        ),
        (Some("Buy oat milk"), Some(true))
    );

    let list = app.call("GET", "/api/todos", None).await;
    assert_eq!(list.body, json!([renamed.body]));

    let deleted = app.call("DELETE", &format!("/api/todos/{id}"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let again = app.call("DELETE", &format!("/api/todos/{id}"), None).await;
    assert_problem(&again, StatusCode::NOT_FOUND);
    assert_problem(
        &app.call("GET", &format!("/api/todos/{id}"), None).await,
        StatusCode::NOT_FOUND,
    );
    assert_eq!(app.call("GET", "/api/todos", None).await.body, json!([]));

    // Every committed change went through the publish seam, in order; failures did not.
    let events = app.events();
    assert_eq!(events.len(), 4, "{events:?}");
    let topics = vec![format!("/api/todos/{id}"), "/api/todos".to_owned()];
    let changes: Vec<_> = events.iter().map(change).collect();
    assert!(changes.iter().all(|(t, _)| *t == topics), "{changes:?}");
    assert!(changes[0].1["id"] == id && changes[0].1["title"] == "Buy milk");
    assert_eq!(changes[1].1["done"], true);
    assert_eq!(changes[2].1["title"], "Buy oat milk");
    assert_eq!(changes[3].1, json!({"id": id, "deleted": true}));
    assert!(
        events
            .iter()
            .all(|u| !u.private && u.id.is_none() && u.event_type.is_none())
    );
}

#[tokio::test]
async fn create_accepts_done_and_validates_the_title() {
    let app = setup();
    let done = app
        .call(
            "POST",
            "/api/todos",
            Some(json!({"title": "x", "done": true})),
        )
        .await;
    assert_eq!(
        (done.status, &done.body["done"]),
        (StatusCode::CREATED, &json!(true))
    );
    let longest = "é".repeat(1000);
    let ok = app
        .call("POST", "/api/todos", Some(json!({ "title": longest })))
        .await;
    assert_eq!(
        ok.status,
        StatusCode::CREATED,
        "1000 characters (2000 bytes) are fine"
    );
    for bad in [
        json!({"title": ""}),
        json!({"title": "   "}),
        json!({"title": "a".repeat(1001)}),
        // Passes non_blank and max_chars, but NUL ends SQLite's length() in the CHECK.
        json!({"title": "\u{0} milk"}),
        json!({"done": true}),
        json!({"title": 5}),
        json!({"title": "x", "done": "yes"}),
        json!({"title": "x", "colour": "red"}),
        json!(["title"]),
    ] {
        let resp = app.call("POST", "/api/todos", Some(bad.clone())).await;
        assert_problem(&resp, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(app.events().len(), 2, "rejected creates publish nothing");
}

#[tokio::test]
async fn malformed_wrong_type_and_oversized_bodies() {
    let app = setup();
    let resp = app
        .raw("POST", "/api/todos", "application/json", "{\"title\": ")
        .await;
    assert_problem(&resp, StatusCode::BAD_REQUEST);
    let resp = app
        .raw("POST", "/api/todos", "text/plain", "{\"title\":\"x\"}")
        .await;
    assert_problem(&resp, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = format!("{{\"title\":\"{}\"}}", "a".repeat(4096));
    let resp = app.raw("POST", "/api/todos", "application/json", big).await;
    assert_problem(&resp, StatusCode::PAYLOAD_TOO_LARGE);
    let resp = app
        .raw("PATCH", "/api/todos/1", "application/json", "nope")
        .await;
    assert_problem(&resp, StatusCode::BAD_REQUEST);
    assert!(app.events().is_empty());
}

#[tokio::test]
async fn update_errors() {
    let app = setup();
    let id = app
        .call("POST", "/api/todos", Some(json!({"title": "a"})))
        .await
        .body["id"]
        .clone();
    let uri = format!("/api/todos/{id}");
    assert_problem(
        &app.call("PATCH", "/api/todos/999", Some(json!({"done": true})))
            .await,
        StatusCode::NOT_FOUND,
    );
    assert_problem(
        &app.call("PATCH", &uri, Some(json!({"title": ""}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_problem(
        &app.call("PATCH", &uri, Some(json!({"done": 1}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    let resp = app.raw("PATCH", &uri, "application/json", "{").await;
    assert_problem(&resp, StatusCode::BAD_REQUEST);
    let resp = app.raw("PATCH", &uri, "application/xml", "<a/>").await;
    assert_problem(&resp, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        app.call("GET", &uri, None).await.body["title"],
        "a",
        "unchanged"
    );
    assert_eq!(app.events().len(), 1);
}

#[tokio::test]
async fn ids_that_are_not_numbers_are_not_found() {
    let app = setup();
    for uri in [
        "/api/todos/abc",
        "/api/todos/0",
        "/api/todos/-1",
        "/api/todos/1.5",
        "/api/todos/99",
        "/api/todos/%FF",
    ] {
        assert_problem(&app.call("GET", uri, None).await, StatusCode::NOT_FOUND);
        assert_problem(&app.call("DELETE", uri, None).await, StatusCode::NOT_FOUND);
    }
    assert_problem(
        &app.call("GET", "/api/nothing-here", None).await,
        StatusCode::NOT_FOUND,
    );
    assert_problem(
        &app.call("GET", "/nothing-here", None).await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let app = setup();
    for (method, uri) in [
        ("PUT", "/api/todos"),
        ("DELETE", "/api/todos"),
        ("POST", "/api/todos/1"),
        ("POST", "/healthz"),
    ] {
        let resp = app.call(method, uri, None).await;
        assert_problem(&resp, StatusCode::METHOD_NOT_ALLOWED);
        assert!(resp.headers.contains_key(header::ALLOW), "{method} {uri}");
    }
}

#[tokio::test]
async fn list_is_ordered_and_paged() {
    let app = setup();
    for i in 0..12 {
        let resp = app
            .call(
                "POST",
                "/api/todos",
                Some(json!({"title": format!("t{i}")})),
            )
            .await;
        assert_eq!(resp.status, StatusCode::CREATED);
    }
    let titles = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_string())
            .collect()
    };
    let all = app.call("GET", "/api/todos", None).await;
    assert_eq!(
        titles(&all.body),
        (0..12).map(|i| format!("t{i}")).collect::<Vec<_>>()
    );
    let page = app.call("GET", "/api/todos?limit=3&offset=4", None).await;
    assert_eq!(titles(&page.body), ["t4", "t5", "t6"]);
    let past = app.call("GET", "/api/todos?offset=50", None).await;
    assert_eq!(past.body, json!([]));
    // The cached page follows writes.
    let first = all.body[0]["id"].clone();
    app.call(
        "PATCH",
        &format!("/api/todos/{first}"),
        Some(json!({"title": "changed"})),
    )
    .await;
    let again = app.call("GET", "/api/todos", None).await;
    assert_eq!(again.body[0]["title"], "changed");
    app.call("DELETE", &format!("/api/todos/{first}"), None)
        .await;
    assert_eq!(
        app.call("GET", "/api/todos", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        11
    );
    for bad in [
        "limit=0",
        "limit=1001",
        "offset=-1",
        "limit=abc",
        "offset=x",
    ] {
        let resp = app.call("GET", &format!("/api/todos?{bad}"), None).await;
        assert_problem(&resp, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn foreign_hosts_are_refused() {
    let app = setup();
    for host in [
        "evil.example",
        "evil.example:8765",
        "127.0.0.1:9999",
        "10.0.0.1:8765",
    ] {
        let req = Request::get("/healthz")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        assert_problem(&app.send(req).await, StatusCode::MISDIRECTED_REQUEST);
    }
    let req = Request::get("/healthz").body(Body::empty()).unwrap();
    assert_problem(&app.send(req).await, StatusCode::MISDIRECTED_REQUEST);
    for host in [
        "localhost",
        "localhost:8765",
        "127.0.0.1:8765",
        "[::1]:8765",
    ] {
        let req = Request::get("/healthz")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.send(req).await.status, StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn database_failures_are_503_and_500_without_details() {
    let app = setup_with("127.0.0.1:8765 {\n}\n");
    let db = app.backend.context().db();
    db.writer()
        .execute_batch("DROP TABLE todos; DROP TABLE qmlbridge_migrations;")
        .unwrap();
    let health = app
        .send(base("GET", "/healthz").body(Body::empty()).unwrap())
        .await;
    assert_problem(&health, StatusCode::SERVICE_UNAVAILABLE);
    let list = app.call("GET", "/api/todos", None).await;
    assert_problem(&list, StatusCode::INTERNAL_SERVER_ERROR);
    let create = app
        .call("POST", "/api/todos", Some(json!({"title": "x"})))
        .await;
    assert_problem(&create, StatusCode::INTERNAL_SERVER_ERROR);
    for resp in [&health, &list, &create] {
        let detail = resp.body["detail"].as_str().unwrap();
        assert!(
            !detail.contains("no such table") && !detail.contains("todos"),
            "{detail}"
        );
    }
}
