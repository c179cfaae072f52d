//! What a hostile or careless client can do to connections (`docs/contract.md` §5, §7): heads
//! that never end, idle keep-alive connections, a flood of connections past the descriptor
//! limit, SIGTERM while such connections are open, and request heads that disagree about their
//! host. Every byte goes over a real socket.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};

use nix::sys::signal::Signal;
use support::{CADDYFILE, Server, TOKEN, Workdir, connect, request};

/// [`CADDYFILE`] with short connection timeouts (Caddy's global `servers` option) and a fast
/// Mercure heartbeat.
fn short_timeouts() -> String {
    let global =
        "{\n\tservers {\n\t\ttimeouts {\n\t\t\tread_header 1s\n\t\t\tidle 1s\n\t\t}\n\t}\n}\n";
    let site = CADDYFILE.replace("\t\tanonymous\n", "\t\tanonymous\n\t\theartbeat 1s\n");
    format!("{global}{site}")
}

/// Whether the server closed `stream` (end of stream or reset) before [`support::PATIENCE`].
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(e) => panic!("reading: {e}"),
        }
    }
}

/// A connection that sent part of a request head and nothing more.
fn half_open(addr: SocketAddr) -> TcpStream {
    let mut stream = connect(addr);
    stream
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n").as_bytes())
        .unwrap();
    stream
}

