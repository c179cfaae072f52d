//! Mercure hub benchmark (issue 4), run by `scripts/bench-hub.sh` (`make bench`).
//!
//! The measured server is the real backend, `target/release/qmlbridge-backend serve` with the
//! repository's Caddyfile (access log, compression, `Host` guard, JWT-authenticated subscribers),
//! in its own process so its RSS is its own (`HUB_BENCH_BACKEND` and `HUB_BENCH_CADDYFILE`
//! override the binary and the Caddyfile). The driver (this process) opens raw-socket SSE
//! subscribers and publishes over HTTP, then prints:
//!
//! 1. publish -> receive latency p50/p99/max at 1,000 subscribers (paced publishing);
//! 2. updates/s (and deliveries/s) with 1,000 subscribers while publishing flat out, and the CPU
//!    time per delivery;
//! 3. RSS per 1,000 idle subscribers, and at 10,000 idle subscribers; then the same for the hub's
//!    router alone and for a do-nothing SSE endpoint on hyper's HTTP/1 connections, as `serve` runs them (this binary with `server
//!    hub|plain`), which tells the hub's share from the rest of the stack's.
//!
//! `hub_bench idle [backend|hub|plain]` runs only part 3 (for one of the servers).
//! Targets (2 cores): p99 <= 10 ms at 1,000 subscribers; 10,000 idle subscribers under 200 MB.

mod server;
mod sse;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use jsonwebtoken::{EncodingKey, Header};
use tokio::sync::Semaphore;

use server::{HubProcess, Kind};
use sse::{Shared, open, read_updates};

const KEY: &str = "hub-bench-secret-key-of-sufficient-length";
const SUBSCRIBERS: usize = 1_000;
/// Paced publishing: 20 updates/s, far above what a todo list produces, and low enough that the
/// latency measured is one update's fan-out, not a queue.
const PACED_UPDATES: usize = 200;
const PACE: Duration = Duration::from_millis(50);
const FLAT_OUT_UPDATES: usize = 5_000;
const PUBLISHERS: usize = 2;
const IDLE: [usize; 2] = [1_000, 10_000];

type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> AnyResult<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if std::env::args().nth(1).as_deref() == Some("server") {
        let hub_only = std::env::args().nth(2).as_deref() == Some("hub");
        return runtime.block_on(server::server(hub_only));
    }
    runtime.block_on(driver())
}

/// User + system CPU seconds of `/proc/<pid>` so far (`self` for this process).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are the 12th
    // and 13th, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields.iter().sum::<f64>() / 100.0
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1e6
}

