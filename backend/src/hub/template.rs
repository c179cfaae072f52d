//! RFC 6570 URI templates turned into matchers: the third rule of the Mercure spec's "Topic
//! Selectors" section ("if the topic selector is a valid URI Template, and the string matches
//! this URI Template").
//!
//! No maintained crate matches strings *against* a template (`iri-string` and `uritemplate-next`
//! only expand), so this compiles a template into an anchored regular expression: each expression
//! accepts what an expansion with that operator can produce (RFC 6570 §3.2), undefined variables
//! included (they expand to nothing).
//!
//! Compiling is bounded: at most [`MAX_VARIABLES`] variables per template and a capped regex
//! size, so a hostile selector costs a known, small amount of memory and time (the text itself is
//! bounded by `max_topic_length`, `docs/contract.md` §8).

use regex::{Regex, RegexBuilder};

/// Variables a template may hold across all its expressions. Real topic templates have a few
/// (`/books/{id}/reviews/{rid}{?lang}`); each variable adds a nested repetition to the matcher.
pub const MAX_VARIABLES: usize = 16;
/// Bound of the compiled program and of the lazy DFA's cache of one template: about 20 times what
/// a template with [`MAX_VARIABLES`] variables needs.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A valid URI template beyond the bounds above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("topic selector too complex (at most {MAX_VARIABLES} template variables)")]
pub struct TooComplex;

/// Characters an expansion may emit unencoded without `+`/`#`: unreserved (RFC 3986 §2.3).
const UNRESERVED: &str = r"A-Za-z0-9\-._~";
/// With `+` and `#` the reserved set (RFC 3986 §2.2) passes through as well.
const RESERVED: &str = r":/?#\[\]@!$&'()*+,;=";
/// A percent-encoded octet.
const PCT: &str = "%[0-9A-Fa-f]{2}";

/// How one operator expands (RFC 6570 §3.2.1, table in appendix A).
struct Operator {
    first: &'static str,
    sep: &'static str,
    named: bool,
    allow_reserved: bool,
}

fn operator(op: Option<char>) -> Option<Operator> {
    let (first, sep, named, allow_reserved) = match op {
        None => ("", ",", false, false),
        Some('+') => ("", ",", false, true),
        Some('#') => ("#", ",", false, true),
        Some('.') => (".", ".", false, false),
        Some('/') => ("/", "/", false, false),
        Some(';') => (";", ";", true, false),
        Some('?') => ("?", "&", true, false),
        Some('&') => ("&", "&", true, false),
        // `=`, `,`, `!`, `@`, `|` are reserved for future extensions: not a valid template.
        _ => return None,
    };
    Some(Operator {
        first,
        sep,
        named,
        allow_reserved,
    })
}

/// One variable of an expression: its name and whether it is exploded (`*`).
fn parse_varspec(spec: &str) -> Option<(&str, bool)> {
    let (name, explode) = match spec.strip_suffix('*') {
        Some(name) => (name, true),
        None => match spec.split_once(':') {
            Some((name, len)) => {
                let n: u16 = len.parse().ok()?;
                if !(1..10_000).contains(&n) {
                    return None;
                }
                (name, false)
            }
            None => (spec, false),
        },
    };
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'%');
    valid.then_some((name, explode))
}

/// The regex for one `{...}` expression body (without the braces) and its variable count.
fn expression(body: &str) -> Option<(String, usize)> {
    let mut chars = body.chars();
    let op_char = body
        .chars()
        .next()
        .filter(|c| !c.is_ascii_alphanumeric() && *c != '_' && *c != '%');
    if op_char.is_some() {
        chars.next();
    }
    let op = operator(op_char)?;
    let vars: Vec<(&str, bool)> = chars
        .as_str()
        .split(',')
        .map(parse_varspec)
        .collect::<Option<_>>()?;

    let class = if op.allow_reserved {
        format!("{UNRESERVED}{RESERVED}")
    } else {
        UNRESERVED.to_owned()
    };
    // A value may be a list (`a,b`) or, exploded, an associative array (`k=v,...`).
    let value = format!("(?:[{class}]|{PCT}|,)*");
    let item = if op.named {
        let name = if vars.iter().any(|(_, explode)| *explode) {
            format!("(?:[{UNRESERVED}]|{PCT})+")
        } else {
            let names: Vec<String> = vars.iter().map(|(n, _)| regex::escape(n)).collect();
            format!("(?:{})", names.join("|"))
        };
        format!("{name}(?:={value})?")
    } else {
        format!("(?:{value})(?:=(?:{value}))?")
    };
    let (first, sep) = (regex::escape(op.first), regex::escape(op.sep));
    Some((format!("(?:{first}{item}(?:{sep}{item})*)?"), vars.len()))
}

