//! The Caddyfile end to end: the committed file (defaults and env), placeholders, the directives
//! we honour, warnings, and errors with line numbers.

use std::time::Duration;

use super::*;
use crate::config::mercure::MercureConfig;

fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    Config::parse(&SourceFile::new("Caddyfile", text), &lookup)
}

fn err(text: &str) -> String {
    let e = parse(text, &[]).unwrap_err();
    assert_eq!(e.exit_code(), 78, "{e}");
    e.to_string()
}

const COMMITTED: &str = include_str!("../../../Caddyfile");
const DEV_KEY: &str = "!ChangeThisMercureHubJWTSecretKey!";

#[test]
fn the_committed_caddyfile_has_the_documented_dev_defaults() {
    let c = parse(COMMITTED, &[]).unwrap();
    assert_eq!(
        c.address,
        SiteAddress {
            host: "127.0.0.1".into(),
            port: 8765
        }
    );
    let m = c.mercure.as_ref().unwrap();
    let publisher = m.publisher_jwt.as_ref().unwrap();
    assert_eq!(
        (publisher.key.expose(), publisher.alg.as_str()),
        (DEV_KEY, "HS256")
    );
    assert_eq!(m.subscriber_jwt.as_ref().unwrap().key.expose(), DEV_KEY);
    assert_eq!(
        m.cors_origins,
        ["http://localhost:8765", "http://127.0.0.1:8765"]
    );
    assert_eq!(m.heartbeat, Duration::from_secs(15));
    assert!(!m.anonymous);
    assert_eq!(c.root.as_deref(), Some(std::path::Path::new("public")));
    assert!(c.file_server && c.access_log);
    assert_eq!(c.encode, [Encoding::Zstd, Encoding::Gzip]);
    assert!(c.headers.contains(&HeaderOp::Set(
        "X-Content-Type-Options".into(),
        "nosniff".into()
    )));
    assert_eq!(c.max_body, 1_000_000);
    assert_eq!(c.warning, None, "the committed file needs no warning");
    assert!(
        !format!("{c:?}").contains(DEV_KEY),
        "keys are redacted in Debug"
    );
}

#[test]
fn the_committed_caddyfile_takes_the_environment() {
    let env = [
        ("PORT", "9100"),
        ("SERVER_NAME", "[::1]"),
        ("MERCURE_PUBLISHER_JWT_KEY", "pub-key"),
        ("MERCURE_SUBSCRIBER_JWT_KEY", "sub-key"),
    ];
    let c = parse(COMMITTED, &env).unwrap();
    assert_eq!(
        c.address,
        SiteAddress {
            host: "::1".into(),
            port: 9100
        }
    );
    let m = c.mercure.unwrap();
    assert_eq!(m.publisher_jwt.unwrap().key.expose(), "pub-key");
    assert_eq!(m.subscriber_jwt.unwrap().key.expose(), "sub-key");
    assert_eq!(
        m.cors_origins,
        ["http://localhost:9100", "http://127.0.0.1:9100"]
    );
}

#[test]
fn env_placeholders_and_defaults() {
    let text = "{$HOST:localhost}:{env.PORT} {\n\tmercure {\n\t\tpublisher_jwt \"{$KEY:a b}\"\n\t\theartbeat {$HB:5s}\n\t}\n}\n";
    let c = parse(text, &[("PORT", "1234")]).unwrap();
    assert_eq!(
        c.address,
        SiteAddress {
            host: "localhost".into(),
            port: 1234
        }
    );
    let m = c.mercure.unwrap();
    assert_eq!(m.publisher_jwt.unwrap().key.expose(), "a b");
    assert_eq!(m.heartbeat, Duration::from_secs(5));
    let c = parse(text, &[("PORT", "1"), ("HOST", "127.0.0.2"), ("HB", "1m")]).unwrap();
    assert_eq!(c.address.host, "127.0.0.2");
    assert_eq!(c.mercure.unwrap().heartbeat, Duration::from_secs(60));
}

#[test]
fn a_minimal_file_works() {
    let c = parse(
        "127.0.0.1:8765 {\n\tmercure {\n\t\tanonymous\n\t}\n}\n",
        &[],
    )
    .unwrap();
    let m = c.mercure.unwrap();
    assert!(m.anonymous);
    assert_eq!(
        MercureConfig {
            anonymous: false,
            ..m
        },
        MercureConfig::default()
    );
    assert!(!c.file_server && c.encode.is_empty() && c.headers.is_empty() && !c.access_log);
    assert_eq!(c.max_body, site::DEFAULT_MAX_BODY);
    let bare = parse(":8080\nmercure {\n}\n", &[]).unwrap();
    assert_eq!(
        bare.address,
        SiteAddress {
            host: "127.0.0.1".into(),
            port: 8080
        }
    );
}

