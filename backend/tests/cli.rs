//! The binary's surface without serving: `--help`, `--version`, usage and configuration errors,
//! and their exit codes (`docs/contract.md` §5).

mod support;

use support::{Workdir, run};

#[test]
fn help_and_version_exit_0() {
    let w = Workdir::new();
    let out = w.command(&["--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("serve") && help.contains("migrate"), "{help}");
    assert!(
        help.contains("78"),
        "exit codes documented in --help: {help}"
    );
    let out = w.command(&["--version"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    // The app's name and version (the fixture's `Backend::new("fixture", "1.2.3")`).
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "fixture-backend 1.2.3"
    );
}

#[test]
fn bad_arguments_exit_2() {
    let w = Workdir::new();
    for args in [&["serve", "--bogus"][..], &["frobnicate"], &[]] {
        let out = run(w.command(args));
        assert_eq!(out.code(), Some(2), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn unknown_directive_exits_78_naming_the_line() {
    let w = Workdir::with_caddyfile(
        "127.0.0.1:0 {\n\tmercure {\n\t\tanonymous\n\t}\n\n\tfrobnicate on\n}\n",
    );
    let out = run(w.command(&["serve"]));
    assert_eq!(out.code(), Some(78), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Caddyfile:6: unknown directive \"frobnicate\""),
        "{}",
        out.stderr
    );
}

#[test]
fn missing_caddyfile_exits_78() {
    let w = Workdir::new();
    let out = run(w.command(&["serve", "--config", "nope/Caddyfile"]));
    assert_eq!(out.code(), Some(78), "{}", out.stderr);
    assert!(out.stderr.contains("nope/Caddyfile"), "{}", out.stderr);
}

#[test]
fn bridge_caddyfile_is_used_without_config_flag() {
    let w = Workdir::new();
    std::fs::write(
        w.path().join("broken"),
        "127.0.0.1:0 {\n\tphp_server\n\toops\n}\n",
    )
    .unwrap();
    let mut cmd = w.command(&["serve"]);
    cmd.env("BRIDGE_CADDYFILE", w.path().join("broken"));
    let out = run(cmd);
    assert_eq!(out.code(), Some(78), "{}", out.stderr);
    assert!(
        out.stderr.contains("broken:3: unknown directive \"oops\""),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_database_url_exits_78() {
    let w = Workdir::new();
    for cmd in ["migrate", "serve"] {
        let mut c = w.command(&[cmd]);
        c.env("DATABASE_URL", "postgres://localhost/fixture");
        let out = run(c);
        assert_eq!(out.code(), Some(78), "{cmd}: {}", out.stderr);
        assert!(out.stderr.contains("DATABASE_URL"), "{}", out.stderr);
    }
}

#[test]
fn prod_without_token_exits_78() {
    let w = Workdir::new();
    let mut cmd = w.command(&["serve"]);
    cmd.env_remove("BRIDGE_TOKEN").env("BRIDGE_ENV", "prod");
    let out = run(cmd);
    assert_eq!(out.code(), Some(78), "{}", out.stderr);
    assert!(out.stderr.contains("BRIDGE_TOKEN"), "{}", out.stderr);
    assert!(
        !w.db_path().exists(),
        "nothing opened before the config was valid"
    );
}

#[test]
fn unsupported_jwt_algorithm_exits_78() {
    let w =
        Workdir::with_caddyfile("127.0.0.1:0 {\n\tmercure {\n\t\tpublisher_jwt k RS256\n\t}\n}\n");
    let out = run(w.command(&["serve"]));
    assert_eq!(out.code(), Some(78), "{}", out.stderr);
}

#[test]
fn port_in_use_exits_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let w = Workdir::new();
    let mut cmd = w.command(&["serve"]);
    cmd.env("PORT", &port);
    let out = run(cmd);
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(out.stderr.contains(&port), "{}", out.stderr);
}

#[test]
fn without_any_caddyfile_serve_uses_the_framework_default() {
    let w = Workdir::new();
    std::fs::remove_file(w.path().join("Caddyfile")).unwrap();
    let mut cmd = w.command(&["serve"]);
    cmd.env("PORT", "0");
    let server = support::Server::start(cmd);
    assert!(
        server
            .log()
            .contains("using the framework's default configuration"),
        "{}",
        server.log()
    );
    assert_eq!(server.api("GET", "/api/items", None).status, 200);
    // The default mounts the hub.
    let hub = support::request(server.addr, "GET", "/.well-known/mercure", &[], b"");
    assert_ne!(hub.status, 404, "{}", hub.body);
}
