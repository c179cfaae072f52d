//! The supervision rules as plain data (docs/contract.md §9): restart budget and backoff,
//! budget reset after a healthy period, the offline threshold for failing probes, exit codes
//! that mean "do not restart" (docs/contract.md §5). No I/O and no clock of its own: the async
//! loop in [`super`] feeds it instants and does what it answers.

use std::time::{Duration, Instant};

use crate::spawn::ExitStatus;
use crate::state::ConnectionState;

/// Unexpected exits allowed before giving up: the 6th exit goes Offline.
pub(crate) const MAX_RESTARTS: u32 = 5;
/// Delay before restart number n (1-based); later restarts reuse the last value.
pub(crate) const BACKOFF_MS: [u64; 5] = [0, 100, 200, 400, 800];

/// Exit codes after which restarting cannot help: usage (2) and EX_CONFIG (78).
pub(crate) fn is_config_error(status: ExitStatus) -> bool {
    matches!(status, ExitStatus::Code(2) | ExitStatus::Code(78))
}

/// What to do after an unexpected exit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AfterExit {
    /// Respawn after this delay.
    Restart(Duration),
    /// Configuration or usage error: Offline at once.
    ConfigError,
    /// The budget is spent: Offline; carries how many exits were counted.
    GiveUp(u32),
}

/// What a probe result means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Health {
    /// Healthy (or recovered).
    Ok,
    /// Failing, still under the offline threshold.
    Failing,
    /// Failing for the whole offline threshold.
    Dead,
}

/// The supervision state of one mode's session.
#[derive(Debug)]
pub(crate) struct Machine {
    pub state: ConnectionState,
    offline_threshold: Duration,
    healthy_reset: Duration,
    exits: u32,
    online_since: Option<Instant>,
    failing_since: Option<Instant>,
}

impl Machine {
    pub fn new(offline_threshold: Duration, healthy_reset: Duration) -> Machine {
        Machine {
            state: ConnectionState::Connecting,
            offline_threshold,
            healthy_reset,
            exits: 0,
            online_since: None,
            failing_since: None,
        }
    }

    /// `restart()` or a fresh session: full budget, Connecting.
    pub fn reset(&mut self) {
        self.exits = 0;
        self.online_since = None;
        self.failing_since = None;
        self.state = ConnectionState::Connecting;
    }

    /// The backend reported ready (datagram or first healthy probe).
    pub fn ready(&mut self, now: Instant) {
        self.state = ConnectionState::Online;
        self.online_since.get_or_insert(now);
        self.failing_since = None;
    }

    /// A periodic probe's result.
    pub fn probe(&mut self, ok: bool, now: Instant) -> Health {
        if ok {
            self.ready(now);
            return Health::Ok;
        }
        self.online_since = None;
        let since = *self.failing_since.get_or_insert(now);
        if now.duration_since(since) >= self.offline_threshold {
            self.state = ConnectionState::Offline;
            Health::Dead
        } else {
            // Reconnecting means "was online": before the first contact it is still Connecting,
            // and Offline stays Offline until a probe succeeds.
            if self.state == ConnectionState::Online {
                self.state = ConnectionState::Reconnecting;
            }
            Health::Failing
        }
    }

