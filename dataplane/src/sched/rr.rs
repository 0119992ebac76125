//! rr — round robin: each new connection goes to the next available dest
//! in list order.
//!
//! The cursor is an atomic shared by all workers; a pick moves it with a
//! compare-and-swap so that concurrent picks still walk the list in order
//! (a plain `fetch_add` would hand the dest after a skipped one two turns).
//! As in IPVS the cursor starts from the head again when the dest list
//! changes.

use super::{PickCtx, Scheduler};
use crate::svc::Dest;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[derive(Debug, Default)]
pub struct Rr {
    /// Where the next search starts: one past the last dest picked.
    next: AtomicUsize,
}

impl Rr {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Scheduler for Rr {
    fn pick(&self, _ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        let n = dests.len();
        let mut start = self.next.load(Relaxed);
        loop {
            let found = (0..n).map(|k| (start + k) % n).find(|&i| dests[i].available())?;
            match self.next.compare_exchange_weak(start, found + 1, Relaxed, Relaxed) {
                Ok(_) => return Some(found),
                Err(now) => start = now,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn cycles_in_order() {
        let ds = dests(&[1, 5, 2]);
        let s = Rr::new();
        let got = seq(&s, &ds, 7);
        let want = [0, 1, 2, 0, 1, 2, 0].map(Some);
        assert_eq!(got, want);
    }

    #[test]
    fn skips_quiesced_and_overloaded() {
        let mut ds = dests(&[1, 0, 1, 1]);
        overload(&mut ds[3]);
        let s = Rr::new();
        assert_eq!(seq(&s, &ds, 4), [0, 2, 0, 2].map(Some));
    }

    #[test]
    fn concurrent_picks_stay_fair() {
        let ds = dests(&[1, 1, 1, 1]);
        let s = Rr::new();
        let counts: Vec<usize> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..2).map(|_| sc.spawn(|| seq(&s, &ds, 1000))).collect();
            let mut c = vec![0; 4];
            for h in hs {
                for i in h.join().unwrap() {
                    c[i.unwrap()] += 1;
                }
            }
            c
        });
        assert_eq!(counts, vec![500; 4]);
    }
}
