//! The `mercure { ... }` directive into a [`MercureConfig`], with the option names of the
//! Mercure Caddy module (mercure.rocks/docs/hub/config). Options of that module that concern
//! its own transports or UI are ignored with the file's one warning; unknown ones are errors.

use std::time::Duration;

use super::SourceFile;
use super::mercure::{JwtKey, MercureConfig};
use super::tree::Directive;
use super::units;
use crate::error::Result;
use crate::secret::Secret;
use http::HeaderValue;

/// Options of the Mercure Caddy module that have no meaning for this hub. `dispatch_timeout` is
/// there because Mercure.rocks bounds how long it waits to hand an update to one subscriber; this
/// hub never waits: an update goes into each subscriber's bounded queue at once, and a subscriber
/// that falls behind by `subscriber_queue` updates is disconnected (`docs/contract.md` §8).
const IGNORED: &[&str] = &[
    "dispatch_timeout",
    "transport_url",
    "transport",
    "ui",
    "demo",
    "cookie_name",
    "protocol_version_compatibility",
    "topic_selector_cache",
    "lazy_cleanup",
];

/// Parses the block of a `mercure` directive; names of ignored options go to `ignored`.
pub(super) fn parse(
    src: &SourceFile,
    d: &Directive,
    ignored: &mut Vec<String>,
) -> Result<MercureConfig> {
    if !d.args.is_empty() {
        return Err(src.error(d.line, "mercure takes no arguments, only a block"));
    }
    let mut config = MercureConfig::default();
    for sub in d.block.iter().flatten() {
        let err = |msg: &str| src.error(sub.line, format!("mercure {}: {msg}", sub.written.name));
        let args = sub.args.as_slice();
        match sub.name.as_str() {
            "publisher_jwt" => config.publisher_jwt = Some(jwt(sub).map_err(|m| err(&m))?),
            "subscriber_jwt" => config.subscriber_jwt = Some(jwt(sub).map_err(|m| err(&m))?),
            "anonymous" => config.anonymous = flag(args).ok_or_else(|| err("takes no value"))?,
            "subscriptions" => {
                config.subscriptions = flag(args).ok_or_else(|| err("takes no value"))?;
            }
            "cors_origins" => config.cors_origins = origins(sub).map_err(|m| err(&m))?,
            "publish_origins" => config.publish_origins = origins(sub).map_err(|m| err(&m))?,
            "heartbeat" => config.heartbeat = dur(args).ok_or_else(|| err(DUR_USAGE))?,
            "write_timeout" => {
                let d = dur(args).ok_or_else(|| err(DUR_USAGE))?;
                config.write_timeout = (!d.is_zero()).then_some(d);
            }
            "history_size" => config.history_size = count(args).ok_or_else(|| err(N_USAGE))?,
            "subscriber_queue" => {
                config.subscriber_queue = count(args).ok_or_else(|| err(N_USAGE))?;
            }
            "history_max_bytes" => {
                config.history_max_bytes = size(args).ok_or_else(|| err(SIZE_USAGE))?;
            }
            "max_topics" => config.max_topics = positive(args).ok_or_else(|| err(N_USAGE))?,
            "max_topic_length" => {
                config.max_topic_length = size(args)
                    .filter(|&n| n > 0)
                    .ok_or_else(|| err(SIZE_USAGE))?;
            }
            name if IGNORED.contains(&name) => {
                ignored.push(format!("mercure {} (line {})", sub.written.name, sub.line));
            }
            _ => {
                let msg = format!("unknown mercure option {:?}", sub.written.name);
                return Err(src.error(sub.line, msg));
            }
        }
    }
    // A replay counts against the subscriber's queue (docs/contract.md §8): with a longer
    // history, a subscriber reconnecting from far back would be cut off at once, every time.
    if config.history_size > config.subscriber_queue {
        let msg = format!(
            "mercure: history_size {} is larger than subscriber_queue {}: a subscriber \
             reconnecting from the oldest update would get a replay its queue cannot hold, and \
             its stream would end at once each time; keep history_size at most subscriber_queue",
            config.history_size, config.subscriber_queue
        );
        return Err(src.error(d.line, msg));
    }
    Ok(config)
}

const JWT_USAGE: &str = "expected KEY [HS256|HS384|HS512] with a non-empty KEY";
const DUR_USAGE: &str = "expected one duration such as 15s";
const N_USAGE: &str = "expected one whole number";
const SIZE_USAGE: &str = "expected one size such as 2KiB";

/// `KEY [ALG]`. The algorithm is checked here, where the line is known; the hub verifies
/// HMAC only. The message quotes the algorithm as written: a swapped `ALG KEY` must not print
/// the key.
fn jwt(sub: &Directive) -> Result<JwtKey, String> {
    let (key, alg) = match sub.args.as_slice() {
        [key] if !key.is_empty() => (key, "HS256"),
        [key, alg] if !key.is_empty() => (key, alg.as_str()),
        _ => return Err(JWT_USAGE.into()),
    };
    if !["HS256", "HS384", "HS512"].contains(&alg) {
        let written = sub.written_arg(1);
        return Err(format!(
            "unsupported JWT algorithm {written:?} (HS256, HS384 or HS512)"
        ));
    }
    Ok(JwtKey {
        key: Secret::new(key.as_str()),
        alg: alg.to_string(),
    })
}

fn flag(args: &[String]) -> Option<bool> {
    args.is_empty().then_some(true)
}

/// Origins are compared with the `Origin` request header: one that cannot be a header value
/// (RFC 9110 §5.5) could never match.
fn origins(sub: &Directive) -> Result<Vec<String>, String> {
    if sub.args.is_empty() {
        return Err("needs origins".into());
    }
    let bad = sub
        .args
        .iter()
        .position(|o| HeaderValue::from_str(o).is_err());
    match bad {
        Some(i) => Err(format!(
            "origin {:?} contains a control character",
            sub.written_arg(i)
        )),
        None => Ok(sub.args.clone()),
    }
}

fn dur(args: &[String]) -> Option<Duration> {
    match args {
        [one] => units::duration(one),
        _ => None,
    }
}

fn count(args: &[String]) -> Option<usize> {
    match args {
        [one] => one.parse().ok(),
        _ => None,
    }
}

/// A whole number above zero (a bound of zero would refuse everything).
fn positive(args: &[String]) -> Option<usize> {
    count(args).filter(|&n| n > 0)
}

fn size(args: &[String]) -> Option<usize> {
    match args {
        [one] => units::size(one).map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(options: &str) -> Result<MercureConfig> {
        let text = format!("x:1 {{\n mercure {{\n{options}\n }}\n}}\n");
        let src = SourceFile::new("Caddyfile", text);
        let config = crate::config::Config::parse(&src, &|_| None)?;
        Ok(config.mercure.expect("mercure block"))
    }

    #[test]
    fn bounds_have_defaults_and_directives() {
        let m = block("").unwrap();
        assert_eq!(
            (m.history_max_bytes, m.max_topics, m.max_topic_length),
            (16 << 20, 100, 2048)
        );
        let m = block("  history_max_bytes 1MiB\n  max_topics 7\n  max_topic_length 4KiB").unwrap();
        assert_eq!(
            (m.history_max_bytes, m.max_topics, m.max_topic_length),
            (1 << 20, 7, 4096)
        );
        assert!(block("  max_topics 0").is_err());
        assert!(block("  max_topic_length 0").is_err());
        assert!(block("  history_max_bytes lots").is_err());
    }
}
