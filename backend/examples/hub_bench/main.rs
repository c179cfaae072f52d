//! Mercure hub benchmark, run by `scripts/bench-hub.sh` (`make bench`).
//!
//! The measured server is a real backend, the framework's fixture app
//! (`target/release/examples/fixture serve`, beside this binary) with the repository's Caddyfile
//! (access log, compression, `Host` guard, JWT-authenticated subscribers), in its own process so
//! its RSS is its own (`HUB_BENCH_BACKEND` and `HUB_BENCH_CADDYFILE`
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
//! `hub_bench idle [backend|hub|plain]` runs only part 3 (for one of the servers); `hub_bench
//! paced` only part 1.
//! Targets (2 cores): p99 <= 10 ms at 1,000 subscribers; 10,000 idle subscribers under 200 MB.

mod floor;
mod server;
mod sse;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

use jsonwebtoken::{EncodingKey, Header};
use tokio::sync::Semaphore;

use server::{HubProcess, Kind};
use sse::{Shared, open, read_updates};

const KEY: &str = "hub-bench-secret-key-of-sufficient-length";
const SUBSCRIBERS: usize = 1_000;
/// Paced publishing: 20 updates/s, far above what a person's edits produce, and low enough that
/// the latency measured is one update's fan-out, not a queue.
const PACED_UPDATES: usize = 200;
const PACE: Duration = Duration::from_millis(50);
const FLAT_OUT_UPDATES: usize = 5_000;
const PUBLISHERS: usize = 2;
const IDLE: [usize; 2] = [1_000, 10_000];

type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> AnyResult<()> {
    if std::env::args().nth(1).as_deref() == Some("server")
        && std::env::args().nth(2).as_deref() == Some("floor")
    {
        return floor::server();
    }
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

/// CPU time and context switches of the hub process and of this one (the subscribers and the
/// publisher), from `/proc`: what one delivery costs, whatever the load.
#[derive(Clone, Copy, Default)]
struct Usage {
    hub_cpu: f64,
    driver_cpu: f64,
    hub_switches: f64,
    driver_switches: f64,
}

impl Usage {
    fn of(hub_pid: &str) -> Self {
        Self {
            hub_cpu: cpu_seconds(hub_pid),
            driver_cpu: cpu_seconds("self"),
            hub_switches: context_switches(hub_pid),
            driver_switches: context_switches("self"),
        }
    }

    fn since(&self, before: &Self) -> Self {
        Self {
            hub_cpu: self.hub_cpu - before.hub_cpu,
            driver_cpu: self.driver_cpu - before.driver_cpu,
            hub_switches: self.hub_switches - before.hub_switches,
            driver_switches: self.driver_switches - before.driver_switches,
        }
    }

    /// Prints the cost per delivery; returns the CPU microseconds of both processes.
    fn print(&self, phase: &str, deliveries: f64) -> f64 {
        let (hub_us, driver_us) = (
            self.hub_cpu / deliveries * 1e6,
            self.driver_cpu / deliveries * 1e6,
        );
        println!(
            "  per delivery, {phase} (user+system CPU, load-independent): hub {hub_us:.2} us, subscribers+publisher {driver_us:.2} us; \
             context switches: hub {:.3}, subscribers {:.3}",
            self.hub_switches / deliveries,
            self.driver_switches / deliveries
        );
        hub_us + driver_us
    }
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

/// Voluntary + involuntary context switches of every thread of `/proc/<pid>`.
fn context_switches(pid: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("voluntary_ctxt_switches:")
                        .or_else(|| l.strip_prefix("nonvoluntary_ctxt_switches:"))
                        .and_then(|v| v.trim().parse::<f64>().ok())
                })
                .collect::<Vec<_>>()
        })
        .sum()
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
        "== Mercure hub (fixture backend serve, release): {SUBSCRIBERS} subscribers; load average {}",
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
    let shared = Arc::new(Shared::new(total));

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
    // 1. Paced: one update every PACE, latency per delivery.
    let hub_pid = hub.child.id().to_string();
    let paced_only = std::env::args().nth(1).as_deref() == Some("paced");
    let before = Usage::of(&hub_pid);
    for seq in 0..PACED_UPDATES {
        publish(seq).await?;
        tokio::time::sleep(PACE).await;
    }
    wait_for(PACED_UPDATES * SUBSCRIBERS, &shared).await;
    let paced_usage = Usage::of(&hub_pid).since(&before);

    // 2. Flat out: PUBLISHERS concurrent publishers, until every subscriber has everything.
    let mut flat_out = None;
    if !paced_only {
        let start = Instant::now();
        let before = Usage::of(&hub_pid);
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
        wait_for(total * SUBSCRIBERS, &shared).await;
        flat_out = Some((
            published,
            start.elapsed(),
            Usage::of(&hub_pid).since(&before),
        ));
    }
    let expected = if paced_only { PACED_UPDATES } else { total } * SUBSCRIBERS;
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
    paced_usage.print("paced", (PACED_UPDATES * SUBSCRIBERS) as f64);
    let floor_p99 = floor_paced().await?;
    println!(
        "  hub / floor at p99: {:.2} (what the hub adds on top of the kernel's TCP and the subscribers)",
        p99 / floor_p99
    );
    if let Some((published, delivered, usage)) = flat_out {
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
        let per = usage.print("flat out", (FLAT_OUT_UPDATES * SUBSCRIBERS) as f64);
        println!(
            "  2 idle cores would sustain about {:.0} updates/s to {SUBSCRIBERS} subscribers",
            2e6 / (per * SUBSCRIBERS as f64)
        );
    }
    println!(
        "delivered {deliveries} of {expected} expected; {disconnected} subscribers disconnected before the end"
    );
    if paced_only {
        return Ok(());
    }

    for kind in [Kind::Backend, Kind::HubOnly, Kind::Plain] {
        idle_rss(kind).await?;
    }
    Ok(())
}

