//! Rate estimation for `--rate`, the IPVS way.
//!
//! IPVS samples every service's and dest's counters on a 2-second timer
//! and keeps an exponentially weighted average of the per-second deltas,
//! weight 1/4 per sample (`avg += (rate - avg) / 4`): a time constant of
//! about 8 s, smooth enough to read yet quick to follow a change. rvs
//! does the same on the Control side, from the counters the workers
//! already keep, so the data path pays nothing for rates.
//!
//! Objects are tracked by identity ([`EstKey`]); one that disappears from
//! a sample is forgotten, one that appears starts from its current
//! counters (its first rate is 0, as in IPVS). A counter that went
//! backwards (`-Z`) restarts from its new value.

use crate::adm::view::{Rates, Stats};
use rvs_conf::ServiceKey;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// The sampling period.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// Weight of a new sample in the average (IPVS: 1/4).
const WEIGHT: f64 = 0.25;

/// What a rate belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EstKey {
    Service(ServiceKey),
    /// A dest of a service: (service, address, port).
    Dest(ServiceKey, IpAddr, u16),
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    last: Stats,
    /// cps, inpps, outpps, inbps, outbps.
    avg: [f64; 5],
    /// The round this entry was last sampled in.
    round: u64,
}

/// Rates of every service and dest.
#[derive(Debug, Default)]
pub struct Estimator {
    entries: HashMap<EstKey, Entry>,
    round: u64,
}

fn fields(s: &Stats) -> [u64; 5] {
    [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes]
}

impl Estimator {
    /// One sampling round: the counters of every live object, `elapsed`
    /// after the previous round. Objects not in `samples` are dropped.
    pub fn sample(&mut self, elapsed: Duration, samples: impl IntoIterator<Item = (EstKey, Stats)>) {
        self.round += 1;
        let secs = elapsed.as_secs_f64().max(1e-3);
        for (key, now) in samples {
            let round = self.round;
            let e = self.entries.entry(key).or_insert(Entry { last: now, avg: [0.0; 5], round });
            if e.round != round {
                let (new, old) = (fields(&now), fields(&e.last));
                for i in 0..5 {
                    let rate = new[i].saturating_sub(old[i]) as f64 / secs;
                    e.avg[i] += (rate - e.avg[i]) * WEIGHT;
                }
                e.last = now;
                e.round = round;
            }
        }
        let round = self.round;
        self.entries.retain(|_, e| e.round == round);
    }

    /// The current rates of an object (zero if unknown).
    pub fn rates(&self, key: &EstKey) -> Rates {
        let Some(e) = self.entries.get(key) else {
            return Rates::default();
        };
        let r = |i: usize| e.avg[i].round() as u64;
        Rates { cps: r(0), inpps: r(1), outpps: r(2), inbps: r(3), outbps: r(4) }
    }

    /// Forget the averages of the objects `pick` selects (`-Z` zeroes
    /// rates too, like IPVS's `ip_vs_zero_estimator`). Their counters
    /// restart from the next sample.
    pub fn zero(&mut self, pick: impl Fn(&EstKey) -> bool) {
        self.entries.retain(|k, _| !pick(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_conf::Proto;

    fn key() -> EstKey {
        EstKey::Service(ServiceKey::Inet { proto: Proto::Tcp, addr: "10.0.0.1".parse().unwrap(), port: 80 })
    }

    fn stats(n: u64) -> Stats {
        Stats { conns: n, inpkts: 10 * n, outpkts: 20 * n, inbytes: 1000 * n, outbytes: 3000 * n }
    }

    #[test]
    fn converges_like_ipvs() {
        let mut e = Estimator::default();
        // 100 conns per 2 s = 50 cps, steady.
        e.sample(INTERVAL, [(key(), stats(0))]);
        assert_eq!(e.rates(&key()), Rates::default(), "first sample has no delta");
        let mut want = 0.0f64;
        for round in 1..=20u64 {
            e.sample(INTERVAL, [(key(), stats(100 * round))]);
            want += (50.0 - want) * 0.25;
            assert_eq!(e.rates(&key()).cps, want.round() as u64, "round {round}");
        }
        // After n rounds the average is rate·(1 − 0.75ⁿ): 0.75²⁰ ≈ 0.3 %.
        let k = 1.0 - 0.75f64.powi(20);
        let r = e.rates(&key());
        let want = |rate: f64| (rate * k).round() as u64;
        assert_eq!(
            (r.cps, r.inpps, r.outpps, r.inbps, r.outbps),
            (want(50.0), want(500.0), want(1000.0), want(50_000.0), want(150_000.0))
        );
        assert_eq!(r.inpps, 498);
        // First round: exactly a quarter of the rate (12.5 → 13).
        let mut f = Estimator::default();
        f.sample(INTERVAL, [(key(), stats(0))]);
        f.sample(INTERVAL, [(key(), stats(100))]);
        assert_eq!(f.rates(&key()).cps, 13);
    }

    #[test]
    fn decays_when_traffic_stops_and_uses_elapsed_time() {
        let mut e = Estimator::default();
        e.sample(INTERVAL, [(key(), stats(0))]);
        // 1000 conns in 4 s (a late timer) is 250 cps, not 500.
        e.sample(Duration::from_secs(4), [(key(), stats(1000))]);
        assert_eq!(e.rates(&key()).cps, 63); // 250 / 4 = 62.5
        e.sample(INTERVAL, [(key(), stats(1000))]);
        assert_eq!(e.rates(&key()).cps, 47); // 62.5 * 0.75 = 46.9
    }

    #[test]
    fn zeroed_counters_and_vanished_objects() {
        let mut e = Estimator::default();
        e.sample(INTERVAL, [(key(), stats(1000))]);
        // Counters went backwards (-Z without telling us): no negative
        // rate, no wrap-around spike.
        e.sample(INTERVAL, [(key(), stats(10))]);
        assert_eq!(e.rates(&key()).cps, 0);
        e.sample(INTERVAL, [(key(), stats(110))]);
        assert_eq!(e.rates(&key()).cps, 13);
        e.zero(|k| matches!(k, EstKey::Service(_)));
        assert_eq!(e.rates(&key()).cps, 0);
        e.sample(INTERVAL, [(key(), stats(210))]);
        e.sample(INTERVAL, std::iter::empty());
        assert!(e.entries.is_empty(), "deleted objects are forgotten");
    }
}
