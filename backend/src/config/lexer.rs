//! Caddyfile tokens: whitespace-separated words, `"quoted"` and `` `raw` `` tokens, `#` comments,
//! and the parse-time placeholders `{$VAR}`, `{$VAR:default}` and `{env.VAR}`.
//!
//! Follows Caddy's lexer (caddyconfig/caddyfile/lexer.go): a `#` starts a comment only at the start
//! of a token, a quote only at the start of a token, `\"` escapes a quote inside `"..."`. Each token
//! keeps the line it starts on, so every later error can say `FILE:LINE:`, and its text as
//! written next to its expansion: messages quote what is written, since a placeholder's value
//! may be a secret (`{$MERCURE_PUBLISHER_JWT_KEY}`). A UTF-8 byte order mark at the start of the
//! file is skipped (editors on Windows write one).

use super::SourceFile;
use crate::error::Result;

/// One token of the Caddyfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The text after quote removal and placeholder expansion.
    pub text: String,
    /// The text after quote removal, before placeholder expansion: the only form messages quote.
    pub written: String,
    /// The line the token starts on (1-based).
    pub line: usize,
    /// The line the token ends on (differs from `line` for a quoted token spanning lines).
    pub end_line: usize,
    /// An unquoted `{` or `}`: block delimiters. A quoted `"{"` is a plain word.
    pub brace: bool,
}

impl Token {
    /// Whether this token is the block opener `{`.
    pub fn is_open(&self) -> bool {
        self.brace && self.text == "{"
    }

    /// Whether this token is the block closer `}`.
    pub fn is_close(&self) -> bool {
        self.brace && self.text == "}"
    }
}

/// Splits `src` into tokens and expands placeholders with `env`.
///
/// An unquoted token that expands to nothing and stands alone on its line is dropped (a line such
/// as `{$EXTRA_DIRECTIVES}` with the variable unset), as Caddy does.
pub fn tokenize(src: &SourceFile, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Token>> {
    let raw = split(src)?;
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let brace = !r.quoted && (r.text == "{" || r.text == "}");
        let text = if brace {
            r.text.clone()
        } else {
            expand(&r.text, src, r.line, env)?
        };
        let alone = (i == 0 || raw[i - 1].end_line < r.line)
            && raw.get(i + 1).is_none_or(|n| n.line > r.end_line);
        if text.is_empty() && !r.quoted && alone {
            continue;
        }
        out.push(Token {
            text,
            written: r.text.clone(),
            line: r.line,
            end_line: r.end_line,
            brace,
        });
    }
    Ok(out)
}

struct RawToken {
    text: String,
    line: usize,
    end_line: usize,
    quoted: bool,
}

/// The lexer proper: words, quotes, comments, line numbers.
fn split(src: &SourceFile) -> Result<Vec<RawToken>> {
    let mut tokens = Vec::new();
    let text = src.text.strip_prefix('\u{feff}').unwrap_or(&src.text);
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(&c) = chars.peek() {
        if c == '\n' {
            line += 1;
            chars.next();
        } else if c.is_whitespace() {
            chars.next();
        } else if c == '#' {
            while chars.next_if(|&c| c != '\n').is_some() {}
        } else if c == '"' || c == '`' {
            chars.next();
            let start = line;
            let mut text = String::new();
            loop {
                match chars.next() {
                    None => return Err(src.error(start, "unterminated quoted token")),
                    Some('\\') if c == '"' && chars.peek() == Some(&'"') => {
                        chars.next();
                        text.push('"');
                    }
                    Some(q) if q == c => break,
                    Some(other) => {
                        if other == '\n' {
                            line += 1;
                        }
                        text.push(other);
                    }
                }
            }
            tokens.push(RawToken {
                text,
                line: start,
                end_line: line,
                quoted: true,
            });
        } else {
            let mut text = String::new();
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                text.push(c);
            }
            tokens.push(RawToken {
                text,
                line,
                end_line: line,
                quoted: false,
            });
        }
    }
    Ok(tokens)
}

