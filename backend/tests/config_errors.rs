//! Caddyfiles a careless or hostile hand wrote, against the real binary: every one is
//! `FILE:LINE: message` and exit 78 (`docs/contract.md` §5, §10), never exit 1 (which the host
//! retries as a crash), a panic, or a server that starts with a setting it cannot honour; and no
//! message shows what a placeholder expanded to.

mod support;

use support::{Output, Workdir, run};

/// Environment variables a case sets.
type Env<'a> = &'a [(&'a str, &'a str)];

/// A key that must never appear in any output.
const SECRET: &str = "mercure-key-that-must-not-leak-0123456789";

/// Runs `serve` on `caddyfile` with `env` set and the secret in both Mercure key variables.
fn serve(caddyfile: &str, env: &[(&str, &str)]) -> Output {
    let w = Workdir::with_caddyfile(caddyfile);
    let mut cmd = w.command(&["serve"]);
    cmd.env("MERCURE_PUBLISHER_JWT_KEY", SECRET)
        .env("MERCURE_SUBSCRIBER_JWT_KEY", SECRET);
    cmd.envs(env.iter().copied());
    run(cmd)
}

/// `serve` must exit 78 with `want` on stderr.
fn assert_config_error(caddyfile: &str, env: &[(&str, &str)], want: &str) {
    let out = serve(caddyfile, env);
    assert_eq!(out.code(), Some(78), "{caddyfile:?}: {}", out.stderr);
    assert!(out.stderr.contains(want), "want {want:?} in {}", out.stderr);
    assert!(
        !out.stderr.contains(SECRET),
        "the key leaked: {}",
        out.stderr
    );
}

#[test]
fn errors_quote_placeholders_as_written_never_their_value() {
    let cases = [
        // A missing space: the whole word is an unknown option.
        (
            "127.0.0.1:0 {\n\tmercure {\n\t\tpublisher_jwt{$MERCURE_PUBLISHER_JWT_KEY}\n\t}\n}\n",
            "Caddyfile:3: unknown mercure option \"publisher_jwt{$MERCURE_PUBLISHER_JWT_KEY}\"",
        ),
        // Key and algorithm swapped: the key is taken for the algorithm.
        (
            "127.0.0.1:0 {\n\tmercure {\n\t\tsubscriber_jwt HS256 {$MERCURE_SUBSCRIBER_JWT_KEY}\n\t}\n}\n",
            "Caddyfile:3: mercure subscriber_jwt: unsupported JWT algorithm \"{$MERCURE_SUBSCRIBER_JWT_KEY}\"",
        ),
        // A line pasted one level too high: the key is a directive name.
        (
            "127.0.0.1:0 {\n\t{$MERCURE_PUBLISHER_JWT_KEY} HS256\n}\n",
            "Caddyfile:2: unknown directive \"{$MERCURE_PUBLISHER_JWT_KEY}\"",
        ),
        (
            "127.0.0.1:0 {\n\tencode {$MERCURE_PUBLISHER_JWT_KEY}\n}\n",
            "Caddyfile:2: encode: unsupported encoding \"{$MERCURE_PUBLISHER_JWT_KEY}\"",
        ),
        (
            "{\n\t{env.MERCURE_PUBLISHER_JWT_KEY}\n}\n127.0.0.1:0 {\n}\n",
            "Caddyfile:2: unknown global option \"{env.MERCURE_PUBLISHER_JWT_KEY}\"",
        ),
    ];
    for (caddyfile, want) in cases {
        assert_config_error(caddyfile, &[], want);
    }
}

#[test]
fn deeply_nested_blocks_are_an_error_not_a_stack_overflow() {
    let depth = 10_000;
    let mut caddyfile = String::from("127.0.0.1:0 {\n");
    caddyfile.push_str(&"a {\n".repeat(depth));
    caddyfile.push_str(&"}\n".repeat(depth + 1));
    // The site block is level 1: the block opened on line 65 is the 65th.
    assert_config_error(
        &caddyfile,
        &[],
        "Caddyfile:65: blocks nested deeper than 64",
    );
}

#[test]
fn an_unsupported_jwt_algorithm_names_its_line() {
    assert_config_error(
        "127.0.0.1:0 {\n\tmercure {\n\t\tanonymous\n\t\tpublisher_jwt k RS256\n\t}\n}\n",
        &[],
        "Caddyfile:4: mercure publisher_jwt: unsupported JWT algorithm \"RS256\" (HS256, HS384 or HS512)",
    );
}

#[test]
fn values_that_cannot_be_http_header_values_are_errors() {
    let cases: [(&str, Env, &str); 5] = [
        (
            "127.0.0.1:0 {\n\theader X-A \"a\u{1}b\"\n}\n",
            &[],
            "Caddyfile:2: header \"X-A\": the value contains a control character",
        ),
        // A response-splitting value from the environment; the value is not echoed.
        (
            "127.0.0.1:0 {\n\theader {\n\t\tX-A ok\n\t\t+X-B {$VALUE}\n\t}\n}\n",
            &[("VALUE", "a\r\nSet-Cookie: x=1")],
            "Caddyfile:4: header \"+X-B\": the value contains a control character",
        ),
        (
            "127.0.0.1:0 {\n\theader \"-X A\"\n}\n",
            &[],
            "Caddyfile:2: header: invalid header name \"-X A\"",
        ),
        (
            "127.0.0.1:0 {\n\tmercure {\n\t\tcors_origins http://a \"http://b\u{7f}\"\n\t}\n}\n",
            &[],
            "Caddyfile:3: mercure cors_origins: origin \"http://b\\u{7f}\" contains a control character",
        ),
        (
            "127.0.0.1:0 {\n\tmercure {\n\t\tpublish_origins {$ORIGIN}\n\t}\n}\n",
            &[("ORIGIN", "http://a\n")],
            "Caddyfile:3: mercure publish_origins: origin \"{$ORIGIN}\" contains a control character",
        ),
    ];
    for (caddyfile, env, want) in cases {
        assert_config_error(caddyfile, env, want);
    }
}

#[test]
fn a_host_that_is_no_host_name_is_a_configuration_error() {
    for host in ["bad host", "a\u{1}b", "-x-", "a..b"] {
        assert_config_error(
            "{$SERVER_NAME:127.0.0.1}:{$PORT:0} {\n}\n",
            &[("SERVER_NAME", host)],
            "Caddyfile:1: site address \"{$SERVER_NAME:127.0.0.1}:{$PORT:0}\": invalid host",
        );
    }
}

#[test]
fn a_root_with_nul_is_a_configuration_error() {
    assert_config_error(
        "127.0.0.1:0 {\n\troot \"pub\0lic\"\n\tfile_server\n}\n",
        &[],
        "Caddyfile:2: root: the directory name contains NUL",
    );
}

#[test]
fn a_file_that_is_not_utf8_names_the_line_of_the_first_bad_byte() {
    let w = Workdir::new();
    let mut bytes = b"127.0.0.1:0 {\n\t# caf".to_vec();
    bytes.extend_from_slice(&[0xe9, b'\n', b'}', b'\n']);
    std::fs::write(w.path().join("Caddyfile"), bytes).unwrap();
    let out = run(w.command(&["serve"]));
    assert_eq!(out.code(), Some(78), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Caddyfile:2: invalid UTF-8 (the file must be UTF-8 text)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_leading_byte_order_mark_is_accepted() {
    let w = Workdir::with_caddyfile(&format!("\u{feff}{}", support::CADDYFILE));
    let server = w.serve();
    let resp = support::request(server.addr, "GET", "/healthz", &[], b"");
    assert_eq!(resp.status, 200, "{}", server.log());
}