#[test]
fn mercure_options() {
    let text = "x:1 {\n mercure {\n  publisher_jwt k1 HS512\n  subscriber_jwt k2\n  subscriptions\n  cors_origins *\n  publish_origins http://a http://b\n  write_timeout 0s\n  dispatch_timeout 250ms\n  history_size 7\n  subscriber_queue 9\n  ui\n }\n}\n";
    let c = parse(text, &[]).unwrap();
    let m = c.mercure.unwrap();
    assert_eq!(m.publisher_jwt.unwrap().alg, "HS512");
    assert_eq!(m.subscriber_jwt.unwrap().alg, "HS256");
    assert!(m.subscriptions);
    assert_eq!(m.cors_origins, ["*"]);
    assert_eq!(m.publish_origins, ["http://a", "http://b"]);
    assert_eq!(m.write_timeout, None);
    assert_eq!((m.history_size, m.subscriber_queue), (7, 9));
    let warning = c.warning.unwrap();
    assert!(warning.contains("mercure ui (line 12)"), "{warning}");
    // The hub never waits to dispatch: Mercure.rocks' timeout for that is accepted and ignored.
    assert!(
        warning.contains("mercure dispatch_timeout (line 9)"),
        "{warning}"
    );
}

#[test]
fn frankenphp_directives_give_one_warning_naming_them() {
    let text = "{\n\tfrankenphp\n\torder php_server before file_server\n}\nx:1 {\n\tphp_server\n\tvulcain\n\tencode gzip\n}\n";
    let c = parse(text, &[]).unwrap();
    let w = c.warning.unwrap();
    for name in [
        "global frankenphp (line 2)",
        "global order (line 3)",
        "php_server (line 6)",
        "vulcain (line 7)",
    ] {
        assert!(w.contains(name), "{name} in {w}");
    }
    assert!(!w.contains('\n'), "one line: {w}");
    assert_eq!(c.encode, [Encoding::Gzip]);
}

#[test]
fn headers_and_body_limit() {
    let text = "x:1 {\n header X-A 1\n header -Server\n header {\n  +Link \"<a>; rel=x\"\n  X-B two words\n }\n request_body {\n  max_size 2MiB\n }\n}\n";
    let c = parse(text, &[]).unwrap();
    assert_eq!(
        c.headers,
        [
            HeaderOp::Set("X-A".into(), "1".into()),
            HeaderOp::Remove("Server".into()),
            HeaderOp::Add("Link".into(), "<a>; rel=x".into()),
            HeaderOp::Set("X-B".into(), "two words".into()),
        ]
    );
    assert_eq!(c.max_body, 2 << 20);
}

#[test]
fn errors_name_file_and_line() {
    let cases = [
        (
            "x:1 {\n\tlog\n\n\treverse_proxy localhost:9\n}\n",
            "Caddyfile:4: unknown directive \"reverse_proxy\"",
        ),
        (
            "{\n\tbogus_option\n}\nx:1 {\n}\n",
            "Caddyfile:2: unknown global option \"bogus_option\"",
        ),
        (
            "x:1 {\n mercure {\n  heartbeat soon\n }\n}\n",
            "Caddyfile:3: mercure heartbeat: expected one duration such as 15s",
        ),
        (
            "x:1 {\n mercure {\n  publisher_jwt {$UNSET} HS256\n }\n}\n",
            "Caddyfile:3: mercure publisher_jwt: expected KEY [HS256|HS384|HS512] with a non-empty KEY",
        ),
        (
            "x:1 {\n mercure {\n  transport bolt\n  frobnicate\n }\n}\n",
            "Caddyfile:4: unknown mercure option \"frobnicate\"",
        ),
        (
            "x:1 {\n mercure {\n  history_size 2000\n }\n}\n",
            "Caddyfile:2: mercure: history_size 2000 is larger than subscriber_queue 1000: a \
             subscriber reconnecting from the oldest update would get a replay its queue cannot \
             hold, and its stream would end at once each time; keep history_size at most \
             subscriber_queue",
        ),
        (
            "x:1 {\n request_body {\n  max_size lots\n }\n}\n",
            "Caddyfile:3: max_size: invalid size \"lots\"",
        ),
        (
            "x:1 {\n encode br\n}\n",
            "Caddyfile:2: encode: unsupported encoding \"br\" (gzip, zstd)",
        ),
        (
            "x:1 {\n}\ny:2 {\n}\n",
            "Caddyfile:3: only one site block is supported",
        ),
        (
            "https://x:1 {\n}\n",
            "Caddyfile:1: site address \"https://x:1\": scheme https is not supported (http)",
        ),
        (
            "localhost {\n}\n",
            "Caddyfile:1: site address \"localhost\": needs a port",
        ),
        (
            "x:99999 {\n}\n",
            "Caddyfile:1: site address \"x:99999\": invalid port",
        ),
        (
            "",
            "Caddyfile:1: no site block: expected an address such as 127.0.0.1:8765",
        ),
        (
            "x:1 {\n header /api/* X-A 1\n}\n",
            "Caddyfile:2: header: expected NAME VALUE, +NAME VALUE or -NAME (matchers are not supported)",
        ),
        (
            "x:1 {\n mercure {\n }\n mercure {\n }\n}\n",
            "Caddyfile:4: mercure is given twice",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), want, "{text:?}");
    }
}

