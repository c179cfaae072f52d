//! The backend's configuration, read from a Caddyfile (`docs/contract.md`): the lexer
//! ([`lexer`]: tokens, quotes, placeholders), the tree ([`tree`]: blocks and directives) and the
//! directives we honour ([`site`]). [`Config::load`] runs all three.

pub mod lexer;
pub mod mercure;
mod mercure_block;
pub mod site;
pub mod tree;
pub mod units;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
pub use site::{Config, Encoding, HeaderOp, SiteAddress};

/// The text of a Caddyfile and the name its errors start with (`NAME:LINE: ...`).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    /// A source named `name` (what error messages print) holding `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    /// A configuration error at `line` of this file.
    pub fn error(&self, line: usize, message: impl std::fmt::Display) -> Error {
        Error::Caddyfile(format!("{}:{line}: {message}", self.name))
    }
}

/// The framework's default configuration: the repository's top-level `Caddyfile`, built in.
pub const DEFAULT_CADDYFILE: &str = include_str!("../../../Caddyfile");

/// Where `serve`'s configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file (`--config`, `$BRIDGE_CADDYFILE` or `./Caddyfile`); missing is an error.
    File(PathBuf),
    /// None was named and there is no `./Caddyfile`: [`DEFAULT_CADDYFILE`].
    BuiltIn,
}

/// Where `serve` reads its Caddyfile: `--config`, else `$BRIDGE_CADDYFILE`, else `./Caddyfile`,
/// else (when the app ships none) the framework's default.
pub fn locate(flag: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Source {
    if let Some(path) = flag {
        return Source::File(path.to_path_buf());
    }
    if let Some(path) = env("BRIDGE_CADDYFILE").filter(|p| !p.is_empty()) {
        return Source::File(PathBuf::from(path));
    }
    let here = PathBuf::from("Caddyfile");
    if here.exists() {
        Source::File(here)
    } else {
        Source::BuiltIn
    }
}

impl Config {
    /// Reads and interprets the configuration from `source`.
    pub fn load_source(source: &Source, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        match source {
            Source::File(path) => Config::load(path, env),
            Source::BuiltIn => Config::parse(
                &SourceFile::new("Caddyfile (the built-in default)", DEFAULT_CADDYFILE),
                env,
            ),
        }
    }

    /// Reads and interprets the Caddyfile at `path`, expanding placeholders with `env`.
    ///
    /// Error messages name the file as `Caddyfile` when that is its file name (the form the
    /// contract documents), else by its path. A file that is not UTF-8 is an error naming the
    /// line of the first bad byte.
    pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        let bytes = std::fs::read(path).map_err(|source| Error::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        let name = match path.file_name().and_then(|n| n.to_str()) {
            Some("Caddyfile") => "Caddyfile".to_string(),
            _ => path.display().to_string(),
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
            Error::Caddyfile(format!(
                "{name}:{line}: invalid UTF-8 (the file must be UTF-8 text)"
            ))
        })?;
        Config::parse(&SourceFile::new(name, text), env)
    }

    /// Interprets Caddyfile text.
    pub fn parse(src: &SourceFile, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        let tokens = lexer::tokenize(src, env)?;
        let tree = tree::parse(src, &tokens)?;
        site::interpret(src, &tree)
    }
}

/// The process environment as a lookup function (what `serve` and `migrate` use).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests;
