//! When each dest is checked next, and what its results made of it.
//!
//! Pure, on the checker's clock (milliseconds): the checker thread asks
//! for the due jobs, hands them to its probe threads and reports each
//! result back. A dest is never checked twice at once; its next check is
//! due one `interval` after the last one started, or at once when that
//! check took longer than the interval (a slow server is not checked more
//! often than it answers).
//!
//! [`Schedule::sync`] takes the checks the configuration asks for after
//! every commit: a dest whose check and target did not change keeps its
//! state, so a reload or an rvsadm edit of something else never resets a
//! down dest to up.

use super::overlay::DestId;
use super::probe::Target;
use super::state::{Change, DestState, Outcome};
use rvs_conf::health::HealthCheck;
use rvs_conf::ServiceConf;
use std::collections::{BTreeMap, HashMap};

/// One dest's check as the configuration asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: DestId,
    pub check: HealthCheck,
    pub target: Target,
}

/// Every check `services` ask for.
pub fn jobs(services: &[ServiceConf]) -> Vec<Job> {
    let mut out = Vec::new();
    for s in services {
        for d in &s.dests {
            let Some(c) = s.check_of(d) else { continue };
            let id = DestId::of(s, d);
            let port = if c.port != 0 { c.port } else { id.port };
            let target = Target { addr: c.addr.unwrap_or(d.addr), port, dest: (d.addr, id.port) };
            out.push(Job { id, check: c.clone(), target });
        }
    }
    out
}

#[derive(Debug)]
struct Slot {
    job: Job,
    state: DestState,
    next_ms: u64,
    busy: bool,
}

/// A dest's health as `--health` and the metrics show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub job: Job,
    pub state: DestState,
    pub pending: u32,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Schedule {
    slots: BTreeMap<DestId, Slot>,
}

impl Schedule {
    /// Take the checks of a new configuration; returns how many dests kept
    /// their state.
    pub fn sync(&mut self, jobs: Vec<Job>, now_ms: u64) -> usize {
        let mut old = std::mem::take(&mut self.slots);
        let mut kept = 0;
        for job in jobs {
            let slot = match old.remove(&job.id) {
                Some(s) if s.job == job => {
                    kept += 1;
                    s
                }
                _ => Slot { state: DestState::new(&job.check, now_ms), job, next_ms: now_ms, busy: false },
            };
            self.slots.insert(slot.job.id, slot);
        }
        kept
    }

    /// The checks due at `now_ms`, each marked running until its result
    /// comes back.
    pub fn due(&mut self, now_ms: u64) -> Vec<Job> {
        let mut out = Vec::new();
        for s in self.slots.values_mut().filter(|s| !s.busy && s.next_ms <= now_ms) {
            s.busy = true;
            s.next_ms = now_ms + s.job.check.interval.0;
            out.push(s.job.clone());
        }
        out
    }

    /// The result of a check handed out by [`Schedule::due`]. A result for
    /// a check the configuration no longer asks for (it changed while the
    /// probe ran) is dropped.
    pub fn complete(&mut self, job: &Job, outcome: &Outcome, now_ms: u64) -> Option<Change> {
        let s = self.slots.get_mut(&job.id).filter(|s| s.job == *job && s.busy)?;
        s.busy = false;
        s.next_ms = s.next_ms.max(now_ms);
        s.state.record(&s.job.check, outcome, now_ms)
    }

    /// When the next idle check is due.
    pub fn next_due(&self) -> Option<u64> {
        self.slots.values().filter(|s| !s.busy).map(|s| s.next_ms).min()
    }

    /// Up or down of every checked dest.
    pub fn verdicts(&self) -> HashMap<DestId, bool> {
        self.slots.iter().map(|(id, s)| (*id, s.state.up)).collect()
    }

