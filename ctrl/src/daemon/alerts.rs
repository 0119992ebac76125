//! Rate-limited warnings about drops, from the counters the workers
//! already keep (the data path never logs).
//!
//! Every second the main thread hands the per-worker drop counters in;
//! a reason that rose gets at most one warning per [`HOLD`], which
//! carries everything counted since the previous one. Reasons that mean
//! the director itself is short of something (table full, local ports,
//! neighbours, rings, mbufs, links) warn at the first drop; the rest are
//! about the input (malformed or unexpected packets, which the Internet
//! sends all the time) and warn only for a burst of [`BURST`] or more in
//! one second.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// At most one warning per reason per this long.
pub const HOLD: Duration = Duration::from_secs(10);
/// Input drops per second that make a burst worth a warning.
pub const BURST: u64 = 1000;

/// Drops that say the director lacks a resource or a peer.
const RESOURCE: &[&str] = &[
    "conn_table_full",
    "lport_exhausted",
    "neigh_failed",
    "neigh_pending_full",
    "no_route",
    "no_dest",
    "redirect_full",
    "tx_full",
    "no_mbuf",
    "link_down",
    "no_headroom",
];

#[derive(Default)]
struct Reason {
    /// Total at the last sample.
    seen: u64,
    /// Total when the last warning was given (or when watching began).
    warned_at: u64,
    last_warning: Option<Instant>,
    /// Set when a sample rose enough; cleared by a warning.
    armed: bool,
}

/// The watch's state across samples.
#[derive(Default)]
pub struct DropAlerts {
    reasons: HashMap<&'static str, Reason>,
}

impl DropAlerts {
    /// Feed one sample: `(reason, total over all workers)`. Returns the
    /// warnings to log now. Counters start at zero when rvsd boots, and so
    /// does the watch: drops before the first sample count as a rise.
    pub fn sample(&mut self, totals: &[(&'static str, u64)], now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        for &(name, total) in totals {
            let r = self.reasons.entry(name).or_default();
            let rise = total.saturating_sub(r.seen);
            r.seen = total;
            let threshold = if RESOURCE.contains(&name) { 1 } else { BURST };
            r.armed |= rise >= threshold;
            let held = r.last_warning.is_some_and(|t| now.duration_since(t) < HOLD);
            if r.armed && !held {
                let since = match r.last_warning {
                    Some(t) => format!("in the last {} s", now.duration_since(t).as_secs()),
                    None => "since the last report".to_string(),
                };
                out.push(format!("drops: {} {name} {since} (total {total})", total - r.warned_at));
                r.warned_at = total;
                r.last_warning = Some(now);
                r.armed = false;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_drops_warn_at_once_then_are_held() {
        let mut a = DropAlerts::default();
        let t0 = Instant::now();
        assert!(a.sample(&[("conn_table_full", 0)], t0).is_empty(), "nothing yet");
        assert!(a.sample(&[("conn_table_full", 0)], t0 + Duration::from_secs(1)).is_empty(), "no rise");
        let w = a.sample(&[("conn_table_full", 6)], t0 + Duration::from_secs(2));
        assert_eq!(w, ["drops: 6 conn_table_full since the last report (total 6)"]);
        // Held for HOLD, whatever happens meanwhile...
        for s in 3..12 {
            assert!(a.sample(&[("conn_table_full", 6 + s)], t0 + Duration::from_secs(s)).is_empty(), "{s}");
        }
        // ... then one warning with all of it.
        let w = a.sample(&[("conn_table_full", 100)], t0 + Duration::from_secs(12));
        assert_eq!(w, ["drops: 94 conn_table_full in the last 10 s (total 100)"]);
        // Drops counted before the first sample (at boot) are a rise too.
        let mut b = DropAlerts::default();
        assert_eq!(b.sample(&[("no_dest", 1)], t0).len(), 1);
    }

    #[test]
    fn input_drops_warn_only_for_bursts() {
        let mut a = DropAlerts::default();
        let t0 = Instant::now();
        a.sample(&[("ip_bad_csum", 0)], t0);
        let mut total = 0;
        for s in 1..30 {
            total += BURST - 1;
            assert!(a.sample(&[("ip_bad_csum", total)], t0 + Duration::from_secs(s)).is_empty(), "trickle {s}");
        }
        total += BURST;
        let w = a.sample(&[("ip_bad_csum", total)], t0 + Duration::from_secs(30));
        assert_eq!(w.len(), 1);
        assert!(w[0].contains(&format!("{total} ip_bad_csum")), "{w:?}");
    }

    #[test]
    fn a_burst_during_the_hold_is_reported_when_it_ends() {
        let mut a = DropAlerts::default();
        let t0 = Instant::now();
        a.sample(&[("no_mbuf", 0)], t0);
        assert_eq!(a.sample(&[("no_mbuf", 1)], t0 + Duration::from_secs(1)).len(), 1);
        assert!(a.sample(&[("no_mbuf", 2)], t0 + Duration::from_secs(2)).is_empty());
        // Nothing new after the rise, but the rise was during the hold.
        let w = a.sample(&[("no_mbuf", 2)], t0 + Duration::from_secs(11));
        assert_eq!(w, ["drops: 1 no_mbuf in the last 10 s (total 2)"]);
        assert!(a.sample(&[("no_mbuf", 2)], t0 + Duration::from_secs(30)).is_empty(), "quiet");
    }
}
