//! Serving as the host expects (`docs/contract.md` §3-§6): the log line, READY=1 on
//! NOTIFY_SOCKET, the inherited fd 3, graceful SIGTERM/SIGINT, the dev token, no secret in logs.

mod support;

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixDatagram;
use std::process::Command;

use command_fds::{CommandFdExt, FdMapping};
use nix::sys::signal::Signal;
use support::{PATIENCE, Server, TOKEN, Workdir, connect, read_response, request};

#[test]
fn sends_ready_on_a_path_socket() {
    let w = Workdir::new();
    let path = w.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut cmd = w.command(&["serve"]);
    cmd.env("NOTIFY_SOCKET", &path);
    let server = Server::start(cmd);
    let mut buf = [0u8; 64];
    let n = sock.recv(&mut buf).expect("READY=1 datagram");
    assert_eq!(&buf[..n], b"READY=1");
    // Ready means serving: the health check answers.
    assert_eq!(
        request(server.addr, "GET", "/healthz", &[], b"").status,
        200
    );
}

#[test]
fn sends_ready_on_an_abstract_socket() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("qmlbridge-test-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let sock = UnixDatagram::bind_addr(&addr).unwrap();
    sock.set_read_timeout(Some(PATIENCE)).unwrap();
    let w = Workdir::new();
    let mut cmd = w.command(&["serve"]);
    cmd.env("NOTIFY_SOCKET", format!("@{name}"));
    let _server = Server::start(cmd);
    let mut buf = [0u8; 64];
    let n = sock.recv(&mut buf).expect("READY=1 datagram");
    assert_eq!(&buf[..n], b"READY=1");
}

/// `serve` in `w` with `fd` as its fd 3 and `LISTEN_FDS=1` for it.
fn serve_on_fd_3(w: &Workdir, fd: OwnedFd) -> Command {
    // LISTEN_PID must be the server's own pid: `exec` from a shell keeps the shell's pid.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "LISTEN_PID=$$ LISTEN_FDS=1 exec {} serve",
            support::BIN.display()
        ))
        .current_dir(w.path())
        .env("BRIDGE_TOKEN", TOKEN)
        .env("PORT", "1"); // would fail (privileged) if the server bound instead
    cmd.fd_mappings(vec![FdMapping {
        parent_fd: fd,
        child_fd: 3,
    }])
    .unwrap();
    cmd
}

#[test]
fn serves_on_the_inherited_fd_3_and_binds_nothing() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let w = Workdir::new();
    let cmd = serve_on_fd_3(&w, listener.try_clone().unwrap().into());
    let server = Server::start(cmd);
    assert_eq!(server.addr, addr, "{}", server.log());
    assert!(server.log().contains("inherited fd 3"), "{}", server.log());
    let resp = request(addr, "GET", "/healthz", &[], b"");
    assert_eq!(resp.status, 200, "{}", resp.body);
}

#[test]
fn an_inherited_fd_3_that_is_bound_but_not_listening_exits_1() {
    use std::os::fd::AsFd;
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let fd = sock.as_fd().try_clone_to_owned().unwrap();
    let w = Workdir::new();
    let out = support::run(serve_on_fd_3(&w, fd));
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("fd 3 (LISTEN_FDS) is not a listening TCP socket"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("listening on"), "{}", out.stderr);
}

#[test]
fn a_listening_socket_that_stops_listening_under_the_server_exits_1() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let w = Workdir::new();
    let mut server = Server::start(serve_on_fd_3(&w, listener.try_clone().unwrap().into()));
    // fd 3 is shared: shutting down our copy takes the socket out of the listening state, and
    // every accept(2) on it fails with EINVAL from then on.
    nix::sys::socket::shutdown(listener.as_raw_fd(), nix::sys::socket::Shutdown::Both).unwrap();
    assert_eq!(server.wait().code(), Some(1), "{}", server.log());
    assert!(
        server.log().contains("the listening socket is unusable"),
        "{}",
        server.log()
    );
}

