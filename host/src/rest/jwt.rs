//! Subscriber JWTs for the Mercure hub (docs/contract.md §8): HS256, signed with the session's
//! `MERCURE_SUBSCRIBER_JWT_KEY` (from the supervisor's snapshot), minted fresh for each connect.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// Lifetime of one JWT: it only has to outlive the subscribe request's handshake, but a hub may
/// end a stream when the JWT expires, so give it a day.
const LIFETIME: Duration = Duration::from_secs(24 * 3600);

#[derive(Serialize)]
struct Claims {
    mercure: MercureClaim,
    exp: u64,
}

#[derive(Serialize)]
struct MercureClaim {
    subscribe: Vec<&'static str>,
}

/// A JWT allowing subscription to every topic.
pub fn subscriber_jwt(key: &str) -> Result<String, jsonwebtoken::errors::Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let claims = Claims {
        mercure: MercureClaim {
            subscribe: vec!["*"],
        },
        exp: (now + LIFETIME).as_secs(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, decode};

    #[test]
    fn verifies_with_the_same_key_only() {
        let jwt = subscriber_jwt("k1").unwrap();
        let v = Validation::new(Algorithm::HS256);
        let ok = decode::<serde_json::Value>(&jwt, &DecodingKey::from_secret(b"k1"), &v).unwrap();
        assert_eq!(ok.claims["mercure"]["subscribe"][0], "*");
        assert!(decode::<serde_json::Value>(&jwt, &DecodingKey::from_secret(b"k2"), &v).is_err());
    }
}
