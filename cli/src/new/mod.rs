//! `qmlbridge new`: a new app from the skeleton in the framework's `templates/app`. Every input
//! is checked and every file rendered in memory first, so bad input writes nothing; the files
//! then go to a sibling temporary directory renamed into place, so a failure leaves no
//! half-written app.
//!
//! Templates: every file under `templates/app` is rendered (`render.rs`) and written at the same
//! path without its `.tmpl` suffix; `_resource/` holds the per-resource templates (a migration,
//! a struct, a QML page, tests), rendered once per `--resource` and spliced into the others.

mod blocks;
mod render;

use std::path::{Path, PathBuf};

use qmlbridge_manifest::{FILE_NAME, Manifest, rules};

use crate::error::{Error, Result};
use crate::spec::{self, ResourceSpec};
use render::{Vars, render};

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

/// One file of the new app.
struct Planned {
    path: PathBuf,
    contents: Contents,
}

enum Contents {
    File { text: String, executable: bool },
    Symlink(PathBuf),
}

/// The framework files the generated app is made from (besides `templates/app`).
const FRAMEWORK_FILES: &[&str] = &["Cargo.lock", "Caddyfile", "backend/Cargo.toml"];

/// The app's version in its manifest and workspace.
const FIRST_VERSION: &str = "0.1.0";

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

