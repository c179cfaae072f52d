//! The Mercure hub (`docs/contract.md` §8): `/.well-known/mercure`, conformant to the Mercure protocol
//! (dunglas/mercure v0.24.2, `spec/mercure.md`). Built from [`MercureConfig`], served by
//! [`Hub::router`], fed by the REST API through [`Publisher`] (`docs/contract.md` §8).
//!
//! - [`subscribe`]: `GET`, the SSE stream; [`publish`]: `POST`; [`subscriptions`]: the Active
//!   Subscriptions events and API.
//! - [`registry`]: subscribers, history and dispatch; [`mailbox`]: a subscriber's bounded queue
//!   and its way to the socket;
//!   [`selector`]/[`template`]: topic matching; [`auth`]: JWTs; [`update`]: SSE frames;
//!   [`cors`]: `cors_origins`; `reply`: the handlers' shared query parsing and plain-text errors.

pub mod auth;
pub mod cors;
pub mod mailbox;
pub mod publish;
pub mod registry;
mod reply;
pub mod selector;
pub mod subscribe;
pub mod subscriptions;
pub mod template;
pub mod update;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::config::mercure::MercureConfig;
use crate::publish::{LiveUpdate, Publisher};
use auth::Verifier;
use registry::{Bounds, Registry, Subscriber};
use selector::SelectorStore;
use update::{Draft, Update};

/// The hub's URL path (spec: "Discovery").
pub const PATH: &str = "/.well-known/mercure";

/// Why a hub cannot be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `publisher_jwt`/`subscriber_jwt` names an algorithm other than HS256/HS384/HS512.
    #[error("mercure {directive}: unsupported JWT algorithm {alg:?} (HS256, HS384 or HS512)")]
    UnsupportedAlgorithm {
        directive: &'static str,
        alg: String,
    },
}

/// The hub. Cheap to clone: every clone is the same hub.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    config: MercureConfig,
    registry: Registry,
    selectors: SelectorStore,
    publisher: Option<Verifier>,
    subscriber: Option<Verifier>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("subscribers", &self.inner.registry.len())
            .finish()
    }
}

impl Hub {
    /// Builds the hub; fails only on an unsupported JWT algorithm.
    pub fn new(config: &MercureConfig) -> Result<Self, Error> {
        let verifier = |key: &Option<crate::config::mercure::JwtKey>, directive| match key {
            None => Ok(None),
            Some(k) => Verifier::new(k)
                .map(Some)
                .ok_or_else(|| Error::UnsupportedAlgorithm {
                    directive,
                    alg: k.alg.clone(),
                }),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                publisher: verifier(&config.publisher_jwt, "publisher_jwt")?,
                subscriber: verifier(&config.subscriber_jwt, "subscriber_jwt")?,
                registry: Registry::new(Bounds {
                    history_size: config.history_size,
                    history_bytes: config.history_max_bytes,
                    queue_size: config.subscriber_queue,
                }),
                selectors: SelectorStore::default(),
                config: config.clone(),
            }),
        })
    }

    /// The hub's routes: `GET`/`POST` (and CORS `OPTIONS`) on [`PATH`], and the subscription
    /// API under `PATH/subscriptions` when `subscriptions` is on. Merge it into the app router
    /// after the app's own `with_state`, with the app's body limit as a layer
    /// (`axum::extract::DefaultBodyLimit`, the Caddyfile's `request_body`): publishes are read
    /// whole, up to that limit (`docs/contract.md` §8).
    pub fn router(&self) -> Router {
        let subs = format!("{PATH}/subscriptions");
        let router = Router::new()
            .route(PATH, get(subscribe::handler).post(publish::handler))
            .route(&subs, get(subscriptions::handler))
            .route(&format!("{subs}/{{topic}}"), get(subscriptions::handler))
            .route(
                &format!("{subs}/{{topic}}/{{subscriber}}"),
                get(subscriptions::handler),
            )
            .with_state(self.clone());
        match cors::Origins::new(&self.inner.config) {
            Some(origins) => router.layer(axum::middleware::from_fn_with_state(
                origins,
                cors::middleware,
            )),
            None => router,
        }
    }

    /// Publishes an update and returns its id. Never waits on a subscriber.
    pub fn publish(&self, draft: Draft) -> String {
        let update = Arc::new(Update::new(draft));
        let id = update.id.clone();
        self.dispatch(update);
        id
    }

    /// Dispatches, then announces the end of every subscription dropped for overflow (which may
    /// drop more; each subscriber leaves once, so this ends). The selectors are matched first,
    /// without the registry's lock (off the async workers when that is a lot of work), so a
    /// subscriber with many templates slows down no subscribe, unsubscribe or other request.
    fn dispatch(&self, update: Arc<Update>) {
        let mut pending = vec![update];
        while let Some(update) = pending.pop() {
            let live = self.inner.registry.live_selectors();
            let work = live.len() * update.topics.len();
            let evaluate = || Registry::evaluate(&live, &update);
            if work > OFFLOAD_ABOVE {
                offload(evaluate);
            } else {
                evaluate();
            }
            let dispatched = self.inner.registry.dispatch(update);
            flush(dispatched.flush);
            for gone in dispatched.dropped {
                tracing::debug!(target: "qmlbridge_backend::hub", subscriber = %gone.iri, "slow subscriber disconnected");
                pending.extend(subscriptions::events(self, &gone, false));
            }
        }
    }

    /// Ends every SSE stream and refuses new ones: call on SIGTERM (`docs/contract.md` §5).
    pub fn shutdown(&self) {
        self.inner.registry.close();
    }

    /// How many subscribers are connected.
    pub fn subscriber_count(&self) -> usize {
        self.inner.registry.len()
    }

    /// Called when a stream ends for any reason.
    fn unsubscribed(&self, key: u64) {
        if let Some(subscriber) = self.inner.registry.unsubscribe(key) {
            for event in subscriptions::events(self, &subscriber, false) {
                self.dispatch(event);
            }
        }
    }

    fn config(&self) -> &MercureConfig {
        &self.inner.config
    }

    fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    fn selectors(&self) -> &SelectorStore {
        &self.inner.selectors
    }

    fn subscriber_verifier(&self) -> Option<&Verifier> {
        self.inner.subscriber.as_ref()
    }

    fn publisher_verifier(&self) -> Option<&Verifier> {
        self.inner.publisher.as_ref()
    }
}

