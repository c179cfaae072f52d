//! Shared prelude of the `hub_*` tests: the hub's router served on a real loopback socket, JWTs
//! signed with the test key, a publisher, and a small Server-Sent Events reader.
//!
//! Each test binary uses a subset of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use qmlbridge_backend::config::mercure::{JwtKey, MercureConfig};
use qmlbridge_backend::hub::Hub;
use qmlbridge_backend::secret::Secret;
use serde_json::{Value, json};

/// The key both test JWT keys use.
pub const KEY: &str = "hub-tests-secret-key-that-is-long-enough";
/// How long a test waits for something that should happen (a loaded 2-core machine is slow).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A hub configuration with HS256 publisher and subscriber keys and no anonymous access.
pub fn config() -> MercureConfig {
    let key = || {
        Some(JwtKey {
            key: Secret::new(KEY),
            alg: "HS256".into(),
        })
    };
    MercureConfig {
        publisher_jwt: key(),
        subscriber_jwt: key(),
        ..MercureConfig::default()
    }
}

/// Signs `claims` with `key` (HS256).
pub fn token_with(key: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .expect("encode JWT")
}

/// Signs `claims` with the test key (HS256).
pub fn token(claims: Value) -> String {
    token_with(KEY, claims)
}

/// A token allowed to publish on every topic.
pub fn publisher() -> String {
    token(json!({ "mercure": { "publish": ["*"] } }))
}

/// A token allowed to subscribe to the given selectors (private updates included).
pub fn subscriber(selectors: &[&str]) -> String {
    token(json!({ "mercure": { "subscribe": selectors } }))
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// The hub served on `127.0.0.1:0` by `serve`'s connection loop; the server task ends with the
/// test's runtime.
pub struct Server {
    pub addr: SocketAddr,
    pub hub: Hub,
    pub client: reqwest::Client,
}

impl Server {
    pub async fn start(config: MercureConfig) -> Self {
        let hub = Hub::new(&config).expect("hub");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let router = hub.router();
        // `serve`'s own connection loop, so streams are written to directly as in production.
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(async move {
            qmlbridge_backend::conn::serve(listener, router, stop)
                .await
                .expect("serve")
        });
        Self {
            addr,
            hub,
            client: reqwest::Client::new(),
        }
    }

    /// The hub's URL with `query` appended (already encoded).
    pub fn url(&self, query: &str) -> String {
        format!("http://{}/.well-known/mercure{query}", self.addr)
    }

    /// Publishes `form` with `token` as a bearer token.
    pub async fn publish_as(&self, token: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(""))
            .bearer_auth(token)
            .form(form)
            .send()
            .await
            .expect("publish request")
    }

    /// Publishes `form` as an allowed publisher; asserts 200 and returns the update's id.
    pub async fn publish(&self, form: &[(&str, &str)]) -> String {
        let response = self.publish_as(&publisher(), form).await;
        assert_eq!(response.status(), 200, "publish {form:?}");
        response.text().await.expect("publish body")
    }

    /// Opens a subscription with `query` (e.g. `?topic=%2Fa`); `request` adds headers.
    pub async fn subscribe_with(
        &self,
        query: &str,
        request: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> reqwest::Response {
        request(self.client.get(self.url(query)))
            .send()
            .await
            .expect("subscribe request")
    }

    /// Subscribes with a bearer token and asserts 200; the subscriber is registered once this
    /// returns (the hub registers it before answering).
    pub async fn subscribe(&self, query: &str, token: &str) -> Sse {
        let response = self.subscribe_with(query, |r| r.bearer_auth(token)).await;
        assert_eq!(response.status(), 200, "subscribe {query}");
        Sse::new(response)
    }
}

/// `?topic=a&topic=b` with every selector percent-encoded.
pub fn topics(selectors: &[&str]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for s in selectors {
        q.append_pair("topic", s);
    }
    format!("?{}", q.finish())
}

/// One server-sent event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: Option<String>,
    pub event: Option<String>,
    pub retry: Option<u64>,
    pub data: String,
}

/// A minimal `text/event-stream` reader (HTML "Server-sent events" §9.2.6 field parsing).
pub struct Sse {
    pub response: reqwest::Response,
    buf: Vec<u8>,
    /// Comment lines seen so far (without the leading `:`).
    pub comments: usize,
}

impl Sse {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buf: Vec::new(),
            comments: 0,
        }
    }

    /// The next line, `None` at the end of the stream.
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Some(String::from_utf8_lossy(&line[..pos]).into_owned());
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.buf.extend_from_slice(&chunk),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// The next event, or `None` when the stream ends first.
    pub async fn next_event(&mut self) -> Option<Event> {
        let mut event = Event::default();
        let mut data: Vec<String> = Vec::new();
        let mut fields = 0;
        loop {
            let line = self.line().await?;
            if line.is_empty() {
                if fields > 0 {
                    event.data = data.join("\n");
                    return Some(event);
                }
                continue;
            }
            if line.starts_with(':') {
                self.comments += 1;
                continue;
            }
            let (name, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
            fields += 1;
            match name {
                "id" => event.id = Some(value),
                "event" => event.event = Some(value),
                "retry" => event.retry = value.parse().ok(),
                "data" => data.push(value),
                _ => {}
            }
        }
    }

    /// The next event within [`PATIENCE`]; panics if none comes.
    pub async fn expect_event(&mut self) -> Event {
        tokio::time::timeout(PATIENCE, self.next_event())
            .await
            .expect("no event within the deadline")
            .expect("stream ended before an event")
    }

    /// Waits (up to [`PATIENCE`]) for the end of the stream; returns the events read before it.
    pub async fn expect_end(&mut self) -> Vec<Event> {
        tokio::time::timeout(PATIENCE, async {
            let mut events = Vec::new();
            while let Some(e) = self.next_event().await {
                events.push(e);
            }
            events
        })
        .await
        .expect("the stream did not end within the deadline")
    }

    /// Reads until `n` comment lines have been seen in total (within [`PATIENCE`]).
    pub async fn expect_comments(&mut self, n: usize) {
        tokio::time::timeout(PATIENCE, async {
            while self.comments < n {
                let line = self
                    .line()
                    .await
                    .expect("stream ended while waiting for a comment");
                if line.starts_with(':') {
                    self.comments += 1;
                }
            }
        })
        .await
        .expect("comments did not arrive within the deadline");
    }
}

/// Polls `condition` every 10 ms until it holds; panics after [`PATIENCE`].
pub async fn wait_until(condition: impl Fn() -> bool) {
    tokio::time::timeout(PATIENCE, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("condition not reached within the deadline");
}
