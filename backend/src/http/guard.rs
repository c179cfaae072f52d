//! Request guards: the bearer token on `/api/*` and the `Host` check on everything
//! (`docs/contract.md` §7); [`Guards`] runs them in [`super::site`]'s front layer.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use http::header;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::secret::Secret;

/// The expected bearer token, kept as its SHA-256 so the comparison is constant-time and does
/// not reveal the token's length either.
#[derive(Clone)]
pub(crate) struct Bearer(Arc<[u8; 32]>);

impl Bearer {
    /// Accepts exactly `token`.
    pub(crate) fn new(token: &Secret) -> Self {
        Bearer(Arc::new(Sha256::digest(token.expose().as_bytes()).into()))
    }

    /// Whether an `Authorization` header value carries our token.
    pub(crate) fn accepts(&self, header: &[u8]) -> bool {
        let Some(scheme) = header.get(..7) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(b"bearer ") {
            return false;
        }
        let presented: [u8; 32] = Sha256::digest(header[7..].trim_ascii()).into();
        presented.ct_eq(&*self.0).into()
    }
}

/// What the front layer checks on every request: the `Host`, then the bearer token for paths
/// under `/api/`. (Checked by path there, not per route: unknown `/api/...` paths are behind the
/// token too, and the hot path pays for one middleware instead of two.)
#[derive(Clone)]
pub(crate) struct Guards {
    pub hosts: AllowedHosts,
    pub bearer: Bearer,
}

impl Guards {
    /// The response that refuses `req`, or `None` when it may pass.
    pub(crate) fn refuse(&self, req: &Request) -> Option<ApiError> {
        if !self.hosts.allows_request(req) {
            return Some(ApiError::MisdirectedRequest);
        }
        let path = req.uri().path();
        let api = path == "/api" || path.starts_with("/api/");
        let authorized = || {
            req.headers()
                .get(header::AUTHORIZATION)
                .is_some_and(|v| self.bearer.accepts(v.as_bytes()))
        };
        (api && !authorized()).then_some(ApiError::Unauthorized)
    }
}

/// The `Host` values we answer to: the served address, `localhost` with or without its port,
/// and the Caddyfile's host name with the port.
#[derive(Clone, Debug)]
pub(crate) struct AllowedHosts(Arc<Vec<String>>);

impl AllowedHosts {
    /// The hosts for a listener on `served` with the Caddyfile host `site_host`.
    pub(crate) fn new(served: SocketAddr, site_host: &str) -> Self {
        let port = served.port();
        let mut hosts = vec![
            format!("localhost:{port}"),
            "localhost".to_string(),
            served.to_string(),
        ];
        if served.ip().is_unspecified() || served.ip().is_loopback() {
            hosts.push(format!("127.0.0.1:{port}"));
            hosts.push(format!("[::1]:{port}"));
        }
        let site = if site_host.contains(':') {
            format!("[{site_host}]:{port}")
        } else {
            format!("{site_host}:{port}")
        };
        hosts.push(site.to_ascii_lowercase());
        hosts.sort();
        hosts.dedup();
        AllowedHosts(Arc::new(hosts))
    }

    /// Whether `host` (a `Host` header value) is one of ours.
    pub(crate) fn allows(&self, host: &str) -> bool {
        self.0.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// Whether the request's `Host` (or, for an absolute-form target, its authority) is one of
    /// ours. A DNS-rebinding page's requests carry the attacker's host name: they fail this.
    pub(crate) fn allows_request(&self, req: &Request) -> bool {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        host.is_some_and(|h| self.allows(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_needs_the_scheme_and_the_exact_token() {
        let b = Bearer::new(&Secret::new("s3cret"));
        assert!(b.accepts(b"Bearer s3cret"));
        assert!(b.accepts(b"bearer s3cret"));
        for bad in [
            &b"Bearer s3cre"[..],
            b"Bearer s3cret2",
            b"Basic s3cret",
            b"s3cret",
            b"",
            b"Bearer ",
        ] {
            assert!(!b.accepts(bad), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn hosts() {
        let h = AllowedHosts::new("127.0.0.1:8765".parse().unwrap(), "127.0.0.1");
        for ok in [
            "127.0.0.1:8765",
            "localhost:8765",
            "localhost",
            "LOCALHOST:8765",
            "[::1]:8765",
        ] {
            assert!(h.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:8765",
            "127.0.0.1:80",
            "127.0.0.1",
            "localhost:1",
            "",
        ] {
            assert!(!h.allows(bad), "{bad}");
        }
    }
}
