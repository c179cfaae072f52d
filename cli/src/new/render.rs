//! The skeleton's placeholders: `{{key}}` with `key` in `[a-z_]+` is replaced by its value; a
//! key without a value is an error (a template and the generator disagree), anything else between
//! braces (QML's, Rust's) is left as it is.

use std::collections::BTreeMap;

/// Placeholder values.
pub(crate) type Vars = BTreeMap<&'static str, String>;

/// `text` with every placeholder replaced, or the first unknown key.
pub(crate) fn render(text: &str, vars: &Vars) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let key = after
            .find("}}")
            .map(|end| &after[..end])
            .filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        match key {
            Some(key) => {
                let value = vars
                    .get(key)
                    .ok_or_else(|| format!("unknown placeholder {{{{{key}}}}}"))?;
                out.push_str(value);
                rest = &after[key.len() + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_known_keys_and_leaves_other_braces() {
        let vars = Vars::from([("name", "bookmarks".to_owned()), ("x_y", "1".to_owned())]);
        assert_eq!(
            render("a {{name}} b {{x_y}}{{name}}", &vars).unwrap(),
            "a bookmarks b 1bookmarks"
        );
        for verbatim in [
            "({ a: {b: 1}})",
            "{{ name }}",
            "{{Name}}",
            "{{",
            "}}",
            "{{}}",
            "{{{name}}}",
        ] {
            assert_eq!(render(verbatim, &vars).unwrap(), verbatim);
        }
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = render("x {{nope}} y", &Vars::new()).unwrap_err();
        assert_eq!(e, "unknown placeholder {{nope}}");
    }
}