#[test]
fn a_foreign_listen_pid_is_ignored() {
    let w = Workdir::new();
    let mut cmd = w.command(&["serve"]);
    cmd.env("LISTEN_FDS", "1").env("LISTEN_PID", "1");
    let server = Server::start(cmd);
    assert!(!server.log().contains("inherited"), "{}", server.log());
    assert_eq!(
        request(server.addr, "GET", "/healthz", &[], b"").status,
        200
    );
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let w = Workdir::new();
    let mut server = w.serve();
    // `Expect: 100-continue`: the interim 100 proves the handler is reading the body, i.e. the
    // request is in flight; then SIGTERM; then the body.
    let body = br#"{"title":"written during shutdown"}"#;
    let mut stream = connect(server.addr);
    let head = format!(
        "POST /api/items HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\
         Connection: close\r\n\r\n",
        server.addr,
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let interim = read_head(&mut stream);
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    server.signal(Signal::SIGTERM);
    support::eventually(|| server.log().contains("shutting down").then_some(()));
    stream.write_all(body).unwrap();
    let resp = read_response(&mut stream);
    assert_eq!(resp.status, 201, "{}", resp.body);
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "{}", server.log());
    // It stopped accepting: new connections are refused.
    assert!(std::net::TcpStream::connect(server.addr).is_err());
}

#[test]
fn a_request_that_never_finishes_does_not_hold_shutdown_beyond_its_bound() {
    let w = Workdir::new();
    let mut server = w.serve();
    let mut stream = connect(server.addr);
    let head = format!(
        "POST /api/items HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).unwrap();
    assert!(read_head(&mut stream).starts_with("HTTP/1.1 100"));
    // The body never comes. SIGTERM must still end the process (after the 5 s bound), with 0.
    server.signal(Signal::SIGTERM);
    assert_eq!(server.wait().code(), Some(0), "{}", server.log());
    assert!(server.log().contains("stopping anyway"), "{}", server.log());
}

/// Reads one response head (up to the blank line), byte by byte.
fn read_head(stream: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("interim response");
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[test]
fn sigint_exits_0() {
    let w = Workdir::new();
    let mut server = w.serve();
    server.signal(Signal::SIGINT);
    assert_eq!(server.wait().code(), Some(0), "{}", server.log());
}

#[test]
fn dev_token_warns_and_works() {
    let w = Workdir::new();
    let mut cmd = w.command(&["serve"]);
    cmd.env_remove("BRIDGE_TOKEN");
    let server = Server::start(cmd);
    assert!(
        server.log().contains("WARN") && server.log().contains("dev token"),
        "{}",
        server.log()
    );
    let auth = ("Authorization", "Bearer qmlbridge-dev-token");
    let resp = request(server.addr, "GET", "/api/items", &[auth], b"");
    assert_eq!(resp.status, 200, "{}", resp.body);
}

#[test]
fn secrets_never_reach_the_log() {
    let key = "mercure-key-that-must-not-leak-0123456789";
    let w = Workdir::new();
    let mut cmd = w.command(&["serve"]);
    cmd.env("BRIDGE_LOG", "trace")
        .env("MERCURE_PUBLISHER_JWT_KEY", key)
        .env("MERCURE_SUBSCRIBER_JWT_KEY", key);
    let mut server = Server::start(cmd);
    let wrong = ("Authorization", "Bearer wrong-token-also-secret");
    assert_eq!(
        request(server.addr, "GET", "/api/items", &[wrong], b"").status,
        401
    );
    assert_eq!(server.api("GET", "/api/items", None).status, 200);
    server.signal(Signal::SIGTERM);
    server.wait();
    let log = server.log();
    assert!(log.contains("listening on"), "{log}");
    for secret in [TOKEN, key, "wrong-token-also-secret"] {
        assert!(!log.contains(secret), "{secret} leaked: {log}");
    }
}
