//! What `qmlbridge bundle --sign` publishes beside an image (docs/updates.md): the image's
//! `.zsync` file, `latest.json` (the [`qmlbridge_update::Release`]) and `latest.json.minisig`,
//! its detached signature over its exact bytes. The image's update information
//! (`zsync|<url of the .zsync>`, [`update_information`]) is embedded by the build, before any
//! checksum here is taken. What was written is then checked with the updater's own verifier and
//! the manifest's trusted keys, so a release no installed app would accept is never published.

use std::fs::File;
use std::io::{BufReader, Read as _};
use std::path::{Path, PathBuf};

use qmlbridge_manifest::{Manifest, Update};
use qmlbridge_update::zsync::{Target, control_file};
use qmlbridge_update::{FEED_SIGNATURE_SUFFIX, Release, TrustedKeys};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::sign::Signer;

/// The `.upd_info` section's size in the image's runtime: the text and its NUL must fit.
const UPDATE_INFO_MAX: usize = 1023;

/// What was published.
#[derive(Debug, Clone)]
pub struct Published {
    /// The image's `.zsync` file.
    pub zsync: PathBuf,
    /// `latest.json`.
    pub feed: PathBuf,
    /// `latest.json.minisig`.
    pub feed_signature: PathBuf,
    /// What `latest.json` says.
    pub release: Release,
}

/// The manifest's `[update]`, required for signing.
pub(crate) fn update_section(m: &Manifest) -> Result<&Update> {
    m.update.as_ref().ok_or_else(|| {
        Error::Usage(format!(
            "{}: --sign needs an [update] section (feed and keys; see docs/updates.md)",
            m.path.display()
        ))
    })
}

/// Where files published beside the feed are: the feed URL's directory, with a trailing `/`.
fn base_url(feed: &str) -> &str {
    let path = feed.split(['?', '#']).next().unwrap_or(feed);
    path.rfind('/').map_or(path, |i| &path[..=i])
}

/// The update information the image carries (AppImage spec, "zsync" transport): where its
/// `.zsync` file will be, beside the feed.
///
/// See: <https://github.com/AppImage/AppImageSpec/blob/master/draft.md#update-information>
pub(crate) fn update_information(update: &Update, image_name: &str) -> Result<String> {
    let info = format!("zsync|{}{image_name}.zsync", base_url(&update.feed));
    if info.len() > UPDATE_INFO_MAX {
        return Err(Error::Usage(format!(
            "the update information {info:?} is longer than the image's .upd_info section ({UPDATE_INFO_MAX} bytes)"
        )));
    }
    Ok(info)
}

/// The signing key must be one the manifest trusts, or no installed app accepts the release.
pub(crate) fn check_trusted(update: &Update, signer: &Signer) -> Result<()> {
    let public = signer.public_key();
    if !update.keys.contains(&public) {
        return Err(Error::Usage(format!(
            "the secret key's public key {public} is not in [update] keys; add it there (and ship that) before it signs a release"
        )));
    }
    Ok(())
}

/// How `--sign` signs.
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// The secret key file (default: `QMLBRIDGE_SIGN_KEY`, else the key `qmlbridge keygen
    /// --name <app name>` writes by default).
    pub key: Option<PathBuf>,
    /// A file with the release notes (default: the manifest's `[update] notes`, else none).
    pub notes: Option<PathBuf>,
}

/// The key decrypted and the notes read: everything that can be wrong in what was given, checked
/// before a long build.
pub(crate) struct Prepared {
    signer: Signer,
    notes: String,
}

/// Reads what `opts` names and checks the key is trusted by the manifest.
pub(crate) fn prepare(m: &Manifest, opts: &SignOptions) -> Result<Prepared> {
    let update = update_section(m)?;
    let notes = match &opts.notes {
        Some(file) => {
            let text = std::fs::read_to_string(file).map_err(Error::io(file))?;
            let text = text.trim_end().to_owned();
            qmlbridge_manifest::rules::notes(&text)
                .map_err(|p| Error::Usage(format!("{}: {p}", file.display())))?;
            text
        }
        None => update.notes.clone().unwrap_or_default(),
    };
    let default = crate::keygen::secret_key_file(&crate::keygen::default_key_dir()?, &m.name);
    let signer = Signer::load(opts.key.as_deref(), &default)?;
    check_trusted(update, &signer)?;
    Ok(Prepared { signer, notes })
}