impl Publisher for Hub {
    /// An app's update gets the checks a `POST` gets (spec: "Publication"): an `id` or `type`
    /// that a header or an SSE field could not carry, or an id starting with `#`, is dropped
    /// with a warning (the hub generates the id; the update still goes out).
    fn publish(&self, update: LiveUpdate) {
        let id = update.id.filter(|id| {
            let ok = update::is_publishable_id(id);
            if !ok {
                tracing::warn!(target: "qmlbridge_backend::hub", "an app's update had an unusable id: the hub generates one");
            }
            ok
        });
        let event_type = update.event_type.filter(|t| {
            let ok = update::is_field_value(t);
            if !ok {
                tracing::warn!(target: "qmlbridge_backend::hub", "an app's update had an unusable event type: dropped");
            }
            ok
        });
        Hub::publish(
            self,
            Draft {
                topics: update.topics,
                data: update.data,
                private: update.private,
                id,
                event_type,
                ..Draft::default()
            },
        );
    }
}

/// Builds a subscriber's record, compiling its selectors (checked beforehand with
/// [`selector::check_all`]).
fn subscriber_record(
    hub: &Hub,
    iri: Arc<str>,
    topics: &[String],
    claims: Option<&auth::MercureClaim>,
) -> Result<Subscriber, template::TooComplex> {
    let allowed = claims.map(|c| c.subscribe.as_deref().unwrap_or_default());
    let compile = || {
        Ok(Subscriber {
            iri,
            topics: hub.selectors().get_all(topics)?,
            allowed: allowed.map(|a| hub.selectors().get_all(a)).transpose()?,
            payload: claims.and_then(|c| c.payload.clone()),
        })
    };
    let cheap =
        hub.selectors().is_cheap(topics) && allowed.is_none_or(|a| hub.selectors().is_cheap(a));
    if cheap { compile() } else { offload(compile) }
}

/// Above this many (selector, topic) pairs to match, or updates to filter, the work is
/// [`offload`]ed. Far above what a desktop app does (one selector, two topics).
const OFFLOAD_ABOVE: usize = 1024;

/// Runs CPU-heavy hub work (compiling templates, matching many selectors) without holding up an
/// async worker: on the multi-threaded runtime the worker's other tasks move to another thread
/// for the duration (`tokio::task::block_in_place`); elsewhere (tests' current-thread runtime,
/// no runtime) it simply runs.
fn offload<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Above this many sockets to write, half the writes go to a second thread.
const FLUSH_SPLIT_ABOVE: usize = 128;

/// Writes an update to the subscribers whose mailboxes write their own sockets: one `write(2)`
/// each, from here. A large fan-out is split with a thread of the blocking pool, so both cores
/// write: a task spawned from here would land in this worker's LIFO slot, which the other worker
/// cannot steal, and run after this half instead of beside it (`scripts/bench-hub.sh`: p50
/// 12 -> 8 ms at 1,000 subscribers).
fn flush(mut mailboxes: Vec<Arc<mailbox::Mailbox>>) {
    if mailboxes.len() > FLUSH_SPLIT_ABOVE
        && let Ok(runtime) = tokio::runtime::Handle::try_current()
    {
        let rest = mailboxes.split_off(mailboxes.len() / 2);
        runtime.spawn_blocking(move || rest.iter().for_each(|m| m.flush()));
    }
    mailboxes.iter().for_each(|m| m.flush());
}
