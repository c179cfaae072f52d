//! From tokens to a Caddyfile's shape: an optional global options block, then server blocks, each a
//! list of directives (`name args... [{ sub-directives }]`), as in Caddy's `caddyfile.Parse`.

use super::SourceFile;
use super::lexer::Token;
use crate::error::Result;

/// One directive line, with its block if it opens one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub line: usize,
    pub block: Option<Vec<Directive>>,
}

/// A server block: its addresses (`keys`) and directives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerBlock {
    pub keys: Vec<String>,
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
        tree.global = Some(p.block(first.line)?);
    }
    while let Some(first) = p.peek() {
        if first.brace {
            return Err(src.error(first.line, format!("unexpected \"{}\"", first.text)));
        }
        let line = first.line;
        p.pos += 1;
        let mut keys: Vec<String> = first
            .text
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect();
        let mut opened = None;
        while let Some(t) = p.next_on_line(line) {
            if t.is_open() {
                opened = Some(t);
                break;
            }
            keys.extend(
                t.text
                    .split(',')
                    .filter(|k| !k.is_empty())
                    .map(str::to_string),
            );
        }
        let directives = match opened {
            Some(open) => {
                p.expect_line_end(open)?;
                p.block(open.line)?
            }
            // The single-site form without braces: the rest of the file is the site's body.
            None if tree.servers.is_empty() => p.rest()?,
            None => return Err(src.error(line, "a second site block needs braces")),
        };
        tree.servers.push(ServerBlock {
            keys,
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
                format!("unexpected \"{}\" after \"{{\" on the same line", t.text),
            )),
            _ => Ok(()),
        }
    }

    /// Directives up to the matching `}` (consumed).
    fn block(&mut self, opened_at: usize) -> Result<Vec<Directive>> {
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
                Some(_) => out.push(self.directive()?),
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
            out.push(self.directive()?);
        }
        Ok(out)
    }

    fn directive(&mut self) -> Result<Directive> {
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
        };
        while let Some(t) = self.next_on_line(name.line) {
            if t.is_open() {
                self.expect_line_end(t)?;
                d.block = Some(self.block(t.line)?);
                break;
            }
            d.args.push(t.text.clone());
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
