//! What the backend takes from a Caddyfile tree: the site address, the directives of
//! docs/contract.md §10 (`mercure`, `root`, `file_server`, `encode`, `header`, `log`,
//! `request_body`) and the connection timeouts of the global `servers { timeouts { ... } }` option.
//!
//! Caddy/FrankenPHP directives that have no meaning here (`php_server`, `vulcain`, ...) are
//! collected into one warning; anything else unknown is an error naming its line. Nothing is
//! ignored silently. Messages quote the words as written ([`Directive::written`]), never their
//! expansion, and a value that cannot work (a header value with a control character, a host
//! that is no host name) is an error here, where its line is known (`docs/contract.md` §10).

use std::path::PathBuf;
use std::time::Duration;

use super::SourceFile;
use super::mercure::MercureConfig;
use super::tree::{Directive, Tree};
use super::{mercure_block, units};
use crate::error::Result;

/// The site address we serve (`{$SERVER_NAME:127.0.0.1}:{$PORT:8765}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteAddress {
    /// A host name or IP literal, without brackets; empty in the file means `127.0.0.1`.
    pub host: String,
    pub port: u16,
}

/// A response-header edit of the `header` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderOp {
    /// `Name value`: set (replace).
    Set(String, String),
    /// `+Name value`: add.
    Add(String, String),
    /// `-Name`: remove.
    Remove(String),
}

/// A response compression of the `encode` directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    Zstd,
}

/// Everything `serve` takes from the Caddyfile.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub address: SiteAddress,
    /// The `mercure` block; `None` when the site has none (then no hub is mounted).
    pub mercure: Option<MercureConfig>,
    /// `root`: the static files' directory (relative to the working directory).
    pub root: Option<PathBuf>,
    /// `file_server`: serve files under `root` for paths no route takes.
    pub file_server: bool,
    /// `encode`: compressions offered, in the file's order.
    pub encode: Vec<Encoding>,
    /// `header`: response-header edits, in order.
    pub headers: Vec<HeaderOp>,
    /// `log`: log one line per request.
    pub access_log: bool,
    /// `request_body { max_size }`; 1 MiB when absent.
    pub max_body: usize,
    /// The global `servers { timeouts { read_header, idle } }`.
    pub timeouts: Timeouts,
    /// What was ignored (one warning line, logged by `serve`), if anything.
    pub warning: Option<String>,
}

/// Connection timeouts (Caddy's `servers { timeouts { ... } }` global option); `None`: no bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// `read_header`: how long a request head may take (from the connection's start, or from
    /// the first byte of a later request's head).
    pub read_header: Option<Duration>,
    /// `idle`: how long a keep-alive connection may wait for its next request.
    pub idle: Option<Duration>,
}

impl Default for Timeouts {
    /// 10 s and 60 s: far above what a local client needs, far below "forever".
    fn default() -> Self {
        Timeouts {
            read_header: Some(Duration::from_secs(10)),
            idle: Some(Duration::from_secs(60)),
        }
    }
}

/// The request body limit when the Caddyfile sets none.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// Directives of Caddy/FrankenPHP that make no sense in this backend: one warning, not an error.
const NOT_APPLICABLE: &[&str] = &[
    "php_server",
    "php",
    "php_fastcgi",
    "php_worker",
    "frankenphp",
    "vulcain",
    "worker",
    "tls",
    "push",
    "try_files",
    "route",
    "handle",
    "handle_path",
];

/// Global options we accept and ignore (with the warning).
const GLOBAL_IGNORED: &[&str] = &[
    "admin",
    "auto_https",
    "http_port",
    "https_port",
    "storage",
    "email",
    "grace_period",
    "shutdown_delay",
    "order",
    "frankenphp",
    "debug",
    "log",
    "skip_install_trust",
    "local_certs",
];

/// Builds the [`Config`] of a parsed file.
pub fn interpret(src: &SourceFile, tree: &Tree) -> Result<Config> {
    let mut ignored = Vec::new();
    let mut timeouts = Timeouts::default();
    for d in tree.global.iter().flatten() {
        if d.name == "servers" {
            servers(src, d, &mut timeouts, &mut ignored)?;
            continue;
        }
        if !GLOBAL_IGNORED.contains(&d.name.as_str()) {
            let msg = format!("unknown global option {:?}", d.written.name);
            return Err(src.error(d.line, msg));
        }
        ignored.push(format!("global {} (line {})", d.written.name, d.line));
    }
    let Some(site) = tree.servers.first() else {
        return Err(src.error(
            1,
            "no site block: expected an address such as 127.0.0.1:8765",
        ));
    };
    if let Some(second) = tree.servers.get(1) {
        return Err(src.error(second.line, "only one site block is supported"));
    }
    if site.keys.len() != 1 {
        return Err(src.error(site.line, "the site block needs exactly one address"));
    }
    let mut config = Config {
        address: address(src, site.line, &site.keys[0], &site.written_keys[0])?,
        mercure: None,
        root: None,
        file_server: false,
        encode: Vec::new(),
        headers: Vec::new(),
        access_log: false,
        max_body: DEFAULT_MAX_BODY,
        timeouts,
        warning: None,
    };
    for d in &site.directives {
        directive(src, d, &mut config, &mut ignored)?;
    }
    if !ignored.is_empty() {
        config.warning = Some(format!(
            "{}: ignoring what does not apply to qmlbridge-backend: {}",
            src.name,
            ignored.join(", ")
        ));
    }
    Ok(config)
}