/// The anchored pattern of `template`; `Ok(None)` when it is not a valid URI template or has no
/// expression at all (then only the exact-match rule applies). Cheap: no regex is built, so a
/// handler can refuse a selector before compiling anything.
fn pattern(template: &str) -> Result<Option<String>, TooComplex> {
    let mut pattern = String::from("^");
    let mut rest = template;
    let (mut expressions, mut variables) = (0, 0);
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Ok(None);
        }
        pattern.push_str(&regex::escape(&rest[..open]));
        let after = &rest[open + 1..];
        let Some(close) = after.find(['{', '}']) else {
            return Ok(None);
        };
        if after.as_bytes()[close] == b'{' {
            return Ok(None);
        }
        let Some((expr, vars)) = expression(&after[..close]) else {
            return Ok(None);
        };
        variables += vars;
        if variables > MAX_VARIABLES {
            return Err(TooComplex);
        }
        pattern.push_str(&expr);
        expressions += 1;
        rest = &after[close + 1..];
    }
    if expressions == 0 {
        return Ok(None);
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    Ok(Some(pattern))
}

/// Whether `template` may be compiled: `Err` for a valid template beyond the bounds.
pub fn check(template: &str) -> Result<(), TooComplex> {
    if !template.contains('{') {
        return Ok(());
    }
    pattern(template).map(drop)
}

/// Compiles `template` into an anchored matcher; `Ok(None)` when it is not a valid URI template
/// (see `pattern`). Can take milliseconds: call it off the async workers.
pub fn compile(template: &str) -> Result<Option<Regex>, TooComplex> {
    let Some(pattern) = pattern(template)? else {
        return Ok(None);
    };
    RegexBuilder::new(&pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map(Some)
        .map_err(|_| TooComplex)
}

#[cfg(test)]
mod tests {
    use super::{MAX_VARIABLES, TooComplex, check, compile};

    fn matches(template: &str, s: &str) -> bool {
        compile(template)
            .expect("within bounds")
            .expect("valid template")
            .is_match(s)
    }

    #[test]
    fn simple_expansion_matches_one_segment() {
        assert!(matches("/api/items/{id}", "/api/items/42"));
        assert!(matches("/api/items/{id}", "/api/items/"));
        assert!(matches("/api/items/{id}", "/api/items/a%20b"));
        assert!(!matches("/api/items/{id}", "/api/items/42/x"));
        assert!(!matches("/api/items/{id}", "/api/item/42"));
        assert!(matches(
            "https://example.com/books/{name}",
            "https://example.com/books/foo"
        ));
        assert!(!matches(
            "https://example.com/books/{name}",
            "https://example.com/books/foo?x"
        ));
    }

    #[test]
    fn literal_parts_are_not_regex() {
        assert!(!matches("/a.b/{x}", "/aXb/1"));
        assert!(matches("/a.b/{x}", "/a.b/1"));
    }

    #[test]
    fn reserved_expansion_spans_slashes() {
        assert!(matches("/files{+path}", "/files/a/b/c.txt"));
        assert!(matches("/page{#frag}", "/page#sec:1"));
        assert!(!matches("/files/{path}", "/files/a/b"));
    }

    #[test]
    fn operators_with_prefixes() {
        assert!(matches("/x{.ext}", "/x.json"));
        assert!(matches("/x{/a,b}", "/x/1/2"));
        assert!(matches("/m{;v,w}", "/m;v=1;w"));
        assert!(matches("/s{?q,lang}", "/s?q=rust&lang=en"));
        assert!(matches("/s{?q,lang}", "/s"));
        assert!(!matches("/s{?q}", "/s?other=1"));
        assert!(matches("/s?fixed=1{&q}", "/s?fixed=1&q=2"));
        assert!(matches("/s{?keys*}", "/s?a=1&b=2"));
        assert!(matches("/l/{list}", "/l/a,b,c"));
        assert!(matches("/p/{var:3}", "/p/abc"));
    }

    #[test]
    fn spec_private_alternate_topic_example() {
        assert!(matches(
            "https://example.com/users/foo/{?topic}",
            "https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1"
        ));
    }

    #[test]
    fn invalid_templates_are_rejected() {
        for t in [
            "/a/{id",
            "/a/id}",
            "/a/{{id}}",
            "/a/{}",
            "/a/{=id}",
            "/a/{id:0}",
            "/plain/topic",
        ] {
            assert!(matches!(compile(t), Ok(None)), "{t}");
            assert_eq!(check(t), Ok(()), "{t}");
        }
    }

    #[test]
    fn variables_are_bounded() {
        let at_bound: String = (0..MAX_VARIABLES).map(|i| format!("/{{v{i}}}")).collect();
        assert!(matches(&at_bound, &"/x".repeat(MAX_VARIABLES)));
        let over = format!("{at_bound}/{{more}}");
        assert_eq!(check(&over), Err(TooComplex));
        assert_eq!(compile(&over).map(|_| ()), Err(TooComplex));
        let one_expression = format!(
            "/{{{}}}",
            (0..=MAX_VARIABLES)
                .map(|i| format!("v{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(check(&one_expression), Err(TooComplex));
    }
}
