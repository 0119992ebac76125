//! Control's requests that only a worker can answer.
//!
//! A worker's connection table is single-threaded by design (no locks on
//! the packet path), so Control cannot read it for `rvsadm -c`. Instead it
//! posts a request here; each worker notices it at its next tick (one
//! atomic load per tick, never per packet), copies its entries into its
//! own reply slot and goes on. Control collects the slots with a timeout,
//! so a stopped or stuck worker delays a listing but never blocks it.
//!
//! Entries are copied as plain [`Conn`] values (64 bytes each); turning
//! them into text is Control's job, off the data path.

use crate::conn::Conn;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One worker's answer to a connection dump request.
#[derive(Debug, Clone, Default)]
pub struct ConnDump {
    /// The worker's clock (ticks of [`crate::conn::HZ`]) when it copied
    /// the entries, to turn `expires` into seconds left.
    pub now: u64,
    /// Up to the requested number of entries.
    pub conns: Vec<Conn>,
    /// Entries in the table (may exceed `conns.len()`).
    pub total: usize,
}

#[derive(Debug, Default)]
struct Slot {
    seq: u64,
    reply: Option<ConnDump>,
}

/// The request board shared by Control and the workers.
#[derive(Debug)]
pub struct DumpHook {
    /// Sequence number of the latest request (0 = none yet).
    req: AtomicU64,
    /// Entries each worker may copy for the latest request.
    max: AtomicUsize,
    slots: Box<[Mutex<Slot>]>,
    /// One request at a time: a second rvsadm waits for the first.
    control: Mutex<()>,
}

impl DumpHook {
    pub fn new(workers: usize) -> Self {
        DumpHook {
            req: AtomicU64::new(0),
            max: AtomicUsize::new(0),
            slots: (0..workers.max(1)).map(|_| Mutex::new(Slot::default())).collect(),
            control: Mutex::new(()),
        }
    }

    /// Worker side, once per tick: a request newer than `seen` (the
    /// worker's own record of the last one it answered), as (sequence,
    /// max entries). Cheap when there is none: one atomic load.
    #[inline]
    pub fn pending(&self, seen: u64) -> Option<(u64, usize)> {
        let r = self.req.load(Ordering::Acquire);
        (r != seen).then(|| (r, self.max.load(Ordering::Relaxed)))
    }

    /// Worker side: post the answer to request `seq`.
    pub fn answer(&self, worker: usize, seq: u64, dump: ConnDump) {
        let mut s = self.slots[worker].lock().unwrap_or_else(|e| e.into_inner());
        s.seq = seq;
        s.reply = Some(dump);
    }

    /// Control side: ask every worker for up to `max` entries and wait up
    /// to `timeout` for the answers. `None` for a worker that did not
    /// answer in time.
    pub fn collect(&self, max: usize, timeout: Duration) -> Vec<Option<ConnDump>> {
        let _one = self.control.lock().unwrap_or_else(|e| e.into_inner());
        self.max.store(max, Ordering::Relaxed);
        let seq = self.req.load(Ordering::Relaxed) + 1;
        self.req.store(seq, Ordering::Release);
        let deadline = Instant::now() + timeout;
        let mut out: Vec<Option<ConnDump>> = vec![None; self.slots.len()];
        loop {
            for (i, slot) in self.slots.iter().enumerate() {
                if out[i].is_none() {
                    let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
                    if s.seq == seq {
                        out[i] = s.reply.take();
                    }
                }
            }
            if out.iter().all(Option::is_some) || Instant::now() >= deadline {
                return out;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn workers_answer_on_their_tick() {
        let hook = Arc::new(DumpHook::new(2));
        let stop = Arc::new(AtomicBool::new(false));
        // Worker 0 answers; worker 1 is "stuck" and never does.
        let (h, st) = (hook.clone(), stop.clone());
        let t = std::thread::spawn(move || {
            let mut seen = 0;
            while !st.load(Ordering::Relaxed) {
                if let Some((seq, max)) = h.pending(seen) {
                    seen = seq;
                    let conns = vec![Conn::default(); 5].into_iter().take(max).collect();
                    h.answer(0, seq, ConnDump { now: 7, conns, total: 5 });
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        assert_eq!(hook.pending(0), None);
        let r = hook.collect(3, Duration::from_millis(200));
        assert_eq!(r[0].as_ref().map(|d| (d.now, d.conns.len(), d.total)), Some((7, 3, 5)));
        assert!(r[1].is_none());
        // A second request gets a fresh answer, not the old one.
        let r = hook.collect(10, Duration::from_millis(200));
        assert_eq!(r[0].as_ref().map(|d| d.conns.len()), Some(5));
        stop.store(true, Ordering::Relaxed);
        t.join().unwrap();
    }
}
