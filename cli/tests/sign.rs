//! `qmlbridge keygen` and the signing half of `bundle --sign`, on real files with real keys:
//! keys and signatures checked both ways with the reference `minisign` tool, the `.zsync` file
//! compared byte for byte with `zsyncmake`'s and used by the `zsync` client against a server on
//! 127.0.0.1, and what an installed app's verifier (`qmlbridge-update`) accepts and refuses.
//! (The image's embedded update information is checked by packaging/test-appimage.sh.)

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;

use qmlbridge_cli::{KeygenOptions, SignOptions, keygen, sign_release};
use qmlbridge_update::{Error as Refused, TrustedKeys, verify_feed};

const PASSWORD: &str = "correct horse battery staple";

/// The password every signing in this process uses (`QMLBRIDGE_SIGN_PASSWORD`), set once before
/// any test reads it.
fn password() {
    static ONCE: Once = Once::new();
    // SAFETY: set once, under the Once, before any test of this binary reads the environment
    // through the library (each test calls this first); no other thread writes it.
    ONCE.call_once(|| unsafe { std::env::set_var("QMLBRIDGE_SIGN_PASSWORD", PASSWORD) });
}

fn qmlbridge(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qmlbridge"))
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn tool(dir: &Path, program: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/install-deps.sh test installs it)"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// An app root whose manifest has `[update]` with `feed` and `keys`.
fn app(dir: &Path, feed: &str, keys: &[&str]) -> PathBuf {
    let app = dir.join("app");
    std::fs::create_dir_all(app.join("assets")).unwrap();
    std::fs::create_dir_all(app.join("backend")).unwrap();
    std::fs::write(app.join("assets/icon.svg"), "<svg/>").unwrap();
    std::fs::write(app.join("Caddyfile"), ":8765 {\n}\n").unwrap();
    let keys: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    std::fs::write(
        app.join("qmlbridge.toml"),
        format!(
            r#"name = "bm"
display_name = "Bookmarks"
org = "example"
identifier = "org.example.Bookmarks"
version = "0.2.0"
comment = "Keep your bookmarks"
categories = ["Utility"]
icon = "assets/icon.svg"

[update]
feed = "{feed}"
keys = [{}]
notes = "From the manifest"
"#,
            keys.join(", ")
        ),
    )
    .unwrap();
    app
}

/// An image-sized file (3 MB of varied bytes; the image's own parts are tested with a real
/// image by packaging/test-appimage.sh).
fn image(dir: &Path) -> PathBuf {
    let dist = dir.join("app/dist");
    std::fs::create_dir_all(&dist).unwrap();
    let image = dist.join("bm-0.2.0-x86_64.AppImage");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..3_000_000)
        .map(|_| {
            // xorshift64: incompressible, reproducible.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&image, bytes).unwrap();
    image
}

fn new_key(dir: &Path, name: &str) -> String {
    password();
    keygen(&KeygenOptions {
        out: Some(dir.join("keys")),
        name: name.into(),
        force: false,
    })
    .unwrap()
    .public_key
}

fn key_file(dir: &Path, name: &str) -> SignOptions {
    SignOptions {
        key: Some(dir.join(format!("keys/{name}.key"))),
        notes: None,
    }
}

#[test]
fn keygen_refuses_the_app_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let app = app(tmp.path(), "https://e.org/latest.json", &[]);
    let env = [("QMLBRIDGE_SIGN_PASSWORD", PASSWORD)];
    for out in [app.clone(), app.join("keys"), app.join("backend/deep/er")] {
        let run = qmlbridge(
            &["keygen", "--out", out.to_str().unwrap(), "--name", "bm"],
            &env,
        );
        assert_eq!(run.status.code(), Some(2), "{}", text(&run));
        assert!(
            text(&run).contains("is inside the app at"),
            "{}",
            text(&run)
        );
        assert!(!out.join("bm.key").exists());
    }
    // Through a symlink into the app as well.
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&app, &link).unwrap();
    let run = qmlbridge(
        &[
            "keygen",
            "--out",
            link.join("k").to_str().unwrap(),
            "--name",
            "bm",
        ],
        &env,
    );
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
}

