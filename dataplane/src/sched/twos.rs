//! twos — weighted power of two choices (Mitzenmacher): draw two distinct
//! available dests at random, each with probability proportional to its
//! weight, and give the connection to the one with fewer active
//! connections per weight (the first drawn on a tie).
//!
//! Nearly as good at evening out load as least-connection, without reading
//! every dest's counters and without the herd effect of all workers
//! sending their new connections to the same least-loaded dest at once.
//!
//! Draws use the cumulative weights computed at build time (a binary
//! search per draw) and up to [`TRIES`] retries when the drawn dest is
//! unavailable or is the first one again; after that, one exact weighted
//! draw over the available dests (a pass over the list), so a dest that
//! holds most of the weight or many overloaded dests never makes a pick
//! fail or spin.

use super::hash::{reduce, SplitMix};
use super::wlc::lighter;
use super::{PickCtx, Scheduler};
use crate::svc::Dest;

/// Fast draws before the exact one.
const TRIES: usize = 4;

#[derive(Debug)]
pub struct Twos {
    /// `cum[k]`: sum of the weights of dests `0..=k`.
    cum: Box<[u64]>,
}

impl Twos {
    pub fn new(dests: &[Dest]) -> Self {
        let cum = dests
            .iter()
            .scan(0u64, |s, d| {
                *s += u64::from(d.weight);
                Some(*s)
            })
            .collect();
        Twos { cum }
    }

    /// A weighted draw of an available dest other than `not`.
    fn draw(&self, rng: &mut SplitMix, dests: &[Dest], not: Option<usize>) -> Option<usize> {
        let total = *self.cum.last()?;
        if total == 0 {
            return None;
        }
        for _ in 0..TRIES {
            let x = reduce(rng.next_u64(), total as usize) as u64;
            let i = self.cum.partition_point(|&c| c <= x);
            if Some(i) != not && dests.get(i).is_some_and(Dest::available) {
                return Some(i);
            }
        }
        let ok = |i: usize| Some(i) != not && dests[i].available();
        let n = dests.len().min(self.cum.len());
        let sum: u64 = (0..n).filter(|&i| ok(i)).map(|i| u64::from(dests[i].weight)).sum();
        if sum == 0 {
            return None;
        }
        let mut x = reduce(rng.next_u64(), sum as usize) as u64;
        (0..n).filter(|&i| ok(i)).find(|&i| {
            let w = u64::from(dests[i].weight);
            if x < w {
                return true;
            }
            x -= w;
            false
        })
    }
}

impl Scheduler for Twos {
    fn pick(&self, ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        let mut rng = SplitMix(ctx.rand);
        let a = self.draw(&mut rng, dests, None)?;
        let Some(b) = self.draw(&mut rng, dests, Some(a)) else {
            return Some(a);
        };
        let (da, db) = (&dests[a], &dests[b]);
        let b_lighter = lighter(u64::from(db.active()), db.weight, u64::from(da.active()), da.weight);
        Some(if b_lighter { b } else { a })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use proptest::prelude::*;

    fn pick_with(s: &Twos, ds: &[Dest], rand: u64) -> Option<usize> {
        s.pick(&PickCtx { rand, ..ctx(1, 1) }, ds)
    }

    #[test]
    fn lighter_of_two() {
        let ds = dests(&[1, 1]);
        let s = Twos::new(&ds);
        set_load(&ds[0], 5, 0);
        // With two dests both are always drawn: the lighter wins.
        for r in 0..100 {
            assert_eq!(pick_with(&s, &ds, r), Some(1));
        }
        set_load(&ds[1], 5, 0);
        let firsts: usize = (0..1000).filter(|&r| pick_with(&s, &ds, r) == Some(0)).count();
        assert!((400..600).contains(&firsts), "ties go to the first drawn: {firsts}");
    }

    #[test]
    fn per_weight_load() {
        let ds = dests(&[4, 1]);
        let s = Twos::new(&ds);
        set_load(&ds[0], 7, 0); // 7/4 < 2/1
        set_load(&ds[1], 2, 0);
        assert_eq!(pick_with(&s, &ds, 3), Some(0));
    }

    #[test]
    fn dominant_or_unavailable_dests_do_not_fail() {
        let mut ds = dests(&[1_000_000, 1, 0, 1]);
        let s = Twos::new(&ds);
        overload(&mut ds[3]);
        set_load(&ds[0], 10, 0);
        // The second draw must find dest 1 although dest 0 holds the weight.
        for r in 0..100 {
            assert_eq!(pick_with(&s, &ds, r), Some(1));
        }
        overload(&mut ds[1]);
        assert_eq!(pick_with(&s, &ds, 1), Some(0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// With equal loads the first draw decides: shares follow weights.
        #[test]
        fn shares_follow_weights(ws in prop::collection::vec(1u32..=10, 2..=6), seed: u64) {
            let ds = dests(&ws);
            let s = Twos::new(&ds);
            let n = 20_000;
            let mut counts = vec![0u32; ws.len()];
            let mut rng = SplitMix(seed);
            for _ in 0..n {
                counts[pick_with(&s, &ds, rng.next_u64()).unwrap()] += 1;
            }
            let sum: u32 = ws.iter().sum();
            for (i, &c) in counts.iter().enumerate() {
                let p = f64::from(ws[i]) / f64::from(sum);
                let want = p * f64::from(n);
                // Five standard deviations of a binomial.
                let tol = 5.0 * (want * (1.0 - p)).sqrt();
                prop_assert!((f64::from(c) - want).abs() <= tol, "dest {}: {} vs {}", i, c, want);
            }
        }
    }
}
