//! Health probes (docs/contract.md §7, §9): `GET {url}/healthz` must answer
//! 200. reqwest with rustls, so a Dev-mode `https://` URL works as well as the bundled loopback.

use std::time::Duration;

/// A reusable prober for one base URL.
#[derive(Clone)]
pub(crate) struct Prober {
    client: reqwest::Client,
    healthz: String,
}

impl Prober {
    /// `base` without trailing slash; `timeout` bounds each probe.
    pub fn new(base: &str, timeout: Duration) -> Prober {
        let client = reqwest::Client::builder()
            // A restarted backend drops pooled connections: every probe opens a fresh one.
            .pool_max_idle_per_host(0)
            // Loopback and dev servers: a system proxy would only get in the way.
            .no_proxy()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Prober {
            client,
            healthz: format!("{base}/healthz"),
        }
    }

    /// `Ok` on 200, otherwise a short description of what went wrong (no secrets involved).
    pub async fn check(&self) -> Result<(), String> {
        match self.client.get(&self.healthz).send().await {
            Ok(resp) if resp.status() == reqwest::StatusCode::OK => Ok(()),
            Ok(resp) => Err(format!("GET /healthz answered {}", resp.status())),
            Err(e) if e.is_timeout() => Err("GET /healthz timed out".into()),
            Err(e) if e.is_connect() => Err("GET /healthz: connection failed".into()),
            Err(e) => Err(format!("GET /healthz failed: {e}")),
        }
    }
}
