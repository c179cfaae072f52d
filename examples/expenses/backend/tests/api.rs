//! The expenses API through the router (`tower::ServiceExt::oneshot`) on an in-memory database,
//! as `TestBackend` serves it: the seeded categories, the summary's SQL, `POST /api/settle`
//! announcing every row it changed, the hooks (a refused amount, the totals' topic), the
//! foreign key's and the unique name's answers, and the settlement the deferred task writes.

use std::time::Duration;

use qmlbridge_backend::axum::Router;
use qmlbridge_backend::axum::body::Body;
use qmlbridge_backend::axum::http::{Request, StatusCode, header};
use qmlbridge_backend::{LiveUpdate, TestBackend};
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "api-test-token";
const HOST: &str = "127.0.0.1:8765";
/// How long a test waits for the deferred task's write (it takes milliseconds).
const PATIENCE: Duration = Duration::from_secs(20);

struct App {
    router: Router,
    backend: TestBackend,
}

fn setup() -> App {
    let backend = expenses_backend::backend().test(None, TOKEN).unwrap();
    App {
        router: backend.router(),
        backend,
    }
}

struct Resp {
    status: StatusCode,
    body: Value,
}

impl App {
    /// An authorised request with an optional JSON body.
    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> Resp {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, HOST)
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = qmlbridge_backend::axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Resp { status, body }
    }

    /// The id of the seeded category `name`.
    async fn category(&self, name: &str) -> i64 {
        let list = self.call("GET", "/api/categories", None).await.body;
        let found = list.as_array().unwrap().iter().find(|c| c["name"] == name);
        found.unwrap_or_else(|| panic!("no {name} in {list}"))["id"]
            .as_i64()
            .unwrap()
    }

    /// Creates an expense; its JSON.
    async fn expense(&self, category: i64, label: &str, cents: i64) -> Value {
        let body = json!({ "category_id": category, "label": label, "amount_cents": cents });
        let resp = self.call("POST", "/api/expenses", Some(body)).await;
        assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.body);
        resp.body
    }

    async fn summary(&self) -> Value {
        let resp = self.call("GET", "/api/summary", None).await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
        resp.body
    }

    /// The updates published so far on `topic`, their data as JSON.
    fn published_on(&self, topic: &str) -> Vec<Value> {
        self.backend
            .published()
            .iter()
            .filter(|u| u.topics.iter().any(|t| t == topic))
            .map(|u| serde_json::from_str(&u.data).unwrap())
            .collect()
    }

    fn events(&self) -> Vec<LiveUpdate> {
        self.backend.published()
    }
}

/// The status and `detail` of a problem+json answer.
fn problem(resp: &Resp) -> (StatusCode, &str) {
    (resp.status, resp.body["detail"].as_str().unwrap_or(""))
}

#[tokio::test]
async fn the_api_needs_the_bearer_token() {
    let app = setup();
    for uri in ["/api/summary", "/api/expenses", "/api/categories"] {
        let req = Request::get(uri).header(header::HOST, HOST);
        let resp = app
            .router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{uri}");
    }
}

#[tokio::test]
async fn the_first_migration_seeds_three_categories() {
    let app = setup();
    let list = app.call("GET", "/api/categories", None).await.body;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Food", "Transport", "Home"]);
}

#[tokio::test]
async fn an_expense_defaults_to_unpaid_today_and_trims_its_label() {
    let app = setup();
    let food = app.category("Food").await;
    let created = app.expense(food, "  Bread  ", 250).await;
    assert_eq!(created["label"], "Bread", "the before hook trims");
    assert_eq!(created["paid"], false);
    assert_eq!(created["category_id"], food);
    let day = created["spent_on"].as_str().unwrap();
    assert!(
        day.len() == 10 && created["created_at"].as_str().unwrap().starts_with(day),
        "{created}"
    );
    let dated = json!({ "category_id": food, "label": "x", "amount_cents": 1,
                        "spent_on": "2026-02-30" });
    let resp = app.call("POST", "/api/expenses", Some(dated)).await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        resp.body
    );
}