    /// The backend exited without being asked to (or was killed as unhealthy / not ready).
    pub fn exited(&mut self, status: ExitStatus, now: Instant) -> AfterExit {
        if is_config_error(status) {
            self.state = ConnectionState::Offline;
            return AfterExit::ConfigError;
        }
        if self
            .online_since
            .is_some_and(|since| now.duration_since(since) >= self.healthy_reset)
        {
            self.exits = 0; // it ran healthily long enough: this is a new incident
        }
        self.exits += 1;
        self.online_since = None;
        self.failing_since = None;
        if self.exits > MAX_RESTARTS {
            self.state = ConnectionState::Offline;
            return AfterExit::GiveUp(self.exits);
        }
        self.state = ConnectionState::Reconnecting;
        let idx = (self.exits as usize - 1).min(BACKOFF_MS.len() - 1);
        AfterExit::Restart(Duration::from_millis(BACKOFF_MS[idx]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn machine() -> Machine {
        Machine::new(30 * S, 60 * S)
    }

    #[test]
    fn five_restarts_with_backoff_then_offline() {
        let mut m = machine();
        let t = Instant::now();
        let delays: Vec<AfterExit> = (0..5).map(|_| m.exited(ExitStatus::Code(1), t)).collect();
        let want: Vec<AfterExit> = BACKOFF_MS
            .iter()
            .map(|&ms| AfterExit::Restart(Duration::from_millis(ms)))
            .collect();
        assert_eq!(delays, want);
        assert_eq!(m.state, ConnectionState::Reconnecting);
        assert_eq!(m.exited(ExitStatus::Signal(9), t), AfterExit::GiveUp(6));
        assert_eq!(m.state, ConnectionState::Offline);
    }

    #[test]
    fn config_errors_go_offline_at_once() {
        for code in [2, 78] {
            let mut m = machine();
            assert_eq!(
                m.exited(ExitStatus::Code(code), Instant::now()),
                AfterExit::ConfigError
            );
            assert_eq!(m.state, ConnectionState::Offline);
        }
        let mut m = machine();
        assert!(matches!(
            m.exited(ExitStatus::Code(0), Instant::now()),
            AfterExit::Restart(_)
        ));
    }

    #[test]
    fn budget_resets_after_a_healthy_period_and_on_reset() {
        let mut m = machine();
        let t = Instant::now();
        for _ in 0..5 {
            m.exited(ExitStatus::Code(1), t);
        }
        m.ready(t);
        assert_eq!(
            m.exited(ExitStatus::Code(1), t + 61 * S),
            AfterExit::Restart(Duration::ZERO)
        );
        for _ in 0..4 {
            m.exited(ExitStatus::Code(1), t);
        }
        m.ready(t);
        // Online, but not long enough: the budget is not reset.
        assert_eq!(
            m.exited(ExitStatus::Code(1), t + 59 * S),
            AfterExit::GiveUp(6)
        );
        m.reset();
        assert_eq!(m.state, ConnectionState::Connecting);
        assert_eq!(
            m.exited(ExitStatus::Code(1), t),
            AfterExit::Restart(Duration::ZERO)
        );
    }

    #[test]
    fn probe_failures_before_the_first_contact_stay_connecting() {
        let mut m = machine();
        let t = Instant::now();
        assert_eq!(m.probe(false, t), Health::Failing);
        assert_eq!(m.state, ConnectionState::Connecting);
        assert_eq!(m.probe(false, t + 31 * S), Health::Dead);
        assert_eq!(m.state, ConnectionState::Offline);
        assert_eq!(m.probe(true, t + 32 * S), Health::Ok);
        assert_eq!(m.state, ConnectionState::Online);
    }

    #[test]
    fn probe_failures_reconnect_then_dead_at_threshold() {
        let mut m = machine();
        let t = Instant::now();
        m.ready(t);
        assert_eq!(m.probe(false, t + S), Health::Failing);
        assert_eq!(m.state, ConnectionState::Reconnecting);
        assert_eq!(m.probe(false, t + 30 * S), Health::Failing);
        assert_eq!(m.probe(false, t + 31 * S), Health::Dead);
        assert_eq!(m.state, ConnectionState::Offline);
        assert_eq!(m.probe(false, t + 40 * S), Health::Dead);
        assert_eq!(m.probe(true, t + 41 * S), Health::Ok);
        assert_eq!(m.state, ConnectionState::Online);
        // Recovery clears the failure clock.
        assert_eq!(m.probe(false, t + 42 * S), Health::Failing);
    }

    #[test]
    fn failing_probes_break_the_healthy_period() {
        let mut m = machine();
        let t = Instant::now();
        for _ in 0..5 {
            m.exited(ExitStatus::Code(1), t);
        }
        m.ready(t);
        m.probe(false, t + 10 * S);
        m.probe(true, t + 11 * S);
        // Online since t + 11 s only: 60 s have not passed at t + 70 s.
        assert_eq!(
            m.exited(ExitStatus::Code(1), t + 70 * S),
            AfterExit::GiveUp(6)
        );
    }
}
