//! nq — never queue: an idle dest (no active connection) if there is one,
//! the first in list order, since a connection sent there waits for
//! nobody; otherwise the shortest expected delay (sed).

use super::sed::expected_delay;
use super::wlc::weighted_least;
use super::{PickCtx, Scheduler};
use crate::svc::Dest;

#[derive(Debug)]
pub struct Nq;

impl Scheduler for Nq {
    fn pick(&self, _ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        dests
            .iter()
            .position(|d| d.available() && d.active() == 0)
            .or_else(|| weighted_least(dests, 0..dests.len(), expected_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn idle_first_then_sed() {
        let mut ds = dests(&[1, 1, 5, 0]);
        set_load(&ds[0], 3, 0);
        // Dest 1 is idle: taken although dest 2 is idle and heavier.
        assert_eq!(Nq.pick(&ctx(1, 1), &ds), Some(1));
        overload(&mut ds[1]);
        assert_eq!(Nq.pick(&ctx(1, 1), &ds), Some(2));
        set_load(&ds[2], 9, 0); // 10/5 = 2 vs 4/1
        assert_eq!(Nq.pick(&ctx(1, 1), &ds), Some(2));
        set_load(&ds[2], 20, 0); // 21/5 > 4/1
        assert_eq!(Nq.pick(&ctx(1, 1), &ds), Some(0));
    }
}