/// The app-wide placeholder values.
fn app_vars(opts: &NewOptions, framework: &Path, resources: &[ResourceSpec]) -> Vars {
    let display = opts
        .display_name
        .clone()
        .unwrap_or_else(|| title_case(&opts.name));
    let mut v = Vars::new();
    v.insert("name", opts.name.clone());
    v.insert("name_snake", opts.name.replace('-', "_"));
    v.insert("display_name", display.clone());
    v.insert("display_name_quoted", quoted(&display));
    v.insert("org", opts.org.clone());
    v.insert("identifier", opts.id.clone());
    v.insert("version", FIRST_VERSION.to_owned());
    v.insert("module", spec::pascal(&opts.name));
    v.insert("framework", framework.display().to_string());
    v.insert("initial", xml_escape(&initial(&display, &opts.name)));
    v.insert("icon_colour", colour(&opts.name).to_owned());
    v.insert(
        "resource_registrations",
        resources
            .iter()
            .map(|r| format!("        .resource::<{}>()", r.singular()))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    v.insert(
        "resource_list",
        resources
            .iter()
            .map(|r| {
                let fields: Vec<String> =
                    r.fields.iter().map(|f| format!("`{}`", f.name)).collect();
                format!("- `/api/{}`: {}", r.name, fields.join(", "))
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    v.insert("first_resource", resources[0].name.clone());
    v
}

/// Every file of the app, rendered.
fn plan(opts: &NewOptions, framework: &Path, resources: &[ResourceSpec]) -> Result<Vec<Planned>> {
    let templates = framework.join("templates/app");
    let mut vars = app_vars(opts, framework, resources);
    let per_resource = templates.join("_resource");
    let mut plan = Vec::new();
    let mut spliced: Vec<(&'static str, Vec<String>)> = [
        "resource_structs",
        "api_tests",
        "tab_buttons",
        "pages",
        "window_tests",
    ]
    .into_iter()
    .map(|k| (k, Vec::new()))
    .collect();
    for (i, r) in resources.iter().enumerate() {
        let mut rv = blocks::resource_vars(r, i + 1);
        rv.extend(vars.iter().map(|(k, v)| (*k, v.clone())));
        let file = |name: &str| read_template(&per_resource.join(name), &rv);
        for (key, parts) in &mut spliced {
            parts.push(file(&format!("{key}.tmpl"))?);
        }
        plan.push(Planned {
            path: format!("backend/migrations/{}_create_{}.sql", rv["number"], r.name).into(),
            contents: text(file("migration.sql.tmpl")?),
        });
        plan.push(Planned {
            path: format!("qml/{}Page.qml", r.pascal()).into(),
            contents: text(file("Page.qml.tmpl")?),
        });
    }
    for (key, parts) in spliced {
        vars.insert(key, parts.concat().trim_end().to_owned());
    }
    for (rel, executable) in template_files(&templates)? {
        let text = read_template(&templates.join(&rel), &vars)?;
        let path = PathBuf::from(rel.to_string_lossy().trim_end_matches(".tmpl"));
        plan.push(Planned {
            path,
            contents: Contents::File { text, executable },
        });
    }
    for (from, to) in [("Cargo.lock", "Cargo.lock"), ("Caddyfile", "Caddyfile")] {
        let path = framework.join(from);
        let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
        plan.push(Planned {
            path: to.into(),
            contents: self::text(text),
        });
    }
    // cxx-qt-build wants the QML inside the crate: the host reaches ../qml through a symlink.
    plan.push(Planned {
        path: "host/qml".into(),
        contents: Contents::Symlink("../qml".into()),
    });
    check_manifest(opts, &plan)?;
    Ok(plan)
}

fn text(text: String) -> Contents {
    Contents::File {
        text,
        executable: false,
    }
}

/// The manifest the app gets must be one its build accepts: a display name that fits the field
/// rules is a usage error now rather than a build failure later.
fn check_manifest(opts: &NewOptions, plan: &[Planned]) -> Result<()> {
    let Some(Contents::File { text, .. }) = plan
        .iter()
        .find(|p| p.path == Path::new(FILE_NAME))
        .map(|p| &p.contents)
    else {
        return Err(Error::Template {
            path: FILE_NAME.into(),
            problem: "the skeleton has no manifest".to_owned(),
        });
    };
    Manifest::parse(text, &opts.dir.join(FILE_NAME))
        .map(|_| ())
        .map_err(|e| Error::Usage(format!("the app's manifest would be invalid: {e}")))
}

fn read_template(path: &Path, vars: &Vars) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    render(&text, vars).map_err(|problem| Error::Template {
        path: path.to_path_buf(),
        problem,
    })
}

/// The skeleton's files (relative, sorted), without `_resource/`; whether each is executable.
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
                if path != Path::new("_resource") {
                    dirs.push(path);
                }
            } else {
                out.push((path, meta.permissions().mode() & 0o111 != 0));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Writes `plan` into a temporary sibling of `dir`, then renames it to `dir` (replacing an
/// empty directory): either the whole app appears or nothing does.
fn write_atomically(dir: &Path, plan: &[Planned]) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(Error::io(&parent))?;
    let leaf = dir
        .file_name()
        .map_or("app".into(), |n| n.to_string_lossy());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{leaf}.new-"))
        .tempdir_in(&parent)
        .map_err(Error::io(&parent))?;
    for p in plan {
        let path = tmp.path().join(&p.path);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(Error::io(d))?;
        }
        match &p.contents {
            Contents::File { text, executable } => {
                std::fs::write(&path, text).map_err(Error::io(&path))?;
                if *executable {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                        .map_err(Error::io(&path))?;
                }
            }
            Contents::Symlink(target) => {
                std::os::unix::fs::symlink(target, &path).map_err(Error::io(&path))?
            }
        }
    }
    format_rust(tmp.path(), plan);
    // A temporary directory is private (0700); the app is an ordinary directory.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(Error::io(tmp.path()))?;
    std::fs::rename(tmp.path(), dir).map_err(Error::io(dir))?;
    // Renamed away: nothing left for the guard to remove.
    let _ = tmp.keep();
    Ok(())
}

/// Formats the generated Rust as the app's `make test` checks it (`cargo fmt --check`): how
/// rustfmt breaks a line depends on the names in it, which only the generator knows. Without
/// rustfmt the code is still valid, so that is a warning, not a failure.
fn format_rust(root: &Path, plan: &[Planned]) {
    let files: Vec<PathBuf> = plan
        .iter()
        .filter(|p| p.path.extension().is_some_and(|e| e == "rs"))
        .map(|p| root.join(&p.path))
        .collect();
    let status = std::process::Command::new("rustfmt")
        .args(["--edition", "2024"])
        .args(&files)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!("qmlbridge: warning: rustfmt failed ({s}); run `cargo fmt` in the app"),
        Err(e) => {
            eprintln!("qmlbridge: warning: cannot run rustfmt ({e}); run `cargo fmt` in the app")
        }
    }
}

/// `my-app` -> `My App`.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(spec::pascal)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A string literal valid in TOML, JavaScript and Rust alike (the rules allow no control
/// characters, so only `\` and `"` need escaping).
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
        assert_eq!(quoted(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(xml_escape("A&<>"), "A&amp;&lt;&gt;");
        assert_eq!(colour("bookmarks"), colour("bookmarks"));
    }
}