/// Replaces `{$VAR}`, `{$VAR:default}` and `{env.VAR}` in one token; other `{...}` (Caddy's
/// runtime placeholders) are kept as written. An unset variable without default is empty, as in
/// Caddy; a variable set to the empty string stays empty (the default is for unset only).
fn expand(
    text: &str,
    src: &SourceFile,
    line: usize,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let is_env = tail.starts_with("{$") || tail.starts_with("{env.");
        if !is_env {
            out.push('{');
            rest = &tail[1..];
            continue;
        }
        let Some(end) = tail.find('}') else {
            return Err(src.error(line, format!("unterminated placeholder in {text:?}")));
        };
        let inner = &tail[1..end];
        let (name, default) = match inner.strip_prefix('$') {
            Some(spec) => match spec.split_once(':') {
                Some((name, default)) => (name, Some(default)),
                None => (spec, None),
            },
            None => (&inner["env.".len()..], None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(src.error(line, format!("invalid placeholder {:?}", &tail[..=end])));
        }
        match env(name) {
            Some(value) => out.push_str(&value),
            None => out.push_str(default.unwrap_or("")),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(text: &str, env: &[(&str, &str)]) -> Result<Vec<Token>> {
        let src = SourceFile::new("Caddyfile", text);
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tokenize(&src, &move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn words(text: &str, env: &[(&str, &str)]) -> Vec<(String, usize)> {
        lex(text, env)
            .unwrap()
            .into_iter()
            .map(|t| (t.text, t.line))
            .collect()
    }

    #[test]
    fn words_quotes_comments_and_lines() {
        let got = words(
            "a b # comment {\n\"c d\" `e \"f\"`\n  g#h \"x\\\"y\"\n",
            &[],
        );
        let want = [
            ("a", 1),
            ("b", 1),
            ("c d", 2),
            ("e \"f\"", 2),
            ("g#h", 3),
            ("x\"y", 3),
        ];
        assert_eq!(got, want.map(|(t, l)| (t.to_string(), l)));
    }

    #[test]
    fn braces_are_delimiters_only_unquoted() {
        let toks = lex("x {\n\"{\"\n}", &[]).unwrap();
        assert!(toks[1].is_open());
        assert!(!toks[2].brace && toks[2].text == "{");
        assert!(toks[3].is_close());
    }

    #[test]
    fn placeholders_use_env_then_default() {
        let env = [("PORT", "9000"), ("EMPTY", "")];
        let got = words(
            "{$HOST:127.0.0.1}:{$PORT:8765} {env.PORT} x{$NOPE}y {$EMPTY:d} \"{$PORT}\"",
            &env,
        );
        let texts: Vec<_> = got.into_iter().map(|(t, _)| t).collect();
        assert_eq!(texts, ["127.0.0.1:9000", "9000", "xy", "", "9000"]);
    }

    #[test]
    fn default_may_contain_colons_and_bangs() {
        let got = words("{$KEY:!Change:This!}", &[]);
        assert_eq!(got[0].0, "!Change:This!");
    }

    #[test]
    fn runtime_placeholders_are_kept() {
        assert_eq!(words("{path} {http.request.host}", &[])[0].0, "{path}");
    }

    #[test]
    fn an_empty_placeholder_line_disappears() {
        let got = words("a\n{$EXTRA}\nb", &[]);
        assert_eq!(got, [("a".to_string(), 1), ("b".to_string(), 3)]);
    }

    #[test]
    fn tokens_keep_what_was_written() {
        let toks = lex("{$K}x \"a {$K}\" {\n", &[("K", "secret")]).unwrap();
        let got: Vec<_> = toks.iter().map(|t| (&*t.text, &*t.written)).collect();
        assert_eq!(
            got,
            [("secretx", "{$K}x"), ("a secret", "a {$K}"), ("{", "{")]
        );
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped() {
        assert_eq!(
            words("\u{feff}a b\nc", &[]),
            [("a".into(), 1), ("b".into(), 1), ("c".into(), 2)]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = lex("a\n\nb \"open\n", &[]).unwrap_err().to_string();
        assert_eq!(err, "Caddyfile:3: unterminated quoted token");
        let err = lex("a\n{$OPEN", &[]).unwrap_err().to_string();
        assert!(
            err.starts_with("Caddyfile:2: unterminated placeholder"),
            "{err}"
        );
        let err = lex("{$BAD NAME}", &[]).unwrap_err().to_string();
        assert!(
            err.starts_with("Caddyfile:1: unterminated placeholder"),
            "{err}"
        );
        let err = lex("{$:x}", &[]).unwrap_err().to_string();
        assert!(err.starts_with("Caddyfile:1: invalid placeholder"), "{err}");
    }
}
