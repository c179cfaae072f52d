//! Active Subscriptions (spec section of that name): a private update on every subscribe and
//! unsubscribe, and the `/.well-known/mercure/subscriptions` API. Both only with `subscriptions`.

use std::sync::Arc;

use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::registry::Subscriber;
use super::reply::{denied, query_pairs, refused, status};
use super::selector;
use super::update::{Draft, Update};
use super::{Hub, PATH, auth};

/// Percent-encodes everything but RFC 3986 unreserved characters, as an RFC 6570 simple
/// expansion does (`{topic}`, `{subscriber}`).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The JSON-LD document of one subscription.
fn document(selector: &str, subscriber: &Subscriber, active: bool) -> Value {
    let id = format!(
        "{PATH}/subscriptions/{}/{}",
        encode(selector),
        encode(&subscriber.iri)
    );
    let mut doc = json!({
        "id": id,
        "type": "Subscription",
        "topic": selector,
        "subscriber": &*subscriber.iri,
        "active": active,
    });
    if let Some(payload) = &subscriber.payload {
        doc["payload"] = payload.clone();
    }
    doc
}

/// One private update per subscription of `subscriber`, empty when the feature is off.
pub fn events(hub: &Hub, subscriber: &Subscriber, active: bool) -> Vec<Arc<Update>> {
    if !hub.config().subscriptions {
        return Vec::new();
    }
    subscriber
        .topics
        .iter()
        .map(|selector| {
            let mut doc = document(selector.as_str(), subscriber, active);
            doc["@context"] = json!("https://mercure.rocks/");
            let topic = doc["id"].as_str().unwrap_or_default().to_owned();
            Arc::new(Update::new(Draft {
                topics: vec![topic],
                data: doc.to_string(),
                private: true,
                ..Draft::default()
            }))
        })
        .collect()
}

/// `GET /.well-known/mercure/subscriptions[/{topic}[/{subscriber}]]`: needs a subscriber token
/// whose `mercure.subscribe` matches the requested path.
pub async fn handler(
    State(hub): State<Hub>,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Response {
    if !hub.config().subscriptions {
        return status(StatusCode::NOT_FOUND, "Not Found\n");
    }
    let query = query_pairs(raw.as_deref());
    let claims = match auth::authorize(
        hub.subscriber_verifier(),
        &Method::GET,
        request.headers(),
        &query,
        &[],
    ) {
        Ok(Some(claims)) => claims,
        Ok(None) => return denied(auth::Denied::Unauthorized),
        Err(d) => return denied(d),
    };
    let path = request.uri().path().to_owned();
    let mercure = claims.mercure();
    let claimed = mercure.subscribe.as_deref().unwrap_or_default();
    let (max_topics, max_length) = (hub.config().max_topics, hub.config().max_topic_length);
    if let Err(why) = selector::check_all(claimed, max_topics, max_length) {
        return refused("\"mercure.subscribe\" claim", why);
    }
    let compile = || hub.selectors().get_all(claimed);
    let compiled = if hub.selectors().is_cheap(claimed) {
        compile()
    } else {
        super::offload(compile)
    };
    let allowed = match compiled {
        Ok(allowed) => allowed,
        Err(why) => return refused("\"mercure.subscribe\" claim", why),
    };
    if !allowed.iter().any(|s| s.matches(&path)) {
        return status(StatusCode::FORBIDDEN, "Not allowed\n");
    }
    let rest = path
        .strip_prefix(&format!("{PATH}/subscriptions"))
        .unwrap_or_default();
    let parts: Vec<String> = rest
        .split('/')
        .filter(|p| !p.is_empty())
        .map(decode)
        .collect();
    let last_event_id = hub.registry().last_event_id();
    let subscribers = hub.registry().subscribers();
    let docs = subscribers.iter().flat_map(|s| {
        s.topics
            .iter()
            .filter(|t| parts.first().is_none_or(|want| t.as_str() == want))
            .filter(|_| parts.get(1).is_none_or(|want| *s.iri == **want))
            .map(|t| document(t.as_str(), s, true))
            .collect::<Vec<_>>()
    });
    let mut body = if parts.len() >= 2 {
        let Some(mut doc) = docs.into_iter().next() else {
            return status(StatusCode::NOT_FOUND, "Not Found\n");
        };
        doc["@context"] = json!("https://mercure.rocks/");
        doc
    } else {
        json!({
            "@context": "https://mercure.rocks/",
            "id": path,
            "type": "Subscriptions",
            "subscriptions": docs.collect::<Vec<_>>(),
        })
    };
    body["lastEventID"] = json!(last_event_id);
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/ld+json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("must-revalidate"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_spec_example() {
        assert_eq!(
            encode("https://example.com/{selector}"),
            "https%3A%2F%2Fexample.com%2F%7Bselector%7D"
        );
        assert_eq!(decode(&encode("a b+/{c}")), "a b+/{c}");
    }
}
