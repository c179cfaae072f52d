//! Constraint violations a client causes through the resource convention are its mistake, not
//! a 500 (`docs/contract.md` §7 "Constraints"): UNIQUE and FOREIGN KEY answer 409, CHECK 422,
//! each naming the field or the named rule, in prod and dev alike, never with SQL text; nothing
//! is written. The fixture's `links` resource (`FIXTURE_LINKS`) has one of each.

mod support;

use support::{Response, Server, Workdir};

fn problem(r: &Response, status: u16, detail: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let body = r.json();
    assert_eq!(body["detail"], detail, "{}", r.body);
    for leak in [
        "constraint failed",
        "CHECK (",
        "score <>",
        "SQLITE",
        "instance",
    ] {
        assert!(!r.body.contains(leak), "{leak} leaked: {}", r.body);
    }
}

fn links(server: &Server) -> usize {
    let r = server.api("GET", "/api/links", None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().as_array().unwrap().len()
}

fn each_kind(env: &str) {
    let w = Workdir::new();
    let server = w.serve_links(env);
    let item = server.api("POST", "/api/items", Some(r#"{"title":"a"}"#));
    assert_eq!(item.status, 201, "{}", item.body);
    let item = item.json()["id"].as_i64().unwrap();
    let link = |url: &str, extra: &str| format!(r#"{{"item_id":{item},"url":"{url}"{extra}}}"#);

    let first = server.api("POST", "/api/links", Some(&link("https://a", "")));
    assert_eq!(first.status, 201, "{}", first.body);
    let id = first.json()["id"].as_i64().unwrap();

    // UNIQUE, on create and on update.
    let r = server.api("POST", "/api/links", Some(&link("https://a", "")));
    problem(
        &r,
        409,
        "url must be unique: another links row has the same value",
    );
    let second = server.api("POST", "/api/links", Some(&link("https://b", "")));
    let second = second.json()["id"].as_i64().unwrap();
    let r = server.api(
        "PATCH",
        &format!("/api/links/{second}"),
        Some(r#"{"url":"https://a"}"#),
    );
    problem(
        &r,
        409,
        "url must be unique: another links row has the same value",
    );

    // FOREIGN KEY: enforced (foreign_keys=ON on every connection), the column found.
    let r = server.api(
        "POST",
        "/api/links",
        Some(r#"{"item_id":999,"url":"https://c"}"#),
    );
    problem(&r, 409, "item_id must refer to an existing row of items");
    let r = server.api(
        "PATCH",
        &format!("/api/links/{id}"),
        Some(r#"{"item_id":999}"#),
    );
    problem(&r, 409, "item_id must refer to an existing row of items");
    // ... and a row still referred to cannot go.
    let r = server.api("DELETE", &format!("/api/items/{item}"), None);
    problem(&r, 409, "this items row is still referred to by other rows");

    // CHECK: the named rule by its name, an unnamed one by the fields the write set.
    let r = server.api(
        "POST",
        "/api/links",
        Some(&link("https://d", r#","rank":-1"#)),
    );
    problem(
        &r,
        422,
        "the values break the rule `rank_not_negative` of links",
    );
    let r = server.api(
        "PATCH",
        &format!("/api/links/{id}"),
        Some(r#"{"score":13}"#),
    );
    problem(&r, 422, "score break a rule of links");

    assert_eq!(links(&server), 2, "nothing refused was written");
    let r = server.api("GET", &format!("/api/links/{id}"), None);
    assert_eq!(r.json()["url"], "https://a");
    assert_eq!(r.json()["score"], serde_json::Value::Null);
    assert_eq!(
        server
            .api("GET", &format!("/api/items/{item}"), None)
            .status,
        200
    );
    // The cause is on the log, for the developer.
    assert!(
        server.log().contains("CHECK constraint failed"),
        "{}",
        server.log()
    );
}

#[test]
fn violations_answer_409_or_422_naming_the_field_in_prod() {
    each_kind("prod");
}

#[test]
fn violations_answer_409_or_422_naming_the_field_in_dev() {
    each_kind("dev");
}
