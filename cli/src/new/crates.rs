//! The crates in a generated app's dependency graph, from the framework's `Cargo.lock` (which
//! the app starts from): an app whose own package is named like one of them is ambiguous to
//! `cargo build -p <name>` (and to `make run`), so that name is refused.

use std::collections::{BTreeSet, VecDeque};

use toml::{Table, Value};

/// The dependency kinds of a manifest whose crates the app's graph starts from.
const SECTIONS: &[&str] = &["dependencies", "dev-dependencies", "build-dependencies"];

/// The names of every package reachable in `lock` from the dependencies of `manifests` (the
/// app's rendered `Cargo.toml`s). A lock lists each package's dependencies as `name` or `name
/// version [(source)]`; every version of a name is followed, so the set may be larger than
/// cargo's resolution, never smaller.
pub(super) fn dependency_graph(lock: &str, manifests: &[&str]) -> Result<BTreeSet<String>, String> {
    let lock: Table = lock
        .parse()
        .map_err(|e| format!("the framework's Cargo.lock: {e}"))?;
    let packages = lock
        .get("package")
        .and_then(Value::as_array)
        .ok_or("the framework's Cargo.lock has no [[package]]")?;
    let deps_of = |name: &str| -> Vec<String> {
        packages
            .iter()
            .filter(|p| p.get("name").and_then(Value::as_str) == Some(name))
            .flat_map(|p| p.get("dependencies").and_then(Value::as_array).cloned())
            .flatten()
            .filter_map(|d| {
                d.as_str()
                    .and_then(|d| d.split(' ').next())
                    .map(str::to_owned)
            })
            .collect()
    };
    let mut queue: VecDeque<String> = VecDeque::new();
    for text in manifests {
        let manifest: Table = text
            .parse()
            .map_err(|e| format!("a generated Cargo.toml: {e}"))?;
        for section in SECTIONS {
            let Some(deps) = manifest.get(*section).and_then(Value::as_table) else {
                continue;
            };
            for (key, spec) in deps {
                // `alias = { package = "real-name", … }` depends on real-name.
                let real = spec.get("package").and_then(Value::as_str).unwrap_or(key);
                queue.push_back(real.to_owned());
            }
        }
    }
    let mut seen = BTreeSet::new();
    while let Some(name) = queue.pop_front() {
        if seen.insert(name.clone()) {
            queue.extend(deps_of(&name));
        }
    }
    Ok(seen)
}

/// The package of `graph` that `package` would be confused with: the same name, or the same
/// once `-` and `_` are the same (as crate names in Rust code are).
pub(super) fn clash<'a>(graph: &'a BTreeSet<String>, package: &str) -> Option<&'a str> {
    let norm = |s: &str| s.replace('-', "_");
    graph
        .iter()
        .find(|g| norm(g) == norm(package))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "fw-backend"
version = "0.1.0"
dependencies = ["log", "serde 1.0.0", "tokio"]

[[package]]
name = "log"
version = "0.4.0"

[[package]]
name = "serde"
version = "1.0.0"
dependencies = ["serde_derive"]

[[package]]
name = "serde_derive"
version = "1.0.0"

[[package]]
name = "tokio"
version = "1.0.0"

[[package]]
name = "unrelated-app"
version = "0.1.0"
"#;

    #[test]
    fn the_graph_from_the_manifests_dependencies() {
        let manifest = r#"
[package]
name = "notes-backend"
[dependencies]
fw-backend = { path = "/fw/backend" }
[dev-dependencies]
rt = { package = "tokio", version = "1" }
"#;
        let graph = dependency_graph(LOCK, &[manifest]).unwrap();
        let names: Vec<&str> = graph.iter().map(String::as_str).collect();
        assert_eq!(
            names,
            ["fw-backend", "log", "serde", "serde_derive", "tokio"]
        );
        assert_eq!(clash(&graph, "log"), Some("log"));
        assert_eq!(clash(&graph, "serde-derive"), Some("serde_derive"));
        assert_eq!(clash(&graph, "unrelated-app"), None);
        assert_eq!(clash(&graph, "notes"), None);
    }
}