#[test]
fn messages_quote_what_is_written_never_the_expansion() {
    let env = [("K", "s3cret"), ("D", "php_server"), ("O", "ui")];
    let text = "x:1 {\n {$D}\n mercure {\n  {$O}\n }\n}\n";
    let w = parse(text, &env).unwrap().warning.unwrap();
    assert!(
        w.contains("{$D} (line 2)") && w.contains("mercure {$O} (line 4)"),
        "{w}"
    );
    assert!(!w.contains("php_server") && !w.contains(" ui "), "{w}");
    let cases = [
        (
            "x:1 {\n a{$K}\n}\n",
            "Caddyfile:2: unknown directive \"a{$K}\"",
        ),
        (
            "x:1 {\n request_body {\n  max_size {$K}\n }\n}\n",
            "Caddyfile:3: max_size: invalid size \"{$K}\"",
        ),
        (
            "x:1 {\n request_body {\n  {$K}\n }\n}\n",
            "Caddyfile:3: request_body: unknown option \"{$K}\"",
        ),
        (
            "x:1 {\n encode {\n  {$K}\n }\n}\n",
            "Caddyfile:3: encode: unsupported encoding \"{$K}\" (gzip, zstd)",
        ),
        (
            "x:1 {\n file_server {$K}\n}\n",
            "Caddyfile:2: file_server takes no options here",
        ),
        (
            "{$K}://x:1 {\n}\n",
            "Caddyfile:1: site address \"{$K}://x:1\": the scheme is not supported (http)",
        ),
        (
            "x:1 {\n a { {$K}\n }\n}\n",
            "Caddyfile:2: unexpected \"{$K}\" after \"{\" on the same line",
        ),
        (
            "x:1 {\n mercure {\n  publisher_jwt k {$K}\n }\n}\n",
            "Caddyfile:3: mercure publisher_jwt: unsupported JWT algorithm \"{$K}\" (HS256, HS384 or HS512)",
        ),
    ];
    for (text, want) in cases {
        let e = parse(text, &env).unwrap_err();
        assert_eq!(
            (e.exit_code(), e.to_string().as_str()),
            (78, want),
            "{text:?}"
        );
    }
}

#[test]
fn values_that_cannot_work_name_their_line() {
    let cases = [
        (
            "x:1 {\n header X-A \"a\tb\" \n header X-B \"a\u{0}b\"\n}\n",
            "Caddyfile:3: header \"X-B\": the value contains a control character",
        ),
        (
            "x:1 {\n header \"-X\u{1}\"\n}\n",
            "Caddyfile:2: header: invalid header name \"-X\\u{1}\"",
        ),
        (
            "x:1 {\n header \"X\u{1}\" v\n}\n",
            "Caddyfile:2: header: expected NAME VALUE, +NAME VALUE or -NAME (matchers are not supported)",
        ),
        (
            "x:1 {\n mercure {\n  cors_origins \"a\u{1b}[31m\"\n }\n}\n",
            "Caddyfile:3: mercure cors_origins: origin \"a\\u{1b}[31m\" contains a control character",
        ),
        (
            "x:1 {\n mercure {\n  subscriber_jwt k hs256\n }\n}\n",
            "Caddyfile:3: mercure subscriber_jwt: unsupported JWT algorithm \"hs256\" (HS256, HS384 or HS512)",
        ),
        (
            "x:1 {\n root \"a\u{0}\"\n}\n",
            "Caddyfile:2: root: the directory name contains NUL",
        ),
        (
            "a_b.-c:1 {\n}\n",
            "Caddyfile:1: site address \"a_b.-c:1\": invalid host (an IP address or a host name)",
        ),
        (
            "\u{1b}[2J {\n}\n",
            "Caddyfile:1: site address \"\\u{1b}[2J\": needs a port",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), want, "{text:?}");
    }
    for host in [
        "[::1]:1",
        "127.0.0.1:1",
        "localhost:1",
        "my_host.local.:1",
        ":1",
    ] {
        assert!(parse(&format!("{host} {{\n}}\n"), &[]).is_ok(), "{host}");
    }
    let c = parse("x:1 {\n header X-A \"tab\there\"\n}\n", &[]).unwrap();
    assert_eq!(c.headers, [HeaderOp::Set("X-A".into(), "tab\there".into())]);
}

#[test]
fn locate_prefers_flag_then_env_then_cwd_then_the_default() {
    use crate::config::Source;
    let env = |name: &str| (name == "BRIDGE_CADDYFILE").then(|| "/etc/qb/Caddyfile".to_string());
    let flag = std::path::Path::new("mine");
    assert_eq!(locate(Some(flag), &env), Source::File("mine".into()));
    assert_eq!(locate(None, &env), Source::File("/etc/qb/Caddyfile".into()));
    // The unit tests run in the crate's directory, which has no Caddyfile of its own.
    assert!(!std::path::Path::new("Caddyfile").exists());
    assert_eq!(locate(None, &|_| None), Source::BuiltIn);
    // The built-in default is the framework's Caddyfile, and it parses with no environment.
    let config = Config::load_source(&Source::BuiltIn, &|_| None).unwrap();
    assert_eq!(config.address.port, 8765);
    assert!(config.mercure.is_some());
}
