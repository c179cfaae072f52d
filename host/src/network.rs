//! The QML engine's network policy (docs/qml.md, "Network"): a window fetches nothing over the
//! network but its own backend and the origins the app's manifest lists under `[qml] network`.
//! Data shown in the window is written by any client, and QML fetches whatever URL it is given
//! (an `Image` source, `XMLHttpRequest`, a `Loader` source, an `<img>` in text rendered as rich
//! text): without this, a record's value could make every window request any host the desktop
//! reaches. This is the decision; cpp/network.cpp applies it to every request of the engines the
//! host and its tests create (their `QNetworkAccessManager`s ask [`allowed`] before a request
//! leaves). `file:`, `qrc:` and `data:` URLs are not network and always pass.

use std::sync::{Mutex, RwLock};

use reqwest::Url;

const TARGET: &str = "qmlbridge::host";

/// The origins of `[qml] network`, as `scheme://host[:port]` (serialised by the URL crate).
static ALLOWED: RwLock<Vec<String>> = RwLock::new(Vec::new());
/// The origins refused so far: each is logged once.
static REFUSED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Sets the origins the QML engines may fetch from besides the backend (the manifest's
/// `[qml] network`, through [`Identity::network`](crate::Identity::network)); one that is not a
/// URL is left out with a warning (the manifest crate has refused it already at build time).
pub(crate) fn allow(origins: &[String]) {
    let mut list = Vec::new();
    for given in origins {
        match Url::parse(given) {
            Ok(url) if url.origin().is_tuple() => list.push(url.origin().ascii_serialization()),
            _ => {
                tracing::warn!(target: TARGET, "[qml] network: {given:?} is not an origin; left out")
            }
        }
    }
    *ALLOWED.write().unwrap_or_else(|e| e.into_inner()) = list;
}

/// What the policy says of one URL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not network: `file:`, `qrc:`, `data:`.
    Local,
    /// The backend's origin, or one the manifest lists.
    Allowed,
    /// Anything else; the origin (or the scheme, for a URL without one) names it in the log.
    Refused(String),
}

/// The verdict on `url` given the backend's URL and the allowed origins (pure: the unit tests'
/// entry).
pub(crate) fn verdict(url: &str, backend: Option<&str>, allowed: &[String]) -> Verdict {
    let Ok(parsed) = Url::parse(url) else {
        return Verdict::Refused("an unparsable URL".to_owned());
    };
    match parsed.scheme() {
        "file" | "qrc" | "data" => return Verdict::Local,
        "http" | "https" => {}
        other => return Verdict::Refused(format!("{other}: URLs")),
    }
    let origin = parsed.origin().ascii_serialization();
    let backend = backend
        .and_then(|b| Url::parse(b).ok())
        .map(|b| b.origin().ascii_serialization());
    if backend.as_deref() == Some(origin.as_str()) || allowed.contains(&origin) {
        Verdict::Allowed
    } else {
        Verdict::Refused(origin)
    }
}

/// Whether a request for `url` may leave, for the session's backend of the moment and the
/// allowed origins; a refusal is logged (warn, target `qmlbridge::host`) the first time its
/// origin is refused. Called by the engines' network managers on whatever thread they run.
pub(crate) fn allowed(url: &str) -> bool {
    let backend = crate::session::get()
        .and_then(|s| s.snapshot())
        .map(|s| s.url);
    let allowed = ALLOWED.read().unwrap_or_else(|e| e.into_inner());
    match verdict(url, backend.as_deref(), &allowed) {
        Verdict::Local | Verdict::Allowed => true,
        Verdict::Refused(origin) => {
            let mut refused = REFUSED.lock().unwrap_or_else(|e| e.into_inner());
            if !refused.contains(&origin) {
                // The origin only: a path or query may carry what is nobody's business here.
                tracing::warn!(
                    target: TARGET,
                    "QML network request refused: {origin} is neither the backend nor an origin \
                     in qmlbridge.toml's [qml] network (further requests to it are refused \
                     without a word)"
                );
                refused.push(origin);
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKEND: Option<&str> = Some("http://127.0.0.1:40123");

    fn tiles() -> Vec<String> {
        vec!["https://tiles.example.org".to_owned()]
    }

    #[test]
    fn local_urls_are_not_network() {
        for url in [
            "file:///home/u/a.png",
            "qrc:/qt/qml/App/qml/Main.qml",
            "data:image/png;base64,iVBORw0KGgo=",
        ] {
            assert_eq!(verdict(url, None, &[]), Verdict::Local, "{url}");
        }
    }

    #[test]
    fn the_backend_and_the_listed_origins_pass() {
        for url in [
            "http://127.0.0.1:40123/api/items",
            "http://127.0.0.1:40123/public/logo.png?x=1",
            "https://tiles.example.org/1/2/3.png",
            "https://TILES.example.org:443/z.png",
        ] {
            assert_eq!(verdict(url, BACKEND, &tiles()), Verdict::Allowed, "{url}");
        }
    }

    #[test]
    fn every_other_origin_is_refused_by_name() {
        for (url, origin) in [
            ("http://127.0.0.1:40124/probe.png", "http://127.0.0.1:40124"),
            ("https://127.0.0.1:40123/", "https://127.0.0.1:40123"),
            ("http://localhost:40123/", "http://localhost:40123"),
            ("http://tiles.example.org/z.png", "http://tiles.example.org"),
            (
                "https://tiles.example.org:8443/",
                "https://tiles.example.org:8443",
            ),
            (
                "https://evil.example/x?token=secret",
                "https://evil.example",
            ),
        ] {
            assert_eq!(
                verdict(url, BACKEND, &tiles()),
                Verdict::Refused(origin.to_owned()),
                "{url}"
            );
        }
        assert_eq!(
            verdict("ftp://files.example/a", BACKEND, &tiles()),
            Verdict::Refused("ftp: URLs".to_owned())
        );
        assert_eq!(
            verdict("http://127.0.0.1:40123/", None, &[]),
            Verdict::Refused("http://127.0.0.1:40123".to_owned()),
            "no session, no backend"
        );
    }

    #[test]
    fn allow_keeps_origins_and_drops_what_is_not_one() {
        allow(&[
            "https://Tiles.Example.org:443".to_owned(),
            "not a url".to_owned(),
        ]);
        assert_eq!(
            *ALLOWED.read().unwrap(),
            ["https://tiles.example.org".to_owned()]
        );
        allow(&[]);
    }
}
