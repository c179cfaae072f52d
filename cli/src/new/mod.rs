//! `qmlbridge new`: a new app from the skeleton in the framework's `templates/app`. Every input
//! is checked and every file rendered in memory first, so bad input writes nothing (exit 2);
//! `write.rs` then puts the app on disk all at once, so a failure leaves no half-written app.
//!
//! Templates (`render.rs`): every file under `templates/app` is a minijinja template, rendered
//! with the app's values (`context.rs`) and written at the same path without its `.tmpl` suffix;
//! `_resource/` holds the per-resource ones (a migration and a QML page each, and the pieces the
//! others include in a loop). Each value reaches a file through its target's filter
//! (`escape.rs`): escaped, or refused as bad input.

mod context;
mod crates;
mod escape;
mod render;
mod write;

use std::path::{Path, PathBuf};

use minijinja::value::Value;
use qmlbridge_manifest::{FILE_NAME, Manifest, rules};

use crate::error::{Error, Result};
use crate::spec::{self, ResourceSpec};
use render::Templates;
use write::{Contents, Planned, write_atomically};

/// What `qmlbridge new` was asked for.
#[derive(Debug, Clone)]
pub struct NewOptions {
    /// Where the app goes: absent or an empty directory.
    pub dir: PathBuf,
    /// The app name (`[a-z][a-z0-9-]*`).
    pub name: String,
    /// The organisation (data dir `~/.local/share/<org>/<name>`).
    pub org: String,
    /// The reverse-DNS id.
    pub id: String,
    /// The name a person sees; default: the name in title case.
    pub display_name: Option<String>,
    /// `--resource` specs; none: [`spec::DEFAULT_SPEC`].
    pub resources: Vec<String>,
    /// The qmlbridge checkout: the templates, and the crates the app depends on by path.
    pub framework: PathBuf,
}

/// The framework files the generated app is made from (besides `templates/app`).
const FRAMEWORK_FILES: &[&str] = &["Cargo.lock", "Caddyfile", "backend/Cargo.toml"];

/// The app's version in its manifest and workspace.
const FIRST_VERSION: &str = "0.1.0";

/// The per-resource templates, under `templates/app`.
const RESOURCE_DIR: &str = "_resource";

/// Writes the app; returns its directory.
pub fn new_app(opts: &NewOptions) -> Result<PathBuf> {
    let resources = check(opts)?;
    let framework = opts
        .framework
        .canonicalize()
        .map_err(|e| Error::Usage(format!("--framework {}: {e}", opts.framework.display())))?;
    let plan = plan(opts, &framework, &resources)?;
    write_atomically(&opts.dir, &plan)?;
    Ok(opts.dir.clone())
}

/// Every check on the command line; the parsed resources.
fn check(opts: &NewOptions) -> Result<Vec<ResourceSpec>> {
    let usage = |flag: &str, r: std::result::Result<(), String>| {
        r.map_err(|p| Error::Usage(format!("{flag}: {p}")))
    };
    usage("--name", rules::name(&opts.name))?;
    usage("--org", rules::org(&opts.org))?;
    usage("--id", rules::identifier(&opts.id))?;
    if let Some(d) = &opts.display_name {
        usage("--display-name", rules::line(d))?;
        usage("--display-name", display_name(d))?;
    }
    let module = spec::pascal(&opts.name);
    if module == "QmlBridge" || module.starts_with("Qt") {
        return Err(Error::Usage(format!(
            "--name: {:?} would name the app's QML module {module}, which Qt or qmlbridge uses",
            opts.name
        )));
    }
    let resources = spec::parse_all(&opts.resources)?;
    match std::fs::read_dir(&opts.dir).map(|mut entries| entries.next().is_some()) {
        Ok(true) => {
            return Err(Error::Usage(format!(
                "{} exists and is not empty",
                opts.dir.display()
            )));
        }
        Ok(false) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return Err(Error::Usage(format!(
                "{} exists and is not a directory",
                opts.dir.display()
            )));
        }
        Err(e) => return Err(Error::io(&opts.dir)(e)),
    }
    let templates = opts.framework.join("templates/app");
    let missing = FRAMEWORK_FILES
        .iter()
        .map(|f| opts.framework.join(f))
        .find(|p| !p.is_file());
    if !templates.is_dir() || missing.is_some() {
        return Err(Error::Usage(format!(
            "--framework {} is not a qmlbridge checkout (no templates/app, Cargo.lock, Caddyfile or backend/)",
            opts.framework.display()
        )));
    }
    Ok(resources)
}

