//! The state of one checked dest: up or down, and the run of results
//! that may flip it.
//!
//! Pure: the checker feeds it outcomes with its own clock (milliseconds
//! since the checker started), so every rule is unit-tested with a fake
//! clock. A dest flips only after `fall` failures (or `rise` successes)
//! in a row; one result the other way resets the run, which is what keeps
//! a flapping server from flipping at every check.

use rvs_conf::health::HealthCheck;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a check failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// No answer within the check's timeout.
    Timeout,
    /// The server refused (TCP RST, ICMP port unreachable).
    Refused,
    /// No route, host unreachable, network down.
    Unreachable,
    /// An HTTP status not in the check's list.
    Status(u16),
    /// The body's MD5 is not the check's `digest`.
    Digest,
    /// The body lacks the check's `contains`.
    Body,
    /// A reply that is not what was expected (UDP `expect`, a malformed
    /// HTTP response, an ICMP error).
    Reply(String),
    /// An exec check's command exited with this status.
    Exit(i32),
    /// An exec check's command was killed by a signal.
    Signal,
    /// Anything else the system said (socket errors, TLS errors).
    Error(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Timeout => write!(f, "timeout"),
            Failure::Refused => write!(f, "refused"),
            Failure::Unreachable => write!(f, "unreachable"),
            Failure::Status(s) => write!(f, "status {s}"),
            Failure::Digest => write!(f, "digest mismatch"),
            Failure::Body => write!(f, "body mismatch"),
            Failure::Reply(m) => write!(f, "bad reply: {m}"),
            Failure::Exit(c) => write!(f, "exit status {c}"),
            Failure::Signal => write!(f, "killed by a signal"),
            Failure::Error(m) => write!(f, "{m}"),
        }
    }
}

/// One check's result.
pub type Outcome = Result<(), Failure>;

/// A flip of a dest's state, for the log and the counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub up: bool,
    /// The last failure when going down; `None` when coming up.
    pub reason: Option<Failure>,
    /// How many results in a row made the flip.
    pub run: u32,
}

/// See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestState {
    pub up: bool,
    /// Results in a row that disagree with `up`.
    run: u32,
    /// The last failure seen (kept after recovery, for `--health`).
    pub last_failure: Option<Failure>,
    /// Checker clock of the last flip (or of the start).
    pub since_ms: u64,
    pub checks: u64,
    pub failures: u64,
    pub transitions: u64,
}

impl DestState {
    /// The state before any check: down with `alpha`, else up.
    pub fn new(check: &HealthCheck, now_ms: u64) -> Self {
        DestState {
            up: !check.alpha,
            run: 0,
            last_failure: None,
            since_ms: now_ms,
            checks: 0,
            failures: 0,
            transitions: 0,
        }
    }

    /// Count one result; `Some` when it flips the state.
    pub fn record(&mut self, check: &HealthCheck, outcome: &Outcome, now_ms: u64) -> Option<Change> {
        self.checks += 1;
        let ok = outcome.is_ok();
        if let Err(f) = outcome {
            self.failures += 1;
            self.last_failure = Some(f.clone());
        }
        if ok == self.up {
            self.run = 0;
            return None;
        }
        self.run += 1;
        let needed = if self.up { check.fall } else { check.rise };
        if self.run < needed {
            return None;
        }
        let run = self.run;
        self.up = ok;
        self.run = 0;
        self.since_ms = now_ms;
        self.transitions += 1;
        Some(Change { up: ok, reason: outcome.clone().err(), run })
    }

    /// Results in a row that disagree with the state (for `--health`).
    pub fn pending(&self) -> u32 {
        self.run
    }
}

