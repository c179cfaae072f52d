//! The Caddyfile's `request_body { max_size }` applies to the hub's publish endpoint as to the API
//! (`docs/contract.md` §7, §8): a larger publication is a 413.

mod support;

use jsonwebtoken::{EncodingKey, Header};
use support::{Workdir, request};

/// The publisher key of `support::CADDYFILE` (its default, as no env var is set).
const KEY: &str = "test-mercure-key-long-enough-0123456789";

fn publish(server: &support::Server, body: &[u8]) -> support::Response {
    let jwt = jsonwebtoken::encode(
        &Header::default(),
        &serde_json::json!({ "mercure": { "publish": ["*"] } }),
        &EncodingKey::from_secret(KEY.as_bytes()),
    )
    .unwrap();
    let auth = format!("Bearer {jwt}");
    request(
        server.addr,
        "POST",
        "/.well-known/mercure",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body,
    )
}

#[test]
fn publications_over_max_size_are_413() {
    let w = Workdir::new(); // max_size 4KB
    let server = w.serve();
    let small = publish(&server, b"topic=/t&data=small");
    assert_eq!(small.status, 200, "{}", small.body);
    let big = format!("topic=/t&data={}", "x".repeat(8_000));
    let response = publish(&server, big.as_bytes());
    assert_eq!(response.status, 413, "{}", response.body);
}
