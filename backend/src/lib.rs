//! `qmlbridge-backend`: the embedded HTTP server the desktop host supervises.
//!
//! The binary (`src/main.rs`) is thin: it parses arguments and calls [`cli`]-level functions here.
//! The host↔backend contract it honours is `docs/contract.md`.

#![forbid(unsafe_code)]

pub mod config;
pub mod hub;
pub mod publish;
pub mod secret;
