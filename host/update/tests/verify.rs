//! A release signed as `qmlbridge bundle --sign` signs it (minisign signatures over real files),
//! verified; each way it can be wrong refused naming the check; a rotated key accepted when
//! listed; and keys and signatures of the reference `minisign` tool accepted (interoperability).

use std::io::Cursor;
use std::process::Command;

use minisign::{KeyPair, PublicKeyBox};
use qmlbridge_update::{Error, Release, TrustedKeys, verify_feed};
use sha2::{Digest, Sha256};

struct Key {
    pair: KeyPair,
}

impl Key {
    fn new() -> Key {
        Key {
            pair: KeyPair::generate_unencrypted_keypair().unwrap(),
        }
    }

    fn public(&self) -> String {
        self.pair.pk.to_base64()
    }

    fn sign(&self, data: &[u8]) -> String {
        let sig = minisign::sign(
            Some(&self.pair.pk),
            &self.pair.sk,
            Cursor::new(data),
            Some("file:test"),
            None,
        )
        .unwrap();
        sig.into_string()
    }
}

/// An image-sized file of varied bytes.
fn image(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn release(image: &[u8], image_key: &Key) -> Release {
    Release {
        version: "0.2.0".into(),
        notes: "Faster start".into(),
        date: "2026-12-07T18:00:00Z".into(),
        url: "https://example.org/app/app-0.2.0-x86_64.AppImage".into(),
        zsync: "https://example.org/app/app-0.2.0-x86_64.AppImage.zsync".into(),
        size: image.len() as u64,
        sha256: Sha256::digest(image)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        signature: image_key.sign(image),
    }
}

/// `latest.json` and its `.minisig`, signed by `key`.
fn feed(release: &Release, key: &Key) -> (Vec<u8>, String) {
    let json = serde_json::to_vec_pretty(release).unwrap();
    let sig = key.sign(&json);
    (json, sig)
}

#[test]
fn a_signed_release_verifies() {
    let key = Key::new();
    let keys = TrustedKeys::parse([key.public()]).unwrap();
    let img = image(300_000);
    let signed = release(&img, &key);
    let (json, sig) = feed(&signed, &key);
    let got = verify_feed(&json, &sig, &keys).unwrap();
    assert_eq!(got, signed);
    assert!(got.is_newer_than("0.1.0").unwrap());
    got.verify_image(Cursor::new(&img), &keys).unwrap();
}

#[test]
fn a_tampered_image_is_refused_naming_the_image() {
    let key = Key::new();
    let keys = TrustedKeys::parse([key.public()]).unwrap();
    let img = image(100_000);
    let (json, sig) = feed(&release(&img, &key), &key);
    let got = verify_feed(&json, &sig, &keys).unwrap();

    let mut bad = img.clone();
    bad[4242] ^= 1;
    let err = got.verify_image(Cursor::new(&bad), &keys).unwrap_err();
    assert!(matches!(err, Error::ImageDigest { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("image: tampered (SHA-256 "),
        "{err}"
    );

    let err = got
        .verify_image(Cursor::new(&img[..99_999]), &keys)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "image: tampered or incomplete (99999 bytes, latest.json says 100000)"
    );

    // A feed whose size and digest describe the tampered image but whose image signature is the
    // original's: the signature is what refuses it.
    let mut lying = release(&bad, &key);
    lying.signature = key.sign(&img);
    let (json, sig) = feed(&lying, &key);
    let got = verify_feed(&json, &sig, &keys).unwrap();
    let err = got.verify_image(Cursor::new(&bad), &keys).unwrap_err();
    assert!(matches!(err, Error::ImageTampered { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("image: tampered (its signature by key "),
        "{err}"
    );
}

#[test]
fn a_tampered_feed_is_refused_naming_latest_json() {
    let key = Key::new();
    let keys = TrustedKeys::parse([key.public()]).unwrap();
    let img = image(10_000);
    let (json, sig) = feed(&release(&img, &key), &key);
    let text = String::from_utf8(json)
        .unwrap()
        .replace("0.2.0\"", "0.9.0\"");
    let err = verify_feed(text.as_bytes(), &sig, &keys).unwrap_err();
    assert!(matches!(err, Error::FeedTampered { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("latest.json: tampered"),
        "{err}"
    );

    let err = verify_feed(b"{}", "not a signature", &keys).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("latest.json: the signature is not a minisign signature"),
        "{err}"
    );

    // Signed, but not a release: named as the feed's format, field by field.
    let mut r = release(&img, &key);
    r.date = "yesterday".into();
    let (json, sig) = feed(&r, &key);
    let err = verify_feed(&json, &sig, &keys).unwrap_err();
    assert_eq!(
        err.to_string(),
        "latest.json: date: \"yesterday\" is not an RFC 3339 date"
    );
}

#[test]
fn a_signature_by_an_unknown_key_is_refused_naming_the_key() {
    let trusted = Key::new();
    let stranger = Key::new();
    let keys = TrustedKeys::parse([trusted.public()]).unwrap();
    let img = image(10_000);

    let (json, sig) = feed(&release(&img, &stranger), &stranger);
    let err = verify_feed(&json, &sig, &keys).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnknownKey {
                what: "latest.json",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("signed by an unknown key"),
        "{err}"
    );

    // The feed by the trusted key, the image by a stranger.
    let (json, sig) = feed(&release(&img, &stranger), &trusted);
    let got = verify_feed(&json, &sig, &keys).unwrap();
    let err = got.verify_image(Cursor::new(&img), &keys).unwrap_err();
    assert!(
        matches!(err, Error::UnknownKey { what: "image", .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("image: signed by an unknown key"),
        "{err}"
    );
}

#[test]
fn a_release_signed_by_a_rotated_key_is_accepted_when_listed() {
    let old = Key::new();
    let new = Key::new();
    let img = image(50_000);
    let (json, sig) = feed(&release(&img, &new), &new);

    // The running version shipped [old, new]: the release by the new key is accepted.
    let both = TrustedKeys::parse([old.public(), new.public()]).unwrap();
    let got = verify_feed(&json, &sig, &both).unwrap();
    got.verify_image(Cursor::new(&img), &both).unwrap();

    // A version that trusts only the old key refuses it.
    let only_old = TrustedKeys::parse([old.public()]).unwrap();
    assert!(matches!(
        verify_feed(&json, &sig, &only_old),
        Err(Error::UnknownKey { .. })
    ));
}

#[test]
fn versions_compare_by_semver_precedence() {
    let key = Key::new();
    let mut r = release(&image(10), &key);
    for (release, running, newer) in [
        ("0.2.0", "0.1.0", true),
        ("0.2.0", "0.2.0", false),
        ("0.2.0", "0.10.0", false),
        ("1.0.0", "1.0.0-rc.1", true),
        ("1.0.0-rc.2", "1.0.0-rc.10", false),
        ("1.0.0+build.2", "1.0.0+build.1", false),
    ] {
        r.version = release.into();
        assert_eq!(
            r.is_newer_than(running).unwrap(),
            newer,
            "{release} vs {running}"
        );
    }
    assert!(matches!(r.is_newer_than("one"), Err(Error::Version(_))));
}

/// Keys and signatures made by the reference tool, `minisign` (Debian's package), verify here.
#[test]
fn the_minisign_tools_keys_and_signatures_verify() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("minisign")
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("minisign (scripts/install-deps.sh test installs it)");
        assert!(out.status.success(), "minisign {args:?}: {out:?}");
    };
    run(&["-G", "-W", "-p", "k.pub", "-s", "k.key"]);
    let img = image(70_000);
    std::fs::write(dir.path().join("image"), &img).unwrap();
    run(&["-S", "-s", "k.key", "-m", "image"]);
    let public = std::fs::read_to_string(dir.path().join("k.pub")).unwrap();
    let public = public.lines().nth(1).unwrap();
    let keys = TrustedKeys::parse([public]).unwrap();

    let signature = std::fs::read_to_string(dir.path().join("image.minisig")).unwrap();
    let stranger = Key::new();
    let mut r = release(&img, &stranger);
    r.signature = signature;
    let json = serde_json::to_vec(&r).unwrap();
    std::fs::write(dir.path().join("latest.json"), &json).unwrap();
    run(&["-S", "-s", "k.key", "-m", "latest.json"]);
    let feed_sig = std::fs::read_to_string(dir.path().join("latest.json.minisig")).unwrap();

    let got = verify_feed(&json, &feed_sig, &keys).unwrap();
    got.verify_image(Cursor::new(&img), &keys).unwrap();

    // And the other way: a key pair this side wrote (the minisign crate, as keygen does) signs
    // what the tool verifies.
    let ours = Key::new();
    let pk_box: PublicKeyBox = ours.pair.pk.to_box().unwrap();
    std::fs::write(dir.path().join("ours.pub"), pk_box.into_string()).unwrap();
    std::fs::write(dir.path().join("image.minisig"), ours.sign(&img)).unwrap();
    run(&["-V", "-p", "ours.pub", "-m", "image"]);
}
