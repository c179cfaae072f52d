//! The skeleton's template engine: minijinja, with one filter per target language (`escape.rs`)
//! and a formatter that prints only what passed one, so no value reaches a generated file by
//! accident: `{{ name }}` alone is a template error, `{{ name | rust_str }}` is a Rust string.
//!
//! Filters: `rust_str`, `rust_ident`, `rust_comment`, `rust_lit`; `qml_str`, `qml_ident`,
//! `qml_comment`, `qml_lit`; `sql_ident`, `sql_comment`; `toml_str`; `hash_comment` (TOML, shell,
//! Makefile); `make_value`, `make_sh_word`, `sh_word`; `xml_text`; `md_text`, `md_code`, `md_url`; `pad(n)` aligns a filtered value. Integers print as they
//! are. Undefined names are errors; `trim_blocks`/`lstrip_blocks` keep `{% %}` lines out of the
//! output.

use std::path::{Path, PathBuf};

use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};

use super::escape::{self, Refused};
use crate::error::{Error, Result};
use crate::spec::{JS_RESERVED, QML_KEYWORDS, RUST_KEYWORDS};

/// The loaded skeleton.
pub(crate) struct Templates {
    env: Environment<'static>,
    root: PathBuf,
}

impl Templates {
    /// Every template under `root`, by its path relative to `root` (`_resource/Page.qml.tmpl`).
    pub(crate) fn load(root: &Path, files: &[PathBuf]) -> Result<Templates> {
        let mut env = Environment::new();
        let mut syntax = minijinja::syntax::SyntaxConfig::builder();
        syntax
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true);
        env.set_syntax(syntax.build().expect("the default delimiters"));
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // A target of its own, so `{% set x %}…{% endset %}` keeps its (filtered) output printable.
        env.set_auto_escape_callback(|_| AutoEscape::Custom("target".into()));
        env.set_formatter(format_value);
        register_filters(&mut env);
        for rel in files {
            let path = root.join(rel);
            let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
            env.add_template_owned(rel.to_string_lossy().into_owned(), text)
                .map_err(|e| Error::Template {
                    path: path.clone(),
                    problem: format!("{e:#}"),
                })?;
        }
        Ok(Templates {
            env,
            root: root.to_path_buf(),
        })
    }

    /// The template `name` rendered with `ctx`. A value that a filter refuses is bad input
    /// ([`Error::Usage`]); anything else is a fault of the skeleton ([`Error::Template`]).
    pub(crate) fn render(&self, name: &str, ctx: &Value) -> Result<String> {
        let result = self
            .env
            .get_template(name)
            .and_then(|t| t.render(ctx.clone()));
        result.map_err(|e| match refusal(&e) {
            Some(r) => Error::Usage(format!("{}: {r}", name.trim_end_matches(".tmpl"))),
            None => Error::Template {
                path: self.root.join(name),
                problem: format!("{e:#}"),
            },
        })
    }
}

/// The [`Refused`] behind a render error, if a filter refused a value.
fn refusal(e: &minijinja::Error) -> Option<Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return Some(r.clone());
        }
        source = s.source();
    }
    None
}

/// Prints a filter's output (marked safe) or an integer; refuses anything else, so a template
/// that forgot its target's filter fails on every app rather than on the odd name.
fn format_value(
    out: &mut minijinja::Output,
    _: &mut minijinja::State,
    value: &Value,
) -> std::result::Result<(), minijinja::Error> {
    let integer = value.kind() == ValueKind::Number && value.as_i64().is_some();
    if value.is_safe() || integer {
        out.write_str(&value.to_string())?;
        Ok(())
    } else {
        Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("{value:?} is printed without its target's filter (rust_str, qml_str, …)"),
        ))
    }
}

type FilterResult = std::result::Result<Value, minijinja::Error>;

fn safe(r: std::result::Result<String, Refused>) -> FilterResult {
    r.map(Value::from_safe_string).map_err(|refused| {
        minijinja::Error::new(ErrorKind::InvalidOperation, refused.0.clone()).with_source(refused)
    })
}

