//! ovf — overflow: connections go to the available dest with the highest
//! weight until its active connections exceed its weight, then overflow to
//! the next highest (the weight is read as a capacity in connections).
//!
//! The rule is IPVS's exactly: a dest is skipped when `ActiveConn > weight`,
//! so a dest with `ActiveConn == weight` still takes one more and ends at
//! weight + 1 active connections. First dest wins ties.

use super::{PickCtx, Scheduler};
use crate::svc::Dest;

#[derive(Debug)]
pub struct Ovf;

impl Scheduler for Ovf {
    fn pick(&self, _ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        let mut best: Option<(usize, u32)> = None;
        for (i, d) in dests.iter().enumerate() {
            if !d.available() || d.active() > d.weight {
                continue;
            }
            if !matches!(best, Some((_, w)) if w >= d.weight) {
                best = Some((i, d.weight));
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
    fn overflows_when_active_exceeds_weight() {
        let ds = dests(&[2, 4, 3]);
        set_load(&ds[1], 4, 100); // A == W: still taken
        assert_eq!(Ovf.pick(&ctx(1, 1), &ds), Some(1));
        set_load(&ds[1], 5, 0);
        assert_eq!(Ovf.pick(&ctx(1, 1), &ds), Some(2));
        set_load(&ds[2], 4, 0);
        assert_eq!(Ovf.pick(&ctx(1, 1), &ds), Some(0));
        set_load(&ds[0], 3, 0);
        assert_eq!(Ovf.pick(&ctx(1, 1), &ds), None);
    }
}
