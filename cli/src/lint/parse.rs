//! Just enough of a QML reader for the lint rules: on the tokens of `lex`, a parser that finds
//! every object declaration (nested ones, those bound to a property or in a list, inline
//! `component`s) with its bindings.
//! JavaScript inside a binding is kept as tokens, never interpreted: a binding ends where QML's
//! grammar ends it (`;`, the closing `}`, or a line break that JavaScript's automatic semicolon
//! insertion would end it at).
//!
//! See: <https://doc.qt.io/qt-6/qtqml-syntax-basics.html> and ECMA-262 §12.10 (ASI).

use super::lex::{Kind, ParseError, Token, tokenize};

/// A property binding `name: value` of an object.
#[derive(Debug)]
pub(crate) struct Binding {
    /// The property name as written (`text`, `font.bold`, `Layout.fillWidth`).
    pub(crate) name: String,
    pub(crate) line: usize,
    pub(crate) col: usize,
    /// The value's tokens (empty when the value is an object or a list of objects).
    pub(crate) value: Vec<Token>,
}

/// An object declaration: `Type { ... }` (or a property group, `font { ... }`).
#[derive(Debug)]
pub(crate) struct Object {
    /// The type as written (`Label`, `QQC2.Label`, or a group name such as `font`).
    pub(crate) type_name: String,
    /// A property group (`font { ... }`), not a type.
    pub(crate) group: bool,
    pub(crate) bindings: Vec<Binding>,
    pub(crate) children: Vec<Object>,
    /// `component Name: Type { ... }` declared inside, by name.
    pub(crate) components: Vec<(String, Object)>,
}

impl Object {
    /// The binding of `name`, if the object has one.
    pub(crate) fn binding(&self, name: &str) -> Option<&Binding> {
        self.bindings.iter().find(|b| b.name == name)
    }

    /// The type's last segment (`QQC2.Label` -> `Label`).
    pub(crate) fn base_type(&self) -> &str {
        self.type_name.rsplit('.').next().unwrap_or(&self.type_name)
    }
}

type Result<T> = std::result::Result<T, ParseError>;

