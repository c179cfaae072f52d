//! An update and its Server-Sent Events frame, serialized once and shared by every subscriber.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

/// Numbers every update, so that verdicts computed for one are never taken for another's
/// (`super::selector::Selector::evaluate`).
static NEXT_SEQ: AtomicU64 = AtomicU64::new(1);

/// The first chunk of every stream: a comment, so headers and `onopen` reach the client at once.
pub const OPEN_COMMENT: &[u8] = b":\n";
/// A heartbeat comment; keeps proxies and the client's idle timers quiet.
pub const HEARTBEAT: &[u8] = b":\n";

/// One published update (spec: "Publication").
#[derive(Debug)]
pub struct Update {
    /// The SSE `id`; never starts with `#` when given by a publisher.
    pub id: String,
    /// The canonical topic first, then the alternates.
    pub topics: Vec<String>,
    pub private: bool,
    /// The complete SSE event, ready to write.
    pub frame: Bytes,
    /// Unique in the process, from 1.
    pub seq: u64,
}

/// The parts of an update a publisher controls.
#[derive(Debug, Default)]
pub struct Draft {
    pub topics: Vec<String>,
    pub data: String,
    pub private: bool,
    pub id: Option<String>,
    pub event_type: Option<String>,
    pub retry: Option<u64>,
}

impl Update {
    /// Builds the update and its frame; generates a `urn:uuid:` id when the draft has none.
    pub fn new(draft: Draft) -> Self {
        let id = draft.id.unwrap_or_else(new_id);
        let frame = frame(&id, draft.event_type.as_deref(), draft.retry, &draft.data);
        Self {
            id,
            topics: draft.topics,
            private: draft.private,
            frame,
            seq: NEXT_SEQ.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// What keeping it in the history costs, roughly: its frame, topics and id.
    pub fn size(&self) -> usize {
        let topics: usize = self.topics.iter().map(String::len).sum();
        self.frame.len() + topics + self.id.len() + std::mem::size_of::<Self>()
    }
}

/// A fresh IRI for an update or a subscriber.
pub fn new_id() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

/// Whether a publisher's `id` or `type` can be echoed as it is, both in its SSE field and (the
/// id) in a `Last-Event-ID` response header: no control character (CR or LF would split the
/// field, NUL makes `EventSource` ignore an `id` (HTML "Server-sent events" §9.2.6), and
/// `http` refuses control characters in a header value), and no surrounding whitespace (HTTP
/// strips it from a header value, RFC 9110 §5.5, so the id would come back changed).
/// An id a publisher may give (spec: "Publication": `#` ids are the hub's own), and that a
/// `Last-Event-ID` header and an SSE `id` field can carry.
pub(crate) fn is_publishable_id(id: &str) -> bool {
    !id.is_empty() && !id.starts_with('#') && is_field_value(id)
}

pub fn is_field_value(s: &str) -> bool {
    !s.chars().any(char::is_control) && s.trim() == s
}

/// The SSE event (HTML "Server-sent events", §9.2.6): `id`, optional `event` and `retry`, one
/// `data` line per line of `data` (CRLF, CR and LF all end a line), then a blank line. At least one
/// `data` line is written so that an empty update still fires `onmessage`.
fn frame(id: &str, event_type: Option<&str>, retry: Option<u64>, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + id.len() + 32);
    out.push_str("id: ");
    out.push_str(id);
    out.push('\n');
    if let Some(t) = event_type {
        out.push_str("event: ");
        out.push_str(t);
        out.push('\n');
    }
    if let Some(r) = retry {
        out.push_str(&format!("retry: {r}\n"));
    }
    let normalized = data.replace("\r\n", "\n").replace('\r', "\n");
    for line in normalized.split('\n') {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_every_field() {
        let u = Update::new(Draft {
            topics: vec!["t".into()],
            data: "a\nb\r\nc\rd".into(),
            id: Some("x".into()),
            event_type: Some("ev".into()),
            retry: Some(1500),
            ..Draft::default()
        });
        assert_eq!(
            &u.frame[..],
            b"id: x\nevent: ev\nretry: 1500\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
        );
    }

    #[test]
    fn empty_data_still_fires() {
        let u = Update::new(Draft {
            id: Some("y".into()),
            ..Draft::default()
        });
        assert_eq!(&u.frame[..], b"id: y\ndata: \n\n");
    }

    #[test]
    fn field_values_survive_sse_and_headers() {
        for ok in ["urn:uuid:1", "a b", "é"] {
            assert!(is_field_value(ok), "{ok:?}");
            assert!(axum::http::HeaderValue::from_str(ok).is_ok());
        }
        for bad in [
            "a\nb", "a\rb", "a\u{0}b", "a\u{1}b", "a\tb", "a\u{7f}", "a\u{85}", " a", "a ",
        ] {
            assert!(!is_field_value(bad), "{bad:?}");
        }
    }

    #[test]
    fn generated_ids_are_urn_uuids() {
        let u = Update::new(Draft::default());
        assert!(
            u.id.starts_with("urn:uuid:") && u.id.len() == 45,
            "{}",
            u.id
        );
    }
}