#[test]
fn keygen_writes_a_minisign_key_pair_the_tool_uses() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    let env = [
        ("QMLBRIDGE_SIGN_PASSWORD", PASSWORD),
        ("XDG_CONFIG_HOME", config.to_str().unwrap()),
    ];
    let run = qmlbridge(&["keygen", "--name", "bm"], &env);
    assert!(run.status.success(), "{}", text(&run));
    let keys = config.join("qmlbridge/keys");
    let secret = keys.join("bm.key");
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let public = std::fs::read_to_string(keys.join("bm.pub")).unwrap();
    let line = public.lines().nth(1).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        format!("[update]\nkeys = [\"{line}\"]\n")
    );
    // The password is in no output.
    assert!(!text(&run).contains(PASSWORD));
    assert!(!std::fs::read_to_string(&secret).unwrap().contains(PASSWORD));

    // Never overwritten without --force.
    let before = std::fs::read(&secret).unwrap();
    let run = qmlbridge(&["keygen", "--name", "bm"], &env);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(text(&run).contains("--force"), "{}", text(&run));
    assert_eq!(std::fs::read(&secret).unwrap(), before);

    // The minisign tool signs with the encrypted secret key (password on its stdin) and verifies
    // with the public key file.
    std::fs::write(keys.join("data"), "some release").unwrap();
    let sign = tool(
        &keys,
        "minisign",
        &["-S", "-s", "bm.key", "-m", "data"],
        &format!("{PASSWORD}\n"),
    );
    assert!(sign.status.success(), "{}", text(&sign));
    let verify = tool(&keys, "minisign", &["-V", "-p", "bm.pub", "-m", "data"], "");
    assert!(verify.status.success(), "{}", text(&verify));
    // A wrong password is refused by the tool: the key really is encrypted.
    let wrong = tool(
        &keys,
        "minisign",
        &["-S", "-s", "bm.key", "-m", "data"],
        "nope\n",
    );
    assert!(!wrong.status.success());

    let run = qmlbridge(&["keygen", "--name", "bm", "--force"], &env);
    assert!(run.status.success(), "{}", text(&run));
    assert_ne!(std::fs::read(&secret).unwrap(), before);
}