/// A service's quorum with hysteresis (keepalived's rule): an up service
/// goes down when the weights of its healthy dests add up to less than
/// `quorum - hysteresis` (or to nothing), a down one comes up again at
/// `quorum + hysteresis`.
pub fn quorum_up(was_up: bool, healthy_weight: u64, quorum: u32, hysteresis: u32) -> bool {
    let (q, h) = (u64::from(quorum), u64::from(hysteresis));
    if was_up {
        healthy_weight > 0 && healthy_weight >= q.saturating_sub(h)
    } else {
        healthy_weight > 0 && healthy_weight >= q + h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_conf::health::CheckKind;

    fn check(fall: u32, rise: u32, alpha: bool) -> HealthCheck {
        HealthCheck { fall, rise, alpha, ..HealthCheck::new(CheckKind::Tcp) }
    }

    /// Feed results one per second; return the clock of each flip.
    fn run(c: &HealthCheck, results: &str) -> (DestState, Vec<(u64, bool)>) {
        let mut s = DestState::new(c, 0);
        let mut flips = Vec::new();
        for (i, r) in results.chars().enumerate() {
            let now = (i as u64 + 1) * 1000;
            let o = if r == '+' { Ok(()) } else { Err(Failure::Timeout) };
            if let Some(ch) = s.record(c, &o, now) {
                assert_eq!(ch.up, r == '+');
                flips.push((now, ch.up));
            }
        }
        (s, flips)
    }

    #[test]
    fn fall_needs_that_many_failures_in_a_row() {
        let c = check(2, 1, false);
        let (s, flips) = run(&c, "+-+-+--");
        assert_eq!(flips, vec![(7000, false)], "single failures between successes never flip");
        assert!(!s.up);
        assert_eq!((s.checks, s.failures, s.transitions, s.since_ms), (7, 4, 1, 7000));
        assert_eq!(s.last_failure, Some(Failure::Timeout));
    }

    #[test]
    fn rise_needs_that_many_successes_in_a_row() {
        let c = check(1, 3, false);
        let (s, flips) = run(&c, "-++-+++");
        assert_eq!(flips, vec![(1000, false), (7000, true)]);
        assert!(s.up);
        assert_eq!(s.pending(), 0);
    }

    #[test]
    fn alpha_starts_down_and_comes_up_after_rise() {
        let c = check(3, 2, true);
        let s = DestState::new(&c, 0);
        assert!(!s.up);
        let (s, flips) = run(&c, "+-++");
        assert_eq!(flips, vec![(4000, true)]);
        assert!(s.up);
        // Without alpha the dest starts up and a first success changes nothing.
        let (_, flips) = run(&check(3, 2, false), "++");
        assert!(flips.is_empty());
    }

    #[test]
    fn a_pending_run_is_visible_and_reset_by_one_good_result() {
        let c = check(3, 1, false);
        let (s, _) = run(&c, "--");
        assert_eq!((s.up, s.pending()), (true, 2));
        let (s, _) = run(&c, "--+");
        assert_eq!((s.up, s.pending()), (true, 0));
    }

    #[test]
    fn the_change_names_its_reason() {
        let c = check(1, 1, false);
        let mut s = DestState::new(&c, 0);
        let ch = s.record(&c, &Err(Failure::Status(503)), 5).unwrap();
        assert_eq!(ch, Change { up: false, reason: Some(Failure::Status(503)), run: 1 });
        assert_eq!(Failure::Status(503).to_string(), "status 503");
        let ch = s.record(&c, &Ok(()), 6).unwrap();
        assert_eq!(ch.reason, None);
    }

    #[test]
    fn quorum_with_and_without_hysteresis() {
        // quorum 3, no hysteresis: down below 3, up at 3.
        assert!(quorum_up(true, 3, 3, 0));
        assert!(!quorum_up(true, 2, 3, 0));
        assert!(quorum_up(false, 3, 3, 0));
        // quorum 3, hysteresis 1: an up service holds at 2, a down one
        // needs 4.
        assert!(quorum_up(true, 2, 3, 1));
        assert!(!quorum_up(true, 1, 3, 1));
        assert!(!quorum_up(false, 3, 3, 1));
        assert!(quorum_up(false, 4, 3, 1));
        // Nothing healthy is always down, whatever the margin.
        assert!(!quorum_up(true, 0, 1, 0));
    }
}
