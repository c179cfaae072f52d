//! The resource convention and the app-facing API on the fixture app (`examples/fixture`), a
//! real process: two resources side by side (routes, filters, validation, their own hub
//! topics, one shared `/api` catch-all), custom routes and app state, custom live updates,
//! deferred work across SIGTERM, errors by `BRIDGE_ENV`, content negotiation, and the start-up
//! checks on resources (`docs/contract.md` §5, §7, §8).

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::json;
use support::{TOKEN, Workdir, connect, eventually, read_until, request};

/// An SSE subscription on `topic` (anonymous, or with a subscriber JWT).
fn subscribe(addr: std::net::SocketAddr, topic: &str, jwt: Option<&str>) -> std::net::TcpStream {
    let mut sse = connect(addr);
    let auth = jwt.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req =
        format!("GET /.well-known/mercure?topic={topic} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n");
    sse.write_all(req.as_bytes()).unwrap();
    let mut head = String::new();
    read_until(&mut sse, &mut head, "\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    sse
}

#[test]
fn two_resources_side_by_side_with_their_topics_and_one_catch_all() {
    let w = Workdir::new();
    let server = w.serve();
    let mut tags_stream = subscribe(server.addr, "/api/tags", None);
    let mut item_stream = subscribe(server.addr, "/api/items/{id}", None);

    let item = server.api("POST", "/api/items", Some(r#"{"title":"milk"}"#));
    assert_eq!(item.status, 201, "{}", item.body);
    assert_eq!(item.header("location"), Some("/api/items/1"));
    let tag = server.api(
        "POST",
        "/api/tags",
        Some(r#"{"label":"shop","weight":2.5}"#),
    );
    assert_eq!(tag.status, 201, "{}", tag.body);
    assert_eq!(tag.header("location"), Some("/api/tags/1"));
    assert_eq!(tag.json()["weight"], 2.5);
    // Fields in declaration order, as the derive read them.
    assert!(
        tag.body
            .starts_with(r#"{"id":1,"label":"shop","weight":2.5,"created_at":""#),
        "{}",
        tag.body
    );

    let mut seen = String::new();
    read_until(&mut tags_stream, &mut seen, r#""label":"shop""#);
    assert!(
        !seen.contains("milk"),
        "an item reached the tags topic: {seen}"
    );
    let mut seen = String::new();
    read_until(&mut item_stream, &mut seen, r#""title":"milk""#);
    assert!(
        !seen.contains("shop"),
        "a tag reached the items topic: {seen}"
    );

    // Filters, paging and unknown parameters, per resource.
    server.api(
        "POST",
        "/api/items",
        Some(r#"{"title":"bread","done":true}"#),
    );
    let done = server.api("GET", "/api/items?done=true", None).json();
    assert_eq!(done.as_array().unwrap().len(), 1, "{done}");
    assert_eq!(done[0]["title"], "bread");
    let by_label = server
        .api("GET", "/api/tags?label=shop&limit=5", None)
        .json();
    assert_eq!(by_label.as_array().unwrap().len(), 1);
    // Keyset paging: `after` the last id seen, combined with a filter and a limit.
    server.api("POST", "/api/items", Some(r#"{"title":"eggs"}"#));
    let page = server.api("GET", "/api/items?after=1&limit=1", None).json();
    assert_eq!(page.as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page[0]["title"], "bread");
    let open_after_1 = server
        .api("GET", "/api/items?after=1&done=false", None)
        .json();
    assert_eq!(open_after_1.as_array().unwrap().len(), 1, "{open_after_1}");
    assert_eq!(open_after_1[0]["title"], "eggs");
    for bad in [
        "/api/items?after=-1",
        "/api/items?after=x",
        "/api/items?colour=red",
        "/api/tags?done=true",
        "/api/items?done=maybe",
        "/api/items?limit=1&limit=2",
    ] {
        assert_eq!(server.api("GET", bad, None).status, 400, "{bad}");
    }
    // Validation from the attributes; ids; the shared catch-all.
    for (path, body) in [
        ("/api/tags", r#"{"label":"  "}"#),
        ("/api/tags", r#"{"label":"x","weight":11}"#),
        ("/api/tags", r#"{"label":"x","id":5}"#),
        (
            "/api/items",
            r#"{"title":"x","created_at":"2026-01-01T00:00:00Z"}"#,
        ),
        ("/api/items", r#"{"title":null}"#),
    ] {
        let resp = server.api("POST", path, Some(body));
        assert_eq!(resp.status, 422, "{path} {body}: {}", resp.body);
    }
    let nulled = server.api("PATCH", "/api/tags/1", Some(r#"{"weight":null}"#));
    assert_eq!(nulled.json()["weight"], serde_json::Value::Null);
    assert_eq!(server.api("GET", "/api/tags/0", None).status, 404);
    assert_eq!(server.api("GET", "/api/nothing/1", None).status, 404);
    let anonymous = request(server.addr, "GET", "/api/nothing/1", &[], b"");
    assert_eq!(anonymous.status, 401);
    assert_eq!(server.api("DELETE", "/api/tags/1", None).status, 204);
    read_until(&mut tags_stream, &mut seen, r#""deleted":true"#);
}

#[test]
fn custom_routes_state_and_custom_live_updates() {
    let w = Workdir::new();
    let server = w.serve();
    assert_eq!(
        request(server.addr, "GET", "/api/stats", &[], b"").status,
        401
    );
    server.api("POST", "/api/items", Some(r#"{"title":"a"}"#));
    server.api("POST", "/api/tags", Some(r#"{"label":"b"}"#));
    assert_eq!(
        server.api("GET", "/api/stats", None).json(),
        json!({"items": 1, "tags": 1})
    );
    // Outside /api: public, and the app's state is there.
    let hello = request(server.addr, "GET", "/hello", &[], b"");
    assert_eq!(
        (hello.status, hello.body.as_str()),
        (200, "hello from the fixture")
    );

    // A private update of the app's own type reaches a subscriber allowed the topic only.
    let key = "test-mercure-key-long-enough-0123456789";
    let claims = json!({ "mercure": { "subscribe": ["/announcements"] } });
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap();
    let mut allowed = subscribe(server.addr, "/announcements", Some(&jwt));
    let mut anonymous = subscribe(server.addr, "/announcements", None);
    anonymous
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let auth = format!("Bearer {TOKEN}");
    let sent = request(
        server.addr,
        "POST",
        "/api/announce",
        &[("Authorization", &auth)],
        b"doors open",
    );
    assert_eq!(sent.status, 200, "{}", sent.body);
    let mut seen = String::new();
    read_until(&mut allowed, &mut seen, "data: doors open");
    assert!(seen.contains("event: announce"), "{seen}");
    let mut buf = [0u8; 4096];
    let leaked = match anonymous.read(&mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).contains("doors"),
        Err(_) => false,
    };
    assert!(!leaked, "a private update reached an anonymous subscriber");
}

#[test]
fn deferred_work_runs_after_the_response_and_sigterm_waits_for_it() {
    let w = Workdir::new();
    let mut server = w.serve();
    let queued = server.api("POST", "/api/chores?note=soon&sleep_ms=200", None);
    assert_eq!((queued.status, queued.body.as_str()), (200, "queued"));
    eventually(|| {
        let notes = server.api("GET", "/api/chores", None).json();
        (notes == json!(["soon"])).then_some(())
    });
    // Pending at SIGTERM, within the grace period: done before the exit.
    server.api("POST", "/api/chores?note=at-exit&sleep_ms=1500", None);
    // Longer than the grace period: dropped, and the log says so.
    server.api("POST", "/api/chores?note=never&sleep_ms=60000", None);
    server.signal(Signal::SIGTERM);
    assert_eq!(server.wait().code(), Some(0), "{}", server.log());
    assert!(
        server.log().contains("1 deferred task(s)"),
        "{}",
        server.log()
    );
    let conn = rusqlite::Connection::open(w.db_path()).unwrap();
    let notes: Vec<String> = conn
        .prepare("SELECT note FROM chores ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(notes, ["soon", "at-exit"]);
}

#[test]
fn internal_errors_show_the_chain_in_dev_and_an_instance_id_in_prod() {
    let w = Workdir::new();
    let server = support::Server::start({
        let mut cmd = w.command(&["serve"]);
        cmd.env("BRIDGE_ENV", "dev");
        cmd
    });
    let dev = server.api("GET", "/api/fail", None);
    assert_eq!(dev.status, 500);
    assert!(
        dev.json()["detail"]
            .as_str()
            .unwrap()
            .contains("no such table: nowhere"),
        "{}",
        dev.body
    );
    drop(server);

    let server = support::Server::start({
        let mut cmd = w.command(&["serve"]);
        cmd.env("BRIDGE_ENV", "prod");
        cmd
    });
    let prod = server.api("GET", "/api/fail", None).json();
    assert_eq!(prod["status"], 500);
    let detail = prod["detail"].as_str().unwrap();
    assert!(!detail.contains("nowhere"), "{detail}");
    let instance = prod["instance"].as_str().unwrap().to_owned();
    assert!(instance.starts_with("urn:uuid:"), "{prod}");
    let log = eventually(|| {
        let log = server.log();
        log.contains(&instance).then_some(log)
    });
    assert!(
        log.contains("no such table: nowhere"),
        "the log line has the chain: {log}"
    );
    assert!(!log.contains(TOKEN), "no token in the log");
}

#[test]
fn json_only_routes_refuse_an_accept_without_json() {
    let w = Workdir::new();
    let server = w.serve();
    let auth = format!("Bearer {TOKEN}");
    for (path, accept, status) in [
        ("/api/items", "text/html", 406),
        ("/api/items", "application/xml, text/*;q=0.5", 406),
        ("/healthz", "image/png", 406),
        ("/api/items", "application/json", 200),
        ("/api/items", "text/html, */*;q=0.1", 200),
        ("/api/items", "application/problem+json", 200),
    ] {
        let headers = [("Authorization", auth.as_str()), ("Accept", accept)];
        let resp = request(server.addr, "GET", path, &headers, b"");
        assert_eq!(
            resp.status, status,
            "{path} Accept: {accept}: {}",
            resp.body
        );
        if status == 406 {
            assert_eq!(
                resp.header("content-type"),
                Some("application/problem+json")
            );
        }
    }
    let plain = request(
        server.addr,
        "GET",
        "/api/items",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(plain.status, 200);
}

#[test]
fn bad_resources_are_refused_at_start_up_with_exit_78() {
    let w = Workdir::new();
    for (variant, says) in [
        ("dup", "two resources are named \"items\""),
        ("bad-name", "\"Bad Name\" is not a lowercase URL segment"),
        ("no-table", "resource ghosts: no such table: ghosts"),
    ] {
        let mut cmd = w.command(&["serve"]);
        cmd.env("FIXTURE_RESOURCES", variant).env("PORT", "0");
        let out = support::run(cmd);
        assert_eq!(out.code(), Some(78), "{variant}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{variant}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}

#[test]
fn text_a_column_cannot_hold_is_a_422_naming_the_field_never_a_500() {
    let w = Workdir::new();
    let server = w.serve();
    // Within `non_blank` and `max_chars`, but NUL stops SQLite's length() short of the
    // migration's CHECK (length(title) BETWEEN 1 AND 1000).
    for body in [
        r#"{"title":"\u0000 milk"}"#,
        r#"{"title":"milk\u0000"}"#,
        r#"{"title":"\u001b[31mred"}"#,
        r#"{"title":"del\u007f"}"#,
        r#"{"title":"c1\u0085"}"#,
    ] {
        let resp = server.api("POST", "/api/items", Some(body));
        assert_eq!(resp.status, 422, "{body}: {}", resp.body);
        assert_eq!(
            resp.header("content-type"),
            Some("application/problem+json")
        );
        let detail = resp.json()["detail"].as_str().unwrap().to_owned();
        assert!(
            detail.contains("title must not contain control characters (U+"),
            "{detail}"
        );
    }
    // Every text field, on update too.
    let tag = server.api("POST", "/api/tags", Some(r#"{"label":"a\u0000"}"#));
    assert_eq!(tag.status, 422, "{}", tag.body);
    assert!(tag.body.contains("label must not contain"), "{}", tag.body);
    let ok = server.api("POST", "/api/items", Some(r#"{"title":"a\tb\nc\r\n"}"#));
    assert_eq!(ok.status, 201, "tab, newline and CR are text: {}", ok.body);
    assert_eq!(ok.json()["title"], "a\tb\nc\r\n");
    let patched = server.api("PATCH", "/api/items/1", Some(r#"{"title":"\u0000"}"#));
    assert_eq!(patched.status, 422, "{}", patched.body);
    let list = server.api("GET", "/api/items", None).json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["title"], "a\tb\nc\r\n");
    assert!(!server.log().contains("ERROR"), "{}", server.log());
}

#[test]
fn impossible_datetimes_are_a_422_naming_the_field() {
    let w = Workdir::new();
    let server = w.serve();
    for due in [
        "2026-02-30T10:00:00Z",
        "2025-02-29T10:00:00Z",
        "2026-04-31T10:00:00Z",
        "2026-11-31T10:00:00Z",
        "2026-12-01T10:00:00+25:00",
        "2026-12-01T10:00:00+24:00",
        "2026-12-01T10:00:00+05:60",
        "2026-12-01T24:00:00Z",
        "2026-12-01 10:00:00Z",
    ] {
        let body = json!({ "label": "x", "due": due }).to_string();
        let resp = server.api("POST", "/api/tags", Some(&body));
        assert_eq!(resp.status, 422, "{due}: {}", resp.body);
        assert!(resp.body.contains("field `due`"), "{due}: {}", resp.body);
    }
    // What clients send today still goes in, as sent.
    for due in [
        "2026-12-01T10:00:00Z",
        "2024-02-29T00:00:00Z",
        "2026-12-01T10:00:00.123+01:00",
        "2026-12-01t10:00:00z",
        "2026-12-31T23:59:60Z",
    ] {
        let body = json!({ "label": "x", "due": due }).to_string();
        let resp = server.api("POST", "/api/tags", Some(&body));
        assert_eq!(resp.status, 201, "{due}: {}", resp.body);
        assert_eq!(resp.json()["due"], due);
    }
    let patched = server.api(
        "PATCH",
        "/api/tags/1",
        Some(r#"{"due":"2026-02-29T00:00:00Z"}"#),
    );
    assert_eq!(patched.status, 422, "{}", patched.body);
}

#[test]
fn an_id_has_one_spelling_and_every_other_segment_is_a_404_problem() {
    let w = Workdir::new();
    let server = w.serve();
    assert_eq!(
        server
            .api("POST", "/api/items", Some(r#"{"title":"one"}"#))
            .status,
        201
    );
    assert_eq!(server.api("GET", "/api/items/1", None).status, 200);
    for id in [
        "01",
        "+1",
        "%31",
        "%2B1",
        "-1",
        "0",
        "00",
        "1.0",
        "1e0",
        "%201",
        "%FF",
        "%C0%80",
        "%D9%A1",
        "9223372036854775808",
        "x",
    ] {
        for method in ["GET", "PATCH", "DELETE"] {
            let body = (method == "PATCH").then_some(r#"{"title":"aliased"}"#);
            let path = format!("/api/items/{id}");
            let resp = server.api(method, &path, body);
            assert_eq!(resp.status, 404, "{method} {path}: {}", resp.body);
            assert_eq!(
                resp.header("content-type"),
                Some("application/problem+json"),
                "{method} {path}"
            );
        }
    }
    let one = server.api("GET", "/api/items/1", None).json();
    assert_eq!(one["title"], "one", "no alias wrote or deleted row 1");
}

#[test]
fn a_field_without_its_column_or_over_a_column_of_another_type_is_refused_by_serve_and_check() {
    let w = Workdir::new();
    for (variant, says) in [
        (
            "no-column",
            "resource chore-notes: table chores has no column `done` for field `done` (its columns: id, note;",
        ),
        (
            "wrong-type",
            "resource chore-notes: table chores: column `note` is declared as TEXT (TEXT affinity), \
             which does not keep the values of field `note`, a bool",
        ),
    ] {
        for args in [&["serve"][..], &["migrate", "--check"]] {
            let mut cmd = w.command(args);
            cmd.env("FIXTURE_RESOURCES", variant).env("PORT", "0");
            let out = support::run(cmd);
            assert_eq!(out.code(), Some(78), "{variant} {args:?}: {}", out.stderr);
            assert!(
                out.stderr.contains(says),
                "{variant} {args:?}: {}",
                out.stderr
            );
        }
    }
}
