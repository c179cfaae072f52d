//! The updater's HTTP: one client (rustls, connect and read timeouts), small answers read whole
//! within a size limit, and the image's bytes streamed, whole or by range. URLs appear in errors
//! without query string, fragment or credentials, since a feed URL may carry a token.

use std::ops::Range;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE};

use crate::{Error, Result};

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the server may stay silent while it answers.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a small answer (the feed, its signature, the `.zsync` file) may take in all.
const SMALL_TIMEOUT: Duration = Duration::from_secs(300);

/// The client all requests of one check or download share.
pub(crate) struct Http {
    client: reqwest::Client,
}

/// A streamed answer.
pub(crate) struct Body {
    response: reqwest::Response,
    url: String,
}

/// What a server answered to a range request.
pub(crate) enum Ranged {
    /// 206 with exactly the range asked for.
    Partial(Body),
    /// 200: the server ignores ranges and sends the whole file.
    Whole(Body),
    /// 206 for another range or without a valid `Content-Range`: not usable.
    Unusable(String),
}

impl Http {
    pub(crate) fn new() -> Result<Http> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("qmlbridge-update/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Network {
                url: String::new(),
                problem: format!("no HTTP client: {}", e.without_url()),
            })?;
        Ok(Http { client })
    }

    /// The whole body of `url` (200 only), at most `limit` bytes.
    pub(crate) async fn small(&self, url: &str, limit: u64) -> Result<Vec<u8>> {
        let request = self.client.get(url).timeout(SMALL_TIMEOUT);
        let mut body = self.send(url, request, StatusCode::OK).await?;
        let mut out = Vec::new();
        while let Some(chunk) = body.chunk().await? {
            if (out.len() + chunk.len()) as u64 > limit {
                return Err(Error::TooLarge {
                    url: redact(url),
                    limit,
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The whole of `url`, streamed (200 only).
    pub(crate) async fn whole(&self, url: &str) -> Result<Body> {
        self.send(url, self.client.get(url), StatusCode::OK).await
    }

    /// The bytes `range` of `url`, a file of `size` bytes.
    pub(crate) async fn range(&self, url: &str, range: &Range<u64>, size: u64) -> Result<Ranged> {
        let request = self
            .client
            .get(url)
            .header(RANGE, format!("bytes={}-{}", range.start, range.end - 1));
        let response = request.send().await.map_err(network(url))?;
        let body = Body {
            url: redact(url),
            response,
        };
        match body.response.status() {
            StatusCode::OK => return Ok(Ranged::Whole(body)),
            StatusCode::PARTIAL_CONTENT => {}
            status => {
                return Err(Error::Http {
                    url: body.url,
                    status: status.as_u16(),
                });
            }
        }
        let expected = format!("bytes {}-{}/{size}", range.start, range.end - 1);
        let got = body
            .response
            .headers()
            .get(CONTENT_RANGE)
            .and_then(|v| v.to_str().ok());
        if got != Some(expected.as_str()) {
            return Ok(Ranged::Unusable(format!(
                "asked for {expected}, the answer's Content-Range is {got:?}"
            )));
        }
        Ok(Ranged::Partial(body))
    }

    async fn send(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
        want: StatusCode,
    ) -> Result<Body> {
        let response = request.send().await.map_err(network(url))?;
        if response.status() != want {
            return Err(Error::Http {
                url: redact(url),
                status: response.status().as_u16(),
            });
        }
        Ok(Body {
            response,
            url: redact(url),
        })
    }
}

impl Body {
    /// The next piece of the body, or `None` at its end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<bytes::Bytes>> {
        self.response.chunk().await.map_err(|e| Error::Network {
            url: self.url.clone(),
            problem: problem(&e),
        })
    }

    /// The URL, as errors show it.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// What the server says the body's length is.
    pub(crate) fn content_length(&self) -> Option<u64> {
        self.response.content_length()
    }
}

fn network(url: &str) -> impl FnOnce(reqwest::Error) -> Error + '_ {
    move |e| Error::Network {
        url: redact(url),
        problem: problem(&e),
    }
}

/// A request's failure in words, its cause chain included, without the URL (which is named
/// separately, redacted).
fn problem(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `url` as errors show it: no credentials, query string or fragment.
pub(crate) fn redact(url: &str) -> String {
    let cut = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..cut];
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host_end = rest.find('/').unwrap_or(rest.len());
            let host = &rest[..host_end];
            let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
            format!("{scheme}://{host}{}", &rest[host_end..])
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(
            redact("https://u:secret@e.org/a/latest.json?token=x#f"),
            "https://e.org/a/latest.json"
        );
        assert_eq!(redact("http://127.0.0.1:80/x"), "http://127.0.0.1:80/x");
    }
}