#[tokio::test]
async fn the_summary_totals_per_category_and_unpaid() {
    let app = setup();
    let (food, transport) = (app.category("Food").await, app.category("Transport").await);
    let bread = app.expense(food, "Bread", 250).await;
    app.expense(food, "Cheese", 1_000).await;
    app.expense(transport, "Bus", 300).await;
    let patch = json!({ "paid": true });
    let uri = format!("/api/expenses/{}", bread["id"]);
    assert_eq!(
        app.call("PATCH", &uri, Some(patch)).await.status,
        StatusCode::OK
    );

    let summary = app.summary().await;
    assert_eq!(summary["total_cents"], 1_550);
    assert_eq!(summary["unpaid_cents"], 1_300);
    assert_eq!(summary["settlements"], 0);
    assert_eq!(summary["last_settled_at"], Value::Null);
    // By name; Home has no expenses and is listed with zeros.
    let lines: Vec<(&str, i64, i64, i64)> = summary["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let n = |k: &str| c[k].as_i64().unwrap();
            let name = c["name"].as_str().unwrap();
            (name, n("total_cents"), n("unpaid_cents"), n("expenses"))
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("Food", 1_250, 1_000, 2),
            ("Home", 0, 0, 0),
            ("Transport", 300, 300, 1)
        ]
    );
}

#[tokio::test]
async fn a_negative_or_zero_amount_is_refused_by_the_hook() {
    let app = setup();
    let food = app.category("Food").await;
    for cents in [-500, 0] {
        let body = json!({ "category_id": food, "label": "Refund", "amount_cents": cents });
        let resp = app.call("POST", "/api/expenses", Some(body)).await;
        let (status, detail) = problem(&resp);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", resp.body);
        assert!(
            detail.starts_with("amount_cents must be positive"),
            "{detail}"
        );
    }
    let kept = app.expense(food, "Bread", 250).await;
    let uri = format!("/api/expenses/{}", kept["id"]);
    let resp = app
        .call("PATCH", &uri, Some(json!({ "amount_cents": -1 })))
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.call("GET", &uri, None).await.body["amount_cents"], 250);
    // Refused writes publish nothing: only the one create's row and totals went out.
    assert_eq!(app.events().len(), 2, "{:?}", app.events());
    assert_eq!(app.summary().await["total_cents"], 250);
}

#[tokio::test]
async fn an_unknown_category_is_a_409_and_a_category_in_use_stays() {
    let app = setup();
    let body = json!({ "category_id": 999, "label": "Ghost", "amount_cents": 100 });
    let resp = app.call("POST", "/api/expenses", Some(body)).await;
    let (status, detail) = problem(&resp);
    assert_eq!(status, StatusCode::CONFLICT, "{}", resp.body);
    assert!(detail.contains("category_id"), "names the field: {detail}");
    assert_eq!(app.call("GET", "/api/expenses", None).await.body, json!([]));

    let home = app.category("Home").await;
    app.expense(home, "Lamp", 2_000).await;
    let resp = app
        .call("DELETE", &format!("/api/categories/{home}"), None)
        .await;
    assert_eq!(resp.status, StatusCode::CONFLICT, "{}", resp.body);
    assert_eq!(app.category("Home").await, home, "still there");
    // A second category of the same name: the UNIQUE column, 409 naming it.
    let resp = app
        .call("POST", "/api/categories", Some(json!({ "name": "Home" })))
        .await;
    let (status, detail) = problem(&resp);
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(detail.contains("name"), "{detail}");
}

#[tokio::test]
async fn every_change_is_announced_on_the_summary_topic() {
    let app = setup();
    let food = app.category("Food").await;
    let bread = app.expense(food, "Bread", 250).await;
    let id = bread["id"].as_i64().unwrap();
    let uri = format!("/api/expenses/{id}");
    app.call("PATCH", &uri, Some(json!({ "paid": true }))).await;
    app.call("DELETE", &uri, None).await;
    let created = app
        .call("POST", "/api/categories", Some(json!({ "name": "Books" })))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);

    let ops: Vec<(Value, Value)> = app
        .published_on(expenses_backend::SUMMARY_TOPIC)
        .into_iter()
        .map(|d| (d["resource"].clone(), d["op"].clone()))
        .collect();
    let expected = [
        ("expenses", "create"),
        ("expenses", "update"),
        ("expenses", "delete"),
        ("categories", "create"),
    ];
    assert_eq!(
        ops,
        expected.map(|(r, o)| (json!(r), json!(o))),
        "one per write, in commit order"
    );
    // Each right after the row's own update.
    let events = app.events();
    assert_eq!(events.len(), 8, "{events:?}");
    for pair in events.chunks(2) {
        assert!(pair[0].topics[0].starts_with("/api/"), "{pair:?}");
        assert_eq!(pair[1].topics, [expenses_backend::SUMMARY_TOPIC]);
    }
}

