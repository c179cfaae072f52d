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
        if let Err(refusal) = self.hosts.check(req) {
            return Some(refusal);
        }
        let path = req.uri().path();
        let api = path == "/api" || path.starts_with("/api/");
        let authorized = || {
            req.headers()
                .get(header::AUTHORIZATION)
                .is_some_and(|v| self.bearer.accepts(v.as_bytes()))
        };
        if api && !authorized() {
            return Some(ApiError::Unauthorized);
        }
        // Responses there are JSON (`docs/contract.md` §7); the hub and static files negotiate
        // nothing.
        let json_only = api || path == "/healthz";
        (json_only && !accepts_json(req.headers())).then_some(ApiError::NotAcceptable)
    }
}

/// Whether the `Accept` fields (RFC 9110 §12.5.1) allow a JSON answer: one of
/// `application/json`, `application/problem+json`, `application/*` or `*/*` with a non-zero `q`.
/// No `Accept` at all means anything.
fn accepts_json(headers: &http::HeaderMap) -> bool {
    let mut fields = headers.get_all(header::ACCEPT).iter().peekable();
    if fields.peek().is_none() {
        return true;
    }
    fields
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let zero = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .or_else(|| p.strip_prefix("Q="))
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            !zero
                && matches!(
                    media.as_str(),
                    "application/json" | "application/problem+json" | "application/*" | "*/*"
                )
        })
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

    /// Checks the request's target host (RFC 9112 §3.2, §3.2.2): the authority of an
    /// absolute-form target, else the `Host` header, must be one of ours (421 otherwise: a
    /// DNS-rebinding page's requests carry the attacker's host name). More than one `Host`, or
    /// an invalid one, is 400 whatever the target says: two parsers (a proxy's, ours) must
    /// never disagree about which host a request is for.
    pub(crate) fn check(&self, req: &Request) -> Result<(), ApiError> {
        let mut hosts = req.headers().get_all(header::HOST).iter();
        let host = hosts.next();
        if hosts.next().is_some() {
            return Err(bad_host("more than one Host header"));
        }
        let uri = req.uri();
        let target = match uri.authority() {
            // Absolute-form (or authority-form): that authority replaces Host. Only plain http
            // is served here.
            Some(authority) => {
                if uri.scheme().is_some_and(|s| *s != http::uri::Scheme::HTTP) {
                    return Err(ApiError::MisdirectedRequest);
                }
                authority.as_str().as_bytes()
            }
            None => match host {
                Some(host) => host.as_bytes(),
                // No Host at all (HTTP/1.0): nothing says it is for us.
                None => return Err(ApiError::MisdirectedRequest),
            },
        };
        // The fast path: one of ours, hence valid.
        if let Ok(text) = std::str::from_utf8(target)
            && self.allows(text)
        {
            return Ok(());
        }
        if host.is_some_and(|h| !valid_host(h.as_bytes()))
            || (uri.authority().is_some() && !valid_host(target))
        {
            return Err(bad_host("invalid Host"));
        }
        Err(ApiError::MisdirectedRequest)
    }
}

fn bad_host(why: &str) -> ApiError {
    ApiError::BadRequest(why.to_string())
}

/// `uri-host [ ":" port ]` (RFC 9110 §7.2), or empty (allowed when the target has no authority;
/// not ours either way). No userinfo: RFC 9110 §4.2.4 forbids it in `http` URIs.
fn valid_host(value: &[u8]) -> bool {
    if value.is_empty() {
        return true;
    }
    if value.contains(&b'@') {
        return false;
    }
    match http::uri::Authority::try_from(value) {
        // `http` takes any text after the last `:` as the port: it must be a number.
        Ok(a) => a.as_str().len() == a.host().len() || a.port_u16().is_some(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_allows_json() {
        let with = |values: &[&str]| {
            let mut h = http::HeaderMap::new();
            for v in values {
                h.append(header::ACCEPT, http::HeaderValue::from_str(v).unwrap());
            }
            accepts_json(&h)
        };
        assert!(with(&[]));
        for ok in [
            "application/json",
            "*/*",
            "text/html, application/*;q=0.1",
            "application/problem+json",
            "Application/JSON; charset=utf-8",
        ] {
            assert!(with(&[ok]), "{ok}");
        }
        assert!(with(&["text/html", "application/json"]));
        for refused in [
            "text/html",
            "application/xml, text/*",
            "application/json;q=0",
            "image/*",
        ] {
            assert!(!with(&[refused]), "{refused}");
        }
    }

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
    fn host_values() {
        for ok in [&b"localhost:8765"[..], b"[::1]:1", b"evil.example", b""] {
            assert!(valid_host(ok), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"a b"[..],
            b"user@127.0.0.1:8765",
            b"h/p",
            b"h:port",
            b"a, b",
        ] {
            assert!(!valid_host(bad), "{}", String::from_utf8_lossy(bad));
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