fn directive(
    src: &SourceFile,
    d: &Directive,
    config: &mut Config,
    ignored: &mut Vec<String>,
) -> Result<()> {
    match d.name.as_str() {
        "mercure" => {
            if config.mercure.is_some() {
                return Err(src.error(d.line, "mercure is given twice"));
            }
            config.mercure = Some(mercure_block::parse(src, d, ignored)?);
        }
        "root" => {
            let args: Vec<&String> = d.args.iter().filter(|a| *a != "*").collect();
            match (args.as_slice(), &d.block) {
                // A path holding NUL cannot be opened (POSIX): every file would be a 404.
                ([dir], None) if dir.contains('\0') => {
                    return Err(src.error(d.line, "root: the directory name contains NUL"));
                }
                ([dir], None) => config.root = Some(PathBuf::from(dir.as_str())),
                _ => return Err(src.error(d.line, "root takes one directory: root [*] DIR")),
            }
        }
        "file_server" => {
            no_args_or_block(src, d)?;
            config.file_server = true;
        }
        "encode" => {
            let names = d.args.iter().zip(&d.written.args).map(|a| (a, d.line));
            let block = d.block.iter().flatten();
            let block = block.map(|b| ((&b.name, &b.written.name), b.line));
            for ((name, written), line) in names.chain(block) {
                config.encode.push(match name.as_str() {
                    "gzip" => Encoding::Gzip,
                    "zstd" => Encoding::Zstd,
                    _ => {
                        let msg = format!("encode: unsupported encoding {written:?} (gzip, zstd)");
                        return Err(src.error(line, msg));
                    }
                });
            }
        }
        "header" => header(src, d, &mut config.headers)?,
        "log" => {
            config.access_log = true;
            if !d.args.is_empty() || d.block.as_ref().is_some_and(|b| !b.is_empty()) {
                ignored.push(format!("log options (line {}): lines go to stderr", d.line));
            }
        }
        "request_body" => {
            for sub in d.block.iter().flatten() {
                match (sub.name.as_str(), sub.args.as_slice()) {
                    ("max_size", [size]) => {
                        let bytes = units::size(size).ok_or_else(|| {
                            let msg = format!("max_size: invalid size {:?}", sub.written_arg(0));
                            src.error(sub.line, msg)
                        })?;
                        config.max_body = usize::try_from(bytes).unwrap_or(usize::MAX);
                    }
                    _ => {
                        let msg = format!("request_body: unknown option {:?}", sub.written.name);
                        return Err(src.error(sub.line, msg));
                    }
                }
            }
        }
        name if NOT_APPLICABLE.contains(&name) => {
            ignored.push(format!("{} (line {})", d.written.name, d.line));
        }
        _ => {
            let msg = format!("unknown directive {:?}", d.written.name);
            return Err(src.error(d.line, msg));
        }
    }
    Ok(())
}

/// The global `servers [ADDRESS] { ... }`: its `timeouts { read_header DUR idle DUR }` are
/// honoured (`0` = no bound, as in Caddy); its other options (`read_body`, `write`, `protocols`,
/// ...) are ignored with the warning. The one site is the one server, whatever ADDRESS says.
fn servers(
    src: &SourceFile,
    d: &Directive,
    timeouts: &mut Timeouts,
    ignored: &mut Vec<String>,
) -> Result<()> {
    for option in d.block.iter().flatten() {
        if option.name != "timeouts" {
            ignored.push(format!("servers {} (line {})", option.name, option.line));
            continue;
        }
        for t in option.block.iter().flatten() {
            let slot = match t.name.as_str() {
                "read_header" => &mut timeouts.read_header,
                "idle" => &mut timeouts.idle,
                other => {
                    ignored.push(format!("servers timeouts {other} (line {})", t.line));
                    continue;
                }
            };
            let value = match t.args.as_slice() {
                [value] if t.block.is_none() => units::duration(value),
                _ => None,
            };
            let Some(value) = value else {
                let msg = format!(
                    "timeouts: {} takes one duration (10s, 1m, 0 = none)",
                    t.name
                );
                return Err(src.error(t.line, msg));
            };
            *slot = (!value.is_zero()).then_some(value);
        }
    }
    Ok(())
}

fn no_args_or_block(src: &SourceFile, d: &Directive) -> Result<()> {
    if d.args.is_empty() && d.block.is_none() {
        Ok(())
    } else {
        Err(src.error(d.line, format!("{} takes no options here", d.written.name)))
    }
}