/// A display name is one line of visible text: besides the manifest's rule (no control
/// character), no line or paragraph separator and no bidirectional control, which makes text
/// read differently from how a compiler reads it (rustc refuses one in a comment or literal).
fn display_name(d: &str) -> std::result::Result<(), String> {
    match d
        .chars()
        .find(|&c| escape::is_line_break(c) || escape::is_bidi_control(c))
    {
        Some(c) => Err(format!(
            "{d:?} contains U+{:04X}, a line separator or bidirectional control (one line of visible text only)",
            c as u32
        )),
        None => Ok(()),
    }
}

/// The templates' context.
fn app_context(opts: &NewOptions, framework: &str, resources: &[ResourceSpec]) -> Value {
    let display = opts
        .display_name
        .clone()
        .unwrap_or_else(|| title_case(&opts.name));
    context::app(
        &context::AppValues {
            name: &opts.name,
            org: &opts.org,
            identifier: &opts.id,
            display_name: &display,
            version: FIRST_VERSION,
            framework,
            initial: initial(&display, &opts.name),
            icon_colour: colour(&opts.name),
        },
        resources,
    )
}

/// Every file of the app, rendered.
fn plan(opts: &NewOptions, framework: &Path, resources: &[ResourceSpec]) -> Result<Vec<Planned>> {
    let fw = framework.to_str().ok_or_else(|| {
        Error::Usage(format!(
            "--framework {}: the path is not UTF-8, which the app's Cargo.toml cannot hold",
            framework.display()
        ))
    })?;
    let root = framework.join("templates/app");
    let files = template_files(&root)?;
    let names: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let templates = Templates::load(&root, &names)?;
    let ctx = app_context(opts, fw, resources);
    let mut plan = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        // The resource's own files see `r` and every app value.
        let rctx = merge(&ctx, &context::map([("r", context::resource(r, i + 1))]));
        let render = |t: &str| templates.render(&format!("{RESOURCE_DIR}/{t}"), &rctx);
        plan.push(Planned {
            path: format!("backend/migrations/{:04}_create_{}.sql", i + 1, r.name).into(),
            contents: text(render("migration.sql.tmpl")?),
        });
        plan.push(Planned {
            path: format!("qml/{}Page.qml", r.pascal()).into(),
            contents: text(render("Page.qml.tmpl")?),
        });
    }
    for (rel, executable) in files {
        if rel.starts_with(RESOURCE_DIR) {
            continue;
        }
        let text = templates.render(&rel.to_string_lossy(), &ctx)?;
        let path = PathBuf::from(rel.to_string_lossy().trim_end_matches(".tmpl"));
        plan.push(Planned {
            path,
            contents: Contents::File { text, executable },
        });
    }
    let lock_path = framework.join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path).map_err(Error::io(&lock_path))?;
    check_crate_names(opts, &lock, &plan)?;
    plan.push(Planned {
        path: "Cargo.lock".into(),
        contents: text(lock),
    });
    let caddyfile = framework.join("Caddyfile");
    plan.push(Planned {
        path: "Caddyfile".into(),
        contents: text(std::fs::read_to_string(&caddyfile).map_err(Error::io(&caddyfile))?),
    });
    // cxx-qt-build wants the QML inside the crate: the host reaches ../qml through a symlink.
    plan.push(Planned {
        path: "host/qml".into(),
        contents: Contents::Symlink("../qml".into()),
    });
    check_manifest(opts, &plan)?;
    Ok(plan)
}

/// `base`'s entries with `extra`'s added.
fn merge(base: &Value, extra: &Value) -> Value {
    let mut pairs = std::collections::BTreeMap::new();
    for v in [base, extra] {
        if let Ok(keys) = v.try_iter() {
            for k in keys {
                let value = v.get_item(&k).unwrap_or_default();
                pairs.insert(k.to_string(), value);
            }
        }
    }
    Value::from(pairs)
}

