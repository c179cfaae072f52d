//! The bounds on open connections (`docs/contract.md` §5): how long a request head may take, how
//! long a keep-alive connection may sit idle, and how many connections may be open at once.
//!
//! Each [`super::Conn`] keeps one word saying what it is doing ([`Activity`]): waiting for a
//! request head (since when), busy with a request, or idle after a response (since when). The
//! connection's own task writes it with plain stores at each step (no syscall, no allocation:
//! the clock is a coarse one advanced by the sweeper, not `clock_gettime` per request); a
//! sweeper reads every connection's word once a second and closes those past their bound. The
//! same registry lets the accept loop close the oldest idle connection when the cap is reached,
//! so a new one (the host's `/healthz` probe) still gets through.
//!
//! Why not hyper's `header_read_timeout`: it allocates a boxed timer for every request head, and
//! its one timeout also bounds the wait for the next request (idle keep-alive); here the two are
//! separate, as in Go's `net/http` (`ReadHeaderTimeout`, `IdleTimeout`), which Caddy exposes.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Conn, TARGET};

/// Descriptors kept free of connections: the listener, the runtime's, SQLite's (three per
/// database connection), the log pipes. Plus an eighth of the limit (see [`Limits::for_fd_limit`]).
const RESERVED_FDS: u64 = 64;
/// How long the accept loop waits for evicted connections to close before accepting again.
const SETTLE: Duration = Duration::from_millis(100);

/// What bounds each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request head must be complete this long after the connection opened or after its first
    /// byte arrived; `None`: no bound.
    pub header_read: Option<Duration>,
    /// A connection with no request in flight and nothing left to write is closed after this
    /// long; `None`: no bound. SSE streams are requests in flight: never idle.
    pub idle: Option<Duration>,
    /// At most this many open connections; at the cap, the oldest idle one is closed for a new
    /// one (and a new one is refused with 503 when none is idle).
    pub max_connections: usize,
}

impl Limits {
    /// The header read bound when the Caddyfile sets none.
    pub const HEADER_READ: Duration = Duration::from_secs(10);
    /// The idle keep-alive bound when the Caddyfile sets none.
    pub const IDLE: Duration = Duration::from_secs(60);

    /// The default timeouts, and a cap below `nofile` (the soft `RLIMIT_NOFILE`): 64 descriptors
    /// plus an eighth stay free for the database, the runtime and the files that requests open.
    pub fn for_fd_limit(nofile: u64) -> Self {
        let reserve = (RESERVED_FDS + nofile / 8).min(nofile / 2);
        Limits {
            header_read: Some(Self::HEADER_READ),
            idle: Some(Self::IDLE),
            max_connections: usize::try_from(nofile - reserve)
                .unwrap_or(usize::MAX)
                .max(1),
        }
    }

    /// [`Limits::for_fd_limit`] of this process's current soft limit.
    pub fn for_this_process() -> Self {
        Self::for_fd_limit(nofile().0)
    }
}

fn nofile() -> (u64, u64) {
    use nix::sys::resource::{Resource, getrlimit};
    // 1024 is the usual desktop soft limit: the cautious guess when it cannot be read.
    getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((1024, 1024))
}

/// Raises the soft `RLIMIT_NOFILE` to the hard one (desktops start processes at 1024 with a
/// much higher hard limit) and returns the soft limit now in effect.
pub fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{Resource, setrlimit};
    let (soft, hard) = nofile();
    if soft >= hard {
        return soft;
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => hard,
        Err(e) => {
            tracing::warn!(target: TARGET, "cannot raise RLIMIT_NOFILE from {soft} to {hard}: {e}");
            soft
        }
    }
}

/// Seconds since the first sweeper started, advanced by every sweeper of the process (`fetch_max`:
/// two servers in one process do not make it run faster). What [`Activity`] stamps with.
static CLOCK: AtomicU32 = AtomicU32::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();

fn advance_clock() -> u32 {
    let secs = EPOCH.get_or_init(Instant::now).elapsed().as_secs();
    let secs = u32::try_from(secs).unwrap_or(u32::MAX);
    CLOCK.fetch_max(secs, Ordering::Relaxed).max(secs)
}

/// What a connection is doing, in one word: the phase and the [`CLOCK`] second it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a complete request head (the connection is new, or bytes of one arrived).
    Head = 0,
    /// Between requests, nothing left to write.
    Idle = 1,
    /// A request is being served (its response not all handed to hyper yet): SSE included.
    Busy = 2,
    /// The response body ended; its last bytes may still be in hyper's buffer.
    Ending = 3,
    /// Chosen by the sweeper or the accept loop to be closed.
    Closing = 4,
}

