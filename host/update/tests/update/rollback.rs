//! After the new version failed to start (its migration: the supervisor restored the database
//! snapshot), the previous image is put back, the failed version is never offered again (a newer
//! one is), and the user is told once.

use super::*;

#[tokio::test]
async fn the_previous_image_comes_back_and_the_failed_version_is_not_offered_again() {
    let (old, key) = (old_image(), Key::new());
    let new = new_image(&old);
    let env = Env::new(&old).await;
    let release = env.publish("0.2.0", &new, &key);
    download(&env.config("0.1.0", &[&key]), &release, |_| {})
        .await
        .unwrap();

    // 0.2.0 runs, its migration fails.
    let running = env.config("0.2.0", &[&key]);
    assert_eq!(take_notice(&running), None);
    let back = roll_back(&running, "its migration failed").unwrap();
    assert_eq!((back.from.as_str(), back.to.as_str()), ("0.2.0", "0.1.0"));
    assert!(
        std::fs::read(&env.image).unwrap() == old,
        "not the old image"
    );
    assert_eq!(mode(&env.image), 0o755);
    assert!(!env.previous().exists());
    assert_eq!(previous(&running), None);
    let again = roll_back(&running, "twice").unwrap_err();
    assert!(matches!(again, Error::NoPrevious(_)), "{again}");

    // 0.1.0 runs again: the user is told once; 0.2.0 is not offered again.
    let cfg = env.config("0.1.0", &[&key]);
    let notice = take_notice(&cfg).unwrap();
    assert_eq!(
        notice,
        "0.2.0 could not start (its migration failed); the app is back on 0.1.0"
    );
    assert_eq!(take_notice(&cfg), None);
    assert_eq!(check(&cfg).await.unwrap(), Check::UpToDate);

    // A newer version is.
    let fixed = env.publish("0.2.1", &new_image(&new), &key);
    assert_eq!(check(&cfg).await.unwrap(), Check::Available(fixed));
}

#[tokio::test]
async fn nothing_to_roll_back_without_a_recorded_update() {
    let (old, key) = (old_image(), Key::new());
    let env = Env::new(&old).await;
    let cfg = env.config("0.1.0", &[&key]);
    assert_eq!(previous(&cfg), None);
    let err = roll_back(&cfg, "whatever").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("nothing to roll back: no update to 0.1.0"),
        "{err}"
    );
    env.assert_untouched(&old);
}