/// Python's `http.server` with range requests (zsync needs them; the module answers 200): a
/// request for several ranges gets the one range spanning them, which RFC 9110 §14.2 allows a
/// server to send.
const RANGE_SERVER: &str = r#"
import http.server, os, re, sys
class H(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        m = re.fullmatch(r"bytes=(.*)", self.headers.get("Range", ""))
        path = self.translate_path(self.path)
        if not m or not os.path.isfile(path):
            return super().do_GET()
        size = os.path.getsize(path)
        spans = [r.strip().split("-") for r in m.group(1).split(",")]
        start = min(int(a) for a, b in spans)
        end = min(max(int(b) if b else size - 1 for a, b in spans), size - 1)
        with open(path, "rb") as f:
            f.seek(start)
            body = f.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(f"Serving HTTP on 127.0.0.1 port {s.server_port} ", flush=True)
s.serve_forever()
"#;

/// [`RANGE_SERVER`] on 127.0.0.1 serving `dir`, and its port.
struct Server(Child, u16);

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = Command::new("python3")
            .args(["-u", "-c", RANGE_SERVER])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let port = line
            .split(" port ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("http.server said {line:?}"));
        Server(child, port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_signed_release_verifies_and_its_zsync_file_works() {
    let tmp = tempfile::tempdir().unwrap();
    let key = new_key(tmp.path(), "bm");
    let img = image(tmp.path());
    let dist = img.parent().unwrap().to_path_buf();
    let server = Server::start(&dist);
    let feed = format!("http://127.0.0.1:{}/latest.json", server.1);
    let app = app(tmp.path(), &feed, &[&key]);
    let notes = tmp.path().join("NOTES");
    std::fs::write(&notes, "Faster start.\n\n- one fix\n").unwrap();
    let opts = SignOptions {
        notes: Some(notes),
        ..key_file(tmp.path(), "bm")
    };
    let published = sign_release(&app, &img, &opts).unwrap();
    let r = &published.release;
    assert_eq!(r.version, "0.2.0");
    assert_eq!(r.notes, "Faster start.\n\n- one fix");
    let base = format!("http://127.0.0.1:{}/", server.1);
    assert_eq!(r.url, format!("{base}bm-0.2.0-x86_64.AppImage"));
    assert_eq!(r.zsync, format!("{r_url}.zsync", r_url = r.url));
    assert_eq!(r.size, std::fs::metadata(&img).unwrap().len());

    // What an installed app trusting the key does with the published files.
    let json = std::fs::read(&published.feed).unwrap();
    let sig = std::fs::read_to_string(&published.feed_signature).unwrap();
    let keys = TrustedKeys::parse([&key]).unwrap();
    let release = verify_feed(&json, &sig, &keys).unwrap();
    assert!(release.is_newer_than("0.1.0").unwrap());
    release
        .verify_image(std::fs::File::open(&img).unwrap(), &keys)
        .unwrap();

    // The minisign tool agrees: the feed's detached signature, the image's signature.
    let pubkey = ["-P", key.as_str()];
    let ok = tool(
        &dist,
        "minisign",
        &[&["-V", "-m", "latest.json"][..], &pubkey].concat(),
        "",
    );
    assert!(ok.status.success(), "{}", text(&ok));
    std::fs::write(dist.join("image.minisig"), &release.signature).unwrap();
    let args = [
        &[
            "-V",
            "-m",
            "bm-0.2.0-x86_64.AppImage",
            "-x",
            "image.minisig",
        ][..],
        &pubkey,
    ]
    .concat();
    let ok = tool(&dist, "minisign", &args, "");
    assert!(ok.status.success(), "{}", text(&ok));

    // The .zsync file is zsyncmake's, byte for byte.
    let made = tool(
        &dist,
        "zsyncmake",
        &[
            "-u",
            "bm-0.2.0-x86_64.AppImage",
            "-o",
            "reference.zsync",
            "bm-0.2.0-x86_64.AppImage",
        ],
        "",
    );
    assert!(made.status.success(), "{}", text(&made));
    assert!(
        std::fs::read(&published.zsync).unwrap()
            == std::fs::read(dist.join("reference.zsync")).unwrap(),
        "the .zsync file differs from zsyncmake's"
    );

    // The zsync client rebuilds the image from an older copy (a changed stretch in the middle)
    // and fetches only what differs, over HTTP from the server.
    let mut old = std::fs::read(&img).unwrap();
    let mid = old.len() / 2;
    for b in &mut old[mid..mid + 10_000] {
        *b = !*b;
    }
    let work = tmp.path().join("client");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("old.AppImage"), &old).unwrap();
    let url = format!("{base}bm-0.2.0-x86_64.AppImage.zsync");
    let got = tool(
        &work,
        "zsync",
        &["-i", "old.AppImage", "-o", "new.AppImage", &url],
        "",
    );
    assert!(got.status.success(), "{}", text(&got));
    assert!(std::fs::read(work.join("new.AppImage")).unwrap() == std::fs::read(&img).unwrap());
    // "used 2990080 local, fetched 14336": most of it came from the old copy.
    let said = text(&got);
    let fetched: u64 = said
        .split("fetched ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("zsync said {said}"));
    assert!(fetched < 100_000, "fetched {fetched} of 3000000: {said}");
    eprintln!("zsync: fetched {fetched} of {} bytes", release.size);
    drop(server);

    // Tampered image: refused naming the image (and by the tool).
    let mut bad = std::fs::read(&img).unwrap();
    bad[mid] ^= 0x40;
    let err = release.verify_image(bad.as_slice(), &keys).unwrap_err();
    assert!(err.to_string().starts_with("image: tampered"), "{err}");
    std::fs::write(&img, &bad).unwrap();
    let args = [
        &[
            "-V",
            "-m",
            "bm-0.2.0-x86_64.AppImage",
            "-x",
            "image.minisig",
        ][..],
        &pubkey,
    ]
    .concat();
    assert!(!tool(&dist, "minisign", &args, "").status.success());

    // Tampered latest.json: refused naming latest.json.
    let text_json = String::from_utf8(json).unwrap();
    let forged = text_json.replace("\"size\": ", "\"size\": 1");
    let err = verify_feed(forged.as_bytes(), &sig, &keys).unwrap_err();
    assert!(matches!(err, Refused::FeedTampered { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("latest.json: tampered"),
        "{err}"
    );
}

#[test]
fn an_unknown_key_is_refused_and_a_rotated_key_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let old = new_key(tmp.path(), "old");
    let new = new_key(tmp.path(), "new");
    let img = image(tmp.path());

    // Signing with a key the manifest does not list is refused before anything is written.
    let app_dir = app(tmp.path(), "https://e.org/bm/latest.json", &[&old]);
    let err = sign_release(&app_dir, &img, &key_file(tmp.path(), "new")).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("is not in [update] keys"), "{err}");
    assert!(!img.with_extension("AppImage.zsync").exists());

    // The rotation: the next version lists [old, new] and is signed by the new key.
    let app_dir = app(tmp.path(), "https://e.org/bm/latest.json", &[&old, &new]);
    let published = sign_release(&app_dir, &img, &key_file(tmp.path(), "new")).unwrap();
    assert_eq!(published.release.notes, "From the manifest");
    let json = std::fs::read(&published.feed).unwrap();
    let sig = std::fs::read_to_string(&published.feed_signature).unwrap();
    // An installed version that shipped [old, new] accepts it...
    let both = TrustedKeys::parse([&old, &new]).unwrap();
    let release = verify_feed(&json, &sig, &both).unwrap();
    release
        .verify_image(std::fs::File::open(&img).unwrap(), &both)
        .unwrap();
    // ...one that trusts only the old key refuses it, naming the unknown key.
    let only_old = TrustedKeys::parse([&old]).unwrap();
    let err = verify_feed(&json, &sig, &only_old).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("latest.json: signed by an unknown key"),
        "{err}"
    );
}

#[test]
fn a_key_from_the_minisign_tool_signs_and_a_wrong_password_is_refused() {
    password();
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let made = tool(
        &keys,
        "minisign",
        &["-G", "-p", "tool.pub", "-s", "tool.key"],
        &format!("{PASSWORD}\n{PASSWORD}\n"),
    );
    assert!(made.status.success(), "{}", text(&made));
    let public = std::fs::read_to_string(keys.join("tool.pub")).unwrap();
    let public = public.lines().nth(1).unwrap().to_owned();
    let img = image(tmp.path());
    let app_dir = app(tmp.path(), "https://e.org/bm/latest.json", &[&public]);
    sign_release(&app_dir, &img, &key_file(tmp.path(), "tool")).unwrap();

    let made = tool(
        &keys,
        "minisign",
        &["-G", "-p", "other.pub", "-s", "other.key"],
        "another password\nanother password\n",
    );
    assert!(made.status.success(), "{}", text(&made));
    let err = sign_release(&app_dir, &img, &key_file(tmp.path(), "other")).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string().contains("cannot decrypt the secret key"),
        "{err}"
    );
    assert!(!err.to_string().contains(PASSWORD));
}
