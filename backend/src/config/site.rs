//! What the backend takes from a Caddyfile tree: the site address, the directives of
//! issue 2 (`mercure`, `root`, `file_server`, `encode`, `header`, `log`, `request_body`) and the
//! connection timeouts of the global `servers { timeouts { ... } }` option.
//!
//! Caddy/FrankenPHP directives that have no meaning here (`php_server`, `vulcain`, ...) are
//! collected into one warning; anything else unknown is an error naming its line. Nothing is
//! ignored silently.

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
            let msg = format!("unknown global option \"{}\"", d.name);
            return Err(src.error(d.line, msg));
        }
        ignored.push(format!("global {} (line {})", d.name, d.line));
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
        address: address(src, site.line, &site.keys[0])?,
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
                ([dir], None) => config.root = Some(PathBuf::from(dir.as_str())),
                _ => return Err(src.error(d.line, "root takes one directory: root [*] DIR")),
            }
        }
        "file_server" => {
            no_args_or_block(src, d)?;
            config.file_server = true;
        }
        "encode" => {
            let names = d.args.iter().map(|a| (a, d.line));
            let block = d.block.iter().flatten().map(|b| (&b.name, b.line));
            for (name, line) in names.chain(block) {
                config.encode.push(match name.as_str() {
                    "gzip" => Encoding::Gzip,
                    "zstd" => Encoding::Zstd,
                    other => {
                        let msg = format!("encode: unsupported encoding \"{other}\" (gzip, zstd)");
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
                            src.error(sub.line, format!("max_size: invalid size \"{size}\""))
                        })?;
                        config.max_body = usize::try_from(bytes).unwrap_or(usize::MAX);
                    }
                    (name, _) => {
                        let msg = format!("request_body: unknown option \"{name}\"");
                        return Err(src.error(sub.line, msg));
                    }
                }
            }
        }
        name if NOT_APPLICABLE.contains(&name) => {
            ignored.push(format!("{name} (line {})", d.line));
        }
        name => return Err(src.error(d.line, format!("unknown directive \"{name}\""))),
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
        Err(src.error(d.line, format!("{} takes no options here", d.name)))
    }
}

/// `header NAME VALUE`, `header -NAME`, or a block of such lines. Matchers are not supported.
fn header(src: &SourceFile, d: &Directive, out: &mut Vec<HeaderOp>) -> Result<()> {
    let mut lines: Vec<(&[String], usize)> = Vec::new();
    if !d.args.is_empty() {
        lines.push((&d.args, d.line));
    }
    let block: Vec<(Vec<String>, usize)> = d
        .block
        .iter()
        .flatten()
        .map(|b| {
            let mut words = vec![b.name.clone()];
            words.extend(b.args.iter().cloned());
            (words, b.line)
        })
        .collect();
    lines.extend(block.iter().map(|(w, l)| (w.as_slice(), *l)));
    for (words, line) in lines {
        let op = match words {
            [name] if name.starts_with('-') && name.len() > 1 => HeaderOp::Remove(name[1..].into()),
            [name, value @ ..] if !value.is_empty() && valid_header_name(name) => {
                match name.strip_prefix('+') {
                    Some(name) => HeaderOp::Add(name.into(), value.join(" ")),
                    None => HeaderOp::Set(name.clone(), value.join(" ")),
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

fn valid_header_name(name: &str) -> bool {
    let bare = name.strip_prefix('+').unwrap_or(name);
    http::HeaderName::from_bytes(bare.as_bytes()).is_ok()
}

/// `host:port`, `[v6]:port`, `:port` or `http://...`; `https://` and a missing port are errors.
fn address(src: &SourceFile, line: usize, key: &str) -> Result<SiteAddress> {
    let bad = |why: &str| src.error(line, format!("site address \"{key}\": {why}"));
    let rest = match key.split_once("://") {
        Some(("http", rest)) => rest,
        Some((scheme, _)) => return Err(bad(&format!("scheme {scheme} is not supported (http)"))),
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
    Ok(SiteAddress {
        host: host.to_string(),
        port,
    })
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
