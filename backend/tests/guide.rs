//! The code of `docs/writing-an-app.md`, compiled and tested: an expense tracker's backend
//! (categories and expenses, a summary read with SQL, a budget write that publishes and defers,
//! a settle write that announces the rows it changed, hooks on expenses) and its tests on
//! [`TestBackend`]. `the_guide_shows_this_code` checks that every Rust block of the guide is a
//! piece of this file, so an API change that breaks the guide fails here.

use qmlbridge_backend::axum::Json;
use qmlbridge_backend::axum::extract::State;
use qmlbridge_backend::axum::extract::rejection::JsonRejection;
use qmlbridge_backend::axum::routing::{get, post, put};
use qmlbridge_backend::rusqlite::{self, Connection, OptionalExtension};
use qmlbridge_backend::{
    ApiError, Backend, Context, Datetime, Hook, LiveUpdate, Resource, ResourceHooks, log,
};
use serde::{Deserialize, Serialize};

/// A category: `{"id", "name"}`.
#[derive(Resource)]
#[resource(name = "categories")]
#[allow(dead_code)] // the fields describe the resource; the framework reads its schema
pub struct Category {
    id: i64,
    #[resource(non_blank, max_chars = 100)]
    name: String,
}

/// An expense: `{"id", "category_id", "label", "cents", "paid", "created_at"}`.
#[derive(Resource)]
#[resource(name = "expenses")]
#[allow(dead_code)]
pub struct Expense {
    id: i64,
    category_id: i64,
    #[resource(non_blank, max_chars = 200)]
    label: String,
    cents: i64,
    #[resource(default, filter)]
    paid: bool,
    #[resource(created_at)]
    created_at: Datetime,
}

/// The backend: what `main` runs and the tests drive.
pub fn backend() -> Backend {
    Backend::new("expenses", env!("CARGO_PKG_VERSION"))
        .migrations(qmlbridge_backend::migrations!("tests/guide/migrations"))
        .resource::<Category>()
        .resource_with_hooks::<Expense>()
        .routes(|r| {
            r.route("/api/summary", get(get_summary))
                .route("/api/stats", get(count))
                .route("/api/budget", put(put_budget))
                .route("/api/settle", post(settle))
        })
}

/// The topic of the summary: the hooks publish on it after every expense write.
pub const SUMMARY_TOPIC: &str = "expenses/summary";

/// `GET /api/summary`: `{"total_cents", "unpaid_cents", "categories": [...]}`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub total_cents: i64,
    pub unpaid_cents: i64,
    pub categories: Vec<CategoryTotal>,
}

/// One category's share of the summary.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct CategoryTotal {
    pub category_id: i64,
    pub name: String,
    pub cents: i64,
}

