//! The updater against a real HTTP server on 127.0.0.1 (`support::server`) and real files: the
//! delta fetches only what differs, the whole image is fetched when the delta is not possible,
//! every refusal leaves the image as it was with no executable partial file, the previous image
//! is kept and rolled back to, and a SIGKILL at any moment of a download or of the replace leaves
//! an image that still runs.

mod support;

use std::sync::Mutex;

use qmlbridge_update::{Check, Error, Progress, check, download, previous, roll_back, take_notice};
use support::{Env, Key, Mode, mode, new_image, old_image};

mod delta {
    use super::*;

    #[tokio::test]
    async fn a_target_sharing_most_blocks_fetches_only_the_rest() {
        let (old, key) = (old_image(), Key::new());
        let new = new_image(&old);
        let env = Env::new(&old).await;
        let release = env.publish("0.2.0", &new, &key);
        let cfg = env.config("0.1.0", &[&key]);
        let Check::Available(offered) = check(&cfg).await.unwrap() else {
            panic!("0.2.0 not offered")
        };
        assert_eq!(offered, release);
        let seen = Mutex::new(Vec::<Progress>::new());
        let got = download(&cfg, &offered, |p| seen.lock().unwrap().push(p))
            .await
            .unwrap();
        assert!(
            std::fs::read(&env.image).unwrap() == new,
            "not the new image"
        );
        assert_eq!(mode(&env.image), 0o755);
        assert!(std::fs::read(env.previous()).unwrap() == old);
        assert!(!env.staged().exists());
        let size = new.len() as u64;
        eprintln!(
            "delta: fetched {} + reused {} of {size} bytes; the server sent {} image bytes",
            got.fetched,
            got.reused,
            env.server.image_served()
        );
        assert_eq!(got.fetched + got.reused, size);
        assert!(got.fetched < size / 20, "fetched {} of {size}", got.fetched);
        assert_eq!(env.server.image_served(), got.fetched);
        assert_eq!((got.version.as_str(), got.size), ("0.2.0", size));
        let last = *seen.lock().unwrap().last().unwrap();
        assert_eq!(
            last,
            Progress {
                done: size,
                total: size,
                fetched: got.fetched,
                reused: got.reused
            }
        );
        // The new version running finds nothing newer, and its previous image.
        let cfg2 = env.config("0.2.0", &[&key]);
        assert_eq!(check(&cfg2).await.unwrap(), Check::UpToDate);
        let kept = previous(&cfg2).unwrap();
        assert_eq!(
            (kept.path, kept.version.as_str()),
            (env.previous(), "0.1.0")
        );
    }

    #[tokio::test]
    async fn a_server_that_ignores_ranges_gets_the_whole_image_fetched() {
        let (old, key) = (old_image(), Key::new());
        let new = new_image(&old);
        let env = Env::new(&old).await;
        let release = env.publish("0.2.0", &new, &key);
        env.server.set_mode(Mode::IgnoreRanges);
        let got = download(&env.config("0.1.0", &[&key]), &release, |_| {})
            .await
            .unwrap();
        assert!(std::fs::read(&env.image).unwrap() == new);
        assert_eq!((got.fetched, got.reused), (new.len() as u64, 0));
        // The 200 answer to the first range request is the whole image, used as such.
        assert_eq!(env.server.image_served(), new.len() as u64);
    }

    #[tokio::test]
    async fn without_a_zsync_file_the_whole_image_is_fetched() {
        let (old, key) = (old_image(), Key::new());
        let new = new_image(&old);
        let env = Env::new(&old).await;
        let release = env.publish("0.2.0", &new, &key);
        let zsync = env.dist.join("app-0.2.0-x86_64.AppImage.zsync");
        std::fs::remove_file(&zsync).unwrap();
        let cfg = env.config("0.1.0", &[&key]);
        let got = download(&cfg, &release, |_| {}).await.unwrap();
        assert!(std::fs::read(&env.image).unwrap() == new);
        assert_eq!(got.fetched, new.len() as u64);

        // An invalid one: the same.
        let env = Env::new(&old).await;
        let release = env.publish("0.2.0", &new, &key);
        std::fs::write(env.dist.join("app-0.2.0-x86_64.AppImage.zsync"), b"<html>").unwrap();
        let got = download(&env.config("0.1.0", &[&key]), &release, |_| {})
            .await
            .unwrap();
        assert!(std::fs::read(&env.image).unwrap() == new);
        assert_eq!(got.fetched, new.len() as u64);
    }

    #[tokio::test]
    async fn a_zsync_file_of_another_build_gets_the_whole_image_fetched() {
        let (old, key) = (old_image(), Key::new());
        let new = new_image(&old);
        let env = Env::new(&old).await;
        // The .zsync file of another file of the same size (a stale upload): the assembled file
        // is not what it describes (its SHA-1), so the whole image is fetched.
        let mut other = new.clone();
        other[700_000..710_000].copy_from_slice(&support::varied(10_000, 9));
        env.publish("0.2.0", &other, &key);
        let zsync = env.dist.join("app-0.2.0-x86_64.AppImage.zsync");
        let stale = std::fs::read(&zsync).unwrap();
        let release = env.publish("0.2.0", &new, &key);
        std::fs::write(&zsync, stale).unwrap();
        let got = download(&env.config("0.1.0", &[&key]), &release, |_| {})
            .await
            .unwrap();
        assert!(std::fs::read(&env.image).unwrap() == new);
        assert_eq!((got.fetched, got.reused), (new.len() as u64, 0));
    }
}

