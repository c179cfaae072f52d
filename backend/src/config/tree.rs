//! From tokens to a Caddyfile's shape: an optional global options block, then server blocks, each a
//! list of directives (`name args... [{ sub-directives }]`), as in Caddy's `caddyfile.Parse`.
//!
//! Blocks nest at most [`MAX_DEPTH`] deep: the parser recurses per block, and a file of
//! thousands of nested blocks must be an error naming its line, not a stack overflow.

use super::SourceFile;
use super::lexer::Token;
use crate::error::Result;

/// How deep blocks may nest (the site block is depth 1). Real files use 3 or 4.
pub const MAX_DEPTH: usize = 64;

/// One directive line, with its block if it opens one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The name and arguments with placeholders expanded: what the directive means.
    pub name: String,
    pub args: Vec<String>,
    pub line: usize,
    pub block: Option<Vec<Directive>>,
    /// The name and arguments as written: what messages quote (never the expansion, which may
    /// hold a secret).
    pub written: Written,
}

impl Directive {
    /// Argument `i` as written (empty past the end).
    pub fn written_arg(&self, i: usize) -> &str {
        self.written.args.get(i).map_or("", String::as_str)
    }
}

/// A directive's words as written in the file, before placeholder expansion.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Written {
    pub name: String,
    pub args: Vec<String>,
}

/// A server block: its addresses (`keys`) and directives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerBlock {
    pub keys: Vec<String>,
    /// For each key, the token it came from as written (what messages quote).
    pub written_keys: Vec<String>,
    pub line: usize,
    pub directives: Vec<Directive>,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tree {
    /// The global options block `{ ... }` when the file starts with one.
    pub global: Option<Vec<Directive>>,
    pub servers: Vec<ServerBlock>,
}

/// Builds the [`Tree`] of a token list.
pub fn parse(src: &SourceFile, tokens: &[Token]) -> Result<Tree> {
    let mut p = Parser {
        src,
        tokens,
        pos: 0,
    };
    let mut tree = Tree::default();
    if let Some(first) = p.peek()
        && first.is_open()
    {
        p.pos += 1;
        p.expect_line_end(first)?;
        tree.global = Some(p.block(first.line, 1)?);
    }
    while let Some(first) = p.peek() {
        if first.brace {
            return Err(src.error(first.line, format!("unexpected {:?}", first.written)));
        }
        let line = first.line;
        p.pos += 1;
        let (mut keys, mut written_keys) = (Vec::new(), Vec::new());
        let mut opened = None;
        let mut next = Some(first);
        while let Some(t) = next {
            for key in t.text.split(',').filter(|k| !k.is_empty()) {
                keys.push(key.to_string());
                written_keys.push(t.written.clone());
            }
            next = p.next_on_line(line);
            if next.is_some_and(Token::is_open) {
                opened = next;
                break;
            }
        }
        let directives = match opened {
            Some(open) => {
                p.expect_line_end(open)?;
                p.block(open.line, 1)?
            }
            // The single-site form without braces: the rest of the file is the site's body.
            None if tree.servers.is_empty() => p.rest()?,
            None => return Err(src.error(line, "a second site block needs braces")),
        };
        tree.servers.push(ServerBlock {
            keys,
            written_keys,
            line,
            directives,
        });
    }
    Ok(tree)
}

