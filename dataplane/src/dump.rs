//! Control's requests that only a worker can answer.
//!
//! A worker's connection table is single-threaded by design (no locks on
//! the packet path), so Control cannot read it for `rvsadm -c`. Instead it
//! posts a request here and each worker walks its own table **a bounded
//! piece per loop iteration** ([`DumpCursor::step`]: at most
//! [`SLOTS_PER_STEP`] slots looked at, so a few microseconds), posting
//! each piece to its reply slot, between bursts. A table of a million
//! entries is listed in about a thousand steps without ever holding rx
//! for longer than one step; Control assembles the pieces. Control waits
//! with a timeout that restarts whenever a piece arrives, so a stopped or
//! stuck worker delays a listing but never blocks it, while a large table
//! that keeps progressing is listed whole.
//!
//! The listing is not an atomic snapshot (neither is IPVS's
//! /proc/net/ip_vs_conn): an entry live during the whole walk is listed
//! exactly once; one created or expired meanwhile may or may not be.
//!
//! Entries are copied as plain [`Conn`] values (64 bytes each; IPv6 ones
//! 128); turning them into text is Control's job, off the data path. The
//! walk covers the IPv4 table's slots, then the IPv6 table's.

use crate::conn::{Conn, ConnTable};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Slots of the connection table one step looks at (live or not): the
/// bound on a worker's time away from rx per loop iteration.
pub const SLOTS_PER_STEP: usize = 1024;

/// Entries copied at one worker clock reading.
#[derive(Debug, Clone, Default)]
pub struct Piece {
    /// The worker's clock (ticks of [`crate::conn::HZ`]) when it copied
    /// these entries, to turn `expires` into seconds left.
    pub now: u64,
    pub conns: Vec<Conn>,
    pub conns6: Vec<Conn<u128>>,
}

/// One worker's whole answer to a connection dump request.
#[derive(Debug, Clone, Default)]
pub struct ConnDump {
    /// In table order; up to the requested number of entries in all.
    pub pieces: Vec<Piece>,
    /// Entries in the table when the walk ended (may exceed the entries
    /// listed).
    pub total: usize,
}

impl ConnDump {
    /// The IPv4 entries, each with the clock of its piece.
    pub fn conns(&self) -> impl Iterator<Item = (&Conn, u64)> + '_ {
        self.pieces.iter().flat_map(|p| p.conns.iter().map(move |c| (c, p.now)))
    }

    /// The IPv6 entries, each with the clock of its piece.
    pub fn conns6(&self) -> impl Iterator<Item = (&Conn<u128>, u64)> + '_ {
        self.pieces.iter().flat_map(|p| p.conns6.iter().map(move |c| (c, p.now)))
    }

    pub fn len(&self) -> usize {
        self.pieces.iter().map(|p| p.conns.len() + p.conns6.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Default)]
struct Slot {
    /// The request the pieces belong to.
    seq: u64,
    /// Posted by the worker, not yet taken by Control.
    pieces: Vec<Piece>,
    /// `Some(total)` once the worker's walk for `seq` is over.
    done: Option<usize>,
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

/// A worker's progress through its table for the current request. Lives
/// on the worker, next to its table.
#[derive(Debug, Default)]
pub struct DumpCursor {
    /// The last request this worker started (or finished).
    seen: u64,
    /// The walk under way: next slot to look at, entries still allowed.
    walk: Option<(usize, usize)>,
}

impl DumpCursor {
    /// Once per loop iteration: one atomic load when no dump is asked for;
    /// otherwise copy the live entries of the next [`SLOTS_PER_STEP`]
    /// slots of the tables (IPv4, then IPv6) into worker `id`'s reply
    /// slot. Returns the slots looked at (0 when idle), for the caller's
    /// idle accounting.
    #[inline]
    pub fn step(&mut self, hook: &DumpHook, id: usize, tables: (&ConnTable, &ConnTable<u128>), now: u64) -> usize {
        let req = hook.req.load(Ordering::Acquire);
        if req == self.seen && self.walk.is_none() {
            return 0;
        }
        self.step_cold(hook, id, tables, now, req)
    }

