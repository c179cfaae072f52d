//! RFC 6570 URI templates turned into matchers: the third rule of the Mercure spec's "Topic
//! Selectors" section ("if the topic selector is a valid URI Template, and the string matches
//! this URI Template").
//!
//! No maintained crate matches strings *against* a template (`iri-string` and `uritemplate-next`
//! only expand), so this compiles a template into an anchored regular expression: each expression
//! accepts what an expansion with that operator can produce (RFC 6570 §3.2), undefined variables
//! included (they expand to nothing).

use regex::Regex;

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

/// The regex for one `{...}` expression body (without the braces).
fn expression(body: &str) -> Option<String> {
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
    Some(format!("(?:{first}{item}(?:{sep}{item})*)?"))
}

/// Compiles `template` into an anchored matcher; `None` when it is not a valid URI template
/// or has no expression at all (then only the exact-match rule applies).
pub fn compile(template: &str) -> Option<Regex> {
    let mut pattern = String::from("^");
    let mut rest = template;
    let mut expressions = 0;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return None;
        }
        pattern.push_str(&regex::escape(&rest[..open]));
        let after = &rest[open + 1..];
        let close = after.find(['{', '}'])?;
        if after.as_bytes()[close] == b'{' {
            return None;
        }
        pattern.push_str(&expression(&after[..close])?);
        expressions += 1;
        rest = &after[close + 1..];
    }
    if expressions == 0 {
        return None;
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    Regex::new(&pattern).ok()
}

#[cfg(test)]
mod tests {
    use super::compile;

    fn matches(template: &str, s: &str) -> bool {
        compile(template).expect("valid template").is_match(s)
    }

    #[test]
    fn simple_expansion_matches_one_segment() {
        assert!(matches("/api/todos/{id}", "/api/todos/42"));
        assert!(matches("/api/todos/{id}", "/api/todos/"));
        assert!(matches("/api/todos/{id}", "/api/todos/a%20b"));
        assert!(!matches("/api/todos/{id}", "/api/todos/42/x"));
        assert!(!matches("/api/todos/{id}", "/api/todo/42"));
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
        assert!(compile("/a/{id").is_none());
        assert!(compile("/a/id}").is_none());
        assert!(compile("/a/{{id}}").is_none());
        assert!(compile("/a/{}").is_none());
        assert!(compile("/a/{=id}").is_none());
        assert!(compile("/a/{id:0}").is_none());
        assert!(compile("/plain/topic").is_none());
    }
}
