//! The manifest as a whole: defaults, each field's rule reported with the file and the field,
//! unknown fields, the files it names.

use super::*;

/// A minimal valid manifest (defaults for everything optional).
pub(crate) const VALID: &str = r#"
name = "bookmarks"
display_name = "Bookmarks"
org = "example"
identifier = "org.example.Bookmarks"
version = "0.1.0"
comment = "Keep your bookmarks"
categories = ["Utility"]
icon = "assets/icon.svg"
"#;

/// Two minisign public keys (`minisign -G`).
pub(crate) const KEY_A: &str = "RWTyS+w30B+ujYo5ZzTdHcWHBuiYQhdEW0QaBvcut2fRIV4L5nXfF75y";
pub(crate) const KEY_B: &str = "RWSIzP4RE6VMx+osYVEPTq0M7iKxXpPH3FZIMoUfZtVPVlRrYj/62TJR";

/// A temporary app root with `qmlbridge.toml` = `text` and the files [`VALID`] names.
pub(crate) fn app_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("assets")).unwrap();
    std::fs::create_dir_all(dir.path().join("backend")).unwrap();
    std::fs::write(dir.path().join("assets/icon.svg"), "<svg/>").unwrap();
    std::fs::write(dir.path().join("Caddyfile"), ":8765 {\n}\n").unwrap();
    std::fs::write(dir.path().join(FILE_NAME), text).unwrap();
    dir
}

fn parse(text: &str) -> Result<Manifest> {
    Manifest::parse(text, Path::new("apps/bm/qmlbridge.toml"))
}

/// The error message for `text`.
fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

/// [`VALID`] with `field`'s line replaced by `line` (or removed when `line` is empty).
fn with(field: &str, line: &str) -> String {
    let mut out: Vec<String> = VALID
        .lines()
        .filter(|l| !l.starts_with(&format!("{field} =")))
        .map(str::to_owned)
        .collect();
    out.insert(1, line.to_owned());
    out.join("\n")
}

#[test]
fn defaults() {
    let m = parse(VALID).unwrap();
    assert_eq!(m.root, Path::new("apps/bm"));
    assert_eq!(
        m.host,
        Crate {
            package: "bookmarks".into(),
            bin: "bookmarks".into()
        }
    );
    assert_eq!(m.backend.package, "bookmarks-backend");
    assert_eq!(m.backend.bin, "bookmarks-backend");
    assert_eq!(m.backend.dir, Path::new("apps/bm/backend"));
    assert_eq!(m.caddyfile, Path::new("apps/bm/Caddyfile"));
    assert_eq!(
        m.icon.svg.as_deref(),
        Some(Path::new("apps/bm/assets/icon.svg"))
    );
    assert_eq!(m.icon.png, None);
    assert_eq!(m.appimage.quick_styles, ["Basic", "Fusion"]);
    assert_eq!(m.appimage.max_size_mb, 40);
    assert_eq!(m.qml.network, Vec::<String>::new());
}

#[test]
fn qml_network_is_a_list_of_origins_named_when_wrong() {
    let m = parse(&format!(
        "{VALID}[qml]\nnetwork = [\"https://tiles.example.org\", \"HTTP://127.0.0.1:8080\"]\n"
    ))
    .unwrap();
    assert_eq!(
        m.qml.network,
        ["https://tiles.example.org", "http://127.0.0.1:8080"]
    );
    let e = error(&format!(
        "{VALID}[qml]\nnetwork = [\"https://tiles.example.org/{{z}}/{{x}}.png\"]\n"
    ));
    assert_eq!(
        e,
        "apps/bm/qmlbridge.toml: field `qml.network`: \"https://tiles.example.org/{z}/{x}.png\" \
         is not an origin (scheme://host[:port], e.g. https://tiles.example.org): it has a path, \
         query or fragment (`/`)"
    );
    let e = error(&format!("{VALID}[qml]\nnetwork = \"https://a.example\"\n"));
    assert!(e.contains("network") && e.contains("sequence"), "{e}");
    let e = error(&format!("{VALID}[qml]\nnetworks = []\n"));
    assert!(e.contains("unknown field `networks`"), "{e}");
}

