//! The HTTP layer: [`app`] builds the router from shared [`AppState`] and the Caddyfile's site
//! settings. One module per resource ([`todos`], [`health`]); [`guard`] holds the bearer and
//! `Host` checks, [`error`] the problem+json mapping, [`site`] the Caddyfile-driven layers.

pub mod error;
pub mod guard;
pub mod health;
pub mod site;
pub mod todos;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use bytes::Bytes;
use rusqlite::Connection;

use crate::config::Config;
use crate::db::{Db, todos as queries};
use crate::hub::Hub;
use crate::publish::{Publisher, TodoEvent};
use error::ApiError;
use guard::{AllowedHosts, Bearer, Guards};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: Arc<Db>,
    pub publisher: Arc<dyn Publisher>,
    pub bearer: Bearer,
    /// The last `GET /api/todos` page served, valid until the next write.
    list_cache: Arc<Mutex<ListCache>>,
}

#[derive(Default)]
struct ListCache {
    generation: u64,
    page: Option<(u64, i64, i64, Bytes)>,
}

impl AppState {
    /// State over `db`, publishing through `publisher`, accepting the bearer token `bearer`.
    pub fn new(db: Arc<Db>, publisher: Arc<dyn Publisher>, bearer: Bearer) -> Self {
        AppState {
            db,
            publisher,
            bearer,
            list_cache: Arc::default(),
        }
    }

    /// Runs a write in a transaction on the writer connection, off the async workers (a commit
    /// fsyncs). Once it has committed, and while the writer is still held, the list cache is
    /// invalidated and `event`'s change published: live updates go out in commit order, and
    /// never for a write that did not commit (`docs/contract.md` §7 "Durability", §8).
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
        event: impl FnOnce(&T) -> Option<TodoEvent> + Send + 'static,
    ) -> Result<T, ApiError> {
        let db = self.db.clone();
        let cache = self.list_cache.clone();
        let publisher = self.publisher.clone();
        tokio::task::spawn_blocking(move || {
            db.write(f, |out| {
                // No reader can cache the old state after this.
                lock(&cache).generation += 1;
                if let Some(event) = event(out) {
                    publisher.publish(event);
                }
            })
        })
        .await
        .map_err(|e| ApiError::internal("writer task", e))?
        .map_err(ApiError::write)
    }

    /// The JSON of a page of todos, from the cache when nothing was written since.
    fn list_json(&self, limit: i64, offset: i64) -> Result<Bytes, ApiError> {
        let generation = {
            let cache = lock(&self.list_cache);
            if let Some((g, l, o, body)) = &cache.page
                && (*g, *l, *o) == (cache.generation, limit, offset)
            {
                return Ok(body.clone());
            }
            cache.generation
        };
        let rows = queries::list(&self.db.reader(), limit, offset)
            .map_err(|e| ApiError::internal("listing todos", e))?;
        let body =
            Bytes::from(serde_json::to_vec(&rows).map_err(|e| ApiError::internal("json", e))?);
        let mut cache = lock(&self.list_cache);
        // Only cache what was read at the current generation (no write slipped in between).
        if cache.generation == generation {
            cache.page = Some((generation, limit, offset, body.clone()));
        }
        Ok(body)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The whole application: `/healthz`, `/api/*` behind the bearer token, the hub (when the
/// Caddyfile has a `mercure` block), static files (`file_server`), and the Caddyfile layers,
/// all behind the `Host` guard. `served` is the listener's address.
pub fn app(state: AppState, config: &Config, served: SocketAddr, hub: Option<&Hub>) -> Router {
    let guards = Guards {
        hosts: AllowedHosts::new(served, &config.address.host),
        bearer: state.bearer.clone(),
    };
    let router = Router::new()
        .route("/healthz", get(health::healthz))
        .merge(todos::router())
        .with_state(state);
    let body_limit = DefaultBodyLimit::max(config.max_body);
    let router = site::static_files(router, config).layer(body_limit);
    let router = site::layers(router, config, guards.clone());
    match hub {
        // Around the compression layer (SSE is never compressed; an idle subscriber would keep
        // its body wrapper), behind the same front layer (`Host` guard first).
        Some(hub) => router.merge(site::front(hub.router(), config, guards)),
        None => router,
    }
}
