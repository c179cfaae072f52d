//! JWT authorization (Mercure spec, "Authorization"): where the token is found, how it is
//! verified, and the `mercure` claim it carries.

use std::collections::HashSet;

use axum::http::{HeaderMap, Method, header};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::config::mercure::JwtKey;

/// The cookie the spec recommends (`mercureAuthorization`).
const COOKIE: &str = "mercureAuthorization";

/// Why a request is refused; mapped to 401 or 403 by the handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No token where one is required, or a malformed, expired, wrongly signed or wrong-algorithm
    /// token: 401.
    Unauthorized,
    /// A cookie-authenticated publish from an origin not in `publish_origins` (or without
    /// `Origin`/`Referer`): 403.
    Origin,
}

/// The `mercure` claim.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MercureClaim {
    #[serde(default)]
    pub publish: Option<Vec<String>>,
    #[serde(default)]
    pub subscribe: Option<Vec<String>>,
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
}

/// A verified token's claims.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Claims {
    #[serde(default)]
    pub mercure: Option<MercureClaim>,
    /// The namespaced form some publishers use; wins over `mercure` when both are present.
    #[serde(default, rename = "https://mercure.rocks/")]
    pub namespaced: Option<MercureClaim>,
    /// Seconds since the epoch; the stream is closed at that time.
    #[serde(default)]
    pub exp: Option<u64>,
}

impl Claims {
    /// The effective `mercure` claim.
    pub fn mercure(&self) -> MercureClaim {
        self.namespaced
            .clone()
            .or_else(|| self.mercure.clone())
            .unwrap_or_default()
    }
}

/// A verification key with its fixed algorithm.
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithms", &self.validation.algorithms)
            .finish()
    }
}

impl Verifier {
    /// A verifier for `key`; `None` when its algorithm is not an HMAC one we support.
    pub fn new(key: &JwtKey) -> Option<Self> {
        let alg = match key.alg.to_ascii_uppercase().as_str() {
            "HS256" => Algorithm::HS256,
            "HS384" => Algorithm::HS384,
            "HS512" => Algorithm::HS512,
            _ => return None,
        };
        let mut validation = Validation::new(alg);
        // `exp` is optional in Mercure; when present it is enforced to the second.
        validation.required_spec_claims = HashSet::new();
        validation.leeway = 0;
        validation.validate_aud = false;
        Some(Self {
            key: DecodingKey::from_secret(key.key.expose().as_bytes()),
            validation,
        })
    }

    fn verify(&self, token: &str) -> Result<Claims, Denied> {
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| Denied::Unauthorized)
    }
}

/// Where a request's token came from.
#[derive(Debug, PartialEq, Eq)]
enum Source {
    Header,
    Query,
    Cookie,
}

/// Finds the token in the spec's order: `Authorization` header (which then must be a bearer
/// token), the `authorization` query parameter, the `mercureAuthorization` cookie.
fn find_token(
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Result<Option<(String, Source)>, Denied> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| Denied::Unauthorized)?;
        let token = value.strip_prefix("Bearer ").ok_or(Denied::Unauthorized)?;
        return Ok(Some((token.trim().to_owned(), Source::Header)));
    }
    if let Some((_, token)) = query.iter().find(|(k, _)| k == "authorization") {
        return Ok(Some((token.clone(), Source::Query)));
    }
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            if let Some((name, token)) = pair.trim().split_once('=')
                && name == COOKIE
            {
                return Ok(Some((token.trim_matches('"').to_owned(), Source::Cookie)));
            }
        }
    }
    Ok(None)
}

/// The origin of a browser request: `Origin`, else the scheme and host of `Referer`.
fn request_origin(headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return Some(origin.to_owned());
    }
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let (scheme, rest) = referer.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    Some(format!("{scheme}://{host}"))
}

/// Authorizes a request: `Ok(None)` when it carries no token, `Ok(Some(claims))` for a valid one.
/// A cookie on a `POST` is accepted only from an origin in `publish_origins` (CSRF, spec
/// "Security Considerations").
pub fn authorize(
    verifier: Option<&Verifier>,
    method: &Method,
    headers: &HeaderMap,
    query: &[(String, String)],
    publish_origins: &[String],
) -> Result<Option<Claims>, Denied> {
    let Some((token, source)) = find_token(headers, query)? else {
        return Ok(None);
    };
    if source == Source::Cookie && method == Method::POST {
        let origin = request_origin(headers).ok_or(Denied::Origin)?;
        if !publish_origins.iter().any(|o| o == "*" || *o == origin) {
            return Err(Denied::Origin);
        }
    }
    verifier
        .ok_or(Denied::Unauthorized)?
        .verify(&token)
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn header_wins_then_query_then_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; mercureAuthorization=c"),
        );
        assert_eq!(
            find_token(&h, &[]).unwrap(),
            Some(("c".into(), Source::Cookie))
        );
        let query = q(&[("authorization", "qq")]);
        assert_eq!(
            find_token(&h, &query).unwrap(),
            Some(("qq".into(), Source::Query))
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer hh"));
        assert_eq!(
            find_token(&h, &query).unwrap(),
            Some(("hh".into(), Source::Header))
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic xx"));
        assert_eq!(find_token(&h, &query), Err(Denied::Unauthorized));
    }

    #[test]
    fn origin_from_referer() {
        let mut h = HeaderMap::new();
        h.insert(
            header::REFERER,
            HeaderValue::from_static("http://127.0.0.1:8765/page?x=1"),
        );
        assert_eq!(request_origin(&h).as_deref(), Some("http://127.0.0.1:8765"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:1"),
        );
        assert_eq!(request_origin(&h).as_deref(), Some("http://localhost:1"));
    }
}