#[test]
fn every_field_set() {
    let text = format!(
        "{VALID}caddyfile = \"../../Caddyfile\"\n\
         [host]\npackage = \"bm-host\"\nbin = \"bm\"\n\
         [backend]\npackage = \"bm-api\"\nbin = \"bm-api\"\ndir = \"server\"\n\
         [appimage]\nquick_styles = [\"Material\"]\nmax_size_mb = 80\n"
    );
    let m = parse(&text).unwrap();
    assert_eq!(m.caddyfile, Path::new("apps/bm/../../Caddyfile"));
    assert_eq!(
        (m.host.package.as_str(), m.host.bin.as_str()),
        ("bm-host", "bm")
    );
    assert_eq!(m.backend.package, "bm-api");
    assert_eq!(m.backend.dir, Path::new("apps/bm/server"));
    assert_eq!(m.appimage.quick_styles, ["Material"]);
    assert_eq!(m.appimage.max_size_mb, 80);
}

#[test]
fn each_rule_names_the_file_and_the_field() {
    let cases = [
        ("name", "name = \"Bookmarks\"", "not an app name"),
        ("name", "name = \"bm-backend\"", "-backend"),
        ("display_name", "display_name = \"\"", "is empty"),
        ("org", "org = \"a/b\"", "not an organisation name"),
        (
            "identifier",
            "identifier = \"foo\"",
            "\"foo\" is not a reverse-DNS id (e.g. org.example.App)",
        ),
        ("version", "version = \"1.0\"", "not a semantic version"),
        ("comment", "comment = \"Ends.\"", "full stop"),
        (
            "categories",
            "categories = [\"ProjectManagement\"]",
            "Main Category",
        ),
        ("icon", "icon = \"icon.jpg\"", "neither an .svg nor a .png"),
        ("icon", "icon = []", "names no file"),
        (
            "icon",
            "icon = [\"a.svg\", \"b.svg\"]",
            "one file of each kind",
        ),
        ("icon", "icon = \"/usr/share/icon.svg\"", "absolute"),
        ("caddyfile", "caddyfile = \"/etc/Caddyfile\"", "absolute"),
    ];
    for (field, line, problem) in cases {
        let e = error(&with(field, line));
        let prefix = format!("apps/bm/qmlbridge.toml: field `{field}`: ");
        assert!(e.starts_with(&prefix) && e.contains(problem), "{line}: {e}");
    }
    let tables = [
        ("[host]\nbin = \"Bm\"", "host.bin"),
        ("[host]\npackage = \"x y\"", "host.package"),
        ("[backend]\npackage = \"std\"", "backend.package"),
        ("[backend]\nbin = \"bookmarks\"", "backend.bin"),
        ("[backend]\ndir = \"\"", "backend.dir"),
        (
            "[appimage]\nquick_styles = [\"fusion\"]",
            "appimage.quick_styles",
        ),
        ("[appimage]\nmax_size_mb = 0", "appimage.max_size_mb"),
    ];
    for (table, field) in tables {
        let e = error(&format!("{VALID}{table}\n"));
        assert!(
            e.starts_with(&format!("apps/bm/qmlbridge.toml: field `{field}`: ")),
            "{table}: {e}"
        );
    }
}

#[test]
fn both_icon_kinds() {
    let m = parse(&with("icon", "icon = [\"a/i.svg\", \"a/i.png\"]")).unwrap();
    assert_eq!(m.icon.svg.as_deref(), Some(Path::new("apps/bm/a/i.svg")));
    assert_eq!(m.icon.png.as_deref(), Some(Path::new("apps/bm/a/i.png")));
}

#[test]
fn missing_unknown_and_mistyped_fields() {
    for required in [
        "name",
        "display_name",
        "org",
        "identifier",
        "version",
        "comment",
        "categories",
        "icon",
    ] {
        let e = error(&with(required, ""));
        assert!(
            e.starts_with("apps/bm/qmlbridge.toml: ")
                && e.contains(&format!("missing field `{required}`")),
            "{e}"
        );
    }
    let e = error(&format!("{VALID}colour = \"red\"\n"));
    assert!(e.contains("unknown field `colour`"), "{e}");
    let e = error(&format!("{VALID}[backend]\ndirectory = \"x\"\n"));
    assert!(e.contains("unknown field `directory`"), "{e}");
    let e = error(&format!("{VALID}[appimage]\nmax_size_mb = \"40\"\n"));
    assert!(e.contains("max_size_mb") || e.contains("integer"), "{e}");
    let e = error(&format!("{VALID}[appimage]\nmax_size_mb = -1\n"));
    assert!(e.starts_with("apps/bm/qmlbridge.toml: "), "{e}");
    let e = error("name = ");
    assert!(e.starts_with("apps/bm/qmlbridge.toml: "), "{e}");
}

