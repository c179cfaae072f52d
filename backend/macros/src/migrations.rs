//! `migrations!()`: the directory read at compile time, checked, and embedded.

use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream};
use quote::quote;

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let relative = if input.is_empty() {
        "migrations".to_owned()
    } else {
        syn::parse2::<syn::LitStr>(input)?.value()
    };
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or_else(|| error("CARGO_MANIFEST_DIR is not set: build with cargo"))?;
    let dir = root.join(&relative);
    let files = read(&dir)?;
    let items = files.iter().map(|(version, name, path)| {
        let path = path.to_string_lossy();
        quote! { ::qmlbridge_backend::Migration::new(#version, #name, include_str!(#path)) }
    });
    Ok(quote! {{
        const MIGRATIONS: &[::qmlbridge_backend::Migration] = &[ #(#items),* ];
        MIGRATIONS
    }})
}

/// The `.sql` files of `dir` as (version, name, path), checked and sorted.
fn read(dir: &Path) -> syn::Result<Vec<(i64, String, PathBuf)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        error(&format!(
            "cannot read migrations from {}: {e}",
            dir.display()
        ))
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| error(&format!("{}: {e}", dir.display())))?;
        let path = entry.path();
        let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
            return Err(error(&format!("{}: not a UTF-8 file name", path.display())));
        };
        let Some(stem) = file.strip_suffix(".sql") else {
            continue;
        };
        let version = parse_name(stem).ok_or_else(|| {
            error(&format!(
                "{}: a migration is named NNNN_name.sql (four digits from 0001, then [a-z0-9_])",
                path.display()
            ))
        })?;
        files.push((version, stem.to_owned(), path));
    }
    files.sort();
    for (i, (version, _, path)) in files.iter().enumerate() {
        let expected = i as i64 + 1;
        if *version != expected {
            let what = if *version < expected {
                "repeats the number of another migration"
            } else {
                "leaves a gap"
            };
            return Err(error(&format!(
                "{}: {what}: migration {expected:04} was expected",
                path.display()
            )));
        }
    }
    Ok(files)
}

/// `0001_create_items` -> 1.
fn parse_name(stem: &str) -> Option<i64> {
    let (digits, name) = stem.split_once('_')?;
    let ok = digits.len() == 4
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    ok.then(|| digits.parse().ok()).flatten().filter(|v| *v > 0)
}

fn error(message: &str) -> syn::Error {
    syn::Error::new(Span::call_site(), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(files: &[&str]) -> tempdir::Dir {
        tempdir::Dir::with(files)
    }

    /// A throwaway directory (no dev-dependency needed for three files).
    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn with(files: &[&str]) -> Dir {
                let path = std::env::temp_dir().join(format!(
                    "qmlbridge-migrations-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                let _ = std::fs::remove_dir_all(&path);
                std::fs::create_dir_all(&path).unwrap();
                for f in files {
                    std::fs::write(path.join(f), "SELECT 1;").unwrap();
                }
                Dir(path)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn names_in_order() {
        let d = dir(&["0002_b.sql", "0001_a.sql", "README.md"]);
        let got: Vec<_> = read(&d.0)
            .unwrap()
            .into_iter()
            .map(|f| (f.0, f.1))
            .collect();
        assert_eq!(got, [(1, "0001_a".to_owned()), (2, "0002_b".to_owned())]);
    }

    #[test]
    fn gaps_repeats_and_bad_names_name_the_file() {
        let cases: [(&[&str], &str, &str); 4] = [
            (&["0001_a.sql", "0003_c.sql"], "0003_c.sql", "gap"),
            (&["0001_a.sql", "0001_b.sql"], "0001_b.sql", "repeats"),
            (&["0001_a.sql", "2_b.sql"], "2_b.sql", "NNNN_name"),
            (&["0001_Create.sql"], "0001_Create.sql", "NNNN_name"),
        ];
        for (files, named, says) in cases {
            let d = dir(files);
            let err = read(&d.0).unwrap_err().to_string();
            assert!(
                err.contains(named) && err.contains(says),
                "{files:?}: {err}"
            );
        }
    }
}
