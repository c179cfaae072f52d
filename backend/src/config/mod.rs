//! The backend's configuration, read from a Caddyfile (`docs/contract.md`).

pub mod mercure;
