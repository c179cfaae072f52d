//! The rules a manifest's values follow, one function per kind of value. Each returns the problem
//! as a sentence (the caller adds the file and the field), so `qmlbridge new` checks its command
//! line with the very rules the manifest it writes will be read with.

/// Names cargo refuses as a package or binary name (Rust keywords and the standard library's
/// crates), and the framework's own crates, which an app's workspace depends on by name.
///
/// See: <https://doc.rust-lang.org/reference/keywords.html>
const RESERVED_NAMES: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "gen",
    "macro",
    "override",
    "priv",
    "try",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "alloc",
    "core",
    "proc-macro",
    "std",
    "test",
    "build",
    "qmlbridge",
    "qmlbridge-qt",
    "qmlbridge-backend",
    "qmlbridge-backend-macros",
    "qmlbridge-supervisor",
    "qmlbridge-manifest",
    "qmlbridge-cli",
];

/// The freedesktop.org Main Categories: a desktop entry names at least one of them.
///
/// See: <https://specifications.freedesktop.org/menu-spec/latest/category-registry.html>
pub const MAIN_CATEGORIES: &[&str] = &[
    "AudioVideo",
    "Audio",
    "Video",
    "Development",
    "Education",
    "Game",
    "Graphics",
    "Network",
    "Office",
    "Science",
    "Settings",
    "System",
    "Utility",
];

/// Longest app name: it is a crate name, a file name and a data-dir component.
const MAX_NAME: usize = 64;
/// The D-Bus limit on a name, which a reverse-DNS app id also is (desktop entry spec, "File
/// naming").
const MAX_IDENTIFIER: usize = 255;
/// Longest one-line text (display name, comment): a menu entry, not a paragraph.
const MAX_LINE: usize = 200;

/// An app name: a crate, binary and file name, `[a-z][a-z0-9-]*`, no `--`, not ending in `-`,
/// not ending in `-backend` (that is the backend's name), not reserved.
pub fn name(value: &str) -> Result<(), String> {
    let shape = value.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !shape || value.contains("--") || value.ends_with('-') {
        return Err(format!(
            "{value:?} is not an app name ([a-z][a-z0-9-]*, single dashes between parts, e.g. bookmarks)"
        ));
    }
    if value.len() > MAX_NAME {
        return Err(format!("{value:?} is longer than {MAX_NAME} characters"));
    }
    if value.ends_with("-backend") {
        return Err(format!(
            "{value:?} ends with -backend: the backend is named <name>-backend"
        ));
    }
    if RESERVED_NAMES.contains(&value) {
        return Err(format!(
            "{value:?} is reserved (a Rust keyword, a standard crate or a qmlbridge crate)"
        ));
    }
    Ok(())
}

/// A cargo package or binary name of the app's own crates: `[a-z][a-z0-9_-]*`, not reserved.
pub fn crate_name(value: &str) -> Result<(), String> {
    let shape = value.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !shape || value.len() > MAX_NAME + "-backend".len() {
        return Err(format!(
            "{value:?} is not a crate or binary name ([a-z][a-z0-9_-]*)"
        ));
    }
    if RESERVED_NAMES.contains(&value) {
        return Err(format!("{value:?} is reserved"));
    }
    Ok(())
}

/// The organisation: the first data-dir component (`~/.local/share/<org>/<name>`), one path
/// component `[A-Za-z0-9][A-Za-z0-9._-]*`.
pub fn org(value: &str) -> Result<(), String> {
    let shape = value
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !shape || value.len() > MAX_NAME {
        return Err(format!(
            "{value:?} is not an organisation name (one path component, [A-Za-z0-9][A-Za-z0-9._-]*, e.g. example)"
        ));
    }
    Ok(())
}