/// The root object of a QML document.
pub(crate) fn document(text: &str) -> Result<Object> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, pos: 0 };
    p.skip_header();
    let root = p.object_declaration()?;
    match p.peek() {
        None => Ok(root),
        Some(t) => Err(p.error_at(t, "unexpected text after the root object")),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Token> {
        self.tokens.get(self.pos + ahead)
    }

    fn is(&self, ahead: usize, text: &str) -> bool {
        self.peek_at(ahead).is_some_and(|t| t.text == text)
    }

    fn next(&mut self) -> Result<Token> {
        let t = self.peek().cloned().ok_or_else(|| self.eof())?;
        self.pos += 1;
        Ok(t)
    }

    fn eof(&self) -> ParseError {
        let (line, col) = self.tokens.last().map_or((1, 1), |t| (t.line, t.col));
        ParseError {
            line,
            col,
            message: "unexpected end of file (a `}` is missing)".into(),
        }
    }

    fn error_at(&self, t: &Token, message: &str) -> ParseError {
        ParseError {
            line: t.line,
            col: t.col,
            message: format!("{message} (at `{}`)", t.text),
        }
    }

    fn expect(&mut self, text: &str) -> Result<Token> {
        let t = self.next()?;
        if t.text == text {
            Ok(t)
        } else {
            Err(self.error_at(&t, &format!("expected `{text}`")))
        }
    }

    /// `import ...` and `pragma ...` lines (each ends at a line break or `;`).
    fn skip_header(&mut self) {
        while self
            .peek()
            .is_some_and(|t| t.kind == Kind::Ident && (t.text == "import" || t.text == "pragma"))
        {
            self.pos += 1;
            while let Some(t) = self.peek() {
                if t.text == ";" {
                    self.pos += 1;
                    break;
                }
                if t.newline_before {
                    break;
                }
                self.pos += 1;
            }
        }
    }

    /// A dotted name `a.b.c` starting at the current token, and how many tokens it spans.
    fn dotted_len(&self) -> usize {
        let mut n = 0;
        while self.peek_at(n).is_some_and(|t| t.kind == Kind::Ident) {
            n += 1;
            if !(self.is(n, ".") && self.peek_at(n + 1).is_some_and(|t| t.kind == Kind::Ident)) {
                break;
            }
            n += 1;
        }
        n
    }

    fn dotted(&mut self) -> Result<(String, usize, usize)> {
        let n = self.dotted_len();
        let first = self.peek().cloned().ok_or_else(|| self.eof())?;
        if n == 0 {
            return Err(self.error_at(&first, "expected a name"));
        }
        let name: String = self.tokens[self.pos..self.pos + n]
            .iter()
            .map(|t| t.text.as_str())
            .collect();
        self.pos += n;
        Ok((name, first.line, first.col))
    }

    /// `Type { members }` (a type starts with an upper-case letter, perhaps after a qualifier).
    fn object_declaration(&mut self) -> Result<Object> {
        let (type_name, _, _) = self.dotted()?;
        self.expect("{")?;
        let mut object = Object {
            group: !is_type_name(&type_name),
            type_name,
            bindings: Vec::new(),
            children: Vec::new(),
            components: Vec::new(),
        };
        self.members(&mut object)?;
        Ok(object)
    }

    /// Members up to and including the object's closing `}`.
    fn members(&mut self, object: &mut Object) -> Result<()> {
        loop {
            let t = self.peek().cloned().ok_or_else(|| self.eof())?;
            match t.text.as_str() {
                "}" => {
                    self.pos += 1;
                    return Ok(());
                }
                ";" | "," => self.pos += 1,
                _ if t.kind != Kind::Ident => {
                    return Err(self.error_at(&t, "expected a property, an object or `}`"));
                }
                "property" | "readonly" | "required" | "default" | "final"
                    if self.peek_at(1).is_some_and(|n| n.kind == Kind::Ident) =>
                {
                    self.property(object)?;
                }
                "signal" if self.peek_at(1).is_some_and(|n| n.kind == Kind::Ident) => {
                    self.signal()?;
                }
                "function" | "async" if self.peek_at(1).is_some_and(|n| n.kind == Kind::Ident) => {
                    self.function()?;
                }
                "enum" if self.is(2, "{") => {
                    self.pos += 2;
                    self.skip_balanced("{", "}")?;
                }
                "component" if self.is(2, ":") => {
                    let name = self.peek_at(1).map(|t| t.text.clone()).unwrap_or_default();
                    self.pos += 3;
                    let inner = self.object_declaration()?;
                    object.components.push((name, inner));
                }
                _ => self.member(object)?,
            }
        }
    }

    /// `name { ... }`, `Type { ... }`, `Type on prop { ... }` or `name: value`.
    fn member(&mut self, object: &mut Object) -> Result<()> {
        let n = self.dotted_len();
        if self.is(n, "{") {
            object.children.push(self.object_declaration()?);
            return Ok(());
        }
        if self.is(n, "on") && self.peek_at(n + 1).is_some_and(|t| t.kind == Kind::Ident) {
            let (type_name, _, _) = self.dotted()?;
            self.pos += 1; // on
            self.dotted()?;
            self.expect("{")?;
            let mut child = Object {
                group: false,
                type_name,
                bindings: Vec::new(),
                children: Vec::new(),
                components: Vec::new(),
            };
            self.members(&mut child)?;
            object.children.push(child);
            return Ok(());
        }
        let (name, line, col) = self.dotted()?;
        self.expect(":")?;
        let value = self.value(object)?;
        object.bindings.push(Binding {
            name,
            line,
            col,
            value,
        });
        Ok(())
    }

    /// `[readonly|required|default|final]* property <type> name [: value]`, or `required name`.
    fn property(&mut self, object: &mut Object) -> Result<()> {
        while self.peek().is_some_and(|t| {
            matches!(
                t.text.as_str(),
                "readonly" | "required" | "default" | "final"
            )
        }) {
            self.pos += 1;
        }
        if !self.is(0, "property") {
            // `required name`: an existing property made required.
            self.dotted()?;
            return Ok(());
        }
        self.pos += 1;
        self.dotted()?; // the type
        if self.is(0, "<") {
            self.skip_balanced("<", ">")?;
        }
        let (name, line, col) = self.dotted()?;
        if self.is(0, ":") {
            self.pos += 1;
            let value = self.value(object)?;
            object.bindings.push(Binding {
                name,
                line,
                col,
                value,
            });
        }
        Ok(())
    }

    /// `signal name` or `signal name(type a, ...)`.
    fn signal(&mut self) -> Result<()> {
        self.pos += 2;
        if self.is(0, "(") && !self.peek().is_some_and(|t| t.newline_before) {
            self.skip_balanced("(", ")")?;
        }
        Ok(())
    }

    /// `[async] function name(params) [: type] { body }`.
    fn function(&mut self) -> Result<()> {
        if self.is(0, "async") {
            self.pos += 1;
        }
        self.expect("function")?;
        self.dotted()?;
        self.skip_balanced("(", ")")?;
        while !self.is(0, "{") {
            self.next()?;
        }
        self.skip_balanced("{", "}")
    }

    /// From an opening `open` (the current token) past its matching `close`.
    fn skip_balanced(&mut self, open: &str, close: &str) -> Result<()> {
        self.expect(open)?;
        let mut depth = 1;
        while depth > 0 {
            let t = self.next()?;
            if t.text == open {
                depth += 1;
            } else if t.text == close {
                depth -= 1;
            }
        }
        Ok(())
    }

    /// A binding's value: an object, a list (of objects or values) or a script expression/block.
    fn value(&mut self, object: &mut Object) -> Result<Vec<Token>> {
        let n = self.dotted_len();
        if n > 0 && self.is(n, "{") && self.type_at(0) {
            object.children.push(self.object_declaration()?);
            return Ok(Vec::new());
        }
        if self.is(0, "[") && self.list_of_objects() {
            self.pos += 1;
            loop {
                if self.is(0, "]") {
                    self.pos += 1;
                    return Ok(Vec::new());
                }
                if self.is(0, ",") {
                    self.pos += 1;
                    continue;
                }
                object.children.push(self.object_declaration()?);
            }
        }
        self.script()
    }

    /// The dotted name at `ahead` is a type name (`Rectangle`, `QQC2.Label`).
    fn type_at(&self, ahead: usize) -> bool {
        let mut n = ahead;
        let mut name = String::new();
        while let Some(t) = self.peek_at(n).filter(|t| t.kind == Kind::Ident) {
            name.push_str(&t.text);
            if self.is(n + 1, ".") {
                name.push('.');
                n += 2;
            } else {
                break;
            }
        }
        is_type_name(&name)
    }

    /// `[` followed by `Type {`: a list of objects (`states: [State {...}, ...]`).
    fn list_of_objects(&self) -> bool {
        let mut n = 1;
        while self.peek_at(n).is_some_and(|t| t.kind == Kind::Ident) {
            if self.is(n + 1, ".") {
                n += 2;
            } else {
                return self.is(n + 1, "{") && self.type_at(1);
            }
        }
        false
    }

    /// A script binding's tokens: a `{ block }`, or an expression (or statement) ending at `;`,
    /// at the object's `}`, or at a line break where JavaScript inserts a semicolon.
    fn script(&mut self) -> Result<Vec<Token>> {
        let start = self.pos;
        let mut depth = 0usize;
        // `if (...)`, `for (...)`, `while (...)`: the index of the `)` ending the head, whose
        // statement may start on the next line; `else` likewise.
        let control = self.peek().is_some_and(|t| {
            t.kind == Kind::Ident && matches!(t.text.as_str(), "if" | "for" | "while" | "with")
        });
        let mut head_end = None;
        loop {
            let Some(t) = self.peek() else {
                if depth > 0 || self.pos == start {
                    return Err(self.eof());
                }
                break;
            };
            if depth == 0 && self.pos > start {
                if t.text == ";" {
                    let value = self.tokens[start..self.pos].to_vec();
                    self.pos += 1;
                    return Ok(value);
                }
                if matches!(t.text.as_str(), "}" | "]" | ")" | ",") {
                    break;
                }
                let prev = &self.tokens[self.pos - 1];
                let after_head = head_end == Some(self.pos - 1) || prev.text == "else";
                if t.newline_before && !after_head && !continues(prev, t) {
                    break;
                }
            }
            match t.text.as_str() {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => {
                    if depth == 0 {
                        let t = t.clone();
                        return Err(self.error_at(&t, "unbalanced brackets in a binding"));
                    }
                    depth -= 1;
                    if depth == 0 && control && head_end.is_none() {
                        head_end = Some(self.pos);
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        Ok(self.tokens[start..self.pos].to_vec())
    }
}

/// Whether `next`, on a new line after `prev`, continues the same expression rather than starting
/// the next member: JavaScript inserts no semicolon after an operator or before one (ECMA-262
/// §12.10).
fn continues(prev: &Token, next: &Token) -> bool {
    let operand_end = match prev.kind {
        Kind::Punct => matches!(prev.text.as_str(), ")" | "]" | "}" | "++" | "--"),
        Kind::Ident => !is_operator_keyword(&prev.text),
        _ => true,
    };
    if !operand_end {
        return true;
    }
    match next.kind {
        Kind::Punct => !matches!(
            next.text.as_str(),
            "++" | "--" | "!" | "~" | "{" | "}" | ";"
        ),
        Kind::Ident => matches!(next.text.as_str(), "instanceof" | "in" | "else"),
        _ => false,
    }
}

fn is_operator_keyword(word: &str) -> bool {
    matches!(
        word,
        "return"
            | "typeof"
            | "instanceof"
            | "in"
            | "new"
            | "delete"
            | "void"
            | "throw"
            | "case"
            | "else"
            | "await"
    )
}

/// A type name's last segment starts with an upper-case letter (`Label`, `QQC2.Label`); a
/// lower-case one is a property group (`font`, `anchors`).
fn is_type_name(name: &str) -> bool {
    name.rsplit('.')
        .next()
        .and_then(|s| s.chars().next())
        .is_some_and(char::is_uppercase)
}
