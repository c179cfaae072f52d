//! The prelude of the updater's tests: signing keys, images, a published release (image,
//! `.zsync`, signed `latest.json`) in a directory served by [`server::Server`] on 127.0.0.1, an
//! installed image to update, and the checks every test makes on what is left on disk.

#![allow(dead_code, unreachable_pub)]

pub mod server;

use std::io::Cursor;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use minisign::KeyPair;
use qmlbridge_update::zsync::{Target, control_file};
use qmlbridge_update::{Config, Release, TrustedKeys};
use sha2::{Digest as _, Sha256};

pub use server::{Mode, Server};

/// A minisign key pair.
pub struct Key {
    pair: KeyPair,
}

impl Key {
    pub fn new() -> Key {
        Key {
            pair: KeyPair::generate_unencrypted_keypair().unwrap(),
        }
    }

    pub fn public(&self) -> String {
        self.pair.pk.to_base64()
    }

    pub fn sign(&self, data: &[u8]) -> String {
        minisign::sign(
            Some(&self.pair.pk),
            &self.pair.sk,
            Cursor::new(data),
            Some("file:test"),
            None,
        )
        .unwrap()
        .into_string()
    }
}

/// `len` bytes that differ everywhere (an xorshift stream from `seed`), like compressed data.
pub fn varied(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// The old image (1.5 MB).
pub fn old_image() -> Vec<u8> {
    varied(1_500_000, 1)
}

/// The new image: the old one with a changed stretch in the middle, a few bytes inserted (every
/// later block shifted) and a new end: most of its blocks are the old image's.
pub fn new_image(old: &[u8]) -> Vec<u8> {
    let mut new = old[..600_000].to_vec();
    new.extend_from_slice(&varied(9_000, 2));
    new.extend_from_slice(&old[610_000..1_200_000]);
    new.extend_from_slice(&varied(123, 3));
    new.extend_from_slice(&old[1_200_000..1_480_000]);
    new.extend_from_slice(&varied(2_345, 4));
    new
}

/// The test's directories: `dist` (served), `app` (the installed image) and `data`.
pub struct Env {
    pub tmp: tempfile::TempDir,
    pub dist: PathBuf,
    pub image: PathBuf,
    pub data: PathBuf,
    pub server: Server,
}

pub const IMAGE_NAME: &str = "app-x86_64.AppImage";

impl Env {
    /// The directories, `old` installed (mode 0755) and the server started.
    pub async fn new(old: &[u8]) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let dist = tmp.path().join("dist");
        let app = tmp.path().join("app");
        let data = tmp.path().join("data");
        for d in [&dist, &app, &data] {
            std::fs::create_dir(d).unwrap();
        }
        let image = app.join(IMAGE_NAME);
        std::fs::write(&image, old).unwrap();
        std::fs::set_permissions(&image, std::fs::Permissions::from_mode(0o755)).unwrap();
        let server = Server::start(&dist, "127.0.0.1:0".parse().unwrap(), false)
            .await
            .unwrap();
        Env {
            tmp,
            dist,
            image,
            data,
            server,
        }
    }

    pub fn feed(&self) -> String {
        format!("{}latest.json", self.server.url)
    }

    /// What the running `version` of the app, trusting `keys`, configures.
    pub fn config(&self, version: &str, keys: &[&Key]) -> Config {
        Config {
            feed: self.feed(),
            keys: TrustedKeys::parse(keys.iter().map(|k| k.public())).unwrap(),
            running_version: version.to_owned(),
            image: self.image.clone(),
            data_dir: self.data.clone(),
        }
    }

    /// Publishes `image` as `version` in `dist`: the image, its `.zsync` file, `latest.json`
    /// and its signature, all signed by `key`.
    pub fn publish(&self, version: &str, image: &[u8], key: &Key) -> Release {
        let name = format!("app-{version}-x86_64.AppImage");
        std::fs::write(self.dist.join(&name), image).unwrap();
        let target = Target {
            filename: &name,
            url: &name,
            mtime: time::OffsetDateTime::UNIX_EPOCH,
            len: image.len() as u64,
        };
        let control = control_file(image, &target).unwrap();
        std::fs::write(self.dist.join(format!("{name}.zsync")), control).unwrap();
        let release = Release {
            version: version.to_owned(),
            notes: "Better".to_owned(),
            date: "2026-12-07T18:00:00Z".to_owned(),
            url: format!("{}{name}", self.server.url),
            zsync: format!("{}{name}.zsync", self.server.url),
            size: image.len() as u64,
            sha256: Sha256::digest(image)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            signature: key.sign(image),
        };
        let json = serde_json::to_vec_pretty(&release).unwrap();
        std::fs::write(self.dist.join("latest.json"), &json).unwrap();
        std::fs::write(self.dist.join("latest.json.minisig"), key.sign(&json)).unwrap();
        release
    }

    /// The installed image is still `old`, still executable, and nothing executable but it is in
    /// its directory.
    pub fn assert_untouched(&self, old: &[u8]) {
        assert!(
            std::fs::read(&self.image).unwrap() == old,
            "the image changed"
        );
        assert_eq!(
            mode(&self.image),
            0o755,
            "the image is no longer executable"
        );
        self.assert_no_executable_staged_file();
    }

    /// No file in the image's directory but the image (and a kept previous one) is executable.
    pub fn assert_no_executable_staged_file(&self) {
        let dir = self.image.parent().unwrap();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name == IMAGE_NAME || name == format!(".{IMAGE_NAME}.previous") {
                continue;
            }
            assert_eq!(mode(&path) & 0o111, 0, "{name} is executable");
        }
    }

    pub fn staged(&self) -> PathBuf {
        self.image
            .parent()
            .unwrap()
            .join(format!(".{IMAGE_NAME}.download"))
    }

    pub fn previous(&self) -> PathBuf {
        self.image
            .parent()
            .unwrap()
            .join(format!(".{IMAGE_NAME}.previous"))
    }
}

pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}