    #[cold]
    fn step_cold(
        &mut self,
        hook: &DumpHook,
        id: usize,
        (table, table6): (&ConnTable, &ConnTable<u128>),
        now: u64,
        req: u64,
    ) -> usize {
        if req != self.seen {
            // A new request (or one that superseded a walk left unfinished
            // when Control gave up): start over.
            self.seen = req;
            self.walk = Some((0, hook.max.load(Ordering::Relaxed)));
            let mut s = hook.slots[id].lock().unwrap_or_else(|e| e.into_inner());
            *s = Slot { seq: req, pieces: Vec::new(), done: None };
        }
        let Some((pos, left)) = self.walk else { return 0 };
        // Positions 0..cap4 are the IPv4 table's slots, then the IPv6 one's.
        let cap4 = table.capacity();
        let total = cap4 + table6.capacity();
        let end = (pos + SLOTS_PER_STEP).min(if pos < cap4 { cap4 } else { total });
        let (conns, conns6): (Vec<Conn>, Vec<Conn<u128>>) = if pos < cap4 {
            (table.iter_slots(pos..end).take(left).map(|(_, c)| *c).collect(), Vec::new())
        } else {
            (Vec::new(), table6.iter_slots(pos - cap4..end - cap4).take(left).map(|(_, c)| *c).collect())
        };
        let left = left - conns.len() - conns6.len();
        let finished = end >= total || left == 0;
        let mut s = hook.slots[id].lock().unwrap_or_else(|e| e.into_inner());
        if !conns.is_empty() || !conns6.is_empty() {
            s.pieces.push(Piece { now, conns, conns6 });
        }
        if finished {
            s.done = Some(table.len() + table6.len());
            self.walk = None;
        } else {
            self.walk = Some((end, left));
        }
        end - pos
    }
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

