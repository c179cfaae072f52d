//! A custom write announces the rows it changed (`Context::write_announcing`): a subscriber to
//! a resource's collection gets the same updates as for the convention's own `PATCH` and
//! `DELETE` (`docs/contract.md` §8), after the commit. The fixture's `POST /api/items-done`
//! marks open items done and deletes the ones titled `obsolete`.

mod support;

use serde_json::Value;
use support::{Server, Workdir, read_until, subscribe};

/// The `data:` of each event in `seen` (one line each), and whether any had an `event:` type.
fn events(seen: &str) -> (Vec<Value>, bool) {
    let data = seen
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("{e}: {d}")))
        .collect();
    (data, seen.lines().any(|l| l.starts_with("event:")))
}

fn create(server: &Server, title: &str) -> i64 {
    let r = server.api(
        "POST",
        "/api/items",
        Some(&format!(r#"{{"title":"{title}"}}"#)),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["id"].as_i64().unwrap()
}

#[test]
fn a_custom_write_reaches_subscribers_like_patch_and_delete() {
    let w = Workdir::new();
    let server = w.serve();
    let (a, b, c, d) = (
        create(&server, "a"),
        create(&server, "b"),
        create(&server, "obsolete"),
        create(&server, "obsolete"),
    );
    let (mut sse, mut seen) = subscribe(server.addr, "topic=/api/items");
    let head = seen.len();

    // The convention's own: a PATCH of `a` and a DELETE of `c`.
    let r = server.api(
        "PATCH",
        &format!("/api/items/{a}"),
        Some(r#"{"done":true}"#),
    );
    assert_eq!(r.status, 200);
    let patched = r.json();
    assert_eq!(
        server
            .api("DELETE", &format!("/api/items/{c}"), None)
            .status,
        204
    );
    read_until(&mut sse, &mut seen, "\"deleted\":true");
    let (own, typed) = events(&seen[head..]);
    assert!(!typed);
    assert_eq!(
        own,
        [patched, serde_json::json!({"id": c, "deleted": true})]
    );

    // The custom write: `b` done, `d` deleted, announced.
    let mark = seen.len();
    let r = server.api("POST", "/api/items-done", None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!({"done": [b], "deleted": [d]}));
    read_until(
        &mut sse,
        &mut seen,
        &format!("{{\"deleted\":true,\"id\":{d}}}"),
    );
    let (announced, typed) = events(&seen[mark..]);
    assert!(
        !typed,
        "the convention's updates have no event type: {seen}"
    );
    let row_b = server.api("GET", &format!("/api/items/{b}"), None).json();
    assert_eq!(row_b["done"], true);
    assert_eq!(
        announced,
        [row_b, serde_json::json!({"id": d, "deleted": true})]
    );
    // The same keys a PATCH's update has: the whole row.
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&announced[0]), keys(&own[0]));
}