/// A reverse-DNS id (desktop file id, icon name, Wayland `app_id`, AppStream id): at least two
/// dot-separated components, each `[A-Za-z][A-Za-z0-9_-]*`.
///
/// See: <https://specifications.freedesktop.org/desktop-entry-spec/latest/file-naming.html>
pub fn identifier(value: &str) -> Result<(), String> {
    let component = |c: &str| {
        c.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    let parts: Vec<&str> = value.split('.').collect();
    if parts.len() < 2 || !parts.iter().all(|c| component(c)) || value.len() > MAX_IDENTIFIER {
        return Err(format!(
            "{value:?} is not a reverse-DNS id (e.g. org.example.App)"
        ));
    }
    Ok(())
}

/// A version: semantic versioning 2.0.0 (what cargo requires of a crate's version too).
///
/// See: <https://semver.org/>
pub fn version(value: &str) -> Result<(), String> {
    semver::Version::parse(value)
        .map(|_| ())
        .map_err(|e| format!("{value:?} is not a semantic version (e.g. 0.1.0): {e}"))
}

/// One line of text for a person: not blank, no control characters (it lands in a desktop
/// file's `Name=`/`Comment=` and in a compile-time environment variable), at most 200 characters.
pub fn line(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("is empty".to_owned());
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{value:?} contains a control character (one line only)"
        ));
    }
    if value.chars().count() > MAX_LINE {
        return Err(format!("is longer than {MAX_LINE} characters"));
    }
    Ok(())
}

/// The comment, also the AppStream summary: [`line`], and no trailing full stop (AppStream's
/// `summary-has-dot-suffix`).
pub fn comment(value: &str) -> Result<(), String> {
    line(value)?;
    if value.trim_end().ends_with('.') {
        return Err(format!(
            "{value:?} ends with a full stop (a summary does not)"
        ));
    }
    Ok(())
}

/// Desktop categories: not empty, each a category name (`[A-Za-z0-9-]+`), no repeats, at least one
/// Main Category. Whether an Additional Category fits its main one is `desktop-file-validate`'s
/// check at bundle time.
pub fn categories(values: &[String]) -> Result<(), String> {
    for (i, c) in values.iter().enumerate() {
        if c.is_empty() || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!("{c:?} is not a category name"));
        }
        if values[..i].contains(c) {
            return Err(format!("{c:?} is listed twice"));
        }
    }
    if !values.iter().any(|c| MAIN_CATEGORIES.contains(&c.as_str())) {
        return Err(format!(
            "names no freedesktop Main Category (one of {})",
            MAIN_CATEGORIES.join(", ")
        ));
    }
    Ok(())
}

/// A Qt Quick Controls style name (`Basic`, `Fusion`, `Material`..): `[A-Z][A-Za-z0-9]*`.
pub fn quick_styles(values: &[String]) -> Result<(), String> {
    for (i, s) in values.iter().enumerate() {
        let shape = s.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
            && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if !shape {
            return Err(format!(
                "{s:?} is not a Qt Quick Controls style name (e.g. Fusion)"
            ));
        }
        if values[..i].contains(s) {
            return Err(format!("{s:?} is listed twice"));
        }
    }
    Ok(())
}

/// The AppImage size limit in MB: 1 to 2000 (a type-2 image is one file; past 2 GB is a mistake).
pub fn max_size_mb(value: u32) -> Result<(), String> {
    if !(1..=2000).contains(&value) {
        return Err(format!("{value} is not between 1 and 2000"));
    }
    Ok(())
}

/// `[qml] network`: the origins the app's QML may fetch from besides its backend, each an
/// [`origin`], no repeats. Returned normalised.
pub fn network(values: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        let normal = origin(value)?;
        if out.contains(&normal) {
            return Err(format!("{value:?} is listed twice"));
        }
        out.push(normal);
    }
    Ok(out)
}