/// A connection's [`Phase`] and since when. Written only by the connection's task (plain
/// relaxed stores), read by the sweeper; [`Activity::claim`] is the one compare-and-swap.
#[derive(Debug)]
pub(super) struct Activity(AtomicU64);

impl Activity {
    pub(super) fn new() -> Self {
        Activity(AtomicU64::new(word(Phase::Head)))
    }

    fn load(&self) -> (Phase, u32) {
        unpack(self.0.load(Ordering::Relaxed))
    }

    fn set(&self, phase: Phase) {
        self.0.store(word(phase), Ordering::Relaxed);
    }

    /// Bytes arrived: a request head starts when the connection was idle.
    #[inline]
    pub(super) fn on_read(&self) {
        if self.load().0 == Phase::Idle {
            self.set(Phase::Head);
        }
    }

    /// hyper has a request head and calls the service.
    #[inline]
    pub(super) fn on_request(&self) {
        self.set(Phase::Busy);
    }

    /// The response body was dropped (it ended, or the request was abandoned).
    #[inline]
    pub(super) fn on_response_end(&self) {
        self.set(Phase::Ending);
    }

    /// hyper flushed with an empty buffer: a response that had ended is all written.
    #[inline]
    pub(super) fn on_flush(&self) {
        if self.load().0 == Phase::Ending {
            self.set(Phase::Idle);
        }
    }

    /// Whether the connection waits for a request head that has begun, or for its first one.
    pub(super) fn awaits_head(&self) -> bool {
        self.load().0 == Phase::Head
    }

    /// Whether a request is in flight (its response not all written yet).
    pub(super) fn in_request(&self) -> bool {
        matches!(self.load().0, Phase::Busy | Phase::Ending)
    }

    /// How long (in clock seconds) the connection has waited, when it waits (head or idle); a
    /// stamp newer than `now` (the clock moved meanwhile) counts as no wait.
    fn waiting(&self, now: u32) -> Option<(Phase, u32, u64)> {
        let raw = self.0.load(Ordering::Relaxed);
        let (phase, since) = unpack(raw);
        matches!(phase, Phase::Head | Phase::Idle).then(|| (phase, now.saturating_sub(since), raw))
    }

