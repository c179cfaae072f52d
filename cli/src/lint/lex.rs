//! The tokens of QML and the JavaScript inside it: identifiers, strings (template literals with
//! `${...}` told apart), numbers, regular-expression literals (where an operand is expected),
//! punctuation; comments dropped, and for each token whether a line break comes before it (what
//! automatic semicolon insertion needs).
//!
//! See: <https://262.ecma-international.org/#sec-ecmascript-language-lexical-grammar>

/// A token's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An identifier or a keyword.
    Ident,
    /// A string literal, or a template literal without `${`.
    Str,
    /// A template literal with substitutions.
    Template,
    /// A number.
    Num,
    /// A regular-expression literal.
    Regex,
    /// Punctuation or an operator.
    Punct,
}

/// One token and where it starts (1-based line and column, in characters).
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) text: String,
    pub(crate) line: usize,
    pub(crate) col: usize,
    /// A line break (or a comment holding one) comes before it.
    pub(crate) newline_before: bool,
}

/// A parse failure and where it happened.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) line: usize,
    pub(crate) col: usize,
    pub(crate) message: String,
}

type Result<T> = std::result::Result<T, ParseError>;

const PUNCTS: &[&str] = &[
    ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=", "=>", "==", "!=",
    "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
    "**", "<<", ">>",
];

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    col: usize,
    newline: bool,
    out: Vec<Token>,
}

/// The tokens of `text`, comments dropped.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>> {
    let mut lx = Lexer {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        col: 1,
        newline: false,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

impl Lexer {
    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
            self.newline = true;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn error(&self, line: usize, col: usize, message: &str) -> ParseError {
        ParseError {
            line,
            col,
            message: message.to_owned(),
        }
    }

    fn run(&mut self) -> Result<()> {
        while let Some(c) = self.peek_at(0) {
            let (line, col) = (self.line, self.col);
            if c.is_whitespace() {
                self.bump();
            } else if c == '/' && self.peek_at(1) == Some('/') {
                while self.peek_at(0).is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else if c == '/' && self.peek_at(1) == Some('*') {
                self.bump();
                self.bump();
                loop {
                    match self.bump() {
                        None => return Err(self.error(line, col, "unterminated comment")),
                        Some('*') if self.peek_at(0) == Some('/') => {
                            self.bump();
                            break;
                        }
                        Some(_) => {}
                    }
                }
            } else {
                let start = self.pos;
                let kind = self.token(c, line, col)?;
                let text: String = self.chars[start..self.pos].iter().collect();
                let newline_before = std::mem::take(&mut self.newline);
                self.out.push(Token {
                    kind,
                    text,
                    line,
                    col,
                    newline_before,
                });
            }
        }
        Ok(())
    }

    /// Consumes one token starting with `c`.
    fn token(&mut self, c: char, line: usize, col: usize) -> Result<Kind> {
        if c == '"' || c == '\'' {
            self.bump();
            self.quoted(c, line, col)?;
            return Ok(Kind::Str);
        }
        if c == '`' {
            self.bump();
            return self.template(line, col);
        }
        if c.is_alphabetic() || c == '_' || c == '$' {
            while self
                .peek_at(0)
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
            {
                self.bump();
            }
            return Ok(Kind::Ident);
        }
        if c.is_ascii_digit() || (c == '.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) {
            while self
                .peek_at(0)
                .is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_')
            {
                self.bump();
            }
            return Ok(Kind::Num);
        }
        if c == '/' && self.regex_allowed() {
            self.bump();
            self.regex(line, col)?;
            return Ok(Kind::Regex);
        }
        for p in PUNCTS {
            if p.chars()
                .enumerate()
                .all(|(i, pc)| self.peek_at(i) == Some(pc))
            {
                for _ in 0..p.chars().count() {
                    self.bump();
                }
                return Ok(Kind::Punct);
            }
        }
        self.bump();
        Ok(Kind::Punct)
    }

    /// The rest of a string literal opened by `quote`.
    fn quoted(&mut self, quote: char, line: usize, col: usize) -> Result<()> {
        loop {
            match self.bump() {
                None | Some('\n') => return Err(self.error(line, col, "unterminated string")),
                Some('\\') => {
                    self.bump();
                }
                Some(c) if c == quote => return Ok(()),
                Some(_) => {}
            }
        }
    }

    /// The rest of a template literal; `${...}` may nest strings, braces and templates.
    fn template(&mut self, line: usize, col: usize) -> Result<Kind> {
        let mut kind = Kind::Str;
        loop {
            match self.bump() {
                None => return Err(self.error(line, col, "unterminated template literal")),
                Some('\\') => {
                    self.bump();
                }
                Some('`') => return Ok(kind),
                Some('$') if self.peek_at(0) == Some('{') => {
                    self.bump();
                    kind = Kind::Template;
                    self.substitution(line, col)?;
                }
                Some(_) => {}
            }
        }
    }

    /// Skips a template's `${ ... }` up to its closing brace.
    fn substitution(&mut self, line: usize, col: usize) -> Result<()> {
        let mut depth = 1;
        while depth > 0 {
            match self.bump() {
                None => return Err(self.error(line, col, "unterminated template literal")),
                Some(q @ ('"' | '\'')) => self.quoted(q, line, col)?,
                Some('`') => {
                    self.template(line, col)?;
                }
                Some('{') => depth += 1,
                Some('}') => depth -= 1,
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// A `/` starts a regular expression where an operand is expected.
    fn regex_allowed(&self) -> bool {
        match self.out.last() {
            None => true,
            Some(t) => match t.kind {
                Kind::Punct => !matches!(t.text.as_str(), ")" | "]" | "}" | "++" | "--"),
                Kind::Ident => matches!(
                    t.text.as_str(),
                    "return"
                        | "typeof"
                        | "instanceof"
                        | "in"
                        | "of"
                        | "new"
                        | "delete"
                        | "void"
                        | "throw"
                        | "case"
                        | "do"
                        | "else"
                ),
                _ => false,
            },
        }
    }

    /// The rest of a regular-expression literal and its flags.
    fn regex(&mut self, line: usize, col: usize) -> Result<()> {
        let mut class = false;
        loop {
            match self.bump() {
                None | Some('\n') => {
                    return Err(self.error(line, col, "unterminated regular expression"));
                }
                Some('\\') => {
                    self.bump();
                }
                Some('[') => class = true,
                Some(']') => class = false,
                Some('/') if !class => break,
                Some(_) => {}
            }
        }
        while self.peek_at(0).is_some_and(char::is_alphanumeric) {
            self.bump();
        }
        Ok(())
    }
}
