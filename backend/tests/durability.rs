//! Data acknowledged with a 2xx survives a SIGKILL of the backend (docs/contract.md §7,
//! durability).

mod support;

use nix::sys::signal::Signal;
use support::Workdir;

#[test]
fn acknowledged_writes_survive_sigkill() {
    let w = Workdir::new();
    let mut server = w.serve();
    let mut expected = Vec::new();
    for i in 0..40 {
        let body = format!(r#"{{"title":"item {i}","done":{}}}"#, i % 2 == 0);
        let resp = server.api("POST", "/api/items", Some(&body));
        assert_eq!(resp.status, 201, "{}", resp.body);
        expected.push(resp.json());
    }
    let id = expected[3]["id"].as_i64().unwrap();
    let resp = server.api(
        "PATCH",
        &format!("/api/items/{id}"),
        Some(r#"{"title":"edited"}"#),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    expected[3] = resp.json();
    let gone = expected.remove(5)["id"].as_i64().unwrap();
    assert_eq!(
        server
            .api("DELETE", &format!("/api/items/{gone}"), None)
            .status,
        204
    );

    server.signal(Signal::SIGKILL);
    server.wait();

    // Read back through a fresh server (WAL recovery included) and check integrity directly.
    let conn = rusqlite::Connection::open(w.db_path()).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    let server = w.serve();
    let list = server.api("GET", "/api/items?limit=1000", None);
    assert_eq!(list.status, 200);
    assert_eq!(list.json(), serde_json::Value::Array(expected));
}
