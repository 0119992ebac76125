//! wrr — weighted round robin, in IPVS's order.
//!
//! The sequence is the classic LVS one: a cursor `i` walks the dest list and
//! a current weight `cw` starts at 0; each time the cursor wraps, `cw`
//! drops by the gcd of the weights and, once it is no longer positive, is
//! reset to the maximum weight. A dest is picked when its weight is `>= cw`.
//! Weights 4, 3, 2 give A A B A B C A B C, repeating: every dest gets
//! exactly its weight's share of each cycle, and heavy dests come first.
//!
//! The state `(i, cw)` is packed in one `AtomicU64` and advanced by
//! compare-and-swap, so concurrent workers share one sequence without a
//! lock. Unavailable dests (quiesced or overloaded) are skipped; a full pass
//! that finds nothing at the current `cw` jumps `cw` straight to the
//! largest available weight instead of stepping down by the gcd, so a pick
//! costs at most a few passes over the list even with weights like 65535
//! and 1 (the rounds skipped would not have picked anything).

use super::{PickCtx, Scheduler};
use crate::svc::Dest;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Debug)]
pub struct Wrr {
    /// gcd of the positive weights.
    gcd: u32,
    /// Maximum weight.
    max: u32,
    /// `cw << 32 | i`.
    state: AtomicU64,
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn pack(i: usize, cw: u32) -> u64 {
    u64::from(cw) << 32 | i as u64
}

impl Wrr {
    pub fn new(dests: &[Dest]) -> Self {
        let gcd = dests.iter().fold(0, |g, d| gcd(g, d.weight));
        let max = dests.iter().map(|d| d.weight).max().unwrap_or(0);
        // Cursor on the last dest and cw 0: the first pick wraps, which
        // sets cw to the maximum weight and starts at the head.
        let last = dests.len().saturating_sub(1);
        Wrr { gcd, max, state: AtomicU64::new(pack(last, 0)) }
    }

    /// The pick after state `(i, cw)` and the new `cw`.
    fn step(&self, mut i: usize, mut cw: u32, dests: &[Dest]) -> Option<(usize, u32)> {
        let n = dests.len();
        // Passes begun at the head during this call, and the largest
        // weight among available dests seen in the current one.
        let mut passes = 0;
        let mut best = 0;
        loop {
            i += 1;
            if i >= n {
                i = 0;
                if passes > 0 {
                    // A whole pass at this cw found nothing.
                    if best == 0 || passes > 3 {
                        return None;
                    }
                    cw = best;
                } else if cw > self.gcd {
                    cw -= self.gcd;
                } else {
                    cw = self.max;
                }
                passes += 1;
                best = 0;
            }
            let d = &dests[i];
            if d.available() {
                if d.weight >= cw {
                    return Some((i, cw));
                }
                best = best.max(d.weight);
            }
        }
    }
}

impl Scheduler for Wrr {
    fn pick(&self, _ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        if self.max == 0 || dests.is_empty() {
            return None;
        }
        let mut cur = self.state.load(Relaxed);
        loop {
            let (i, cw) = (cur as u32 as usize, (cur >> 32) as u32);
            let (next, ncw) = self.step(i, cw, dests)?;
            match self.state.compare_exchange_weak(cur, pack(next, ncw), Relaxed, Relaxed) {
                Ok(_) => return Some(next),
                Err(now) => cur = now,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use proptest::prelude::*;

    const A: Option<usize> = Some(0);
    const B: Option<usize> = Some(1);
    const C: Option<usize> = Some(2);

    #[test]
    fn ipvs_sequence_4_3_2() {
        let ds = dests(&[4, 3, 2]);
        let s = Wrr::new(&ds);
        let cycle = [A, A, B, A, B, C, A, B, C];
        let got = seq(&s, &ds, 27);
        for chunk in got.chunks(9) {
            assert_eq!(chunk, cycle);
        }
    }

    #[test]
    fn gcd_steps() {
        // Weights 4, 2: gcd 2, so cw goes 4, 2: A, A B.
        let ds = dests(&[4, 2]);
        let s = Wrr::new(&ds);
        assert_eq!(seq(&s, &ds, 6), [A, A, B, A, A, B]);
    }

    #[test]
    fn skips_quiesced_and_overloaded() {
        let mut ds = dests(&[4, 3, 0, 2]);
        let s = Wrr::new(&ds);
        // The weight-0 dest (index 2) is never picked: A A B A B D A B D.
        let d = Some(3);
        assert_eq!(seq(&s, &ds, 9), [A, A, B, A, B, d, A, B, d]);
        overload(&mut ds[0]);
        let got = seq(&s, &ds, 10);
        assert!(got.iter().all(|p| *p == B || *p == d), "{got:?}");
        // B (3) and D (2) keep their 3:2 ratio.
        assert_eq!(got.iter().filter(|p| **p == B).count(), 6);
    }

    #[test]
    fn heavy_unavailable_does_not_spin() {
        // Only the weight-1 dest is available; each pick must still find
        // it within a few passes despite the 65535 steps of cw.
        let mut ds = dests(&[65535, 1]);
        overload(&mut ds[0]);
        let s = Wrr::new(&ds);
        assert_eq!(seq(&s, &ds, 3), [B, B, B]);
    }

    proptest! {
        /// Each cycle of sum(weights)/gcd picks gives every dest exactly
        /// weight/gcd connections.
        #[test]
        fn exact_per_cycle(ws in prop::collection::vec(0u32..20, 1..8)) {
            let ds = dests(&ws);
            let s = Wrr::new(&ds);
            let g = ws.iter().fold(0, |g, &w| gcd(g, w));
            prop_assume!(g > 0);
            let cycle: u32 = ws.iter().map(|w| w / g).sum();
            for _ in 0..3 {
                let mut counts = vec![0u32; ws.len()];
                for p in seq(&s, &ds, cycle as usize) {
                    counts[p.unwrap()] += 1;
                }
                let want: Vec<u32> = ws.iter().map(|w| w / g).collect();
                prop_assert_eq!(&counts, &want);
            }
        }
    }
}
