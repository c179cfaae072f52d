//! Logging for an app's own code: `tracing`'s macros with the target [`TARGET`], so an app's
//! lines land where the framework's do — the backend's stderr, which the host writes into
//! `backend.log` (`docs/contract.md` §6) — with time and level, and filter as `app`
//! (`BRIDGE_LOG=info,app=debug`). Structured fields work as in `tracing`.
//!
//! ```
//! use qmlbridge_backend::log;
//!
//! let id = 7;
//! log::info!(expense = id, "expense settled");
//! log::warn!("the summary is {} rows behind", 3);
//! ```
//!
//! For spans, other targets or a subscriber of your own in tests, [`tracing`]
//! itself is re-exported.

/// The target of every line an app logs through this module: what `BRIDGE_LOG` filters on
/// (`BRIDGE_LOG=info,app=debug`).
///
/// ```
/// assert_eq!(qmlbridge_backend::log::TARGET, "app");
/// ```
pub const TARGET: &str = "app";

#[doc(inline)]
pub use crate::{
    __app_debug as debug, __app_error as error, __app_info as info, __app_trace as trace,
    __app_warn as warn,
};

/// `tracing::error!` with the app's target.
#[doc(hidden)]
#[macro_export]
macro_rules! __app_error {
    ($($arg:tt)+) => { $crate::tracing::error!(target: "app", $($arg)+) };
}

/// `tracing::warn!` with the app's target.
#[doc(hidden)]
#[macro_export]
macro_rules! __app_warn {
    ($($arg:tt)+) => { $crate::tracing::warn!(target: "app", $($arg)+) };
}

/// `tracing::info!` with the app's target.
#[doc(hidden)]
#[macro_export]
macro_rules! __app_info {
    ($($arg:tt)+) => { $crate::tracing::info!(target: "app", $($arg)+) };
}

/// `tracing::debug!` with the app's target.
#[doc(hidden)]
#[macro_export]
macro_rules! __app_debug {
    ($($arg:tt)+) => { $crate::tracing::debug!(target: "app", $($arg)+) };
}

/// `tracing::trace!` with the app's target.
#[doc(hidden)]
#[macro_export]
macro_rules! __app_trace {
    ($($arg:tt)+) => { $crate::tracing::trace!(target: "app", $($arg)+) };
}
