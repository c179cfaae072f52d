//! The HTTP layer: [`app`] builds the router from the shared [`Context`] and the Caddyfile's site
//! settings: `/healthz` ([`health`]), the `/api` routes (resources and the app's own); [`guard`] holds the bearer and
//! `Host` checks, [`error`] the problem+json mapping, [`site`] the Caddyfile-driven layers.

pub(crate) mod error;
pub(crate) mod guard;
mod health;
pub(crate) mod site;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

use crate::config::Config;
use crate::context::Context;
use crate::hub::Hub;
use guard::{AllowedHosts, Guards};

/// The whole application: `/healthz`, `/api/*` behind the bearer token, the hub (when the
/// Caddyfile has a `mercure` block), static files (`file_server`), and the Caddyfile layers,
/// all behind the `Host` guard. `served` is the listener's address.
pub(crate) fn app(
    ctx: Context,
    api: Router<Context>,
    config: &Config,
    served: SocketAddr,
    hub: Option<&Hub>,
) -> Router {
    let guards = Guards {
        hosts: AllowedHosts::new(served, &config.address.host),
        bearer: ctx.bearer().clone(),
    };
    let router = Router::new()
        .route("/healthz", get(health::healthz))
        .merge(api)
        .with_state(ctx);
    let body_limit = DefaultBodyLimit::max(config.max_body);
    let router = site::static_files(router, config).layer(body_limit);
    let router = site::layers(router, config, guards.clone());
    match hub {
        // Around the compression layer (SSE is never compressed; an idle subscriber would keep
        // its body wrapper), behind the same front layer (`Host` guard first).
        Some(hub) => router.merge(site::front(hub.router().layer(body_limit), config, guards)),
        None => router,
    }
}