struct Parser<'a> {
    src: &'a SourceFile,
    tokens: &'a [Token],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos)
    }

    /// The next token if it continues the line that `line` (or the previous token) is on.
    fn next_on_line(&mut self, line: usize) -> Option<&'a Token> {
        let prev_end = self
            .pos
            .checked_sub(1)
            .map_or(line, |i| self.tokens[i].end_line);
        let t = self.peek()?;
        if t.line > prev_end || t.is_close() {
            return None;
        }
        self.pos += 1;
        Some(t)
    }

    /// After `{` the line must end (Caddy: "unexpected token after '{' on same line").
    fn expect_line_end(&self, open: &Token) -> Result<()> {
        match self.peek() {
            Some(t) if t.line == open.end_line && !t.is_close() => Err(self.src.error(
                t.line,
                format!("unexpected {:?} after \"{{\" on the same line", t.written),
            )),
            _ => Ok(()),
        }
    }

    /// Directives up to the matching `}` (consumed) of a block at nesting `depth`.
    fn block(&mut self, opened_at: usize, depth: usize) -> Result<Vec<Directive>> {
        if depth > MAX_DEPTH {
            let msg = format!("blocks nested deeper than {MAX_DEPTH}");
            return Err(self.src.error(opened_at, msg));
        }
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => {
                    return Err(self
                        .src
                        .error(opened_at, "block opened here is never closed"));
                }
                Some(t) if t.is_close() => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(_) => out.push(self.directive(depth)?),
            }
        }
    }

    /// Directives up to the end of the file.
    fn rest(&mut self) -> Result<Vec<Directive>> {
        let mut out = Vec::new();
        while let Some(t) = self.peek() {
            if t.is_close() {
                return Err(self.src.error(t.line, "unexpected \"}\""));
            }
            out.push(self.directive(1)?);
        }
        Ok(out)
    }

    /// One directive inside a block at nesting `depth` (its own block is one deeper).
    fn directive(&mut self, depth: usize) -> Result<Directive> {
        let name = &self.tokens[self.pos];
        if name.is_open() {
            return Err(self.src.error(name.line, "unexpected \"{\""));
        }
        self.pos += 1;
        let mut d = Directive {
            name: name.text.clone(),
            args: Vec::new(),
            line: name.line,
            block: None,
            written: Written {
                name: name.written.clone(),
                args: Vec::new(),
            },
        };
        while let Some(t) = self.next_on_line(name.line) {
            if t.is_open() {
                self.expect_line_end(t)?;
                d.block = Some(self.block(t.line, depth + 1)?);
                break;
            }
            d.args.push(t.text.clone());
            d.written.args.push(t.written.clone());
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lexer::tokenize;

    fn tree(text: &str) -> Result<Tree> {
        let src = SourceFile::new("Caddyfile", text);
        parse(&src, &tokenize(&src, &|_| None)?)
    }

    #[test]
    fn global_block_then_site() {
        let t =
            tree("{\n  admin off\n}\n\nlocalhost:1 {\n  a b\n  c {\n    d e\n  }\n}\n").unwrap();
        assert_eq!(t.global.unwrap()[0].args, ["off"]);
        let s = &t.servers[0];
        assert_eq!(
            (s.keys.as_slice(), s.line),
            (&["localhost:1".to_string()][..], 5)
        );
        assert_eq!(s.directives[0].args, ["b"]);
        let c = &s.directives[1];
        assert_eq!((c.name.as_str(), c.line), ("c", 7));
        assert_eq!(c.block.as_ref().unwrap()[0].line, 8);
    }

    #[test]
    fn site_after_global_block() {
        let t = tree("{\n}\n\na:1 {\n  x\n}\n").unwrap();
        assert_eq!(t.servers[0].keys, ["a:1"]);
        assert_eq!(t.servers[0].directives[0].name, "x");
    }

    #[test]
    fn single_site_without_braces() {
        let t = tree(":8080\nroot public\nfile_server\n").unwrap();
        assert_eq!(t.servers[0].directives.len(), 2);
    }

    #[test]
    fn several_keys_split_on_commas() {
        let t = tree("a:1, b:2 {\n}\n").unwrap();
        assert_eq!(t.servers[0].keys, ["a:1", "b:2"]);
    }

    #[test]
    fn an_empty_block_is_fine() {
        let t = tree("{\n\t# nothing\n}\nx:1 {\n}\n").unwrap();
        assert!(t.global.unwrap().is_empty());
        assert!(t.servers[0].directives.is_empty());
    }

    #[test]
    fn blocks_nest_up_to_max_depth() {
        let nested = |depth: usize| {
            let mut text = "x:1 {\n".to_string();
            text.push_str(&"a {\n".repeat(depth - 1));
            text.push_str(&"}\n".repeat(depth));
            tree(&text)
        };
        assert!(nested(MAX_DEPTH).is_ok());
        let err = nested(MAX_DEPTH + 1).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("Caddyfile:{}: blocks nested deeper than 64", MAX_DEPTH + 1)
        );
        // The global block and the brace-less site count the same way.
        let global = format!(
            "{{\n{}{}",
            "a {\n".repeat(MAX_DEPTH),
            "}\n".repeat(MAX_DEPTH + 1)
        );
        assert!(
            tree(&global)
                .unwrap_err()
                .to_string()
                .contains("nested deeper")
        );
        let bare = format!(
            ":1\n{}{}",
            "a {\n".repeat(MAX_DEPTH),
            "}\n".repeat(MAX_DEPTH)
        );
        assert!(
            tree(&bare)
                .unwrap_err()
                .to_string()
                .contains("nested deeper")
        );
    }

    #[test]
    fn directives_keep_what_was_written() {
        let src = SourceFile::new("Caddyfile", "x:1 {\n {$N} a{$V}\n}\n");
        let env = |name: &str| Some(format!("<{name}>"));
        let t = parse(&src, &tokenize(&src, &env).unwrap()).unwrap();
        let d = &t.servers[0].directives[0];
        assert_eq!(
            (d.name.as_str(), d.args.as_slice()),
            ("<N>", &["a<V>".to_string()][..])
        );
        assert_eq!(d.written.name, "{$N}");
        assert_eq!((d.written_arg(0), d.written_arg(1)), ("a{$V}", ""));
    }

    #[test]
    fn structural_errors_name_the_line() {
        let cases = [
            (
                "x:1 {\n  a {\n  b\n}\n",
                "Caddyfile:1: block opened here is never closed",
            ),
            (
                "x:1 {\n  a { b\n  }\n}",
                "Caddyfile:2: unexpected \"b\" after \"{\" on the same line",
            ),
            ("x:1\na\n}\n", "Caddyfile:3: unexpected \"}\""),
            ("}\n", "Caddyfile:1: unexpected \"}\""),
        ];
        for (text, want) in cases {
            assert_eq!(tree(text).unwrap_err().to_string(), want, "{text:?}");
        }
    }
}
