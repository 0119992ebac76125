//! The tables of the locality-based schedulers lblc and lblcr: for each
//! destination address (the VIP, or for a fwmark service in front of
//! caches, whatever address the client asked for) the dest, or set of
//! dests, that serves it.
//!
//! Each worker has its own table ([`super::per_worker`]), as each DPVS
//! lcore has its own copy of a service: a worker learns its own
//! assignments, so an address may be served by one dest per worker rather
//! than one per director. The first choice for an address is wlc over the
//! connection counts all workers share, so workers often agree, but
//! nothing forces them to. What that buys is a pick that takes only its
//! own worker's lock, never one another worker takes.
//!
//! Entries name dests by address and port, not by index, so that a table
//! can outlive the dest list it was built for: [`super::build_from`] hands
//! it to the next snapshot's scheduler, and old and new schedulers share it
//! while workers switch over. An entry naming a dest that is gone reads as
//! "no dest" and is replaced.
//!
//! Expiry: an entry unused for [`ENTRY_EXPIRE`] (6 minutes, IPVS's
//! `ENTRY_TIMEOUT`) is dead. Dead entries are skipped on lookup and swept
//! out at most every [`SWEEP_EVERY`] seconds by the pick that notices, so
//! the table stays bounded by the destination addresses of the last few
//! minutes. Time is `PickCtx::now`.
//!
//! Each table sits behind a `parking_lot::Mutex` that only its worker
//! takes (once per new connection of an lblc/lblcr service, never per
//! packet): uncontended, on a cache line no other worker writes. The lock
//! is there because `pick` takes `&self`; it is never waited on.

use super::per_worker::PerWorker;
use crate::svc::Dest;
use hashbrown::HashMap;
use parking_lot::Mutex;
use std::net::IpAddr;
use std::sync::Arc;

/// Entries unused this long (seconds) are dropped.
pub const ENTRY_EXPIRE: u64 = 6 * 60;
/// Sweep the whole table at most this often (seconds).
pub const SWEEP_EVERY: u64 = 60;

/// A dest as the tables name it.
pub type DestKey = (IpAddr, u16);

pub fn key(d: &Dest) -> DestKey {
    (d.addr, d.port)
}

#[derive(Debug)]
struct Entry<V> {
    val: V,
    lastuse: u64,
}

/// Destination address → `V`, with expiry.
#[derive(Debug)]
pub struct Table<V> {
    map: HashMap<IpAddr, Entry<V>>,
    last_sweep: u64,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table { map: HashMap::new(), last_sweep: 0 }
    }
}

impl<V> Table<V> {
    /// The live entry for `addr`, marked as used now.
    pub fn get_mut(&mut self, addr: IpAddr, now: u64) -> Option<&mut V> {
        if now.saturating_sub(self.last_sweep) >= SWEEP_EVERY {
            self.map.retain(|_, e| now.saturating_sub(e.lastuse) <= ENTRY_EXPIRE);
            self.last_sweep = now;
        }
        match self.map.get_mut(&addr) {
            Some(e) if now.saturating_sub(e.lastuse) <= ENTRY_EXPIRE => {
                e.lastuse = now;
                Some(&mut e.val)
            }
            _ => None,
        }
    }

    pub fn insert(&mut self, addr: IpAddr, val: V, now: u64) {
        self.map.insert(addr, Entry { val, lastuse: now });
    }

    /// The entry for `addr`, dead or alive, without touching it.
    pub fn peek(&self, addr: IpAddr) -> Option<&V> {
        self.map.get(&addr).map(|e| &e.val)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// One table per worker, shared by the snapshots that carry it.
pub type Shared<V> = Arc<PerWorker<Mutex<Table<V>>>>;

/// The carried tables, or fresh ones for `workers` workers.
pub fn tables<V>(carried: Option<Shared<V>>, workers: usize) -> Shared<V> {
    carried.unwrap_or_else(|| Arc::new(PerWorker::new(workers, |_| Mutex::default())))
}

/// Where each dest of one snapshot is in its dest list.
#[derive(Debug)]
pub struct DestIndex(HashMap<DestKey, usize>);

impl DestIndex {
    pub fn new(dests: &[Dest]) -> Self {
        DestIndex(dests.iter().enumerate().map(|(i, d)| (key(d), i)).collect())
    }

    pub fn get(&self, k: &DestKey) -> Option<usize> {
        self.0.get(k).copied()
    }
}

/// IPVS's rule for when lblc/lblcr leave a dest they remember: it has more
/// active connections than its weight, and some other dest is at less than
/// half of its own. (IPVS looks at every dest for the second part; here
/// only available ones count, as only they could take the connection.)
pub fn overloaded(d: &Dest, dests: &[Dest]) -> bool {
    d.active() > d.weight && dests.iter().any(|o| o.available() && u64::from(o.active()) * 2 < u64::from(o.weight))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn a(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 9, 0, n))
    }

    #[test]
    fn expiry_and_sweep() {
        let mut t = Table::default();
        t.insert(a(1), 1, 0);
        t.insert(a(2), 2, 0);
        assert_eq!(t.get_mut(a(1), 340).copied(), Some(1));
        assert_eq!(t.get_mut(a(2), 361), None, "idle 361 s: dead");
        assert_eq!(t.len(), 2, "swept only every 60 s");
        assert_eq!(t.get_mut(a(1), 400).copied(), Some(1), "used at 340");
        assert_eq!(t.len(), 1);
        assert_eq!(t.peek(a(2)), None);
        assert!(!t.is_empty());
    }
}