    /// Control side: ask every worker for up to `max` entries and gather
    /// their pieces. A worker that posts nothing for `idle_timeout` (stopped,
    /// stuck) is given up on: `None` in its place.
    pub fn collect(&self, max: usize, idle_timeout: Duration) -> Vec<Option<ConnDump>> {
        let _one = self.control.lock().unwrap_or_else(|e| e.into_inner());
        self.max.store(max, Ordering::Relaxed);
        let seq = self.req.load(Ordering::Relaxed) + 1;
        self.req.store(seq, Ordering::Release);
        let n = self.slots.len();
        let mut out: Vec<ConnDump> = vec![ConnDump::default(); n];
        let mut done = vec![false; n];
        let mut last_progress = Instant::now();
        loop {
            for (i, slot) in self.slots.iter().enumerate() {
                if done[i] {
                    continue;
                }
                let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
                if s.seq != seq {
                    continue;
                }
                if !s.pieces.is_empty() {
                    out[i].pieces.append(&mut s.pieces);
                    last_progress = Instant::now();
                }
                if let Some(total) = s.done {
                    out[i].total = total;
                    done[i] = true;
                    last_progress = Instant::now();
                }
            }
            if done.iter().all(|d| *d) || last_progress.elapsed() >= idle_timeout {
                return out.into_iter().zip(done).map(|(d, ok)| ok.then_some(d)).collect();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_conf::FwdMethod;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    fn table(n: u32, cap: usize) -> ConnTable {
        let mut t = ConnTable::new(cap);
        for i in 0..n {
            let c = Conn::new(
                FwdMethod::Nat,
                crate::conn::ConnKey::new(6, 0x0a00_0000 + i, 1000, 0x0a01_0001, 80),
                0x0a02_0001,
                80,
            );
            t.insert(c, 0).unwrap();
        }
        t
    }

    fn table6(n: u32, cap: usize) -> ConnTable<u128> {
        let mut t = ConnTable::with_timeouts(cap, &Default::default(), 0);
        for i in 0..n {
            let k =
                crate::conn::ConnKey::of(6, (0x2001_0db8 << 96) + u128::from(i), 1000, 0x2001_0db8 << 96 | 1 << 64, 80);
            t.insert(Conn::new(FwdMethod::Nat, k, 0x2001_0db8 << 96 | 2 << 64, 80), 0).unwrap();
        }
        t
    }

    /// A worker thread stepping its cursor, like worker::run does.
    fn worker(hook: Arc<DumpHook>, id: usize, t: ConnTable, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
        worker46(hook, id, (t, table6(0, 16)), stop)
    }

    fn worker46(
        hook: Arc<DumpHook>,
        id: usize,
        (t, t6): (ConnTable, ConnTable<u128>),
        stop: Arc<AtomicBool>,
    ) -> std::thread::JoinHandle<usize> {
        std::thread::spawn(move || {
            let (mut cur, mut max_step) = (DumpCursor::default(), 0);
            while !stop.load(Ordering::Relaxed) {
                max_step = max_step.max(cur.step(&hook, id, (&t, &t6), 7));
                std::thread::yield_now();
            }
            max_step
        })
    }

    #[test]
    fn a_large_table_is_listed_whole_in_bounded_steps() {
        let n = 10_000;
        let hook = Arc::new(DumpHook::new(2));
        let stop = Arc::new(AtomicBool::new(false));
        let w0 = worker(hook.clone(), 0, table(n, 3 * n as usize), stop.clone());
        let w1 = worker46(hook.clone(), 1, (table(5, 64), table6(3, 2000)), stop.clone());
        let r = hook.collect(1_000_000, Duration::from_secs(5));
        let d0 = r[0].as_ref().expect("worker 0 answered");
        assert_eq!((d0.len(), d0.total), (n as usize, n as usize));
        assert!(d0.pieces.len() >= n as usize / SLOTS_PER_STEP, "listed in pieces, not at once");
        let mut seen: Vec<u32> = d0.conns().map(|(c, now)| (assert_eq!(now, 7), c.caddr).1).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), n as usize, "every entry exactly once");
        // Worker 1 lists its IPv6 entries after its IPv4 ones.
        let d1 = r[1].as_ref().expect("worker 1 answered");
        assert_eq!((d1.len(), d1.total, d1.conns().count(), d1.conns6().count()), (8, 8, 5, 3));
        // `max` bounds each worker's copy; the total still counts all.
        let r = hook.collect(100, Duration::from_secs(5));
        assert_eq!(r[0].as_ref().map(|d| (d.len(), d.total)), Some((100, n as usize)));
        stop.store(true, Ordering::Relaxed);
        assert!(w0.join().unwrap() <= SLOTS_PER_STEP, "a step looked at more than SLOTS_PER_STEP slots");
        w1.join().unwrap();
    }

    #[test]
    fn a_stuck_worker_times_out_and_a_new_request_gets_fresh_answers() {
        let hook = Arc::new(DumpHook::new(2));
        let stop = Arc::new(AtomicBool::new(false));
        // Worker 0 answers; worker 1 is "stuck" and never steps.
        let w0 = worker(hook.clone(), 0, table(5, 64), stop.clone());
        let r = hook.collect(3, Duration::from_millis(200));
        assert_eq!(r[0].as_ref().map(|d| (d.len(), d.total)), Some((3, 5)));
        assert!(r[1].is_none());
        let r = hook.collect(10, Duration::from_millis(200));
        assert_eq!(r[0].as_ref().map(|d| d.len()), Some(5));
        stop.store(true, Ordering::Relaxed);
        w0.join().unwrap();
    }

    #[test]
    fn idle_cursor_does_nothing() {
        let hook = DumpHook::new(1);
        let t = table(3, 16);
        let mut c = DumpCursor::default();
        assert_eq!(c.step(&hook, 0, (&t, &table6(1, 16)), 0), 0);
    }
}
