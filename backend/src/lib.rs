//! `qmlbridge-backend`: the embedded HTTP server the desktop host supervises.
//!
//! The binary (`src/main.rs`) is thin: it parses arguments and calls [`serve::serve`] or
//! [`serve::migrate`]. The host↔backend contract it honours is `docs/contract.md`.
//!
//! - [`config`]: the Caddyfile; [`settings`]: the environment (`BRIDGE_TOKEN`, `DATABASE_URL`).
//! - [`db`]: SQLite, migrations, queries; [`http`]: the router, `/api/todos`, `/healthz`.
//! - [`listen`]: socket activation and readiness; [`conn`]: HTTP/1 connections; [`hub`]: the
//!   Mercure hub.

#![forbid(unsafe_code)]

pub mod config;
pub mod conn;
pub mod db;
pub mod error;
pub mod http;
pub mod hub;
pub mod listen;
pub mod publish;
pub mod secret;
pub mod serve;
pub mod settings;

pub use error::{Error, Result};