    /// Marks the connection as being closed, unless it moved on since `seen` was read.
    fn claim(&self, seen: u64) -> bool {
        let closing = word(Phase::Closing);
        self.0
            .compare_exchange(seen, closing, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

fn word(phase: Phase) -> u64 {
    (phase as u64) << 32 | u64::from(CLOCK.load(Ordering::Relaxed))
}

fn unpack(word: u64) -> (Phase, u32) {
    let phase = match word >> 32 {
        0 => Phase::Head,
        1 => Phase::Idle,
        2 => Phase::Busy,
        3 => Phase::Ending,
        _ => Phase::Closing,
    };
    (phase, word as u32)
}

/// Every open connection of one `serve`, for the sweeper and the cap.
#[derive(Default)]
pub(super) struct Registry {
    slots: Mutex<Slots>,
    open: AtomicUsize,
    /// Told whenever a connection is removed.
    removed: Notify,
    /// The cap was reached at least once (logged once).
    capped: AtomicBool,
}

#[derive(Default)]
struct Slots {
    /// Each with its admission number: among connections waiting since the same clock second,
    /// the one admitted first is the oldest.
    conns: Vec<Option<(u64, Arc<Conn>)>>,
    free: Vec<usize>,
    admitted: u64,
}

impl Slots {
    fn iter(&self) -> impl Iterator<Item = &(u64, Arc<Conn>)> {
        self.conns.iter().flatten()
    }
}

/// A connection's place in the [`Registry`]; leaving it (dropping this) removes the connection.
pub(super) struct Registered {
    registry: Arc<Registry>,
    slot: usize,
}

impl Drop for Registered {
    fn drop(&mut self) {
        {
            let mut slots = self.registry.lock();
            slots.conns[self.slot] = None;
            slots.free.push(self.slot);
        }
        self.registry.open.fetch_sub(1, Ordering::Relaxed);
        self.registry.removed.notify_waiters();
    }
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `conn`; within `limits.max_connections` after closing the oldest waiting connection
    /// if need be. `None` (and `conn` not added) when every open connection is busy.
    pub(super) fn admit(self: &Arc<Self>, conn: &Arc<Conn>, limits: &Limits) -> Option<Registered> {
        let mut slots = self.lock();
        if self.open.load(Ordering::Relaxed) >= limits.max_connections {
            if !self.capped.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    target: TARGET,
                    "{} connections open (the cap under RLIMIT_NOFILE): closing the oldest idle ones for new ones",
                    limits.max_connections
                );
            }
            if !evict_oldest(&slots) {
                return None;
            }
        }
        slots.admitted += 1;
        let entry = Some((slots.admitted, Arc::clone(conn)));
        let slot = match slots.free.pop() {
            Some(slot) => {
                slots.conns[slot] = entry;
                slot
            }
            None => {
                slots.conns.push(entry);
                slots.conns.len() - 1
            }
        };
        self.open.fetch_add(1, Ordering::Relaxed);
        Some(Registered {
            registry: Arc::clone(self),
            slot,
        })
    }

    /// Closes the oldest waiting connection (when the accept loop ran out of descriptors).
    pub(super) fn evict_one(&self) -> bool {
        evict_oldest(&self.lock())
    }

    /// Waits (briefly) until the connections evicted for new ones are gone: their descriptors
    /// close only when their tasks notice, and a flood must not outrun that.
    pub(super) async fn settle(&self, limits: &Limits) {
        let settled = || self.open.load(Ordering::Relaxed) <= limits.max_connections;
        if settled() {
            return;
        }
        let deadline = tokio::time::sleep(SETTLE);
        tokio::pin!(deadline);
        loop {
            let removed = self.removed.notified();
            tokio::pin!(removed);
            removed.as_mut().enable();
            if settled() {
                return;
            }
            tokio::select! {
                () = removed => {}
                () = &mut deadline => return,
            }
        }
    }

    /// Once a second until `stop`: advances the clock and closes the connections past a bound.
    pub(super) async fn sweep(self: Arc<Self>, limits: Limits, stop: CancellationToken) {
        // Without a bound the clock still runs: the cap closes the longest waiting first.
        let head = limits.header_read.map_or(u32::MAX, secs);
        let idle = limits.idle.map_or(u32::MAX, secs);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.cancelled() => return,
            }
            let now = advance_clock();
            let slots = self.lock();
            for (_, conn) in slots.iter() {
                let Some((phase, waited, seen)) = conn.activity.waiting(now) else {
                    continue;
                };
                // Strictly over: a stamp is up to a second older than the event it marks.
                let bound = if phase == Phase::Head { head } else { idle };
                if waited > bound && conn.activity.claim(seen) {
                    tracing::debug!(target: TARGET, ?phase, waited, "closing a waiting connection");
                    conn.abort();
                }
            }
        }
    }
}

/// Closes the connection that has waited longest (for a head or a next request).
fn evict_oldest(slots: &Slots) -> bool {
    let now = CLOCK.load(Ordering::Relaxed);
    let oldest = slots
        .iter()
        .filter_map(|(n, c)| {
            let (_, waited, seen) = c.activity.waiting(now)?;
            Some(((waited, std::cmp::Reverse(*n)), seen, c))
        })
        .max_by_key(|(age, _, _)| *age);
    match oldest {
        Some((_, seen, conn)) if conn.activity.claim(seen) => {
            conn.abort();
            true
        }
        _ => false,
    }
}

/// A bound in whole clock seconds, rounded up.
fn secs(bound: Duration) -> u32 {
    let whole = bound.as_secs() + u64::from(bound.subsec_nanos() > 0);
    u32::try_from(whole).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_below_the_fd_limit() {
        assert_eq!(Limits::for_fd_limit(1024).max_connections, 832);
        assert_eq!(Limits::for_fd_limit(256).max_connections, 160);
        assert_eq!(Limits::for_fd_limit(64).max_connections, 32);
        assert_eq!(Limits::for_fd_limit(1).max_connections, 1);
    }

    #[test]
    fn phases() {
        let a = Activity::new();
        assert!(a.waiting(0).is_some() && !a.in_request());
        a.on_request();
        assert!(a.in_request() && a.waiting(0).is_none());
        a.on_read();
        a.on_flush();
        assert!(
            a.in_request(),
            "reads and flushes mid-request change nothing"
        );
        a.on_response_end();
        assert!(
            a.in_request(),
            "the response's last bytes may still be buffered"
        );
        a.on_flush();
        assert_eq!(a.load().0, Phase::Idle);
        a.on_read();
        assert_eq!(a.load().0, Phase::Head);
        let (_, _, seen) = a.waiting(0).unwrap();
        a.on_request();
        assert!(!a.claim(seen), "a connection that moved on is not closed");
    }

    #[test]
    fn bounds_round_up_to_seconds() {
        assert_eq!(secs(Duration::from_millis(1500)), 2);
        assert_eq!(secs(Duration::from_secs(10)), 10);
    }
}
