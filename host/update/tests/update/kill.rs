//! SIGKILL during the download and during the replace: a child process (this test binary run
//! again, `child` below) downloads; it is killed with SIGKILL while the server stalls mid-body,
//! or while it waits right before the rename (debug builds' `QMLBRIDGE_UPDATE_TEST_PAUSE`). The
//! image must be the old one, still executable, and the next download must succeed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use qmlbridge_update::{Config, Release, TrustedKeys};
use serde::{Deserialize, Serialize};

use super::*;

/// How long the child may take to reach the point where it is killed.
const PATIENCE: Duration = Duration::from_secs(120);
/// The child's orders, in `QMLBRIDGE_UPDATE_TEST_CHILD`.
const CHILD: &str = "QMLBRIDGE_UPDATE_TEST_CHILD";

#[derive(Serialize, Deserialize)]
struct Orders {
    feed: String,
    keys: Vec<String>,
    version: String,
    image: PathBuf,
    data: PathBuf,
    release: Release,
}

/// The child: does nothing unless run by `spawn_child`.
#[test]
fn child() {
    let Ok(orders) = std::env::var(CHILD) else {
        return;
    };
    let o: Orders = serde_json::from_str(&orders).unwrap();
    let cfg = Config {
        feed: o.feed,
        keys: TrustedKeys::parse(&o.keys).unwrap(),
        running_version: o.version,
        image: o.image,
        data_dir: o.data,
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let got = rt.block_on(download(&cfg, &o.release, |_| {}));
    eprintln!("child: {got:?}");
}

fn spawn_child(env: &Env, key: &Key, release: &Release, pause: Option<&Path>) -> Child {
    let orders = Orders {
        feed: env.feed(),
        keys: vec![key.public()],
        version: "0.1.0".into(),
        image: env.image.clone(),
        data: env.data.clone(),
        release: release.clone(),
    };
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["kill::child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, serde_json::to_string(&orders).unwrap());
    if let Some(flag) = pause {
        cmd.env("QMLBRIDGE_UPDATE_TEST_PAUSE", flag);
    }
    cmd.spawn().unwrap()
}

async fn wait_until(what: &str, child: &mut Child, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child ended ({status}) before {what}");
        }
        assert!(start.elapsed() < PATIENCE, "not {what} within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_the_download_leaves_the_old_image() {
    let (old, key) = (old_image(), Key::new());
    let new = new_image(&old);
    let env = Env::new(&old).await;
    let release = env.publish("0.2.0", &new, &key);
    // A whole download (no .zsync file) whose body stalls half-way.
    let zsync = env.dist.join("app-0.2.0-x86_64.AppImage.zsync");
    let control = std::fs::read(&zsync).unwrap();
    std::fs::remove_file(&zsync).unwrap();
    env.server.set_mode(Mode::Stall(700_000));
    let mut child = spawn_child(&env, &key, &release, None);
    let staged = env.staged();
    wait_until("half the image is written", &mut child, || {
        std::fs::metadata(&staged).is_ok_and(|m| m.len() >= 700_000)
    })
    .await;
    kill(child);
    env.assert_untouched(&old);
    assert_eq!(mode(&staged), 0o644, "the partial file is not 0644");

    // The next run removes the partial file and succeeds (a delta again).
    std::fs::write(&zsync, control).unwrap();
    env.server.set_mode(Mode::Normal);
    let got = download(&env.config("0.1.0", &[&key]), &release, |_| {})
        .await
        .unwrap();
    assert!(got.reused > 0);
    assert!(std::fs::read(&env.image).unwrap() == new);
    assert!(!staged.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_right_before_the_rename_leaves_the_old_image() {
    let (old, key) = (old_image(), Key::new());
    let new = new_image(&old);
    let env = Env::new(&old).await;
    let release = env.publish("0.2.0", &new, &key);
    let flag = env.tmp.path().join("paused");
    let mut child = spawn_child(&env, &key, &release, Some(&flag));
    wait_until("paused before the rename", &mut child, || flag.exists()).await;
    kill(child);
    assert!(
        std::fs::read(&env.image).unwrap() == old,
        "the image changed"
    );
    assert_eq!(mode(&env.image), 0o755);
    // The one file made executable before the rename is the complete, verified new image.
    let staged = env.staged();
    assert!(
        std::fs::read(&staged).unwrap() == new,
        "the staged file is not the release"
    );
    assert!(std::fs::read(env.previous()).unwrap() == old);
    // The record names an update of 0.1.0 that never ran: nothing to roll back from 0.1.0.
    assert_eq!(previous(&env.config("0.1.0", &[&key])), None);

    download(&env.config("0.1.0", &[&key]), &release, |_| {})
        .await
        .unwrap();
    assert!(std::fs::read(&env.image).unwrap() == new);
    assert!(!staged.exists());
    env.assert_no_executable_staged_file();
}