/// A web origin: `http` or `https`, a host (a DNS name, an IPv4 address or a bracketed IPv6 one)
/// and an optional port, nothing else: no path, query, fragment, user or wildcard. Returned with
/// the scheme and host in lower case and a default port (80, 443) dropped, as browsers compare
/// origins.
///
/// See: <https://html.spec.whatwg.org/multipage/browsers.html#origin>
pub fn origin(value: &str) -> Result<String, String> {
    let refuse = |why: &str| {
        Err(format!(
            "{value:?} is not an origin (scheme://host[:port], e.g. https://tiles.example.org): {why}"
        ))
    };
    let Some((scheme, rest)) = value.split_once("://") else {
        return refuse("no scheme");
    };
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return refuse("the scheme is not http or https"),
    };
    if let Some(c) = rest.chars().find(|c| "/?#".contains(*c)) {
        return refuse(&format!("it has a path, query or fragment (`{c}`)"));
    }
    if rest.contains('@') {
        return refuse("it names a user");
    }
    if rest.contains('*') {
        return refuse("wildcards are not supported; list each origin");
    }
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, tail)) if ipv6(addr) => (format!("[{}]", addr.to_ascii_lowercase()), tail),
            _ => return refuse("a bracketed host must be an IPv6 address"),
        },
        None => {
            let (host, tail) = rest.find(':').map_or((rest, ""), |i| rest.split_at(i));
            if !dns_name(host) {
                return refuse("the host is not a DNS name or an IPv4 address");
            }
            (host.to_ascii_lowercase(), tail)
        }
    };
    let port = match port.strip_prefix(':') {
        None if port.is_empty() => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => match p.parse() {
            Ok(n @ 1..=65535u32) => Some(n),
            _ => return refuse("the port is not between 1 and 65535"),
        },
        _ => return refuse("the port is not a number"),
    };
    Ok(match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Dot-separated labels of letters, digits and inner dashes, 1 to 63 each, at most 253 in all
/// (RFC 1123 §2.1; an IPv4 address is such a name too).
fn dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn ipv6(addr: &str) -> bool {
    addr.parse::<std::net::Ipv6Addr>().is_ok()
}

/// `[update] feed`: the URL of the app's `latest.json` (docs/updates.md). `https`, or `http` to a
/// loopback host only (`127.0.0.1`, `[::1]`, `localhost`: a feed served by a test), since a plain
/// `http` feed elsewhere could be withheld or replayed by anyone on the path (the signature stops
/// tampering, not that). A host, a path naming a file, no fragment, user or whitespace.
pub fn feed(value: &str) -> Result<(), String> {
    let refuse = |why: &str| {
        format!("{value:?} is not a feed URL (e.g. https://example.org/app/latest.json): {why}")
    };
    if let Some(c) = value.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse(&format!("it contains {c:?}")));
    }
    let Some(scheme_end) = value.find("://") else {
        return Err(refuse("no scheme"));
    };
    let path_start = value[scheme_end + 3..]
        .find('/')
        .map_or(value.len(), |i| scheme_end + 3 + i);
    let origin = origin(&value[..path_start]).map_err(|e| refuse(&e))?;
    let path = &value[path_start..];
    if path.contains('#') {
        return Err(refuse("it has a fragment"));
    }
    let file = path.split('?').next().unwrap_or("");
    if file.is_empty() || file.ends_with('/') {
        return Err(refuse("the path does not name a file"));
    }
    if let Some(authority) = origin.strip_prefix("http://") {
        let host = match authority.find(']') {
            Some(end) => &authority[..=end],
            None => authority.split(':').next().unwrap_or(authority),
        };
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(refuse(
                "plain http is allowed for 127.0.0.1 and localhost only; use https",
            ));
        }
    }
    Ok(())
}

/// The length of a minisign public key, decoded: the algorithm `Ed`, an 8-byte key id and the
/// 32-byte Ed25519 key.
///
/// See: <https://jedisct1.github.io/minisign/> ("Public key format")
const MINISIGN_PUBLIC_KEY_BYTES: usize = 2 + 8 + 32;

/// A minisign public key as `qmlbridge keygen` prints it: the base64 line of a `minisign.pub`
/// file (56 characters, starting `RW`), not the comment line.
pub fn public_key(value: &str) -> Result<(), String> {
    use base64::Engine as _;
    let refuse = |why: &str| {
        Err(format!(
            "{value:?} is not a minisign public key (the second line of the .pub file, RW...): {why}"
        ))
    };
    if value.starts_with("untrusted comment:") {
        return refuse("that is the comment line; give the base64 line after it");
    }
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(value) else {
        return refuse("not base64");
    };
    if bytes.len() != MINISIGN_PUBLIC_KEY_BYTES {
        return refuse(&format!(
            "{} bytes decoded, {MINISIGN_PUBLIC_KEY_BYTES} expected",
            bytes.len()
        ));
    }
    if !bytes.starts_with(b"Ed") {
        return refuse("not an Ed25519 key (it does not start with `Ed`)");
    }
    Ok(())
}

