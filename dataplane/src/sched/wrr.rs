//! wrr — weighted round robin, in IPVS's order.
//!
//! The sequence is the classic LVS one: a cursor `i` walks the dest list and
//! a current weight `cw` starts at 0; each time the cursor wraps, `cw`
//! drops by the gcd of the weights and, once it is no longer positive, is
//! reset to the maximum weight. A dest is picked when its weight is `>= cw`.
//! Weights 4, 3, 2 give A A B A B C A B C, repeating: every dest gets
//! exactly its weight's share of each cycle, and heavy dests come first.
//!
//! Per worker ([`super::per_worker`]): every worker has its own state
//! `(i, cw)` (packed in one `AtomicU64` that only it writes) and runs the
//! IPVS sequence by itself, so a pick is a load and a store on the
//! worker's own cache line. Worker 0 starts where IPVS does (before the
//! head, first round at the maximum weight); worker `w` starts in that
//! first round as if dest `w - 1` (mod n) had just been picked: its first
//! pick is the next one that round makes from dest `w` on (with equal
//! weights: dest `w`, like rr), or the head of the second round if the
//! first has nothing left, and from there on it follows IPVS's cycle
//! exactly. Each worker therefore gives every dest its
//! weight's share of each of its own cycles; the director's connections
//! as a whole get the same shares. The states survive a new snapshot
//! with the same dest list and weights ([`super::build_from`]) and start
//! afresh when it changes, as IPVS's wrr does.
//!
//! Unavailable dests (quiesced or overloaded) are skipped; a full pass
//! that finds nothing at the current `cw` jumps `cw` straight to the
//! largest available weight instead of stepping down by the gcd, so a pick
//! costs at most a few passes over the list even with weights like 65535
//! and 1 (the rounds skipped would not have picked anything).

use super::per_worker::{fingerprint, PerWorker};
use super::{Carry, Cursors, Kept, PickCtx, Scheduler};
use crate::svc::Dest;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