/// Reads one `Content-Length` response off a keep-alive connection; returns its status.
fn read_one(stream: &mut TcpStream) -> u16 {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("response head");
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .expect("content-length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    head.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_head_that_never_ends_is_closed_after_read_header() {
    let w = Workdir::with_caddyfile(&short_timeouts());
    let server = w.serve();
    let mut partial = half_open(server.addr);
    let mut silent = connect(server.addr);
    assert!(closed_by_server(&mut partial), "{}", server.log());
    assert!(closed_by_server(&mut silent), "{}", server.log());
    // The server itself is fine.
    assert_eq!(
        request(server.addr, "GET", "/healthz", &[], b"").status,
        200
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed_but_an_sse_stream_is_not() {
    let w = Workdir::with_caddyfile(&short_timeouts());
    let server = w.serve();
    let mut sse = connect(server.addr);
    let subscribe = format!(
        "GET /.well-known/mercure?topic=%2Fapi%2Fitems HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    );
    sse.write_all(subscribe.as_bytes()).unwrap();
    let mut keep_alive = connect(server.addr);
    let get = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    keep_alive.write_all(get.as_bytes()).unwrap();
    assert_eq!(read_one(&mut keep_alive), 200);
    assert!(closed_by_server(&mut keep_alive), "{}", server.log());

    // The stream outlived the idle bound, and its heartbeats (`:` comments) still come.
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    let heartbeats = |seen: &[u8]| seen.windows(3).filter(|w| w == b"\n:\n").count();
    let before = {
        let n = sse.read(&mut buf).expect("the stream is open");
        seen.extend_from_slice(&buf[..n]);
        heartbeats(&seen)
    };
    while heartbeats(&seen) < before + 2 {
        let n = sse.read(&mut buf).expect("heartbeats keep coming");
        assert!(
            n > 0,
            "the stream was closed: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn sigterm_does_not_wait_for_connections_without_a_request_in_flight() {
    // The default timeouts (10 s, 60 s) are longer than the 5 s grace period; a head begun is
    // given 1 s to complete.
    let w = Workdir::new();
    let mut server = w.serve();
    let mut partial = half_open(server.addr);
    let mut keep_alive = connect(server.addr);
    let get = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    keep_alive.write_all(get.as_bytes()).unwrap();
    assert_eq!(read_one(&mut keep_alive), 200);

    server.signal(Signal::SIGTERM);
    assert_eq!(server.wait().code(), Some(0), "{}", server.log());
    // It did not sit out the grace period for them.
    assert!(
        !server.log().contains("stopping anyway"),
        "{}",
        server.log()
    );
    assert!(closed_by_server(&mut partial));
    assert!(closed_by_server(&mut keep_alive));
}

/// A client that connected before SIGTERM gets its answer even when its request is written
/// after it: closing a connection with its request unread would make the kernel reset it.
#[test]
fn sigterm_answers_the_requests_already_on_their_way() {
    let w = Workdir::new();
    let mut server = w.serve();
    let mut fresh = connect(server.addr);
    let mut partial = half_open(server.addr);
    let mut keep_alive = connect(server.addr);
    let get = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    keep_alive.write_all(get.as_bytes()).unwrap();
    assert_eq!(read_one(&mut keep_alive), 200);
    // Connections are accepted in order: this one answered, so the two before it are accepted.
    assert_eq!(
        request(server.addr, "GET", "/healthz", &[], b"").status,
        200
    );

    server.signal(Signal::SIGTERM);
    // The stop has begun once the listener is gone; then give the connections' tasks time to
    // see it before the requests arrive (well within the 1 s a waiting connection is given).
    support::eventually(|| TcpStream::connect(server.addr).is_err().then_some(()));
    std::thread::sleep(std::time::Duration::from_millis(25));
    fresh.write_all(get.as_bytes()).unwrap();
    partial.write_all(b"\r\n").unwrap();
    for (name, stream) in [("fresh", &mut fresh), ("partial head", &mut partial)] {
        let resp = support::read_response(stream);
        assert_eq!(resp.status, 200, "{name}: {}", server.log());
        let close = resp
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("connection") && v == "close");
        assert!(close, "{name}: keep-alive is off: {:?}", resp.headers);
    }
    assert!(closed_by_server(&mut keep_alive));
    assert_eq!(server.wait().code(), Some(0), "{}", server.log());
}

#[test]
fn healthz_answers_through_a_flood_of_idle_connections() {
    use std::os::unix::process::CommandExt;
    // A small descriptor limit keeps the flood small: 256, soft and hard (nothing to raise to).
    const NOFILE: u64 = 256;
    let w = Workdir::new();
    let mut cmd = w.command(&["serve"]);
    // SAFETY: setrlimit is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            use nix::sys::resource::{Resource, setrlimit};
            setrlimit(Resource::RLIMIT_NOFILE, NOFILE, NOFILE).map_err(std::io::Error::from)
        });
    }
    let mut server = Server::start(cmd);

    // More connections than descriptors: idle ones, and some with half a head.
    let flood: Vec<TcpStream> = (0..NOFILE + 50)
        .map(|i| {
            if i % 4 == 0 {
                half_open(server.addr)
            } else {
                connect(server.addr)
            }
        })
        .collect();
    // The host's probe still gets through: the oldest waiting connections made room.
    let health = request(server.addr, "GET", "/healthz", &[], b"");
    assert_eq!(health.status, 200, "{}", server.log());
    let auth = format!("Bearer {TOKEN}");
    let list = request(
        server.addr,
        "GET",
        "/api/items",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(list.status, 200, "{}", server.log());
    let mut first = flood.into_iter().next().unwrap();
    assert!(closed_by_server(&mut first), "{}", server.log());

    server.signal(Signal::SIGTERM);
    assert_eq!(server.wait().code(), Some(0), "{}", server.log());
    assert!(
        !server.log().contains("stopping anyway"),
        "{}",
        server.log()
    );
}

/// RFC 9112 §3.2: one valid `Host`; §3.2.2: an absolute-form target's authority replaces it.
#[test]
fn the_target_host_must_be_ours_and_unambiguous() {
    let w = Workdir::new();
    let server = w.serve();
    let ours = server.addr.to_string();
    let two = [("Host", ours.as_str()), ("Host", "evil.example")];
    let resp = request(server.addr, "GET", "/healthz", &two, b"");
    assert_eq!(resp.status, 400, "two Host headers: {}", resp.body);
    let resp = request(
        server.addr,
        "GET",
        "/healthz",
        &[("Host", &format!("user@{ours}"))],
        b"",
    );
    assert_eq!(resp.status, 400, "invalid Host: {}", resp.body);

    let auth = format!("Bearer {TOKEN}");
    let evil_target = request(
        server.addr,
        "GET",
        "http://evil.example/api/items",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(evil_target.status, 421, "{}", evil_target.body);
    assert_eq!(
        evil_target.header("content-type"),
        Some("application/problem+json")
    );
    let our_target = request(
        server.addr,
        "GET",
        &format!("http://{ours}/api/items"),
        &[("Authorization", &auth), ("Host", "evil.example")],
        b"",
    );
    assert_eq!(
        our_target.status, 200,
        "the target wins: {}",
        our_target.body
    );
}