/// A sample value as a literal: strings through `string`, numbers and booleans as they are.
fn literal(v: &Value, string: fn(&str) -> String) -> FilterResult {
    match v.kind() {
        ValueKind::String => safe(Ok(string(v.as_str().unwrap_or_default()))),
        ValueKind::Bool => safe(Ok(v.is_true().to_string())),
        ValueKind::Number => match v.as_i64() {
            Some(i) => safe(Ok(i.to_string())),
            None => {
                let x = f64::try_from(v.clone()).map_err(|e| {
                    minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string())
                })?;
                safe(Ok(format!("{x:?}")))
            }
        },
        other => Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("no literal for a {other:?}"),
        )),
    }
}

fn register_filters(env: &mut Environment<'static>) {
    env.add_filter("rust_str", |s: &str| safe(Ok(escape::rust_str(s))));
    env.add_filter("rust_ident", |s: &str| {
        safe(escape::ident(s, "Rust", &[RUST_KEYWORDS]))
    });
    env.add_filter("rust_comment", |s: &str| safe(escape::rust_comment(s)));
    env.add_filter("rust_lit", |v: &Value| literal(v, escape::rust_str));
    env.add_filter("qml_str", |s: &str| safe(Ok(escape::qml_str(s))));
    env.add_filter("qml_ident", |s: &str| {
        safe(escape::ident(s, "QML", &[JS_RESERVED, QML_KEYWORDS]))
    });
    env.add_filter("qml_comment", |s: &str| safe(escape::qml_comment(s)));
    env.add_filter("qml_lit", |v: &Value| literal(v, escape::qml_str));
    env.add_filter("sql_ident", |s: &str| safe(escape::sql_ident(s)));
    env.add_filter("sql_comment", |s: &str| safe(escape::sql_comment(s)));
    env.add_filter("toml_str", |s: &str| safe(Ok(escape::toml_str(s))));
    env.add_filter("hash_comment", |s: &str| safe(escape::hash_comment(s)));
    env.add_filter("make_value", |s: &str| safe(escape::make_value(s)));
    env.add_filter("make_sh_word", |s: &str| safe(escape::make_sh_word(s)));
    env.add_filter("sh_word", |s: &str| safe(escape::sh_word(s)));
    env.add_filter("xml_text", |s: &str| safe(escape::xml_text(s)));
    env.add_filter("md_text", |s: &str| safe(escape::md_text(s)));
    env.add_filter("md_code", |s: &str| safe(escape::md_code(s)));
    env.add_filter("md_url", |s: &str| safe(escape::md_url(s)));
    // Alignment: spaces after a value its target's filter already made safe.
    env.add_filter("pad", |v: &Value, width: usize| {
        if !v.is_safe() {
            return Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                "pad: the value has not passed its target's filter",
            ));
        }
        let s = v.to_string();
        let fill = width.saturating_sub(s.chars().count());
        safe(Ok(format!("{s}{}", " ".repeat(fill))))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates(files: &[(&str, &str)]) -> (tempfile::TempDir, Templates) {
        let dir = tempfile::tempdir().unwrap();
        let mut names = Vec::new();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
            names.push(PathBuf::from(name));
        }
        let t = Templates::load(dir.path(), &names).unwrap();
        (dir, t)
    }

    fn ctx() -> Value {
        Value::from(std::collections::BTreeMap::from([
            ("name", Value::from("a \"b\"")),
            ("n", Value::from(3)),
            ("x", Value::from(1.5)),
            ("bad", Value::from("x\u{202E}y")),
        ]))
    }

    #[test]
    fn filters_escape_and_the_rest_is_refused() {
        let (_d, t) = templates(&[
            (
                "ok",
                "r={{ name | rust_str }} q={{ name | qml_str }} n={{ n }} x={{ x | rust_lit }}\n",
            ),
            ("raw", "{{ name }}"),
            ("undefined", "{{ nope | rust_str }}"),
            ("comment", "// {{ bad | rust_comment }}"),
        ]);
        assert_eq!(
            t.render("ok", &ctx()).unwrap(),
            "r=\"a \\\"b\\\"\" q=\"a \\\"b\\\"\" n=3 x=1.5\n",
            "the trailing newline is kept"
        );
        match t.render("raw", &ctx()) {
            Err(Error::Template { problem, .. }) => {
                assert!(problem.contains("without its target's filter"), "{problem}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            t.render("undefined", &ctx()),
            Err(Error::Template { .. })
        ));
        match t.render("comment", &ctx()) {
            Err(Error::Usage(m)) => assert!(m.contains("U+202E"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
