//! `root` + `file_server` from the Caddyfile: files under the root are served, nothing outside
//! it is, and the Caddyfile's `header` and `encode` apply (`docs/contract.md` §10).

mod support;

use support::{Workdir, request};

const CADDYFILE: &str = "127.0.0.1:{$PORT:0} {
\troot * public
\tfile_server
\tencode gzip
\theader X-Frame-Options DENY
}
";

#[test]
fn serves_the_root_and_nothing_outside_it() {
    let w = Workdir::with_caddyfile(CADDYFILE);
    std::fs::create_dir(w.path().join("public")).unwrap();
    std::fs::write(w.path().join("public/index.html"), "<h1>hello</h1>").unwrap();
    std::fs::write(w.path().join("outside.txt"), "do not serve me").unwrap();
    let server = w.serve();

    let page = request(server.addr, "GET", "/index.html", &[], b"");
    assert_eq!(page.status, 200);
    assert_eq!(page.body, "<h1>hello</h1>");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    let root = request(server.addr, "GET", "/", &[], b"");
    assert_eq!((root.status, root.body.as_str()), (200, "<h1>hello</h1>"));

    for path in [
        "/../outside.txt",
        "/%2e%2e/outside.txt",
        "/..%2foutside.txt",
        "/missing.html",
    ] {
        let resp = request(server.addr, "GET", path, &[], b"");
        assert_ne!(resp.status, 200, "{path}");
        assert!(!resp.body.contains("do not serve me"), "{path}");
    }
    let missing = request(server.addr, "GET", "/missing.html", &[], b"");
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );

    // encode gzip, for a client that accepts it (tower-http leaves tiny bodies alone).
    std::fs::write(w.path().join("public/big.txt"), "x".repeat(4096)).unwrap();
    let gz = request(
        server.addr,
        "GET",
        "/big.txt",
        &[("Accept-Encoding", "gzip")],
        b"",
    );
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
}

#[test]
fn symlinks_that_leave_the_root_are_not_followed() {
    use std::os::unix::fs::symlink;
    let w = Workdir::with_caddyfile(CADDYFILE);
    let public = w.path().join("public");
    std::fs::create_dir_all(public.join("docs")).unwrap();
    std::fs::write(public.join("docs/page.txt"), "inside").unwrap();
    std::fs::write(w.path().join("outside.txt"), "do not serve me").unwrap();
    std::fs::create_dir(w.path().join("elsewhere")).unwrap();
    std::fs::write(w.path().join("elsewhere/index.html"), "do not serve me").unwrap();
    symlink("../outside.txt", public.join("leak.txt")).unwrap();
    symlink(w.path().join("outside.txt"), public.join("abs-leak.txt")).unwrap();
    symlink("..", public.join("up")).unwrap();
    symlink("/etc", public.join("etc")).unwrap();
    symlink("../elsewhere", public.join("away")).unwrap();
    symlink("../elsewhere/index.html", public.join("docs/index.html")).unwrap();
    // Links that stay inside are fine.
    symlink("docs/page.txt", public.join("alias.txt")).unwrap();
    symlink("docs", public.join("docs-alias")).unwrap();
    let server = w.serve();

    for path in [
        "/leak.txt",
        "/abs-leak.txt",
        "/up/outside.txt",
        "/etc/passwd",
        "/etc/hostname",
        "/away/",
        "/away/index.html",
        "/docs/",
        "/docs/index.html",
    ] {
        let resp = request(server.addr, "GET", path, &[], b"");
        assert_eq!(resp.status, 404, "{path}: {}", resp.body);
        assert!(!resp.body.contains("do not serve me"), "{path}");
        assert!(!resp.body.contains("root:"), "{path}");
    }
    for path in ["/docs/page.txt", "/alias.txt", "/docs-alias/page.txt"] {
        let resp = request(server.addr, "GET", path, &[], b"");
        assert_eq!((resp.status, resp.body.as_str()), (200, "inside"), "{path}");
    }
}
