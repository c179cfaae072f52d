//! The host's listening socket (docs/contract.md §9, bundled start step 5; §3): bound once by
//! the host on `127.0.0.1:<PORT or 0>` and handed to each backend as fd 3. It stays open in the
//! host across restarts, so the URL never changes and a client that connects while no backend
//! runs waits in the kernel's accept queue instead of being refused.

use std::net::{SocketAddr, TcpListener};

use crate::error::{Error, Result};

/// Binds `127.0.0.1:port` (`port` from `PORT`, 0 = any free port).
pub(crate) fn bind(port: u16) -> Result<TcpListener> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpListener::bind(addr).map_err(|source| Error::Bind {
        addr: addr.to_string(),
        source,
    })
}

/// The port from the `PORT` variable: unset or empty = 0, anything unparsable is an error.
pub(crate) fn port_from_env(value: Option<String>) -> Result<u16> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(0),
        Some(v) => v.parse().map_err(|_| Error::Bind {
            addr: format!("127.0.0.1:{v}"),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "PORT is not a port number",
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_in_use_names_the_address() {
        let first = bind(0).unwrap();
        let port = first.local_addr().unwrap().port();
        let err = bind(port).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("socket: cannot bind 127.0.0.1:{port}")),
            "{err}"
        );
    }

    #[test]
    fn port_parsing() {
        assert_eq!(port_from_env(None).unwrap(), 0);
        assert_eq!(port_from_env(Some("8765".into())).unwrap(), 8765);
        assert!(port_from_env(Some("http".into())).is_err());
    }
}
