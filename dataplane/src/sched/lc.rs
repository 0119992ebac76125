//! lc — least-connection: the dest with the smallest IPVS overhead
//! `256 * ActiveConn + InActConn`, regardless of weight (weight only
//! decides whether a dest may be used at all). First dest wins ties.

use super::wlc::overhead;
use super::{PickCtx, Scheduler};
use crate::svc::Dest;

#[derive(Debug)]
pub struct Lc;

impl Scheduler for Lc {
    fn pick(&self, _ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        let mut best: Option<(usize, u64)> = None;
        for (i, d) in dests.iter().enumerate().filter(|(_, d)| d.available()) {
            let oh = overhead(d);
            if !matches!(best, Some((_, b)) if b <= oh) {
                best = Some((i, oh));
            }
        }
        best.map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn least_overhead_ignoring_weight() {
        let ds = dests(&[100, 1, 1]);
        set_load(&ds[0], 2, 0); // 512
        set_load(&ds[1], 1, 300); // 556
        set_load(&ds[2], 1, 200); // 456
        assert_eq!(Lc.pick(&ctx(1, 1), &ds), Some(2));
        set_load(&ds[0], 1, 0); // 256
        assert_eq!(Lc.pick(&ctx(1, 1), &ds), Some(0));
    }

    #[test]
    fn skips_quiesced_and_overloaded() {
        let mut ds = dests(&[0, 1, 1]);
        set_load(&ds[1], 5, 0);
        set_load(&ds[2], 6, 0);
        assert_eq!(Lc.pick(&ctx(1, 1), &ds), Some(1));
        overload(&mut ds[1]);
        set_load(&ds[1], 0, 0);
        assert_eq!(Lc.pick(&ctx(1, 1), &ds), Some(2));
    }
}
