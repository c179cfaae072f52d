//! `qmlbridge`: start a new app, run its edit loop, lint its QML, render its icons, bundle it as
//! an AppImage, sign it as a release (`keygen`, `bundle --sign`). The work is the library's
//! (`qmlbridge_cli`); this parses the command line and maps errors to exit codes (2: bad input,
//! nothing written; 1: a failure while working).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// qmlbridge: desktop apps with a Qt/QML window and a supervised local HTTP backend.
#[derive(Parser)]
#[command(name = "qmlbridge", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a new app (its own cargo workspace) from the framework's skeleton.
    ///
    /// The app gets a backend crate `<NAME>-backend`, a host crate `<NAME>`, `qml/` with one page
    /// per resource, migrations, tests, `qmlbridge.toml`, a Caddyfile, an icon, a Makefile
    /// (`make run`, `make test`, `make appimage`) and a README. Bad input is refused with exit
    /// status 2 before anything is written.
    New {
        /// Where to write the app: a directory that does not exist yet, or an empty one.
        dir: PathBuf,
        /// The app name: binary, crate and data-dir name ([a-z][a-z0-9-]*, e.g. bookmarks).
        #[arg(long)]
        name: String,
        /// The organisation: the data dir is ~/.local/share/<ORG>/<NAME>.
        #[arg(long)]
        org: String,
        /// The reverse-DNS app id (desktop file, icon, Wayland app_id), e.g. org.example.Bookmarks.
        #[arg(long)]
        id: String,
        /// The name people see (window title, menu entry); default: NAME in title case.
        #[arg(long)]
        display_name: Option<String>,
        /// A resource as name:field:type[,field:type...], types text, int, real, bool, datetime;
        /// repeat for more (default: items:title:text). The name is a plural ([a-z][a-z0-9_]*);
        /// the field `id` and the timestamps are added, not given.
        #[arg(long = "resource", value_name = "SPEC")]
        resources: Vec<String>,
        /// The qmlbridge checkout the app depends on by path (default: the one this binary was
        /// built from).
        #[arg(long, value_name = "PATH")]
        framework: Option<PathBuf>,
    },
    /// Render an SVG to the icon theme's PNG sizes (16 to 512 pixels) as <N>x<N>.png.
    Icon {
        /// The SVG.
        svg: PathBuf,
        /// Where to write the PNGs (default: the current directory).
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
    },
    /// Build the AppImage of an app from its qmlbridge.toml: dist/<name>-<version>-x86_64.AppImage.
    ///
    /// Needs the packaging tools (scripts/install-deps.sh appimage). CARGO_TARGET_DIR, when set,
    /// is where the release build happens; APPIMAGE_SKIP_BUILD=1 uses the binaries already there.
    Bundle {
        /// The app's directory, where its qmlbridge.toml is.
        #[arg(long, value_name = "DIR", default_value = ".")]
        app: PathBuf,
        /// The qmlbridge checkout whose packaging/ scripts build the image (default: the one this
        /// binary was built from).
        #[arg(long, value_name = "PATH")]
        framework: Option<PathBuf>,
        /// Then run the image's end-to-end test (packaging/test-appimage.sh).
        #[arg(long)]
        test: bool,
        /// Make it a release (docs/updates.md): embed its update information, write its .zsync
        /// file and a signed latest.json beside it. Needs the manifest's [update] section; the
        /// password comes from QMLBRIDGE_SIGN_PASSWORD or the terminal.
        #[arg(long)]
        sign: bool,
        /// The secret key file (default: QMLBRIDGE_SIGN_KEY, holding the file's text, else the
        /// key `qmlbridge keygen` writes for the app's name).
        #[arg(long, value_name = "FILE", requires = "sign")]
        key: Option<PathBuf>,
        /// The release notes, plain text (default: the manifest's [update] notes).
        #[arg(long, value_name = "FILE", requires = "sign")]
        notes: Option<PathBuf>,
    },
    /// Write a release key pair (minisign's format) for signing updates (docs/updates.md).
    ///
    /// The secret key is encrypted with a password (QMLBRIDGE_SIGN_PASSWORD, else asked on the
    /// terminal) and written with mode 0600 to DIR/NAME.key, never inside an app's tree; the
    /// public key to list in the manifest's [update] keys is printed and written to NAME.pub.
    Keygen {
        /// Where to write the keys (default: ${XDG_CONFIG_HOME:-~/.config}/qmlbridge/keys).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The key's name (default: the name in ./qmlbridge.toml, which is the key bundle --sign
        /// uses by default).
        #[arg(long)]
        name: Option<String>,
        /// Replace an existing key of that name.
        #[arg(long)]
        force: bool,
    },
    /// The edit loop: build the app (debug), start it, and apply every save.
    ///
    /// A saved QML file reloads the window from disk (same position and size; errors shown in the
    /// window and here). A saved backend source, migration or Caddyfile rebuilds the backend and
    /// swaps it in on the held socket: migrations first, no request refused; a failed build, or a
    /// migration that cannot apply (checked first), keeps the old backend serving. A saved host
    /// source rebuilds and restarts the window. The backend's URL and token stay the same for the
    /// session (PORT and BRIDGE_TOKEN choose them). Ctrl-C stops everything it started.
    Dev {
        /// The app's directory, where its qmlbridge.toml is.
        #[arg(long, value_name = "DIR", default_value = ".")]
        app: PathBuf,
        /// Dev mode against a server you run (BRIDGE_URL; BRIDGE_TOKEN as you set it): nothing is
        /// spawned or built for the backend; QML reload still works.
        #[arg(long, value_name = "URL")]
        attach: Option<String>,
        /// Start with empty data: the session's data dir (<ORG>/<NAME>-dev, never the installed
        /// app's) is moved aside to <NAME>-dev.<UTC time> beside it first.
        #[arg(long)]
        fresh: bool,
    },
    /// Print the data dir of the app's development sessions (qmlbridge dev, make run):
    /// ~/.local/share/<ORG>/<NAME>-dev, beside the installed app's, which they never use.
    DevData {
        /// The app's directory, where its qmlbridge.toml is.
        #[arg(long, value_name = "DIR", default_value = ".")]
        app: PathBuf,
        /// Move it aside first (to <NAME>-dev.<UTC time> beside it), so the next session starts
        /// empty; nothing is deleted.
        #[arg(long)]
        fresh: bool,
    },
    /// Check QML for data shown as markup: a Text, Label, TextEdit or TextArea whose `text` is
    /// bound to anything but a literal needs an explicit `textFormat` (docs/qml.md).
    ///
    /// Prints `file:line:col: message` per finding; exit 1 when there is one, 0 when clean,
    /// 2 when a path does not exist or a file is not QML it can read.
    Lint {
        /// .qml files, or directories searched recursively (default: qml).
        paths: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qmlbridge: {e:#}");
            let code = e
                .downcast_ref::<qmlbridge_cli::Error>()
                .map_or(1, qmlbridge_cli::Error::exit_code);
            ExitCode::from(code)
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    let framework = |given: Option<PathBuf>| given.unwrap_or_else(qmlbridge_cli::built_framework);
    match command {
        Command::New {
            dir,
            name,
            org,
            id,
            display_name,
            resources,
            framework: given,
        } => {
            let opts = qmlbridge_cli::NewOptions {
                dir,
                name,
                org,
                id,
                display_name,
                resources,
                framework: framework(given),
            };
            let dir = qmlbridge_cli::new_app(&opts)?;
            println!(
                "qmlbridge: wrote {}; next: cd {} && make run",
                dir.display(),
                dir.display()
            );
        }
        Command::Icon { svg, out } => {
            for file in qmlbridge_cli::render_icons(&svg, &out)? {
                println!("{}", file.display());
            }
        }
        Command::Bundle {
            app,
            framework: given,
            test,
            sign,
            key,
            notes,
        } => {
            let opts = qmlbridge_cli::BundleOptions {
                app: app.clone(),
                framework: framework(given),
                test,
                sign: sign.then_some(qmlbridge_cli::SignOptions { key, notes }),
            };
            let image = qmlbridge_cli::bundle(&opts)
                .with_context(|| format!("bundling {}", app.display()))?;
            println!("{}", image.display());
        }
        Command::Keygen { out, name, force } => {
            let name = match name {
                Some(name) => name,
                None => qmlbridge_cli::app_name_here()?,
            };
            let keys = qmlbridge_cli::keygen(&qmlbridge_cli::KeygenOptions { out, name, force })?;
            eprintln!(
                "qmlbridge: wrote {} (secret, mode 0600) and {}; list the public key in qmlbridge.toml:",
                keys.secret.display(),
                keys.public.display()
            );
            println!("[update]\nkeys = [\"{}\"]", keys.public_key);
        }
        Command::Dev { app, attach, fresh } => {
            qmlbridge_cli::dev(&qmlbridge_cli::DevOptions { app, attach, fresh })?;
        }
        Command::DevData { app, fresh } => {
            let data = qmlbridge_cli::dev_data(&app, fresh)?;
            if let Some(old) = &data.set_aside {
                eprintln!("qmlbridge: the old dev data moved to {}", old.display());
            }
            println!("{}", data.dir.display());
        }
        Command::Lint { paths } => {
            let findings = qmlbridge_cli::lint(&paths)?;
            for finding in &findings {
                println!("{finding}");
            }
            if !findings.is_empty() {
                anyhow::bail!("lint: {} finding(s)", findings.len());
            }
        }
    }
    Ok(())
}
