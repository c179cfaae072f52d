//! What a saved file means to `qmlbridge dev`, and the watcher that reports saves: inotify
//! through `notify`, with its debouncer coalescing an editor's write-rename-chmod of one save
//! into one batch.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use super::layout::Layout;
use crate::{Error, Result};

/// How long a file must be quiet before its save counts: one editor save is several events.
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(50);

/// What a change asks for, in increasing cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// A QML or JS file of the window: reload it.
    Qml,
    /// The backend's sources, migrations or Caddyfile: rebuild and swap it.
    Backend,
    /// The host's Rust: rebuild and restart the window.
    Host,
}

/// Sorts saved paths into kinds.
#[derive(Clone, Debug)]
pub(crate) struct Rules {
    qml: Vec<PathBuf>,
    backend: PathBuf,
    host: PathBuf,
    caddyfile: PathBuf,
}

impl Rules {
    pub(crate) fn new(layout: &Layout) -> Rules {
        let mut qml = vec![layout.qml_dir.clone()];
        // The host crate reaches the QML through a symlink (`host/qml -> ../qml`); inotify reports
        // a save under whichever path it watched.
        if let Ok(entries) = std::fs::read_dir(&layout.host_dir) {
            let real = layout.qml_dir.canonicalize().ok();
            for entry in entries.flatten() {
                let path = entry.path();
                if path.canonicalize().ok().is_some_and(|p| Some(p) == real) {
                    qml.push(path);
                }
            }
        }
        Rules {
            qml,
            backend: layout.backend_dir.clone(),
            host: layout.host_dir.clone(),
            caddyfile: layout.caddyfile.clone(),
        }
    }

    /// The kind of a change to `path`; `None` for what no build reads (editor swap files, test
    /// files, build output).
    pub(crate) fn kind(&self, path: &Path) -> Option<Kind> {
        if path == self.caddyfile {
            return Some(Kind::Backend);
        }
        let name = path.file_name()?.to_str()?;
        if ignored_name(name) {
            return None;
        }
        if let Some(rel) = self.qml.iter().find_map(|dir| path.strip_prefix(dir).ok()) {
            let qml = name == "qmldir"
                || Path::new(name)
                    .extension()
                    .is_some_and(|e| e == "qml" || e == "js" || e == "mjs");
            return (qml && !ignored_dir(rel)).then_some(Kind::Qml);
        }
        if let Ok(rel) = path.strip_prefix(&self.backend) {
            return (!ignored_dir(rel)).then_some(Kind::Backend);
        }
        if let Ok(rel) = path.strip_prefix(&self.host) {
            return (!ignored_dir(rel)).then_some(Kind::Host);
        }
        None
    }

    /// The kinds of a batch of saves.
    pub(crate) fn kinds<'a>(&self, paths: impl IntoIterator<Item = &'a Path>) -> BTreeSet<Kind> {
        paths.into_iter().filter_map(|p| self.kind(p)).collect()
    }
}

/// Editors' temporary and backup files: vim's `.x.swp` and `4913`, emacs' `#x#` and `x~`, hidden
/// files in general.
fn ignored_name(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913"
}

/// Directories no build of the running app reads: tests, build output, VCS data.
fn ignored_dir(rel: &Path) -> bool {
    rel.components().any(|c| match c {
        Component::Normal(part) => {
            matches!(
                part.to_str(),
                Some("tests" | "target" | "dist" | "build" | ".git")
            )
        }
        _ => false,
    })
}

/// Watches the app's QML, backend, host and Caddyfile; every debounced batch of changed paths
/// goes to `tx` through `wrap`. Reads are left out: a build opening every source must not look
/// like a save. Dropping the returned debouncer stops the watching.
pub(crate) fn start<M: Send + 'static>(
    layout: &Layout,
    tx: Sender<M>,
    wrap: fn(Vec<PathBuf>) -> M,
) -> Result<Debouncer<notify::RecommendedWatcher, RecommendedCache>> {
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        let events = match result {
            Ok(events) => events,
            Err(errors) => {
                for e in errors {
                    eprintln!("qmlbridge dev: file watching: {e}");
                }
                return;
            }
        };
        let paths: Vec<PathBuf> = events
            .into_iter()
            .filter(|e| !e.kind.is_access() && !e.kind.is_other())
            .flat_map(|e| e.event.paths)
            .collect();
        if !paths.is_empty() {
            let _ = tx.send(wrap(paths));
        }
    })
    .map_err(|e| Error::Usage(format!("cannot watch files: {e}")))?;
    let caddy_dir = layout
        .caddyfile
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let roots = [
        (layout.qml_dir.clone(), RecursiveMode::Recursive),
        (layout.backend_dir.clone(), RecursiveMode::Recursive),
        (layout.host_dir.clone(), RecursiveMode::Recursive),
        (caddy_dir, RecursiveMode::NonRecursive),
    ];
    for (dir, mode) in roots {
        debouncer
            .watch(&dir, mode)
            .map_err(|e| Error::Usage(format!("cannot watch {}: {e}", dir.display())))?;
    }
    Ok(debouncer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            qml: vec!["/app/qml".into(), "/app/host/qml".into()],
            backend: "/app/backend".into(),
            host: "/app/host".into(),
            caddyfile: "/app/Caddyfile".into(),
        }
    }

    #[test]
    fn saves_sort_into_kinds() {
        let r = rules();
        let kind = |p: &str| r.kind(Path::new(p));
        assert_eq!(kind("/app/qml/Main.qml"), Some(Kind::Qml));
        assert_eq!(
            kind("/app/host/qml/Page.qml"),
            Some(Kind::Qml),
            "through the symlink"
        );
        assert_eq!(kind("/app/qml/util.js"), Some(Kind::Qml));
        assert_eq!(kind("/app/qml/notes.txt"), None, "not read by the engine");
        assert_eq!(kind("/app/backend/src/lib.rs"), Some(Kind::Backend));
        assert_eq!(
            kind("/app/backend/migrations/0003_x.sql"),
            Some(Kind::Backend)
        );
        assert_eq!(kind("/app/Caddyfile"), Some(Kind::Backend));
        assert_eq!(kind("/app/host/src/main.rs"), Some(Kind::Host));
        assert_eq!(kind("/app/README.md"), None);
    }

    #[test]
    fn editor_files_tests_and_build_output_are_ignored() {
        let r = rules();
        let kind = |p: &str| r.kind(Path::new(p));
        for path in [
            "/app/qml/.Main.qml.swp",
            "/app/qml/4913",
            "/app/qml/Main.qml~",
            "/app/qml/#Main.qml#",
            "/app/qml/tests/tst_window.qml",
            "/app/backend/tests/api.rs",
            "/app/host/target/debug/x",
        ] {
            assert_eq!(kind(path), None, "{path}");
        }
    }

    #[test]
    fn a_batch_asks_for_each_kind_once() {
        let r = rules();
        let paths = [
            Path::new("/app/qml/Main.qml"),
            Path::new("/app/qml/Page.qml"),
            Path::new("/app/backend/src/lib.rs"),
        ];
        assert_eq!(r.kinds(paths), BTreeSet::from([Kind::Qml, Kind::Backend]));
    }
}
