//! `qmlbridge keygen`: a release key pair in minisign's format. The public key goes into the
//! app's `[update] keys` (and `<name>.pub` beside the secret key); the secret key is encrypted
//! with the password (scrypt, as the minisign tool does) and written with mode 0600 outside any
//! app's tree, by default to `${XDG_CONFIG_HOME:-~/.config}/qmlbridge/keys/<name>.key`: a key
//! inside a project ends up committed, and whoever holds it can ship code to every user.

use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use minisign::KeyPair;
use qmlbridge_manifest::FILE_NAME;

use crate::error::{Error, Result};
use crate::files::write_replacing;
use crate::sign::Password;

/// What `qmlbridge keygen` was asked for.
#[derive(Debug, Clone)]
pub struct KeygenOptions {
    /// Where to write the keys (default: [`default_key_dir`]).
    pub out: Option<PathBuf>,
    /// The key's name: `<name>.key` and `<name>.pub`.
    pub name: String,
    /// Replace existing key files.
    pub force: bool,
}

/// What `qmlbridge keygen` wrote.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The encrypted secret key (mode 0600).
    pub secret: PathBuf,
    /// The public key file (minisign's `.pub`: a comment line, then the key).
    pub public: PathBuf,
    /// The public key's base64 line, for `[update] keys`.
    pub public_key: String,
}

/// `${XDG_CONFIG_HOME:-~/.config}/qmlbridge/keys`.
pub fn default_key_dir() -> Result<PathBuf> {
    let config = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        // The base directory spec: a relative value is invalid and ignored.
        _ => match std::env::var_os("HOME") {
            Some(home) => Path::new(&home).join(".config"),
            None => {
                return Err(Error::Usage(
                    "neither XDG_CONFIG_HOME nor HOME is set; give --out DIR".to_owned(),
                ));
            }
        },
    };
    Ok(config.join("qmlbridge/keys"))
}

/// The secret key file of the key called `name` in `dir`.
pub(crate) fn secret_key_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.key"))
}

/// Writes a new key pair (see the module's documentation).
pub fn keygen(opts: &KeygenOptions) -> Result<Keys> {
    qmlbridge_manifest::rules::org(&opts.name)
        .map_err(|problem| Error::Usage(format!("key name: {problem}")))?;
    let dir = match &opts.out {
        Some(dir) => dir.clone(),
        None => default_key_dir()?,
    };
    refuse_app_tree(&dir)?;
    let secret = secret_key_file(&dir, &opts.name);
    let public = dir.join(format!("{}.pub", opts.name));
    for file in [&secret, &public] {
        if file.exists() && !opts.force {
            return Err(Error::Usage(format!(
                "{} exists; a new key cannot sign for apps that trust only the old one, so it is replaced only with --force",
                file.display()
            )));
        }
    }
    let password = Password::get(true)?.into_inner();
    let pair = KeyPair::generate_encrypted_keypair(Some(password))
        .map_err(|e| Error::Usage(format!("cannot generate the key: {e}")))?;
    let secret_text = pair
        .sk
        .to_box(Some("qmlbridge release key, encrypted (minisign format)"))
        .map_err(|e| Error::Usage(format!("cannot encode the key: {e}")))?
        .to_string();
    let public_box = pair
        .pk
        .to_box()
        .map_err(|e| Error::Usage(format!("cannot encode the key: {e}")))?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(Error::io(&dir))?;
    write_replacing(&secret, secret_text.as_bytes(), 0o600)?;
    write_replacing(&public, public_box.to_string().as_bytes(), 0o644)?;
    Ok(Keys {
        secret,
        public,
        public_key: pair.pk.to_base64(),
    })
}

/// Refuses `dir` when it or a directory above it holds a `qmlbridge.toml`: the key would be in an
/// app's tree. The path is resolved (symlinks, `..`) through its deepest existing ancestor.
fn refuse_app_tree(dir: &Path) -> Result<()> {
    let absolute = std::path::absolute(dir).map_err(Error::io(dir))?;
    let mut existing = absolute.as_path();
    while !existing.exists() {
        existing = existing.parent().unwrap_or(Path::new("/"));
    }
    let resolved = existing.canonicalize().map_err(Error::io(existing))?;
    for ancestor in resolved.ancestors() {
        if ancestor.join(FILE_NAME).is_file() {
            return Err(Error::Usage(format!(
                "{} is inside the app at {} (it has a {FILE_NAME}); a secret key there ends up committed or shipped: keep it outside, e.g. the default {}",
                dir.display(),
                ancestor.display(),
                default_key_dir().map_or_else(
                    |_| "~/.config/qmlbridge/keys".to_owned(),
                    |d| d.display().to_string()
                )
            )));
        }
    }
    Ok(())
}

/// The name in `./qmlbridge.toml`: `keygen`'s default key name, so `bundle --sign` finds the key
/// without `--key`.
pub fn app_name_here() -> Result<String> {
    let path = Path::new(FILE_NAME);
    if !path.is_file() {
        return Err(Error::Usage(format!(
            "no {FILE_NAME} here to take the key's name from; give --name NAME"
        )));
    }
    let m = qmlbridge_manifest::Manifest::parse(
        &std::fs::read_to_string(path).map_err(Error::io(path))?,
        path,
    )?;
    Ok(m.name)
}