#[test]
fn load_checks_the_files_it_names() {
    let dir = app_dir(VALID);
    let path = dir.path().join(FILE_NAME);
    assert_eq!(Manifest::load(&path).unwrap().name, "bookmarks");
    for (gone, field) in [
        ("assets/icon.svg", "icon"),
        ("Caddyfile", "caddyfile"),
        ("backend", "backend.dir"),
    ] {
        let dir = app_dir(VALID);
        let victim = dir.path().join(gone);
        if victim.is_dir() {
            std::fs::remove_dir(&victim).unwrap();
        } else {
            std::fs::remove_file(&victim).unwrap();
        }
        let e = Manifest::load(&dir.path().join(FILE_NAME))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("field `{field}`: ")) && e.contains("is not a"),
            "{e}"
        );
    }
    let e = Manifest::load(&dir.path().join("nope.toml")).unwrap_err();
    assert!(matches!(e, Error::Read { .. }), "{e}");
    assert!(e.to_string().contains("nope.toml: cannot read"), "{e}");
}

#[test]
fn the_update_section() {
    assert_eq!(parse(VALID).unwrap().update, None);
    let text = format!(
        "{VALID}\n[update]\nfeed = \"https://example.org/bm/latest.json\"\nkeys = [\"{KEY_A}\", \"{KEY_B}\"]\nnotes = \"Faster.\"\n"
    );
    assert_eq!(
        parse(&text).unwrap().update,
        Some(Update {
            feed: "https://example.org/bm/latest.json".into(),
            keys: vec![KEY_A.into(), KEY_B.into()],
            check_at_start: false,
            auto_download: false,
            rollback: Rollback::Ask,
            notes: Some("Faster.".into()),
        })
    );
    let text = format!(
        "{VALID}\n[update]\nfeed = \"https://example.org/bm/latest.json\"\nkeys = [\"{KEY_A}\"]\nauto_download = true\nrollback = \"auto\"\n"
    );
    let update = parse(&text).unwrap().update.unwrap();
    assert!(update.auto_download);
    assert_eq!(update.rollback, Rollback::Auto);
}

#[test]
fn update_errors_name_the_field() {
    let section = |body: &str| format!("{VALID}\n[update]\n{body}\n");
    let feed = "feed = \"https://example.org/latest.json\"";
    let keys = format!("keys = [\"{KEY_A}\"]");
    for (body, want) in [
        (
            format!("feed = \"http://example.org/latest.json\"\n{keys}"),
            "field `update.feed`: \"http://example.org/latest.json\" is not a feed URL",
        ),
        (
            format!("{feed}\nkeys = []"),
            "field `update.keys`: is empty",
        ),
        (
            format!("{feed}\nkeys = [\"{KEY_A}\", \"RWQnope\"]"),
            "field `update.keys`: \"RWQnope\" is not a minisign public key",
        ),
        (
            format!("{feed}\n{keys}\nnotes = \"a\\u0007\""),
            "field `update.notes`: contains the control character",
        ),
        (keys.clone(), "missing field `feed`"),
        (
            format!("{feed}\n{keys}\ncheck = true"),
            "unknown field `check`",
        ),
        (
            format!("{feed}\n{keys}\ncheck_at_start = \"yes\""),
            "invalid type: string",
        ),
        (
            format!("{feed}\n{keys}\nrollback = \"always\""),
            "field `update.rollback`: \"always\" is not a rollback policy",
        ),
        (
            format!("{feed}\n{keys}\nauto_download = \"yes\""),
            "invalid type: string",
        ),
    ] {
        let err = error(&section(&body));
        assert!(err.contains(want), "{body}: {err}");
    }
}