async fn driver() -> AnyResult<()> {
    if std::env::args().nth(1).as_deref() == Some("idle") {
        let kinds = match std::env::args().nth(2).as_deref() {
            Some("backend") => vec![Kind::Backend],
            Some("hub") => vec![Kind::HubOnly],
            Some("plain") => vec![Kind::Plain],
            _ => vec![Kind::Backend, Kind::HubOnly, Kind::Plain],
        };
        for kind in kinds {
            idle_rss(kind).await?;
        }
        return Ok(());
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "== Mercure hub (qmlbridge-backend serve, release): {SUBSCRIBERS} subscribers; load average {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let hub = HubProcess::start(Kind::Backend)?;
    let listener = subscriber_token()?;
    let token = jsonwebtoken::encode(
        &Header::default(),
        &serde_json::json!({ "mercure": { "publish": ["*"] } }),
        &EncodingKey::from_secret(KEY.as_bytes()),
    )?;
    let total = PACED_UPDATES + FLAT_OUT_UPDATES;
    let shared = Arc::new(Shared {
        base: Instant::now(),
        sent: (0..total).map(|_| AtomicU64::new(0)).collect(),
        deliveries: AtomicUsize::new(0),
        disconnected: AtomicUsize::new(0),
    });

    let mut readers = Vec::with_capacity(SUBSCRIBERS);
    for _ in 0..SUBSCRIBERS {
        let (stream, rest) = open(hub.addr, "%2Fbench", &listener).await?;
        readers.push(tokio::spawn(read_updates(
            stream,
            rest,
            Arc::clone(&shared),
        )));
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(PUBLISHERS)
        .build()?;
    let url = format!("http://{}/.well-known/mercure", hub.addr);
    let publish = |seq: usize| {
        shared.sent[seq].store(shared.base.elapsed().as_nanos() as u64, Ordering::Release);
        let request = client
            .post(&url)
            .bearer_auth(&token)
            .form(&[("topic", "/bench".to_owned()), ("data", seq.to_string())]);
        async move {
            let response = request.send().await?;
            if !response.status().is_success() {
                return Err::<(), Box<dyn std::error::Error + Send + Sync>>(
                    format!("publish: {}", response.status()).into(),
                );
            }
            response.bytes().await?;
            Ok(())
        }
    };
    // Until `n` deliveries, or no progress for 5 s (a disconnected subscriber never catches up).
    let wait_for = |n: usize, shared: Arc<Shared>| async move {
        let (mut last, mut since) = (0, Instant::now());
        loop {
            let now = shared.deliveries.load(Ordering::Relaxed);
            if now >= n || since.elapsed() > Duration::from_secs(5) {
                return;
            }
            if now != last {
                (last, since) = (now, Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };

    // 1. Paced: one update every PACE, latency per delivery.
    for seq in 0..PACED_UPDATES {
        publish(seq).await?;
        tokio::time::sleep(PACE).await;
    }
    wait_for(PACED_UPDATES * SUBSCRIBERS, Arc::clone(&shared)).await;

    // 2. Flat out: PUBLISHERS concurrent publishers, until every subscriber has everything.
    let start = Instant::now();
    let cpu_before = (
        cpu_seconds("self"),
        cpu_seconds(&hub.child.id().to_string()),
    );
    let next = Arc::new(AtomicUsize::new(PACED_UPDATES));
    let mut publishers = Vec::new();
    for _ in 0..PUBLISHERS {
        let next = Arc::clone(&next);
        let publish = &publish;
        publishers.push(async move {
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= total {
                    return Ok::<(), Box<dyn std::error::Error + Send + Sync>>(());
                }
                publish(seq).await?;
            }
        });
    }
    for r in futures_util::future::join_all(publishers).await {
        r?;
    }
    let published = start.elapsed();
    wait_for(total * SUBSCRIBERS, Arc::clone(&shared)).await;
    let delivered = start.elapsed();
    let cpu_after = (
        cpu_seconds("self"),
        cpu_seconds(&hub.child.id().to_string()),
    );
    let deliveries = shared.deliveries.load(Ordering::Relaxed);
    let disconnected = shared.disconnected.load(Ordering::Relaxed);
    drop(hub);

    let mut paced = Vec::new();
    let mut loaded = Vec::new();
    for reader in readers {
        for (seq, ns) in reader.await? {
            if (seq as usize) < PACED_UPDATES {
                paced.push(ns)
            } else {
                loaded.push(ns)
            }
        }
    }
    paced.sort_unstable();
    loaded.sort_unstable();
    let p99 = percentile(&paced, 0.99);
    println!(
        "latency, paced ({PACED_UPDATES} updates, 1 per {} ms, {} deliveries): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms  (target p99 <= 10 ms: ratio {:.2})",
        PACE.as_millis(),
        paced.len(),
        percentile(&paced, 0.5),
        p99,
        percentile(&paced, 1.0),
        p99 / 10.0
    );
    println!(
        "latency, flat out: p50 {:.2} ms, p99 {:.2} ms (queueing included)",
        percentile(&loaded, 0.5),
        percentile(&loaded, 0.99)
    );
    let secs = delivered.as_secs_f64();
    println!(
        "throughput: {FLAT_OUT_UPDATES} updates to {SUBSCRIBERS} subscribers in {secs:.2} s (published in {:.2} s): {:.0} updates/s, {:.0} deliveries/s",
        published.as_secs_f64(),
        FLAT_OUT_UPDATES as f64 / secs,
        (FLAT_OUT_UPDATES * SUBSCRIBERS) as f64 / secs
    );
    println!(
        "delivered {deliveries} of {} expected; {disconnected} subscribers disconnected before the end",
        total * SUBSCRIBERS
    );
    let flat_out = (FLAT_OUT_UPDATES * SUBSCRIBERS) as f64;
    let hub_us = (cpu_after.1 - cpu_before.1) / flat_out * 1e6;
    let driver_us = (cpu_after.0 - cpu_before.0) / flat_out * 1e6;
    println!(
        "CPU per delivery (user+system, load-independent): hub {hub_us:.2} us, subscribers+publisher {driver_us:.2} us; \
         2 idle cores would sustain about {:.0} updates/s to {SUBSCRIBERS} subscribers",
        2e6 / ((hub_us + driver_us) * SUBSCRIBERS as f64)
    );

    for kind in [Kind::Backend, Kind::HubOnly, Kind::Plain] {
        idle_rss(kind).await?;
    }
    Ok(())
}

/// A token allowed to subscribe to everything.
fn subscriber_token() -> AnyResult<String> {
    Ok(jsonwebtoken::encode(
        &Header::default(),
        &serde_json::json!({ "mercure": { "subscribe": ["*"] } }),
        &EncodingKey::from_secret(KEY.as_bytes()),
    )?)
}

/// 3. RSS of a fresh hub process with 0, 1,000 and 10,000 idle subscribers.
async fn idle_rss(kind: Kind) -> AnyResult<()> {
    let hub = HubProcess::start(kind)?;
    let token = Arc::new(subscriber_token()?);
    let what = match kind {
        Kind::Backend => "qmlbridge-backend serve",
        Kind::HubOnly => "the hub's router alone on hyper HTTP/1 (reference)",
        Kind::Plain => "do-nothing SSE endpoint on hyper HTTP/1 (reference)",
    };
    println!("idle RSS, {what}:");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let base = hub.rss_mib()?;
    println!("  {base:.1} MiB with no subscriber");
    let limit = Arc::new(Semaphore::new(256));
    let mut held = Vec::new();
    for target in IDLE {
        let mut opening = Vec::new();
        for i in held.len()..target {
            let limit = Arc::clone(&limit);
            let addr = hub.addr;
            let token = Arc::clone(&token);
            opening.push(tokio::spawn(async move {
                let _permit = limit.acquire().await?;
                open(addr, &format!("%2Fidle%2F{i}"), &token)
                    .await
                    .map(|(s, _)| s)
            }));
        }
        for o in opening {
            held.push(o.await??);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss = hub.rss_mib()?;
        let per_1000 = (rss - base) / (target as f64 / 1000.0);
        print!(
            "  {rss:.1} MiB with {target} subscribers ({per_1000:.1} MiB per 1,000 above the empty process)"
        );
        if target == 10_000 && kind == Kind::Backend {
            print!("  (target < 200 MB: ratio {:.2})", rss * 1.048_576 / 200.0);
        }
        println!();
    }
    drop(held);
    Ok(())
}