/// `[update] keys`: the trusted public keys, at least one, each a [`public_key`], no two with the
/// same key id (minisign picks the key by its id, so two would be ambiguous).
pub fn update_keys(values: &[String]) -> Result<(), String> {
    use base64::Engine as _;
    if values.is_empty() {
        return Err(
            "is empty: list at least one public key (qmlbridge keygen prints it)".to_owned(),
        );
    }
    let mut ids: Vec<Vec<u8>> = Vec::new();
    for value in values {
        public_key(value)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value)
            .unwrap_or_default();
        let id = bytes[2..10].to_vec();
        if ids.contains(&id) {
            return Err(format!(
                "{value:?}: a key with the same key id is listed before it"
            ));
        }
        ids.push(id);
    }
    Ok(())
}

/// Longest release notes: a few paragraphs a dialog shows.
const MAX_NOTES: usize = 4000;

/// `[update] notes`: the release notes `qmlbridge bundle --sign` puts in `latest.json` when no
/// `--notes` file is given; plain text, line breaks and tabs allowed, no other control
/// characters, at most 4000 characters.
pub fn notes(value: &str) -> Result<(), String> {
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(format!("contains the control character {c:?}"));
    }
    if value.chars().count() > MAX_NOTES {
        return Err(format!("is longer than {MAX_NOTES} characters"));
    }
    Ok(())
}

/// `[update] rollback`: `"ask"` or `"auto"` ([`Rollback`](crate::Rollback)).
pub fn rollback(value: &str) -> Result<crate::Rollback, String> {
    match value {
        "ask" => Ok(crate::Rollback::Ask),
        "auto" => Ok(crate::Rollback::Auto),
        _ => Err(format!(
            "{value:?} is not a rollback policy: \"ask\" (offer to restart into the previous \
             version after a failed upgrade) or \"auto\" (do it without asking)"
        )),
    }
}