/// `header NAME VALUE`, `header -NAME`, or a block of such lines. Matchers are not supported.
/// Names and values must be valid in HTTP (RFC 9110 §5.1, §5.5: no control characters): a
/// header the server could never send is an error here, not a warning per response.
fn header(src: &SourceFile, d: &Directive, out: &mut Vec<HeaderOp>) -> Result<()> {
    // Each line's words, expanded and as written, with its line number.
    let mut lines: Vec<(Vec<&String>, Vec<&String>, usize)> = Vec::new();
    if !d.args.is_empty() {
        lines.push((
            d.args.iter().collect(),
            d.written.args.iter().collect(),
            d.line,
        ));
    }
    for b in d.block.iter().flatten() {
        let words = std::iter::once(&b.name).chain(&b.args).collect();
        let written = std::iter::once(&b.written.name).chain(&b.written.args);
        lines.push((words, written.collect(), b.line));
    }
    for (words, written, line) in lines {
        let first = written.first().map_or("", |w| w.as_str());
        let op = match words.as_slice() {
            [name] if name.starts_with('-') && name.len() > 1 => {
                let name = &name[1..];
                if !valid_header_name(name) {
                    let msg = format!("header: invalid header name {first:?}");
                    return Err(src.error(line, msg));
                }
                HeaderOp::Remove(name.into())
            }
            // An invalid name here is most likely a matcher (`/api/*`, `@name`): the usage error.
            [name, value @ ..] if !value.is_empty() && valid_header_name(bare(name)) => {
                let add = name.starts_with('+');
                let value = value
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                if http::HeaderValue::from_str(&value).is_err() {
                    // The value itself is not quoted: it may come from a placeholder.
                    let msg = format!("header {first:?}: the value contains a control character");
                    return Err(src.error(line, msg));
                }
                if add {
                    HeaderOp::Add(bare(name).into(), value)
                } else {
                    HeaderOp::Set(bare(name).into(), value)
                }
            }
            _ => {
                let msg = "header: expected NAME VALUE, +NAME VALUE or -NAME (matchers are not supported)";
                return Err(src.error(line, msg));
            }
        };
        out.push(op);
    }
    Ok(())
}

/// A header name without the `+` of `header +NAME VALUE`.
fn bare(name: &str) -> &str {
    name.strip_prefix('+').unwrap_or(name)
}

fn valid_header_name(name: &str) -> bool {
    http::HeaderName::from_bytes(name.as_bytes()).is_ok()
}

/// `host:port`, `[v6]:port`, `:port` or `http://...`; `https://` and a missing port are errors.
/// `key` is the address expanded, `written` as written (what messages quote).
fn address(src: &SourceFile, line: usize, key: &str, written: &str) -> Result<SiteAddress> {
    let bad = |why: &str| src.error(line, format!("site address {written:?}: {why}"));
    let rest = match key.split_once("://") {
        Some(("http", rest)) => rest,
        // The scheme is named only when it is written as such, not the expansion of a placeholder.
        Some((scheme, _)) if written.starts_with(&format!("{scheme}://")) => {
            return Err(bad(&format!("scheme {scheme} is not supported (http)")));
        }
        Some(_) => return Err(bad("the scheme is not supported (http)")),
        None => key,
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("needs a port"))?;
    let port: u16 = port.parse().map_err(|_| bad("invalid port"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    if !valid_host(host) {
        return Err(bad("invalid host (an IP address or a host name)"));
    }
    Ok(SiteAddress {
        host: host.to_string(),
        port,
    })
}

/// An IP literal or a DNS name (RFC 1123 labels; `_` allowed, as `/etc/hosts` entries have it):
/// anything else cannot be resolved, and the file, not the network, is at fault.
fn valid_host(host: &str) -> bool {
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    host.parse::<std::net::IpAddr>().is_ok()
        || (host.len() <= 253 && host.trim_end_matches('.').split('.').all(label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(&SourceFile::new("Caddyfile", text), &|_| None)
    }

    #[test]
    fn servers_timeouts() {
        let c = parse("127.0.0.1:1 {\n}\n").unwrap();
        assert_eq!(c.timeouts, Timeouts::default());
        let text = "{\n\tservers :1 {\n\t\tprotocols h1\n\t\ttimeouts {\n\t\t\tread_header 2s\n\t\t\t\
                    idle 0\n\t\t\twrite 30s\n\t\t}\n\t}\n}\n127.0.0.1:1 {\n}\n";
        let c = parse(text).unwrap();
        let expected = Timeouts {
            read_header: Some(Duration::from_secs(2)),
            idle: None,
        };
        assert_eq!(c.timeouts, expected);
        let warning = c.warning.unwrap();
        assert!(warning.contains("servers protocols (line 3)"), "{warning}");
        assert!(
            warning.contains("servers timeouts write (line 7)"),
            "{warning}"
        );
        let bad =
            "{\n\tservers {\n\t\ttimeouts {\n\t\t\tidle soon\n\t\t}\n\t}\n}\n127.0.0.1:1 {\n}\n";
        let e = parse(bad).unwrap_err().to_string();
        assert!(e.starts_with("Caddyfile:4: timeouts: idle"), "{e}");
    }
}