/// The summary, in SQL: used by the route (on a reader) and by the hooks (in the write).
pub fn summary(conn: &Connection) -> rusqlite::Result<Summary> {
    let (total_cents, unpaid_cents) = conn.query_row(
        "SELECT coalesce(sum(cents), 0), coalesce(sum(CASE WHEN paid = 0 THEN cents END), 0)
         FROM expenses",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut stmt = conn.prepare(
        "SELECT c.id, c.name, coalesce(sum(e.cents), 0)
         FROM categories c LEFT JOIN expenses e ON e.category_id = c.id
         GROUP BY c.id ORDER BY c.id",
    )?;
    let categories = stmt
        .query_map([], |r| {
            Ok(CategoryTotal {
                category_id: r.get(0)?,
                name: r.get(1)?,
                cents: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Summary {
        total_cents,
        unpaid_cents,
        categories,
    })
}

async fn get_summary(State(ctx): State<Context>) -> Result<Json<Summary>, ApiError> {
    Ok(Json(ctx.read(summary)?))
}

/// `GET /api/stats`: how many expenses there are.
async fn count(State(ctx): State<Context>) -> Result<Json<i64>, ApiError> {
    let n = ctx.read(|conn| conn.query_row("SELECT count(*) FROM expenses", [], |r| r.get(0)))?;
    Ok(Json(n))
}

/// The topics of the budget and of its alerts.
pub const BUDGET_TOPIC: &str = "expenses/budget";
pub const ALERTS_TOPIC: &str = "expenses/alerts";

/// `PUT /api/budget`'s body and answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Budget {
    pub cents: i64,
}

/// `PUT /api/budget`: stores the budget, publishes it (event type `budget`) once committed,
/// and checks it against the expenses after the response.
async fn put_budget(
    State(ctx): State<Context>,
    body: Result<Json<Budget>, JsonRejection>,
) -> Result<Json<Budget>, ApiError> {
    let Json(budget) = body?;
    if budget.cents < 0 {
        return Err(ApiError::field("cents", "must not be negative"));
    }
    let cents = budget.cents;
    ctx.write_with(
        move |conn| {
            conn.execute(
                "INSERT INTO budget (id, cents) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET cents = excluded.cents",
                [cents],
            )
        },
        move |_| {
            let update = LiveUpdate::new(vec![BUDGET_TOPIC.to_owned()], cents.to_string());
            Some(update.event_type("budget"))
        },
    )
    .await?;
    let worker = ctx.clone();
    ctx.defer(async move { check_budget(&worker) });
    Ok(Json(budget))
}

/// After the response: warns (log and hub) when the expenses are over the budget.
fn check_budget(ctx: &Context) {
    let over = ctx.read(|conn| {
        conn.query_row(
            "SELECT (SELECT coalesce(sum(cents), 0) FROM expenses) - cents FROM budget",
            [],
            |r| r.get::<_, i64>(0),
        )
    });
    match over {
        Ok(over) if over > 0 => {
            log::warn!(over_cents = over, "the expenses are over the budget");
            let alert = LiveUpdate::new(vec![ALERTS_TOPIC.to_owned()], over.to_string());
            ctx.live().publish(alert.event_type("over-budget"));
        }
        Ok(_) => {}
        Err(e) => log::error!("checking the budget: {e:?}"),
    }
}

/// `POST /api/settle`'s body: settle one category's expenses, or (`null`) all.
#[derive(Debug, Deserialize)]
pub struct Settle {
    pub category_id: Option<i64>,
}

/// `POST /api/settle`: marks unpaid expenses paid and answers their ids. Every `RestModel` on
/// `expenses` follows (the rows are announced); the summary header is told too.
async fn settle(
    State(ctx): State<Context>,
    body: Result<Json<Settle>, JsonRejection>,
) -> Result<Json<Vec<i64>>, ApiError> {
    let Json(Settle { category_id }) = body?;
    let settled = ctx
        .write_announcing(move |conn, changes| {
            if let Some(id) = category_id {
                let sql = "SELECT EXISTS (SELECT 1 FROM categories WHERE id = ?1)";
                if !conn.query_row(sql, [id], |r| r.get::<_, bool>(0))? {
                    let refusal = ApiError::field("category_id", "must refer to a category");
                    return Err(refusal.into_sqlite());
                }
            }
            let mut stmt = conn.prepare(
                "UPDATE expenses SET paid = 1
                 WHERE paid = 0 AND (?1 IS NULL OR category_id = ?1) RETURNING id",
            )?;
            let ids = stmt
                .query_map([category_id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            changes.rows::<Expense>(ids.iter().copied());
            Ok(ids)
        })
        .await?;
    log::info!(count = settled.len(), "expenses settled");
    let now = ctx.read(summary)?;
    let data = serde_json::to_string(&now).map_err(|e| ApiError::internal("summary", e))?;
    ctx.live()
        .publish(LiveUpdate::new(vec![SUMMARY_TOPIC.to_owned()], data));
    Ok(Json(settled))
}

/// A settled expense no longer changes; every write publishes the new summary.
impl ResourceHooks for Expense {
    fn before_update(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        refuse_if_paid(hook)
    }

    fn before_delete(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        refuse_if_paid(hook)
    }

    fn after_create(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        let cents = hook.get("cents").and_then(|v| v.as_i64()).unwrap_or(0);
        if cents >= 100_000 {
            let id = hook.id();
            hook.defer(async move { log::info!(expense = id, cents, "a large expense") });
        }
        publish_summary(hook)
    }

    fn after_update(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        publish_summary(hook)
    }

    fn after_delete(hook: &mut Hook<'_>) -> Result<(), ApiError> {
        publish_summary(hook)
    }
}

fn refuse_if_paid(hook: &mut Hook<'_>) -> Result<(), ApiError> {
    let sql = "SELECT paid FROM expenses WHERE id = ?1";
    let paid: Option<bool> = hook
        .conn()
        .query_row(sql, [hook.id()], |r| r.get(0))
        .optional()
        .map_err(|e| ApiError::internal("reading the expense", e))?;
    if paid == Some(true) {
        let problem = "is set: a settled expense cannot change";
        return Err(ApiError::field("paid", problem));
    }
    Ok(())
}

fn publish_summary(hook: &mut Hook<'_>) -> Result<(), ApiError> {
    let now = summary(hook.conn()).map_err(|e| ApiError::internal("summary", e))?;
    let data = serde_json::to_string(&now).map_err(|e| ApiError::internal("summary", e))?;
    hook.publish(LiveUpdate::new(vec![SUMMARY_TOPIC.to_owned()], data));
    Ok(())
}

// ---- The tests (the guide's "Testing") ----

use qmlbridge_backend::TestBackend;
use qmlbridge_backend::axum::body::{Body, to_bytes};
use qmlbridge_backend::axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "guide-test-token";

/// An answer: status, `Content-Type` and the JSON body (`null` when empty).
struct Resp {
    status: StatusCode,
    content_type: String,
    body: Value,
}

/// One authorised request through the router, as the host's `RestClient` sends it.
async fn call(app: &TestBackend, method: &str, uri: &str, body: Option<Value>) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "127.0.0.1:8765")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let resp = app.router().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let body = match bytes.is_empty() {
        true => Value::Null,
        false => serde_json::from_slice(&bytes).unwrap(),
    };
    Resp {
        status,
        content_type,
        body,
    }
}

/// Creates a row and answers its id.
async fn create(app: &TestBackend, resource: &str, row: Value) -> i64 {
    let resp = call(app, "POST", &format!("/api/{resource}"), Some(row)).await;
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.body);
    resp.body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn expenses_are_a_resource() {
    let app = backend().test(None, TOKEN).unwrap();
    let food = create(&app, "categories", json!({"name": "Food"})).await;
    let lunch = json!({"category_id": food, "label": "Lunch", "cents": 1250});
    let lunch = call(&app, "POST", "/api/expenses", Some(lunch)).await;
    assert_eq!(lunch.status, StatusCode::CREATED, "{}", lunch.body);
    assert_eq!(lunch.body["paid"], false);

    let unpaid = call(&app, "GET", "/api/expenses?paid=false", None).await;
    assert_eq!(unpaid.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_summary_is_read_with_sql() {
    let app = backend().test(None, TOKEN).unwrap();
    let food = create(&app, "categories", json!({"name": "Food"})).await;
    let rent = create(&app, "categories", json!({"name": "Rent"})).await;
    for (category, cents) in [(food, 1250), (food, 750), (rent, 90000)] {
        let row = json!({"category_id": category, "label": "x", "cents": cents});
        create(&app, "expenses", row).await;
    }
    let resp = call(&app, "GET", "/api/summary", None).await;
    assert_eq!(resp.status, StatusCode::OK);
    let summary: Summary = serde_json::from_value(resp.body).unwrap();
    assert_eq!(summary.total_cents, 92000);
    assert_eq!(summary.categories[0].cents, 2000);
    assert_eq!(summary.categories[1].name, "Rent");

    let stats = call(&app, "GET", "/api/stats", None).await;
    assert_eq!(stats.body, 3);
}

#[tokio::test]
async fn the_budget_is_published_and_checked_after_the_response() {
    let app = backend().test(None, TOKEN).unwrap();
    let food = create(&app, "categories", json!({"name": "Food"})).await;
    let row = json!({"category_id": food, "label": "Dinner", "cents": 1250});
    create(&app, "expenses", row).await;

    let resp = call(&app, "PUT", "/api/budget", Some(json!({"cents": 1000}))).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
    let budget = app.published().pop().unwrap();
    assert_eq!(budget.topics, [BUDGET_TOPIC]);
    assert_eq!(budget.event_type.as_deref(), Some("budget"));
    assert_eq!(budget.data, "1000");

    // The check runs after the response: wait for its alert.
    let alert = wait_for(&app, ALERTS_TOPIC).await;
    assert_eq!(alert.event_type.as_deref(), Some("over-budget"));
    assert_eq!(alert.data, "250");
}

/// The first update published on `topic`, waited for (deferred work runs after the response).
async fn wait_for(app: &TestBackend, topic: &str) -> LiveUpdate {
    for _ in 0..2000 {
        if let Some(u) = app.published().into_iter().find(|u| u.topics[0] == topic) {
            return u;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("nothing published on {topic}: {:?}", app.published());
}

#[tokio::test]
async fn a_refused_budget_is_problem_json() {
    let app = backend().test(None, TOKEN).unwrap();
    for body in [json!({"cents": -1}), json!({"cents": "ten"})] {
        let resp = call(&app, "PUT", "/api/budget", Some(body)).await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(resp.content_type, "application/problem+json");
    }
    assert!(app.published().is_empty());
}

#[tokio::test]
async fn settling_announces_the_rows_it_changed() {
    let app = backend().test(None, TOKEN).unwrap();
    let food = create(&app, "categories", json!({"name": "Food"})).await;
    let rent = create(&app, "categories", json!({"name": "Rent"})).await;
    let row = |category, cents| json!({"category_id": category, "label": "x", "cents": cents});
    let lunch = create(&app, "expenses", row(food, 1250)).await;
    create(&app, "expenses", row(rent, 90000)).await;
    let before = app.published().len();

    let body = json!({"category_id": food});
    let resp = call(&app, "POST", "/api/settle", Some(body)).await;
    assert_eq!(resp.body, json!([lunch]));
    let published = app.published().split_off(before);
    let topics: Vec<&str> = published.iter().map(|u| u.topics[0].as_str()).collect();
    let row_topic = format!("/api/expenses/{lunch}");
    assert_eq!(topics, [row_topic.as_str(), SUMMARY_TOPIC]);
    let row: Value = serde_json::from_str(&published[0].data).unwrap();
    assert_eq!(row["paid"], true);

    // A refusal inside the write: 422 naming the field, nothing changed or published.
    let body = json!({"category_id": 99});
    let resp = call(&app, "POST", "/api/settle", Some(body)).await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(resp.body["detail"], "category_id must refer to a category");
    let unpaid = call(&app, "GET", "/api/expenses?paid=false", None).await;
    assert_eq!(unpaid.body.as_array().unwrap().len(), 1);
    assert_eq!(app.published().len(), before + 2);
}

#[tokio::test]
async fn hooks_publish_the_summary_and_keep_settled_expenses() {
    let app = backend().test(None, TOKEN).unwrap();
    let food = create(&app, "categories", json!({"name": "Food"})).await;
    let row = json!({"category_id": food, "label": "Lunch", "cents": 1250});
    let lunch = create(&app, "expenses", row).await;

    // The convention's update for the row, then the hook's summary.
    let published = app.published();
    let [.., own, hook] = published.as_slice() else {
        panic!("{published:?}")
    };
    assert_eq!(own.topics[0], format!("/api/expenses/{lunch}"));
    assert_eq!(hook.topics, [SUMMARY_TOPIC]);
    let summary: Summary = serde_json::from_str(&hook.data).unwrap();
    assert_eq!(summary.unpaid_cents, 1250);

    let all = json!({"category_id": null});
    call(&app, "POST", "/api/settle", Some(all)).await;
    let uri = format!("/api/expenses/{lunch}");
    let resp = call(&app, "PATCH", &uri, Some(json!({"cents": 1}))).await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        resp.body["detail"],
        "paid is set: a settled expense cannot change"
    );
    let resp = call(&app, "DELETE", &uri, None).await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(call(&app, "GET", &uri, None).await.body["cents"], 1250);
}

#[tokio::test]
async fn broken_constraints_are_the_clients_mistake() {
    let app = backend().test(None, TOKEN).unwrap();
    let food = create(&app, "categories", json!({"name": "Food"})).await;
    let expense = |category, cents| json!({"category_id": category, "label": "x", "cents": cents});

    // UNIQUE: 409 naming the field.
    let again = json!({"name": "Food"});
    let resp = call(&app, "POST", "/api/categories", Some(again)).await;
    assert_eq!(resp.status, StatusCode::CONFLICT);
    assert_eq!(resp.content_type, "application/problem+json");
    assert_eq!(
        resp.body["detail"],
        "name must be unique: another categories row has the same value"
    );
    // FOREIGN KEY: 409 naming the field.
    let resp = call(&app, "POST", "/api/expenses", Some(expense(99, 100))).await;
    assert_eq!(resp.status, StatusCode::CONFLICT);
    assert_eq!(
        resp.body["detail"],
        "category_id must refer to an existing row of categories"
    );
    // A named CHECK: 422 naming the rule.
    let resp = call(&app, "POST", "/api/expenses", Some(expense(food, 0))).await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        resp.body["detail"],
        "the values break the rule `cents_positive` of expenses"
    );
    // A row still referred to: 409.
    create(&app, "expenses", expense(food, 100)).await;
    let resp = call(&app, "DELETE", &format!("/api/categories/{food}"), None).await;
    assert_eq!(resp.status, StatusCode::CONFLICT);
}

/// Every ```rust block of the guide is a piece of this file (its lines, trimmed, in a row), and
/// every ```sql block one of the migrations: the guide's code is the code tested here. The only
/// difference allowed: the guide's `migrations!()` reads the app's `migrations/`, this file's
/// the directory beside it.
#[test]
fn the_guide_shows_this_code() {
    let guide = include_str!("../../docs/writing-an-app.md");
    let code = include_str!("guide.rs")
        .replace(r#"migrations!("tests/guide/migrations")"#, "migrations!()");
    let sql = [
        include_str!("guide/migrations/0001_create_categories.sql"),
        include_str!("guide/migrations/0002_create_expenses.sql"),
        include_str!("guide/migrations/0003_create_budget.sql"),
    ]
    .concat();
    let lines = |text: &str| -> Vec<String> { text.lines().map(|l| l.trim().to_owned()).collect() };
    let (code, sql) = (lines(&code), lines(&sql));
    let mut blocks = 0;
    for (lang, block) in fenced_blocks(guide) {
        let within = match lang.as_str() {
            "rust" => &code,
            "sql" => &sql,
            _ => continue,
        };
        blocks += 1;
        let block = lines(&block);
        assert!(
            within.windows(block.len()).any(|w| w == block.as_slice()),
            "this {lang} block of docs/writing-an-app.md is not in backend/tests/guide.rs or \
             its migrations:\n{}",
            block.join("\n")
        );
    }
    assert!(blocks >= 10, "only {blocks} Rust and SQL blocks found");
}

/// The fenced code blocks of a Markdown text: (language, text).
fn fenced_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in markdown.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(lang)) => open = Some((lang.trim().to_owned(), String::new())),
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some((_, text)), None) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}
