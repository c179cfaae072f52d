//! `POST /.well-known/mercure`: publication (spec: "Publication", "Publishers").

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::Hub;
use super::auth;
use super::subscribe::{denied, query_pairs, status};
use super::update::{Draft, is_single_line};

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
    // `#` ids are the hub's own (spec: "Publication"); a line break would split the SSE field.
    if draft
        .id
        .as_deref()
        .is_some_and(|id| id.starts_with('#') || id.is_empty() || !is_single_line(id))
    {
        return Err("Invalid \"id\" parameter\n");
    }
    if draft
        .event_type
        .as_deref()
        .is_some_and(|t| !is_single_line(t))
    {
        return Err("Invalid \"type\" parameter\n");
    }
    Ok(draft)
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
    // Every topic must match a `mercure.publish` selector; an absent or empty claim allows
    // nothing (spec: "Publishers").
    let allowed = hub
        .selectors()
        .get_all(claims.mercure().publish.as_deref().unwrap_or_default());
    if !draft
        .topics
        .iter()
        .all(|t| allowed.iter().any(|s| s.matches(t)))
    {
        return status(
            StatusCode::FORBIDDEN,
            "Not allowed to publish on these topics\n",
        );
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
        assert!(!parse_form(b"topic=a").unwrap().private);
    }
}
