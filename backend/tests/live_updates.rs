//! The hub mounted in `serve`: an item change made through the REST API reaches a Mercure
//! subscriber, and SIGTERM ends the open SSE stream so the process exits 0
//! (`docs/contract.md` §5, §8).

mod support;

use std::io::Read;

use nix::sys::signal::Signal;
use support::{Workdir, read_until, subscribe};

#[test]
fn rest_changes_reach_subscribers_and_sigterm_ends_streams() {
    let w = Workdir::new(); // its Caddyfile allows anonymous subscribers
    let mut server = w.serve();
    let (mut sse, mut seen) = subscribe(server.addr, "topic=/api/items");

    let created = server.api("POST", "/api/items", Some(r#"{"title":"seen live"}"#));
    assert_eq!(created.status, 201, "{}", created.body);
    read_until(&mut sse, &mut seen, "seen live");
    let id = created.json()["id"].as_i64().unwrap();
    assert_eq!(
        server
            .api("DELETE", &format!("/api/items/{id}"), None)
            .status,
        204
    );
    read_until(&mut sse, &mut seen, "\"deleted\":true");

    server.signal(Signal::SIGTERM);
    let mut rest = Vec::new();
    sse.set_read_timeout(Some(support::PATIENCE)).unwrap();
    sse.read_to_end(&mut rest)
        .expect("the stream ends (EOF), not a timeout");
    assert_eq!(server.wait().code(), Some(0), "{}", server.log());
}
