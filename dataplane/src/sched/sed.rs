//! sed — shortest expected delay: the dest with the smallest
//! `(ActiveConn + 1) / weight`, the delay a new connection expects if
//! every active connection is served at the dest's rate. Unlike wlc it
//! ignores inactive connections and the `+ 1` makes an idle heavy dest
//! beat an idle light one. First dest wins ties.

use super::wlc::weighted_least;
use super::{PickCtx, Scheduler};
use crate::svc::Dest;

/// The sed/nq cost of a dest before weighting.
#[inline]
pub fn expected_delay(d: &Dest) -> u64 {
    u64::from(d.active()) + 1
}

#[derive(Debug)]
pub struct Sed;

impl Scheduler for Sed {
    fn pick(&self, _ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        weighted_least(dests, 0..dests.len(), expected_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn smallest_expected_delay() {
        let ds = dests(&[1, 3]);
        // Idle: 1/1 vs 1/3, the heavier dest wins.
        assert_eq!(Sed.pick(&ctx(1, 1), &ds), Some(1));
        set_load(&ds[1], 2, 0); // 3/3 = 1/1: tie, first wins
        assert_eq!(Sed.pick(&ctx(1, 1), &ds), Some(0));
        set_load(&ds[1], 1, 1000); // 2/3: inactive ignored
        assert_eq!(Sed.pick(&ctx(1, 1), &ds), Some(1));
    }
}