/// Until `n` deliveries, or no progress for 5 s (a disconnected subscriber never catches up).
async fn wait_for(n: usize, shared: &Shared) {
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
}

/// Part 1 again against [`floor`]: the same subscribers and pacing, one `write(2)` per subscriber
/// as the whole server. Prints its latency; returns its p99 in ms.
async fn floor_paced() -> AnyResult<f64> {
    let server = HubProcess::start(Kind::Floor)?;
    let pid = server.child.id().to_string();
    let shared = Arc::new(Shared::new(PACED_UPDATES));
    let mut readers = Vec::with_capacity(SUBSCRIBERS);
    for _ in 0..SUBSCRIBERS {
        let (stream, rest) = open(server.addr, "%2Fbench", "-").await?;
        readers.push(tokio::spawn(read_updates(
            stream,
            rest,
            Arc::clone(&shared),
        )));
    }
    let mut control = tokio::net::TcpStream::connect(server.addr).await?;
    control.set_nodelay(true)?;
    control.write_all(b"PUBLISH\n").await?;
    let before = Usage::of(&pid);
    for seq in 0..PACED_UPDATES {
        shared.sent[seq].store(shared.base.elapsed().as_nanos() as u64, Ordering::Release);
        control.write_all(format!("{seq}\n").as_bytes()).await?;
        tokio::time::sleep(PACE).await;
    }
    wait_for(PACED_UPDATES * SUBSCRIBERS, &shared).await;
    let usage = Usage::of(&pid).since(&before);
    drop(server);
    let mut latencies = Vec::new();
    for reader in readers {
        latencies.extend(reader.await?.into_iter().map(|(_, ns)| ns));
    }
    latencies.sort_unstable();
    let p99 = percentile(&latencies, 0.99);
    println!(
        "floor (same subscribers; the server only write(2)s, 2 threads): p50 {:.2} ms, p99 {p99:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 1.0),
    );
    usage.print("floor", latencies.len().max(1) as f64);
    Ok(p99)
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
        Kind::Backend => "fixture backend serve",
        Kind::HubOnly => "the hub's router alone on hyper HTTP/1 (reference)",
        Kind::Plain => "do-nothing SSE endpoint on hyper HTTP/1 (reference)",
        Kind::Floor => "floor server (reference)",
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
