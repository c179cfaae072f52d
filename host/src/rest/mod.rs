//! Everything the QML types do on the network, without Qt (plain `cargo test` reaches it):
//! requests with the session's current token, the hub subscription, a resource's rows and the
//! row operations that keep a model in step with them.

pub mod http;
mod jwt;
pub mod live;
pub mod model_sync;
pub mod rows;
pub mod subscription;