mod once {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn one_update_at_a_time_and_an_abandoned_one_leaves_nothing() {
        let (old, key) = (old_image(), Key::new());
        let env = Env::new(&old).await;
        let release = env.publish("0.2.0", &new_image(&old), &key);
        env.server.set_mode(Mode::Stall(1000));
        let cfg = env.config("0.1.0", &[&key]);
        let first = {
            let (cfg, release) = (cfg.clone(), release.clone());
            tokio::spawn(async move { download(&cfg, &release, |_| {}).await })
        };
        let staged = env.staged();
        let start = std::time::Instant::now();
        while env.server.image_served() == 0 {
            assert!(start.elapsed() < std::time::Duration::from_secs(120));
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(staged.exists());
        let err = download(&cfg, &release, |_| {}).await.unwrap_err();
        assert!(matches!(err, Error::Busy(_)), "{err}");
        assert!(
            staged.exists(),
            "the second download touched the first one's file"
        );
        // The stalled download is abandoned: its future dropped.
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());
        env.assert_untouched(&old);
        assert!(!staged.exists(), "the abandoned download left its file");
    }
}

mod refused {
    use super::*;

    #[tokio::test]
    async fn a_tampered_image_replaces_nothing() {
        let (old, key) = (old_image(), Key::new());
        let env = Env::new(&old).await;
        let release = env.publish("0.2.0", &new_image(&old), &key);
        env.server.set_mode(Mode::Tamper);
        let err = download(&env.config("0.1.0", &[&key]), &release, |_| {})
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ImageDigest { .. }), "{err}");
        assert!(err.to_string().starts_with("image: tampered"), "{err}");
        env.assert_untouched(&old);
        assert!(!env.staged().exists() && !env.previous().exists());
    }

    #[tokio::test]
    async fn a_tampered_feed_is_refused() {
        let (old, key) = (old_image(), Key::new());
        let env = Env::new(&old).await;
        env.publish("0.2.0", &new_image(&old), &key);
        let feed = env.dist.join("latest.json");
        let json = std::fs::read_to_string(&feed).unwrap();
        std::fs::write(&feed, json.replace("Better", "Worse")).unwrap();
        let err = check(&env.config("0.1.0", &[&key])).await.unwrap_err();
        assert!(matches!(err, Error::FeedTampered { .. }), "{err}");
        assert!(
            err.to_string().starts_with("latest.json: tampered"),
            "{err}"
        );
        env.assert_untouched(&old);
    }

    #[tokio::test]
    async fn a_release_signed_by_an_unknown_key_is_refused() {
        let (old, trusted, stranger) = (old_image(), Key::new(), Key::new());
        let env = Env::new(&old).await;
        let release = env.publish("0.2.0", &new_image(&old), &stranger);
        let cfg = env.config("0.1.0", &[&trusted]);
        let err = check(&cfg).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnknownKey {
                    what: "latest.json",
                    ..
                }
            ),
            "{err}"
        );
        // The image itself, however it is reached, is refused too.
        let err = download(&cfg, &release, |_| {}).await.unwrap_err();
        assert!(
            matches!(err, Error::UnknownKey { what: "image", .. }),
            "{err}"
        );
        env.assert_untouched(&old);
        assert!(!env.staged().exists());
    }

    #[tokio::test]
    async fn a_rotated_key_the_running_version_trusts_is_accepted() {
        let (old, old_key, new_key) = (old_image(), Key::new(), Key::new());
        let new = new_image(&old);
        let env = Env::new(&old).await;
        env.publish("0.2.0", &new, &new_key);
        let cfg = env.config("0.1.0", &[&old_key, &new_key]);
        let Check::Available(release) = check(&cfg).await.unwrap() else {
            panic!("not offered")
        };
        download(&cfg, &release, |_| {}).await.unwrap();
        assert!(std::fs::read(&env.image).unwrap() == new);
    }

    #[tokio::test]
    async fn an_error_names_the_url_without_its_query() {
        let (old, key) = (old_image(), Key::new());
        let env = Env::new(&old).await;
        let mut cfg = env.config("0.1.0", &[&key]);
        cfg.feed = format!("{}nothing/latest.json?token=secret", env.server.url);
        let err = check(&cfg).await.unwrap_err();
        assert!(matches!(err, Error::Http { status: 404, .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!("{}nothing/latest.json: HTTP 404", env.server.url)
        );
    }
}

#[path = "update/kill.rs"]
mod kill;
#[path = "update/not_writable.rs"]
mod not_writable;
#[path = "update/rollback.rs"]
mod rollback;
