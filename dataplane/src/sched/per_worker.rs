//! Per-worker scheduler state.
//!
//! Schedulers that remember something between picks (rr's cursor, wrr's
//! position in its cycle, lblc/lblcr's destination-address tables) keep one
//! copy per worker, as DPVS keeps a copy of each service per lcore: a new
//! connection then touches only its own worker's cache line, with no
//! read-modify-write on memory another worker writes. Each slot is written
//! only by the worker whose index it has (`PickCtx::worker`), so for the
//! cursors a Relaxed load and a Relaxed store are enough: there is nobody
//! to race with. A worker index beyond the slots wraps round (only tests
//! and a misconfigured caller would do that; two workers sharing a slot
//! then lose an update now and then, they never see torn state).
//!
//! The cost is that IPVS's sequences hold per worker, not across the
//! director: with two workers rr gives each worker the strict IPVS order,
//! and the interleaving of the two orders follows whichever worker owns
//! each new connection. Over many connections the shares are the same.

use crossbeam_utils::CachePadded;

/// One `T` per worker, each on its own cache line.
#[derive(Debug)]
pub struct PerWorker<T>(Box<[CachePadded<T>]>);

impl<T> PerWorker<T> {
    /// `workers` slots (at least one), slot `w` holding `init(w)`.
    pub fn new(workers: usize, init: impl FnMut(usize) -> T) -> Self {
        PerWorker((0..workers.max(1)).map(init).map(CachePadded::new).collect())
    }

    /// The slot of `worker`.
    #[inline(always)]
    pub fn get(&self, worker: usize) -> &T {
        &self.0[worker % self.0.len()]
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A fingerprint of a dest list as rr and wrr see it (address, port and
/// weight of each dest, in order): their per-worker positions are carried
/// to the next snapshot only when it has the same list, so that editing
/// one service does not restart the rotation of every other.
pub fn fingerprint(dests: &[crate::svc::Dest]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for d in dests {
        (d.addr, d.port, d.weight).hash(&mut h);
    }
    dests.len().hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    #[test]
    fn slots_are_separate_and_wrap() {
        let p = PerWorker::new(3, |w| AtomicU64::new(w as u64));
        assert_eq!(p.len(), 3);
        assert_eq!((0..3).map(|w| p.get(w).load(Relaxed)).collect::<Vec<_>>(), [0, 1, 2]);
        p.get(1).store(7, Relaxed);
        assert_eq!(p.get(4).load(Relaxed), 7, "worker 4 of 3 slots wraps to 1");
        assert_eq!(p.get(0).load(Relaxed), 0);
        // Each on its own cache line.
        let a = p.get(0) as *const _ as usize;
        let b = p.get(1) as *const _ as usize;
        assert!(b - a >= 64);
        assert_eq!(PerWorker::new(0, |_| 0u8).len(), 1);
    }
}
