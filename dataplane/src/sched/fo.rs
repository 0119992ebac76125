//! fo — weighted failover: every new connection goes to the available
//! dest with the highest weight (the first of them on ties), so the
//! others only take traffic when it is quiesced or overloaded.

use super::{PickCtx, Scheduler};
use crate::svc::Dest;

#[derive(Debug)]
pub struct Fo;

impl Scheduler for Fo {
    fn pick(&self, _ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        let mut best: Option<(usize, u32)> = None;
        for (i, d) in dests.iter().enumerate().filter(|(_, d)| d.available()) {
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
    fn highest_weight_available() {
        let mut ds = dests(&[2, 5, 5, 3]);
        set_load(&ds[1], 1000, 1000); // load does not matter
        assert_eq!(Fo.pick(&ctx(1, 1), &ds), Some(1));
        overload(&mut ds[1]);
        assert_eq!(Fo.pick(&ctx(1, 1), &ds), Some(2));
        overload(&mut ds[2]);
        assert_eq!(Fo.pick(&ctx(1, 1), &ds), Some(3));
    }
}
