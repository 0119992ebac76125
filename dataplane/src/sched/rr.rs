//! rr — round robin: each new connection goes to the next available dest
//! in list order.
//!
//! Per worker ([`super::per_worker`]): every worker has its own cursor and
//! walks the list in IPVS's order by itself — after dest `i` comes the next
//! available dest after `i`, wrapping at the end — so a pick is a load and
//! a store on the worker's own cache line. Worker `w` starts at dest
//! `w mod n` (worker 0 at the head, as IPVS), so that the first connections
//! of the workers go to different dests instead of all to the first one.
//! With one worker this is exactly IPVS's rr; with several, each worker's
//! connections alternate strictly and the director's as a whole are
//! spread equally, in an order that depends on which worker owns which
//! connection.
//!
//! The cursors survive a new snapshot whose dest list is the same (see
//! [`super::build_from`]); when the list changes every worker starts again
//! from its offset (indices into the old list mean nothing in the new one).

use super::per_worker::{fingerprint, PerWorker};
use super::{Carry, Cursors, Kept, PickCtx, Scheduler};
use crate::svc::Dest;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

#[derive(Debug)]
pub struct Rr {
    /// Per worker, where the next search starts: one past the last dest
    /// that worker picked.
    next: Cursors,
    /// The dest list the cursors are positions in.
    sig: u64,
}

impl Rr {
    /// `carry`: what the previous snapshot's scheduler handed on.
    pub(super) fn new(dests: &[Dest], workers: usize, carry: Option<Kept>) -> Self {
        let sig = fingerprint(dests);
        let n = dests.len().max(1);
        let next = match carry {
            Some(Kept::Rr(s, c)) if s == sig && c.len() == workers.max(1) => c,
            _ => Arc::new(PerWorker::new(workers, |w| AtomicU64::new((w % n) as u64))),
        };
        Rr { next, sig }
    }
}

impl Scheduler for Rr {
    fn pick(&self, ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        let n = dests.len();
        let cursor = self.next.get(ctx.worker);
        let start = cursor.load(Relaxed) as usize;
        let found = (0..n).map(|k| (start + k) % n).find(|&i| dests[i].available())?;
        cursor.store(found as u64 + 1, Relaxed);
        Some(found)
    }

    fn carry(&self) -> Option<Carry> {
        Some(Carry(Kept::Rr(self.sig, self.next.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn cycles_in_order() {
        let ds = dests(&[1, 5, 2]);
        let s = Rr::new(&ds, 2, None);
        let got = seq(&s, &ds, 7);
        let want = [0, 1, 2, 0, 1, 2, 0].map(Some);
        assert_eq!(got, want);
    }

    #[test]
    fn worker_w_starts_at_dest_w() {
        let ds = dests(&[1, 1, 1]);
        let s = Rr::new(&ds, 4, None);
        assert_eq!(seq_on(&s, &ds, 1, 4), [1, 2, 0, 1].map(Some));
        assert_eq!(seq_on(&s, &ds, 2, 2), [2, 0].map(Some));
        assert_eq!(seq_on(&s, &ds, 3, 2), [0, 1].map(Some), "3 mod 3 dests");
        // Starting on an unavailable dest moves on to the next.
        let mut ds = dests(&[1, 0, 1]);
        overload(&mut ds[2]);
        let s = Rr::new(&ds, 2, None);
        assert_eq!(seq_on(&s, &ds, 1, 2), [0, 0].map(Some));
    }

    #[test]
    fn skips_quiesced_and_overloaded() {
        let mut ds = dests(&[1, 0, 1, 1]);
        overload(&mut ds[3]);
        let s = Rr::new(&ds, 2, None);
        assert_eq!(seq(&s, &ds, 4), [0, 2, 0, 2].map(Some));
    }

    #[test]
    fn workers_do_not_interfere() {
        let ds = dests(&[1, 1, 1]);
        let s = Rr::new(&ds, 2, None);
        // Interleaved, each worker still sees its own strict rotation.
        let mut got = [vec![], vec![]];
        for k in 0..12 {
            let w = [0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 1, 0][k];
            got[w].extend(seq_on(&s, &ds, w, 1));
        }
        assert_eq!(got[0], [0, 1, 2, 0, 1, 2].map(Some));
        assert_eq!(got[1], [1, 2, 0, 1, 2, 0].map(Some));
    }

    #[test]
    fn concurrent_workers_keep_their_sequences() {
        let ds = dests(&[1, 1, 1, 1]);
        let s = Rr::new(&ds, 2, None);
        let seqs: Vec<_> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..2)
                .map(|w| {
                    sc.spawn({
                        let (s, ds) = (&s, &ds);
                        move || seq_on(s, ds, w, 1000)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (w, got) in seqs.iter().enumerate() {
            let want: Vec<_> = (0..1000).map(|k| Some((w + k) % 4)).collect();
            assert_eq!(got, &want, "worker {w}");
        }
    }

    #[test]
    fn carried_while_the_list_is_unchanged() {
        let ds = dests(&[1, 1, 1]);
        let s = Rr::new(&ds, 2, None);
        assert_eq!(seq_on(&s, &ds, 0, 2), [0, 1].map(Some));
        let same = Rr::new(&ds, 2, s.carry().map(|c| c.0));
        assert_eq!(seq_on(&same, &ds, 0, 1), [Some(2)], "rotation goes on");
        assert_eq!(seq_on(&same, &ds, 1, 1), [Some(1)]);
        // A reweighted (or added, removed, reordered) dest: afresh.
        let changed = dests(&[1, 2, 1]);
        let s2 = Rr::new(&changed, 2, same.carry().map(|c| c.0));
        assert_eq!(seq_on(&s2, &changed, 0, 1), [Some(0)]);
        assert_eq!(seq_on(&s2, &changed, 1, 1), [Some(1)]);
    }
}