fn text(text: String) -> Contents {
    Contents::File {
        text,
        executable: false,
    }
}

fn planned_text<'a>(plan: &'a [Planned], path: &str) -> Option<&'a str> {
    plan.iter()
        .find(|p| p.path == Path::new(path))
        .and_then(|p| match &p.contents {
            Contents::File { text, .. } => Some(text.as_str()),
            Contents::Symlink(_) => None,
        })
}

/// The app's packages (`<name>`, `<name>-backend`) must not be named like a crate in its
/// dependency graph: `cargo build -p log` would not know which `log` is meant.
fn check_crate_names(opts: &NewOptions, lock: &str, plan: &[Planned]) -> Result<()> {
    let manifests: Vec<&str> = ["host/Cargo.toml", "backend/Cargo.toml"]
        .iter()
        .filter_map(|p| planned_text(plan, p))
        .collect();
    let graph = crates::dependency_graph(lock, &manifests).map_err(|problem| Error::Template {
        path: "Cargo.toml".into(),
        problem,
    })?;
    for package in [opts.name.clone(), format!("{}-backend", opts.name)] {
        if let Some(dep) = crates::clash(&graph, &package) {
            return Err(Error::Usage(format!(
                "--name: {:?} would make a package {package}, named like the crate {dep} the app \
                 depends on (cargo -p {package} would be ambiguous)",
                opts.name
            )));
        }
    }
    Ok(())
}

/// The manifest the app gets must be one its build accepts: a display name that fits the field
/// rules is a usage error now rather than a build failure later.
fn check_manifest(opts: &NewOptions, plan: &[Planned]) -> Result<()> {
    let text = planned_text(plan, FILE_NAME).ok_or_else(|| Error::Template {
        path: FILE_NAME.into(),
        problem: "the skeleton has no manifest".to_owned(),
    })?;
    Manifest::parse(text, &opts.dir.join(FILE_NAME))
        .map(|_| ())
        .map_err(|e| Error::Usage(format!("the app's manifest would be invalid: {e}")))
}

/// The skeleton's templates (relative, sorted, `_resource/` included); whether each is
/// executable.
fn template_files(root: &Path) -> Result<Vec<(PathBuf, bool)>> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::new()];
    while let Some(rel) = dirs.pop() {
        let dir = root.join(&rel);
        for entry in std::fs::read_dir(&dir).map_err(Error::io(&dir))? {
            let entry = entry.map_err(Error::io(&dir))?;
            let path = rel.join(entry.file_name());
            let meta = entry.metadata().map_err(Error::io(entry.path()))?;
            if meta.is_dir() {
                dirs.push(path);
            } else {
                out.push((path, meta.permissions().mode() & 0o111 != 0));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `my-app` -> `My App`.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(spec::pascal)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The icon's letter: the display name's first letter or digit, upper case.
fn initial(display: &str, name: &str) -> String {
    display
        .chars()
        .find(|c| c.is_alphanumeric())
        .or_else(|| name.chars().next())
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default()
}

/// The icon's background: one of a few colours that carry white text, picked by the name.
fn colour(name: &str) -> &'static str {
    const PALETTE: &[&str] = &[
        "#2e6bd8", "#c2410c", "#15803d", "#7c3aed", "#be123c", "#0e7490", "#a16207", "#4338ca",
    ];
    let sum = name
        .bytes()
        .fold(0usize, |a, b| a.wrapping_mul(31) + b as usize);
    PALETTE[sum % PALETTE.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_for_people() {
        assert_eq!(title_case("bookmarks"), "Bookmarks");
        assert_eq!(title_case("my-app-2"), "My App 2");
        assert_eq!(initial("Bookmarks", "bookmarks"), "B");
        assert_eq!(initial("  élan", "elan"), "É");
        assert_eq!(initial("!!", "x"), "X");
        assert_eq!(colour("bookmarks"), colour("bookmarks"));
    }
}