/// Signs an image that is built already, its update information embedded (`qmlbridge bundle
/// --sign` calls this after the build): see the module's documentation.
pub fn sign_release(app: &Path, image: &Path, opts: &SignOptions) -> Result<Published> {
    let m = Manifest::load(&app.join(qmlbridge_manifest::FILE_NAME))?;
    prepare(&m, opts)?.publish(&m, image)
}

impl Prepared {
    /// Writes the `.zsync` file, `latest.json` and its signature beside `image`.
    pub(crate) fn publish(&self, m: &Manifest, image: &Path) -> Result<Published> {
        publish(m, image, &self.signer, &self.notes)
    }
}

fn publish(m: &Manifest, image: &Path, signer: &Signer, notes: &str) -> Result<Published> {
    let update = update_section(m)?;
    let dir = image.parent().unwrap_or(Path::new("."));
    let name = image
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::Usage(format!("{}: not a file name", image.display())))?;
    let meta = std::fs::metadata(image).map_err(Error::io(image))?;
    let open = || {
        File::open(image)
            .map(BufReader::new)
            .map_err(Error::io(image))
    };

    let zsync = dir.join(format!("{name}.zsync"));
    let mtime = meta.modified().map_err(Error::io(image))?;
    let target = Target {
        filename: name,
        // Relative to the .zsync file's own URL: the image is beside it.
        url: name,
        mtime: time::OffsetDateTime::from(mtime),
        len: meta.len(),
    };
    let control = control_file(open()?, &target).map_err(Error::io(image))?;
    std::fs::write(&zsync, control).map_err(Error::io(&zsync))?;

    let mut sha = Sha256::new();
    let mut reader = open()?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(Error::io(image))?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
    }
    let comment = format!("file:{name}\tversion:{}", m.version);
    let base = base_url(&update.feed);
    let release = Release {
        version: m.version.clone(),
        notes: notes.to_owned(),
        date: now_rfc3339()?,
        url: format!("{base}{name}"),
        zsync: format!("{base}{name}.zsync"),
        size: meta.len(),
        sha256: sha.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        signature: signer.sign(open()?, &comment)?,
    };
    let mut json = serde_json::to_vec_pretty(&release).map_err(|e| Error::Usage(e.to_string()))?;
    json.push(b'\n');
    let feed = dir.join("latest.json");
    std::fs::write(&feed, &json).map_err(Error::io(&feed))?;
    let feed_signature = dir.join(format!("latest.json{FEED_SIGNATURE_SUFFIX}"));
    let signature = signer.sign(
        json.as_slice(),
        &format!("file:latest.json\tversion:{}", m.version),
    )?;
    std::fs::write(&feed_signature, &signature).map_err(Error::io(&feed_signature))?;

    // What an installed app will do with it.
    let refused = |e: qmlbridge_update::Error| Error::Io {
        path: feed.clone(),
        source: std::io::Error::other(format!("the updater would refuse this release: {e}")),
    };
    let keys = TrustedKeys::parse(&update.keys).map_err(refused)?;
    let checked = qmlbridge_update::verify_feed(&json, &signature, &keys).map_err(refused)?;
    checked.verify_image(open()?, &keys).map_err(refused)?;
    Ok(Published {
        zsync,
        feed,
        feed_signature,
        release,
    })
}

fn now_rfc3339() -> Result<String> {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .map_err(|e| Error::Usage(e.to_string()))?
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| Error::Usage(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(feed: &str) -> Update {
        Update {
            feed: feed.into(),
            keys: vec![],
            check_at_start: false,
            auto_download: false,
            rollback: Default::default(),
            notes: None,
        }
    }

    #[test]
    fn the_update_information_names_the_zsync_file_beside_the_feed() {
        let u = update("https://e.org/bm/latest.json");
        assert_eq!(
            update_information(&u, "bm-1.0.0-x86_64.AppImage").unwrap(),
            "zsync|https://e.org/bm/bm-1.0.0-x86_64.AppImage.zsync"
        );
        let long = update(&format!("https://e.org/{}/latest.json", "d".repeat(1000)));
        let err = update_information(&long, "bm-1.0.0-x86_64.AppImage").unwrap_err();
        assert!(
            err.to_string()
                .contains("longer than the image's .upd_info section"),
            "{err}"
        );
    }

    #[test]
    fn files_are_published_beside_the_feed() {
        assert_eq!(
            base_url("https://e.org/app/latest.json"),
            "https://e.org/app/"
        );
        assert_eq!(
            base_url("https://e.org/latest.json?c=beta"),
            "https://e.org/"
        );
    }
}