    pub fn status(&self) -> Vec<Status> {
        self.slots
            .values()
            .map(|s| Status { job: s.job.clone(), state: s.state.clone(), pending: s.state.pending() })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::Failure;
    use super::*;

    const HEAD: &str = "interfaces: [ { name: a, device: net_null0, addresses: [10.0.0.1/24] } ]\nservices:\n";

    fn services(check: &str) -> Vec<ServiceConf> {
        let y = format!(
            "{HEAD}  - {{ vip: 10.0.0.100, port: 80, health: {check}, \
             dests: [ {{ addr: 10.0.0.10, port: 8080 }}, {{ addr: 10.0.0.20, health: {{ type: tcp, port: 22, addr: 10.0.0.21 }} }}, \
             {{ addr: 10.0.0.30, health: {{ type: none }} }} ] }}\n"
        );
        rvs_conf::load_str("t.yaml", &y).unwrap().services
    }

    #[test]
    fn jobs_take_the_dest_or_the_check_overrides() {
        let j = jobs(&services("{ type: http, interval: 1 }"));
        assert_eq!(j.len(), 2, "the unchecked dest has no job");
        assert_eq!(j[0].target, Target { addr: "10.0.0.10".parse().unwrap(), port: 8080, dest: j[0].target.dest });
        assert_eq!((j[1].target.addr.to_string(), j[1].target.port), ("10.0.0.21".into(), 22));
        assert_eq!(j[1].target.dest, ("10.0.0.20".parse().unwrap(), 80));
    }

    /// Run the schedule for `secs` with a fake clock in 100 ms steps;
    /// `answer(job, now)` says what a check started at `now` returns and
    /// after how long. Returns the flips with their time.
    fn drive(
        sched: &mut Schedule,
        secs: u64,
        answer: impl Fn(&Job, u64) -> (Outcome, u64),
    ) -> (Vec<(u64, String, bool)>, usize) {
        let mut running: Vec<(u64, Job, Outcome)> = Vec::new();
        let mut flips = Vec::new();
        let mut started = 0;
        for now in (0..=secs * 1000).step_by(100) {
            running.retain(|(end, job, o)| {
                if *end > now {
                    return true;
                }
                if let Some(c) = sched.complete(job, o, now) {
                    flips.push((now, job.id.addr.to_string(), c.up));
                }
                false
            });
            for job in sched.due(now) {
                started += 1;
                let (o, took) = answer(&job, now);
                running.push((now + took, job, o));
            }
        }
        (flips, started)
    }

    #[test]
    fn a_dead_dest_goes_down_after_fall_intervals_and_comes_back_after_rise() {
        let svc = services("{ type: http, interval: 1, timeout: 0.5, fall: 2, rise: 3 }");
        let mut s = Schedule::default();
        s.sync(jobs(&svc), 0);
        // 10.0.0.10 dies at 2.0 s (checks time out after 0.5 s) and is back at 6.0 s.
        let (flips, started) = drive(&mut s, 12, |j, now| {
            if j.id.addr.to_string() == "10.0.0.10" && (2000..6000).contains(&now) {
                (Err(Failure::Timeout), 500)
            } else {
                (Ok(()), 10)
            }
        });
        // Checks at 2.0 and 3.0 fail (reported at 2.5 and 3.5): down at 3.5.
        // Checks at 6, 7, 8 succeed: up at 8.0 (+10 ms, seen at the next 100 ms step).
        assert_eq!(flips, vec![(3500, "10.0.0.10".into(), false), (8100, "10.0.0.10".into(), true)]);
        // 10.0.0.10 every second (0 to 12 s); 10.0.0.20's own check every 5 s.
        assert_eq!(started, 13 + 3);
        assert_eq!(s.verdicts().values().filter(|u| **u).count(), 2);
    }

    #[test]
    fn a_check_slower_than_its_interval_is_not_overlapped() {
        let svc = services("{ type: tcp, interval: 1, timeout: 3 }");
        let mut s = Schedule::default();
        s.sync(jobs(&svc), 0);
        // Each check takes 2.5 s: one starts every 2.5 s (next due at once
        // after the result), never two at a time.
        let (_, started) = drive(&mut s, 10, |_, _| (Ok(()), 2500));
        // 10.0.0.10 at 0, 2.5, 5, 7.5 and 10 s; 10.0.0.20 (interval 5) at 0, 5, 10.
        assert_eq!(started, 5 + 3);
    }

    #[test]
    fn sync_keeps_the_state_of_unchanged_dests() {
        let svc = services("{ type: http, interval: 1, fall: 1 }");
        let mut s = Schedule::default();
        s.sync(jobs(&svc), 0);
        // Three rounds: the second dest's own check falls after 3.
        let due = s.due(0);
        for round in 0..3u64 {
            let t = round * 5000;
            let jobs = if round == 0 { due.clone() } else { s.due(t) };
            for j in &jobs {
                s.complete(j, &Err(Failure::Refused), t + 10);
            }
        }
        assert!(s.verdicts().values().all(|u| !u));
        // Same configuration: both stay down. A changed check resets the
        // first dest (no alpha: up); the second keeps its own check.
        assert_eq!(s.sync(jobs(&svc), 20), 2);
        assert!(s.verdicts().values().all(|u| !u));
        let changed = services("{ type: http, interval: 1, fall: 1, path: /other }");
        assert_eq!(s.sync(jobs(&changed), 30), 1);
        let v = s.verdicts();
        assert!(v[&jobs(&changed)[0].id] && !v[&jobs(&changed)[1].id]);
        // A result of the old check that comes back late is dropped.
        assert_eq!(s.complete(&due[0], &Ok(()), 40), None);
        assert_eq!(s.status()[0].state.checks, 0);
        assert_eq!(s.status()[1].state.checks, 3);
    }

    #[test]
    fn alpha_dests_start_down() {
        let svc = services("{ type: tcp, alpha: true, rise: 2 }");
        let mut s = Schedule::default();
        s.sync(jobs(&svc), 0);
        let first = jobs(&svc)[0].id;
        assert!(!s.verdicts()[&first]);
        let (flips, _) = drive(&mut s, 6, |_, _| (Ok(()), 10));
        // The second dest has its own check, without alpha: it starts up.
        assert_eq!(flips, vec![(5100, "10.0.0.10".into(), true)], "interval 5 s: up after the checks at 0 and 5 s");
    }
}
