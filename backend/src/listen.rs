//! The listening socket and the readiness datagram (`docs/contract.md` §3, §4).
//!
//! Socket activation: with `LISTEN_FDS` ≥ 1 and `LISTEN_PID` = our pid, fd 3 is an already
//! listening TCP socket owned by the host, and we bind nothing else. `listenfd` checks that fd 3
//! is a TCP socket (`SO_TYPE`, address family); we insist on `LISTEN_PID` ourselves because
//! `listenfd` also accepts it unset, and on `SO_ACCEPTCONN` because a socket that is bound but
//! not listening would be announced and then fail every accept (§3: exit 1 instead).

use std::io;
use std::net::{TcpListener, ToSocketAddrs};
use std::os::unix::net::UnixDatagram;

use listenfd::ListenFd;
use nix::errno::Errno;
use nix::sys::socket::{getsockopt, sockopt};

use crate::config::SiteAddress;
use crate::error::{Error, Result};

/// Where the listener came from (for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// fd 3, passed by the parent.
    Inherited,
    /// Bound by us to the Caddyfile address.
    Bound,
}

/// The inherited fd 3 when the environment passes it to us, else a socket bound to `address`.
pub(crate) fn acquire(address: &SiteAddress) -> Result<(TcpListener, Origin)> {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok());
    if ours && count.is_some_and(|n| n >= 1) {
        let listener = ListenFd::from_env()
            .take_tcp_listener(0)
            .map_err(|source| Error::Listen {
                context: "fd 3 (LISTEN_FDS) is not a listening TCP socket".into(),
                source,
            })?
            .ok_or_else(|| Error::Listen {
                context: "LISTEN_FDS".into(),
                source: io::Error::other("no fd 3 was passed"),
            })?;
        let not_listening = |source| Error::Listen {
            context: "fd 3 (LISTEN_FDS) is not a listening TCP socket".into(),
            source,
        };
        match getsockopt(&listener, sockopt::AcceptConn) {
            Ok(true) => {}
            Ok(false) => {
                let why = "it is bound but listen(2) was never called on it";
                return Err(not_listening(io::Error::other(why)));
            }
            Err(errno) => return Err(not_listening(errno.into())),
        }
        return Ok((listener, Origin::Inherited));
    }
    bind(address).map(|l| (l, Origin::Bound))
}

fn bind(address: &SiteAddress) -> Result<TcpListener> {
    let host = match address.host.as_str() {
        // `localhost` may resolve to several addresses; loopback v4 is the documented default.
        "localhost" => "127.0.0.1",
        other => other,
    };
    let context = || format!("binding {}:{}", address.host, address.port);
    let addrs: Vec<_> = (host, address.port)
        .to_socket_addrs()
        .map_err(|source| Error::Listen {
            context: context(),
            source,
        })?
        .collect();
    TcpListener::bind(addrs.as_slice()).map_err(|source| Error::Listen {
        context: context(),
        source,
    })
}

/// When an `accept(2)` error means the listening socket itself is unusable, so that every later
/// accept fails the same way, the error to stop with (§3: a runtime failure, exit 1). `EBADF`,
/// `ENOTSOCK`: the fd is gone or is no socket; `EINVAL`: the socket no longer listens (e.g. the
/// owner of a shared fd 3 shut it down). Everything else is transient: a connection that failed
/// before it was accepted (accept(2) lists those network errors as "treat like EAGAIN") or a
/// resource limit (`EMFILE`, `ENOBUFS`) that passes.
pub(crate) fn accept_failed_for_good(e: &io::Error) -> Option<io::Error> {
    let errno = Errno::from_raw(e.raw_os_error()?);
    matches!(errno, Errno::EBADF | Errno::ENOTSOCK | Errno::EINVAL).then(|| {
        io::Error::new(
            e.kind(),
            format!("accept: {e}: the listening socket is unusable"),
        )
    })
}

/// Sends `READY=1` to `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace). Returns
/// whether a datagram was sent.
pub(crate) fn notify_ready() -> io::Result<bool> {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET").filter(|t| !t.is_empty()) else {
        return Ok(false);
    };
    let sock = UnixDatagram::unbound()?;
    let bytes = target.as_encoded_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        sock.send_to_addr(b"READY=1", &addr)?;
    } else {
        sock.send_to(b"READY=1", &target)?;
    }
    Ok(true)
}
