//! Settings of the `mercure { ... }` directive: what the hub (`crate::hub`) is built from.

use std::time::Duration;

use crate::secret::Secret;

/// A JWT verification key and its algorithm (`publisher_jwt KEY [ALG]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtKey {
    pub key: Secret,
    /// `HS256` unless the Caddyfile names another; only HMAC algorithms are supported.
    pub alg: String,
}

/// Everything the `mercure` block configures. Defaults follow the Mercure.rocks hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MercureConfig {
    pub publisher_jwt: Option<JwtKey>,
    pub subscriber_jwt: Option<JwtKey>,
    /// `anonymous`: subscribers without a JWT may connect (public updates only).
    pub anonymous: bool,
    /// `subscriptions`: dispatch subscription events (spec: Active Subscriptions).
    pub subscriptions: bool,
    /// `cors_origins ...`; `*` allows any origin.
    pub cors_origins: Vec<String>,
    /// `publish_origins ...`; checked for cookie-authenticated publishes.
    pub publish_origins: Vec<String>,
    /// `heartbeat DUR` (default 40 s; `0s` disables).
    pub heartbeat: Duration,
    /// `write_timeout DUR` (default 600 s; `0s` disables): a stream is closed after this long.
    pub write_timeout: Option<Duration>,
    /// `history_size N`: how many past updates are kept for `Last-Event-ID` replay (default 1000).
    pub history_size: usize,
    /// `subscriber_queue N`: per-subscriber queue bound; a subscriber that falls further behind
    /// is disconnected (default 1000).
    pub subscriber_queue: usize,
    /// `history_max_bytes SIZE`: the history's bound in bytes as well (default 16 MiB); the
    /// oldest updates go first.
    pub history_max_bytes: usize,
    /// `max_topics N`: topics (selectors) per subscribe and topics per publish (default 100);
    /// more is a 400.
    pub max_topics: usize,
    /// `max_topic_length SIZE`: bytes per topic, selector, update `id` and `type` (default
    /// 2 KiB); longer is a 400.
    pub max_topic_length: usize,
}

impl Default for MercureConfig {
    fn default() -> Self {
        Self {
            publisher_jwt: None,
            subscriber_jwt: None,
            anonymous: false,
            subscriptions: false,
            cors_origins: Vec::new(),
            publish_origins: Vec::new(),
            heartbeat: Duration::from_secs(40),
            write_timeout: Some(Duration::from_secs(600)),
            history_size: 1000,
            subscriber_queue: 1000,
            history_max_bytes: 16 << 20,
            max_topics: 100,
            max_topic_length: 2 << 10,
        }
    }
}
