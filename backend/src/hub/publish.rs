//! `POST /.well-known/mercure`: publication (spec: "Publication", "Publishers").

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::auth;
use super::reply::{denied, query_pairs, refused, status};
use super::selector;
use super::update::{Draft, is_field_value, is_publishable_id};
use super::{Hub, OFFLOAD_ABOVE, offload};

/// Reads the form fields of a publication; `Err` names what is malformed.
fn parse_form(body: &[u8]) -> Result<Draft, &'static str> {
    let mut draft = Draft::default();
    let mut data = None;
    for (key, value) in form_urlencoded::parse(body) {
        match &*key {
            "topic" => draft.topics.push(value.into_owned()),
            "data" if data.is_none() => data = Some(value.into_owned()),
            // Present in any form, even empty, means private.
            "private" => draft.private = true,
            "id" if draft.id.is_none() => draft.id = Some(value.into_owned()),
            "type" if draft.event_type.is_none() => draft.event_type = Some(value.into_owned()),
            "retry" if draft.retry.is_none() => {
                draft.retry = Some(value.parse().map_err(|_| "Invalid \"retry\" parameter\n")?);
            }
            _ => {}
        }
    }
    draft.data = data.unwrap_or_default();
    if draft.topics.is_empty() {
        return Err("Missing \"topic\" parameter\n");
    }
    // `#` ids are the hub's own (spec: "Publication"); both fields are echoed as they are, the id
    // in `Last-Event-ID` headers too.
    if draft.id.as_deref().is_some_and(|id| !is_publishable_id(id)) {
        return Err("Invalid \"id\" parameter\n");
    }
    if draft
        .event_type
        .as_deref()
        .is_some_and(|t| !is_field_value(t))
    {
        return Err("Invalid \"type\" parameter\n");
    }
    Ok(draft)
}

/// Checks a well-formed draft and the token's `mercure.publish` claim against the hub's bounds
/// (`max_topics`, `max_topic_length`), before anything is compiled or matched; `Err` names what
/// is refused and why.
fn check_bounds(
    draft: &Draft,
    claimed: &[String],
    hub: &Hub,
) -> Result<(), (&'static str, selector::Refused)> {
    let (max_topics, max_length) = (hub.config().max_topics, hub.config().max_topic_length);
    selector::check_all(&draft.topics, max_topics, max_length)
        .map_err(|why| ("\"topic\" parameter", why))?;
    for (name, value) in [
        ("\"id\" parameter", &draft.id),
        ("\"type\" parameter", &draft.event_type),
    ] {
        if value.as_ref().is_some_and(|v| v.len() > max_length) {
            return Err((name, selector::Refused::TooLong(max_length)));
        }
    }
    selector::check_all(claimed, max_topics, max_length)
        .map_err(|why| ("\"mercure.publish\" claim", why))
}

/// The publish handler: authorize, validate, dispatch, answer with the id.
pub async fn handler(
    State(hub): State<Hub>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let query = query_pairs(raw.as_deref());
    let origins = &hub.config().publish_origins;
    let claims = match auth::authorize(
        hub.publisher_verifier(),
        &Method::POST,
        &headers,
        &query,
        origins,
    ) {
        Ok(Some(claims)) => claims,
        Ok(None) => return denied(auth::Denied::Unauthorized),
        Err(d) => return denied(d),
    };
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expected application/x-www-form-urlencoded\n",
        );
    }
    let draft = match parse_form(&body) {
        Ok(draft) => draft,
        Err(why) => return status(StatusCode::BAD_REQUEST, why),
    };
    let mercure = claims.mercure();
    let claimed = mercure.publish.as_deref().unwrap_or_default();
    if let Err((what, why)) = check_bounds(&draft, claimed, &hub) {
        return refused(what, why);
    }
    // Every topic must match a `mercure.publish` selector; an absent or empty claim allows
    // nothing (spec: "Publishers").
    let authorized = || {
        let allowed = hub.selectors().get_all(claimed)?;
        Ok::<_, super::template::TooComplex>(
            draft
                .topics
                .iter()
                .all(|t| allowed.iter().any(|s| s.matches(t))),
        )
    };
    let heavy =
        !hub.selectors().is_cheap(claimed) || claimed.len() * draft.topics.len() > OFFLOAD_ABOVE;
    let authorized = if heavy {
        offload(authorized)
    } else {
        authorized()
    };
    match authorized {
        Ok(true) => {}
        Ok(false) => {
            return status(
                StatusCode::FORBIDDEN,
                "Not allowed to publish on these topics\n",
            );
        }
        Err(why) => return refused("\"mercure.publish\" claim", why),
    }
    let id = hub.publish(draft);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        id,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::parse_form;

    #[test]
    fn reads_every_field() {
        let d =
            parse_form(b"topic=a&topic=b&data=x%0Ay&private=&id=urn%3Ax&type=t&retry=10").unwrap();
        assert_eq!(d.topics, ["a", "b"]);
        assert_eq!(d.data, "x\ny");
        assert!(d.private);
        assert_eq!(d.id.as_deref(), Some("urn:x"));
        assert_eq!(d.event_type.as_deref(), Some("t"));
        assert_eq!(d.retry, Some(10));
    }

    #[test]
    fn rejects_bad_fields() {
        assert!(parse_form(b"data=x").is_err());
        assert!(parse_form(b"topic=a&id=%23frag").is_err());
        assert!(parse_form(b"topic=a&retry=soon").is_err());
        assert!(parse_form(b"topic=a&type=a%0Ab").is_err());
        assert!(parse_form(b"topic=a&id=a%01b").is_err());
        assert!(parse_form(b"topic=a&id=a%00b").is_err());
        assert!(parse_form(b"topic=a&id=%20a").is_err());
        assert!(parse_form(b"topic=a&type=a%09b").is_err());
        assert!(!parse_form(b"topic=a").unwrap().private);
    }
}
