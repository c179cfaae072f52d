//! An image where it cannot be replaced: refused with `NotWritable` naming the directory, before
//! anything is written. The tests run as root, whom permission bits do not stop, so what is
//! tested is what stops root too: an immutable directory (`chattr +i`, refused by the kernel,
//! seen through access(2)), a directory whose mode grants its owner no write (the updater reads
//! the bits as they apply to its ids, without root's override) and a root-owned system
//! directory.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use super::*;

/// `chattr +i` on a directory for the guard's life (`None` where the file system or the user
/// cannot).
struct Immutable<'a>(&'a Path);

impl<'a> Immutable<'a> {
    fn set(dir: &'a Path) -> Option<Immutable<'a>> {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Immutable(dir))
    }
}

impl Drop for Immutable<'_> {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(self.0).status();
    }
}

fn assert_not_writable(err: Error, dir: &Path, problem: &str) {
    match &err {
        Error::NotWritable { dir: d, problem: p } => {
            assert_eq!(d, dir, "{err}");
            assert!(p.contains(problem), "{err}");
        }
        other => panic!("not NotWritable: {other}"),
    }
    assert!(
        err.to_string().contains(&dir.display().to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn an_immutable_directory_is_refused_and_left_alone() {
    let (old, key) = (old_image(), Key::new());
    let env = Env::new(&old).await;
    let release = env.publish("0.2.0", &new_image(&old), &key);
    let dir = std::fs::canonicalize(env.image.parent().unwrap()).unwrap();
    let Some(_immutable) = Immutable::set(&dir) else {
        eprintln!("skipped: chattr +i is not possible here");
        return;
    };
    let err = qmlbridge_update::writable(&env.image).unwrap_err();
    assert_not_writable(err, &dir, "immutable");
    let err = download(&env.config("0.1.0", &[&key]), &release, |_| {})
        .await
        .unwrap_err();
    assert_not_writable(err, &dir, "immutable");
    assert_eq!(env.server.served(), 0, "something was downloaded");
    env.assert_untouched(&old);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[tokio::test]
async fn a_directory_without_write_permission_is_refused() {
    let (old, key) = (old_image(), Key::new());
    let env = Env::new(&old).await;
    let release = env.publish("0.2.0", &new_image(&old), &key);
    let dir = std::fs::canonicalize(env.image.parent().unwrap()).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let err = download(&env.config("0.1.0", &[&key]), &release, |_| {})
        .await
        .unwrap_err();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_not_writable(err, &dir, "mode 0555");
    env.assert_untouched(&old);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    // Writable again, the same download goes through.
    download(&env.config("0.1.0", &[&key]), &release, |_| {})
        .await
        .unwrap();
}

#[test]
fn a_system_directory_is_refused() {
    let sh = std::fs::canonicalize("/bin/sh").unwrap();
    let err = qmlbridge_update::writable(&sh).unwrap_err();
    assert_not_writable(err, sh.parent().unwrap(), "system directory");
}
