//! Resource hooks (`docs/contract.md` §7 "Hooks") in the fixture's `links` resource: a before
//! hook's refusal is a 422 naming the field with nothing written; a field it computes is stored;
//! an after hook's update reaches the hub right after the convention's own, and its deferred
//! work runs; a failing after hook rolls the write back and publishes nothing.

mod support;

use std::net::TcpStream;

use support::{Server, Workdir, eventually, read_until};

/// A subscriber to the links' collection and the hooks' own topic.
fn subscribe(server: &Server) -> (TcpStream, String) {
    support::subscribe(server.addr, "topic=/api/links&topic=/links-audit")
}

fn chores(server: &Server) -> Vec<String> {
    let r = server.api("GET", "/api/chores", None);
    serde_json::from_str(&r.body).unwrap()
}

#[test]
fn hooks_refuse_compute_publish_in_order_and_roll_back() {
    let w = Workdir::new();
    let server = w.serve_links("prod");
    let item = server.api("POST", "/api/items", Some(r#"{"title":"a"}"#));
    let item = item.json()["id"].as_i64().unwrap();
    let (mut sse, mut seen) = subscribe(&server);

    // Refused before the statement: 422 naming the field, nothing written.
    let r = server.api(
        "POST",
        "/api/links",
        Some(&format!(
            r#"{{"item_id":{item},"url":"http://plain.example/"}}"#
        )),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["detail"], "url must start with https://");
    assert_eq!(server.api("GET", "/api/links", None).body, "[]");

    // A computed field, stored; the convention's update, then the hook's.
    let r = server.api(
        "POST",
        "/api/links",
        Some(&format!(
            r#"{{"item_id":{item},"url":"https://example.org/a"}}"#
        )),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["host"], "example.org");
    let id = r.json()["id"].as_i64().unwrap();
    let stored = server.api("GET", &format!("/api/links/{id}"), None);
    assert_eq!(stored.json()["host"], "example.org");
    read_until(&mut sse, &mut seen, r#""op":"create""#);
    let own = seen
        .find("\"host\":\"example.org\"")
        .expect("the convention's update");
    let hooks = seen.find(r#""op":"create""#).unwrap();
    assert!(
        own < hooks,
        "the hook's update comes after the row's: {seen}"
    );

    // A failing after hook rolls the write back: 422, no row, no update.
    let r = server.api(
        "PATCH",
        &format!("/api/links/{id}"),
        Some(r#"{"url":"https://fail.after/x"}"#),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["detail"], "url is refused by the audit");
    let stored = server.api("GET", &format!("/api/links/{id}"), None);
    assert_eq!(stored.json()["url"], "https://example.org/a");
    let r = server.api(
        "POST",
        "/api/links",
        Some(&format!(
            r#"{{"item_id":{item},"url":"https://fail.after/"}}"#
        )),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        server
            .api("GET", "/api/links", None)
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The next write's updates follow; none for the rolled-back ones came before them.
    assert_eq!(
        server
            .api("DELETE", &format!("/api/links/{id}"), None)
            .status,
        204
    );
    read_until(&mut sse, &mut seen, r#""op":"delete""#);
    assert!(!seen.contains("fail.after"), "{seen}");
    let deleted = seen
        .find("\"deleted\":true")
        .expect("the convention's delete");
    assert!(deleted < seen.find(r#""op":"delete""#).unwrap(), "{seen}");

    // Deferred work ran once each write committed, only for those.
    eventually(|| {
        let notes = chores(&server);
        (notes == ["link 1 create", "link 1 delete"]).then_some(())
    });
}