/// A path in the manifest: relative to the manifest's directory, not empty.
pub fn relative_path(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".to_owned());
    }
    if value.starts_with('/') {
        return Err(format!(
            "{value:?} is absolute (paths are relative to the manifest)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names() {
        for ok in ["notes", "bookmarks", "my-app", "a", "app2", "x-1-y"] {
            assert_eq!(name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "", "Notes", "1app", "-app", "app-", "my--app", "my_app", "my app", "app.x", "é",
        ] {
            assert!(name(bad).unwrap_err().contains("not an app name"), "{bad}");
        }
        assert!(name(&"a".repeat(65)).unwrap_err().contains("longer"));
        assert_eq!(name(&"a".repeat(64)), Ok(()));
        assert!(name("notes-backend").unwrap_err().contains("-backend"));
        for reserved in ["fn", "self", "std", "test", "qmlbridge", "qmlbridge-qt"] {
            assert!(
                name(reserved).unwrap_err().contains("reserved"),
                "{reserved}"
            );
        }
    }

    #[test]
    fn crate_names() {
        for ok in ["notes", "notes-backend", "notes_backend", "a1"] {
            assert_eq!(crate_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "Notes", "_x", "1x", "a b", "a/b"] {
            assert!(crate_name(bad).is_err(), "{bad}");
        }
        assert!(
            crate_name("qmlbridge-backend")
                .unwrap_err()
                .contains("reserved")
        );
    }

    #[test]
    fn orgs() {
        for ok in ["example", "qmlbridge", "KDE", "acme.inc", "a-b_c", "1org"] {
            assert_eq!(org(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "a b",
            "-x",
            &"o".repeat(65),
        ] {
            assert!(org(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identifiers() {
        for ok in [
            "org.example.Bookmarks",
            "io.github.example.Notes",
            "com.x",
            "org.my-org.my_app",
        ] {
            assert_eq!(identifier(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "foo",
            "org.",
            ".org.x",
            "org..x",
            "org.1x",
            "org.example.My App",
            "org/example",
            "org.ex@mple",
        ] {
            let e = identifier(bad).unwrap_err();
            assert!(
                e.contains("is not a reverse-DNS id (e.g. org.example.App)"),
                "{e}"
            );
        }
        let long = format!("org.{}", "a".repeat(252));
        assert!(identifier(&long).is_err());
    }

    #[test]
    fn versions() {
        for ok in ["0.1.0", "1.2.3-rc.1", "1.0.0+build.5"] {
            assert_eq!(version(ok), Ok(()), "{ok}");
        }
        for bad in ["", "1", "1.0", "v1.0.0", "1.0.0.0", "01.0.0"] {
            assert!(
                version(bad).unwrap_err().contains("semantic version"),
                "{bad}"
            );
        }
    }

    #[test]
    fn lines_and_comments() {
        assert_eq!(line("Example Notes"), Ok(()));
        assert!(line("").is_err());
        assert!(line("   ").is_err());
        assert!(line("two\nlines").unwrap_err().contains("control"));
        assert!(line("tab\there").unwrap_err().contains("control"));
        assert!(line(&"x".repeat(201)).unwrap_err().contains("longer"));
        assert_eq!(line(&"é".repeat(200)), Ok(()));
        assert_eq!(comment("Keep your bookmarks"), Ok(()));
        assert!(
            comment("Keep your bookmarks.")
                .unwrap_err()
                .contains("full stop")
        );
        assert!(comment("").is_err());
    }

    #[test]
    fn category_lists() {
        assert_eq!(
            categories(&strings(&["Office", "ProjectManagement"])),
            Ok(())
        );
        assert_eq!(categories(&strings(&["Utility"])), Ok(()));
        assert!(categories(&[]).unwrap_err().contains("Main Category"));
        assert!(
            categories(&strings(&["ProjectManagement"]))
                .unwrap_err()
                .contains("Main Category")
        );
        assert!(
            categories(&strings(&["Office", "Office"]))
                .unwrap_err()
                .contains("twice")
        );
        for bad in ["", "Office;", "Two Words", "X_Y"] {
            assert!(
                categories(&strings(&["Office", bad]))
                    .unwrap_err()
                    .contains("not a category"),
                "{bad}"
            );
        }
    }

    #[test]
    fn styles() {
        assert_eq!(
            quick_styles(&strings(&["Basic", "Fusion", "Material"])),
            Ok(())
        );
        assert_eq!(quick_styles(&[]), Ok(()));
        for bad in ["basic", "", "Fu sion", "Fusion.impl"] {
            assert!(quick_styles(&strings(&[bad])).is_err(), "{bad}");
        }
        assert!(
            quick_styles(&strings(&["Basic", "Basic"]))
                .unwrap_err()
                .contains("twice")
        );
    }

    /// Two keys `minisign -G` wrote.
    const KEY_A: &str = "RWTyS+w30B+ujYo5ZzTdHcWHBuiYQhdEW0QaBvcut2fRIV4L5nXfF75y";
    const KEY_B: &str = "RWSIzP4RE6VMx+osYVEPTq0M7iKxXpPH3FZIMoUfZtVPVlRrYj/62TJR";

    #[test]
    fn feeds() {
        for good in [
            "https://example.org/app/latest.json",
            "https://example.org:8443/latest.json?channel=stable",
            "http://127.0.0.1:8000/latest.json",
            "http://localhost/x/latest.json",
            "http://[::1]:9/latest.json",
        ] {
            assert_eq!(feed(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            (
                "http://example.org/latest.json",
                "plain http is allowed for 127.0.0.1",
            ),
            (
                "http://127.0.0.2/latest.json",
                "plain http is allowed for 127.0.0.1",
            ),
            (
                "ftp://example.org/latest.json",
                "the scheme is not http or https",
            ),
            ("https://example.org", "the path does not name a file"),
            ("https://example.org/dir/", "the path does not name a file"),
            ("https://example.org/l.json#x", "fragment"),
            ("https://u@example.org/l.json", "names a user"),
            ("https://example.org/a b.json", "contains ' '"),
            ("example.org/latest.json", "no scheme"),
        ] {
            let err = feed(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn public_keys() {
        assert_eq!(public_key(KEY_A), Ok(()));
        for (bad, why) in [
            (
                "untrusted comment: minisign public key 8DAE1FD037EC4BF2",
                "comment line",
            ),
            (
                "RWTyS+w30B+ujYo5ZzTdHcWHBuiYQhdEW0QaBvcut2fRIV4L5nXfF7",
                "not base64",
            ),
            (
                "RWTyS+w30B+ujYo5ZzTdHcWHBuiYQhdEW0QaBvcut2fRIV4L",
                "36 bytes decoded, 42 expected",
            ),
            (
                "AATyS+w30B+ujYo5ZzTdHcWHBuiYQhdEW0QaBvcut2fRIV4L5nXfF75y",
                "not an Ed25519 key",
            ),
        ] {
            let err = public_key(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert_eq!(update_keys(&strings(&[KEY_A, KEY_B])), Ok(()));
        assert!(update_keys(&[]).unwrap_err().contains("at least one"));
        assert!(
            update_keys(&strings(&[KEY_A, KEY_A]))
                .unwrap_err()
                .contains("same key id")
        );
    }

    #[test]
    fn release_notes() {
        assert_eq!(notes("Faster start.\n\n- fixed\tthings"), Ok(()));
        assert!(
            notes("bell\u{7}")
                .unwrap_err()
                .contains("control character")
        );
        assert!(notes(&"x".repeat(4001)).unwrap_err().contains("longer"));
    }

    #[test]
    fn origins() {
        for (given, normal) in [
            ("https://tiles.example.org", "https://tiles.example.org"),
            ("HTTPS://Tiles.Example.ORG", "https://tiles.example.org"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://localhost:80", "http://localhost"),
            ("https://a.example:443", "https://a.example"),
            ("https://a.example:8443", "https://a.example:8443"),
            ("http://[::1]:9000", "http://[::1]:9000"),
            ("https://x-1.example", "https://x-1.example"),
        ] {
            assert_eq!(origin(given).as_deref(), Ok(normal), "{given}");
        }
        for (bad, why) in [
            ("tiles.example.org", "no scheme"),
            ("ftp://files.example.org", "not http or https"),
            ("file:///tmp", "not http or https"),
            ("https://tiles.example.org/", "path"),
            ("https://tiles.example.org/z/{x}", "path"),
            ("https://example.org?x=1", "query"),
            ("https://user@example.org", "names a user"),
            ("https://*.example.org", "wildcards"),
            ("https://", "not a DNS name"),
            ("https://-bad.example", "not a DNS name"),
            ("https://bad_host.example", "not a DNS name"),
            ("http://[fe80::zz]", "IPv6"),
            ("http://example.org:0", "between 1 and 65535"),
            ("http://example.org:70000", "between 1 and 65535"),
            ("http://example.org:", "not a number"),
            ("http://example.org:http", "not a number"),
        ] {
            let err = origin(bad).unwrap_err();
            assert!(
                err.contains("is not an origin") && err.contains(why),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            network(&strings(&["https://a.example", "http://b.example:81"])),
            Ok(strings(&["https://a.example", "http://b.example:81"]))
        );
        assert!(
            network(&strings(&["https://a.example", "HTTPS://a.example:443"]))
                .unwrap_err()
                .contains("listed twice")
        );
    }

    #[test]
    fn size_limits() {
        assert_eq!(max_size_mb(40), Ok(()));
        assert_eq!(max_size_mb(1), Ok(()));
        assert_eq!(max_size_mb(2000), Ok(()));
        assert!(max_size_mb(0).is_err());
        assert!(max_size_mb(2001).is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(relative_path("assets/icon.svg"), Ok(()));
        assert_eq!(relative_path("../../Caddyfile"), Ok(()));
        assert!(relative_path("").is_err());
        assert!(
            relative_path("/etc/passwd")
                .unwrap_err()
                .contains("absolute")
        );
    }
}