#[tokio::test]
async fn settle_marks_unpaid_paid_and_announces_every_row() {
    let app = setup();
    let (food, home) = (app.category("Food").await, app.category("Home").await);
    let bread = app.expense(food, "Bread", 250).await["id"]
        .as_i64()
        .unwrap();
    let lamp = app.expense(home, "Lamp", 2_000).await["id"]
        .as_i64()
        .unwrap();
    let cheese = app.expense(food, "Cheese", 1_000).await["id"]
        .as_i64()
        .unwrap();
    let before = app.events().len();

    // One category first.
    let resp = app
        .call("POST", &format!("/api/settle?category_id={food}"), None)
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
    assert_eq!(
        resp.body,
        json!({ "settled": [bread, cheese], "amount_cents": 1_250 })
    );
    // Each settled row's own update (what a RestModel on `expenses` applies), as stored now.
    let rows: Vec<Value> = app.events()[before..]
        .iter()
        .filter(|u| u.topics.last().is_some_and(|t| t == "/api/expenses"))
        .map(|u| serde_json::from_str(&u.data).unwrap())
        .collect();
    let announced: Vec<(i64, bool)> = rows
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["paid"].as_bool().unwrap()))
        .collect();
    assert_eq!(announced, [(bread, true), (cheese, true)]);
    let unpaid = app.call("GET", "/api/expenses?paid=false", None).await.body;
    assert_eq!(unpaid.as_array().unwrap().len(), 1);
    assert_eq!(unpaid[0]["id"], lamp);

    // Then the rest; nothing left to settle afterwards is a 200 with nothing settled.
    let resp = app.call("POST", "/api/settle", None).await;
    assert_eq!(
        resp.body,
        json!({ "settled": [lamp], "amount_cents": 2_000 })
    );
    let resp = app.call("POST", "/api/settle", None).await;
    assert_eq!(resp.body, json!({ "settled": [], "amount_cents": 0 }));
    let summary = app.summary().await;
    assert_eq!(
        (&summary["total_cents"], &summary["unpaid_cents"]),
        (&json!(3_250), &json!(0))
    );
    let settles: Vec<Value> = app
        .published_on(expenses_backend::SUMMARY_TOPIC)
        .into_iter()
        .filter(|d| d["op"] == "settle")
        .map(|d| d["ids"].clone())
        .collect();
    assert_eq!(settles, [json!([bread, cheese]), json!([lamp])]);
}

#[tokio::test]
async fn settle_of_an_unknown_category_is_404_and_changes_nothing() {
    let app = setup();
    let food = app.category("Food").await;
    app.expense(food, "Bread", 250).await;
    let before = app.events().len();
    let resp = app.call("POST", "/api/settle?category_id=999", None).await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND, "{}", resp.body);
    assert_eq!(app.summary().await["unpaid_cents"], 250);
    assert_eq!(app.events().len(), before);
}

#[tokio::test]
async fn the_deferred_task_records_the_settlement_after_the_response() {
    let app = setup();
    let food = app.category("Food").await;
    app.expense(food, "Bread", 250).await;
    app.expense(food, "Cheese", 1_000).await;
    app.call("POST", "/api/settle", None).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let summary = loop {
        let summary = app.summary().await;
        if summary["settlements"] == 1 {
            break summary;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no settlement: {summary}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(summary["last_settled_at"].is_string(), "{summary}");
    let (count, cents): (i64, i64) = app
        .backend
        .context()
        .read(|conn| {
            conn.query_row("SELECT expenses, amount_cents FROM settlements", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .unwrap();
    assert_eq!((count, cents), (2, 1_250));
    // The task announced it too: the header shows the new count.
    let last = app.published_on(expenses_backend::SUMMARY_TOPIC);
    assert_eq!(last.last().unwrap()["resource"], "settlements");
}