#[derive(Debug)]
pub struct Wrr {
    /// gcd of the positive weights.
    gcd: u32,
    /// Maximum weight.
    max: u32,
    /// Per worker, `cw << 32 | i`.
    state: Cursors,
    /// The dest list (and weights) the states belong to.
    sig: u64,
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

/// Worker `w`'s state before its first pick, over `n` dests.
fn start(w: usize, n: usize, max: u32) -> u64 {
    match w % n.max(1) {
        // Cursor on the last dest and cw 0: the first pick wraps, which
        // sets cw to the maximum weight and starts at the head (IPVS).
        0 => pack(n.saturating_sub(1), 0),
        // Dest w - 1 just picked in the round at the maximum weight.
        k => pack(k - 1, max),
    }
}

impl Wrr {
    /// `carry`: what the previous snapshot's scheduler handed on.
    pub(super) fn new(dests: &[Dest], workers: usize, carry: Option<Kept>) -> Self {
        let gcd = dests.iter().fold(0, |g, d| gcd(g, d.weight));
        let max = dests.iter().map(|d| d.weight).max().unwrap_or(0);
        let sig = fingerprint(dests);
        let state = match carry {
            Some(Kept::Wrr(s, c)) if s == sig && c.len() == workers.max(1) => c,
            _ => Arc::new(PerWorker::new(workers, |w| AtomicU64::new(start(w, dests.len(), max)))),
        };
        Wrr { gcd, max, state, sig }
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
    fn pick(&self, ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        if self.max == 0 || dests.is_empty() {
            return None;
        }
        let state = self.state.get(ctx.worker);
        let cur = state.load(Relaxed);
        let (i, cw) = (cur as u32 as usize, (cur >> 32) as u32);
        let (next, ncw) = self.step(i, cw, dests)?;
        state.store(pack(next, ncw), Relaxed);
        Some(next)
    }

    fn carry(&self) -> Option<Carry> {
        Some(Carry(Kept::Wrr(self.sig, self.state.clone())))
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
        let s = Wrr::new(&ds, 2, None);
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
        let s = Wrr::new(&ds, 2, None);
        assert_eq!(seq(&s, &ds, 6), [A, A, B, A, A, B]);
    }

    #[test]
    fn skips_quiesced_and_overloaded() {
        let mut ds = dests(&[4, 3, 0, 2]);
        let s = Wrr::new(&ds, 2, None);
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
        let s = Wrr::new(&ds, 2, None);
        assert_eq!(seq(&s, &ds, 3), [B, B, B]);
    }

    #[test]
    fn worker_w_enters_the_cycle_at_dest_w() {
        let ds = dests(&[4, 3, 2]);
        let s = Wrr::new(&ds, 2, None);
        // Worker 1: IPVS's cycle entered one pick later.
        let cycle = [A, B, A, B, C, A, B, C, A];
        for chunk in seq_on(&s, &ds, 1, 27).chunks(9) {
            assert_eq!(chunk, cycle);
        }
        // Equal weights: like rr, worker w starts at dest w.
        let ds = dests(&[5, 5, 5]);
        let s = Wrr::new(&ds, 3, None);
        assert_eq!(seq_on(&s, &ds, 0, 4), [A, B, C, A]);
        assert_eq!(seq_on(&s, &ds, 1, 4), [B, C, A, B]);
        assert_eq!(seq_on(&s, &ds, 2, 4), [C, A, B, C]);
    }

    #[test]
    fn workers_do_not_interfere() {
        let ds = dests(&[4, 3, 2]);
        let s = Wrr::new(&ds, 2, None);
        let mut got = [vec![], vec![]];
        for k in 0..36 {
            let w = (k * 7 / 5) % 2;
            got[w].extend(seq_on(&s, &ds, w, 1));
        }
        let ipvs = [A, A, B, A, B, C, A, B, C];
        let one = [A, B, A, B, C, A, B, C, A];
        assert!(got[0].iter().zip(ipvs.iter().cycle()).all(|(a, b)| a == b), "{:?}", got[0]);
        assert!(got[1].iter().zip(one.iter().cycle()).all(|(a, b)| a == b), "{:?}", got[1]);
        // Two threads at once: each still gets its exact sequence.
        let s = Wrr::new(&ds, 2, None);
        let seqs: Vec<_> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..2)
                .map(|w| {
                    sc.spawn({
                        let (s, ds) = (&s, &ds);
                        move || seq_on(s, ds, w, 900)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (w, want) in [ipvs, one].iter().enumerate() {
            assert!(seqs[w].iter().zip(want.iter().cycle()).all(|(a, b)| a == b), "worker {w}");
        }
    }

    #[test]
    fn carried_while_the_list_is_unchanged() {
        let ds = dests(&[4, 3, 2]);
        let s = Wrr::new(&ds, 2, None);
        assert_eq!(seq(&s, &ds, 3), [A, A, B]);
        let same = Wrr::new(&ds, 2, s.carry().map(|c| c.0));
        assert_eq!(seq(&same, &ds, 3), [A, B, C], "the cycle goes on");
        let reweighted = dests(&[4, 3, 3]);
        let s2 = Wrr::new(&reweighted, 2, same.carry().map(|c| c.0));
        assert_eq!(seq(&s2, &reweighted, 2), [A, A], "afresh");
        // Another kind's state is not taken.
        let s3 = Wrr::new(&ds, 2, super::super::rr::Rr::new(&ds, 2, None).carry().map(|c| c.0));
        assert_eq!(seq(&s3, &ds, 2), [A, A]);
    }

    proptest! {
        /// Each worker's sequence is IPVS's cycle (worker 0's) entered at
        /// some point: so each of its cycles of sum(weights)/gcd picks
        /// gives every dest exactly weight/gcd connections.
        #[test]
        fn every_worker_runs_the_ipvs_cycle(ws in prop::collection::vec(0u32..20, 1..8)) {
            let ds = dests(&ws);
            let s = Wrr::new(&ds, 4, None);
            let g = ws.iter().fold(0, |g, &w| gcd(g, w));
            prop_assume!(g > 0);
            let cycle: usize = ws.iter().map(|w| (w / g) as usize).sum();
            let ipvs = seq_on(&s, &ds, 0, cycle);
            for w in 0..4 {
                let got = seq_on(&s, &ds, w, 3 * cycle);
                let rotations = (0..cycle).filter(|r| (0..got.len()).all(|k| got[k] == ipvs[(r + k) % cycle]));
                prop_assert!(rotations.count() > 0, "worker {}: {:?} vs {:?}", w, got, ipvs);
                for chunk in got.chunks(cycle) {
                    let mut counts = vec![0u32; ws.len()];
                    for p in chunk {
                        counts[p.unwrap()] += 1;
                    }
                    let want: Vec<u32> = ws.iter().map(|w| w / g).collect();
                    prop_assert_eq!(&counts, &want);
                }
            }
        }
    }
}
