//! wlc — weighted least-connection, the default scheduler: the dest with
//! the smallest `(256 * ActiveConn + InActConn) / weight`.
//!
//! Active connections cost far more than ones in TIME_WAIT or SYN_RECV, so
//! IPVS counts an active one as 256 inactive ones (its "overhead"). As in
//! IPVS, loads are compared by cross-multiplication instead of division,
//! `oh_a * w_b < oh_b * w_a`, and a tie goes to the dest listed first.

use super::{PickCtx, Scheduler};
use crate::svc::Dest;

/// IPVS's connection overhead of a dest: `256 * ActiveConn + InActConn`.
#[inline]
pub fn overhead(d: &Dest) -> u64 {
    (u64::from(d.active()) << 8) + u64::from(d.inactive())
}

/// Among the available dests of `candidates` (indices into `dests`), the
/// one with the smallest `load(d) / weight`; the first one on ties. lc,
/// wlc, sed and the lblc family all reduce to this.
pub fn weighted_least(
    dests: &[Dest],
    candidates: impl Iterator<Item = usize>,
    load: impl Fn(&Dest) -> u64,
) -> Option<usize> {
    let mut best: Option<(usize, u64)> = None;
    for i in candidates {
        let d = &dests[i];
        if !d.available() {
            continue;
        }
        let oh = load(d);
        let lighter = match best {
            None => true,
            Some((b, boh)) => lighter(oh, d.weight, boh, dests[b].weight),
        };
        if lighter {
            best = Some((i, oh));
        }
    }
    best.map(|(i, _)| i)
}

/// `oh_a / w_a < oh_b / w_b`, without division (u128: no overflow).
#[inline]
pub fn lighter(oh_a: u64, w_a: u32, oh_b: u64, w_b: u32) -> bool {
    u128::from(oh_a) * u128::from(w_b) < u128::from(oh_b) * u128::from(w_a)
}

#[derive(Debug)]
pub struct Wlc;

impl Scheduler for Wlc {
    fn pick(&self, _ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        weighted_least(dests, 0..dests.len(), overhead)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn least_overhead_per_weight() {
        let ds = dests(&[1, 2, 4]);
        set_load(&ds[0], 1, 0); // 256 / 1
        set_load(&ds[1], 1, 10); // 266 / 2 = 133
        set_load(&ds[2], 2, 0); // 512 / 4 = 128
        assert_eq!(Wlc.pick(&ctx(1, 1), &ds), Some(2));
        set_load(&ds[2], 2, 100); // 612 / 4 = 153
        assert_eq!(Wlc.pick(&ctx(1, 1), &ds), Some(1));
    }

    #[test]
    fn inactive_counts_a_little() {
        let ds = dests(&[1, 1]);
        set_load(&ds[0], 0, 255);
        set_load(&ds[1], 1, 0);
        assert_eq!(Wlc.pick(&ctx(1, 1), &ds), Some(0));
        set_load(&ds[0], 0, 257);
        assert_eq!(Wlc.pick(&ctx(1, 1), &ds), Some(1));
    }

    #[test]
    fn ties_go_first_and_unavailable_skipped() {
        let mut ds = dests(&[2, 2, 0, 2]);
        assert_eq!(Wlc.pick(&ctx(1, 1), &ds), Some(0));
        overload(&mut ds[0]);
        assert_eq!(Wlc.pick(&ctx(1, 1), &ds), Some(1));
        set_load(&ds[1], 1, 0);
        assert_eq!(Wlc.pick(&ctx(1, 1), &ds), Some(3));
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let ds = dests(&[u32::MAX, 1]);
        set_load(&ds[0], u64::from(u32::MAX), u64::from(u32::MAX));
        assert_eq!(Wlc.pick(&ctx(1, 1), &ds), Some(1));
    }
}
