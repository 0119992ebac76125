//! The neighbour table: ARP (IPv4) and neighbour discovery (IPv6).
//!
//! Worker 0 owns it: every ARP frame and every NS/NA is handed to worker
//! 0, which learns, resolves, ages entries and queues packets waiting for
//! resolution. The other workers read an immutable copy that worker 0
//! republishes when an entry appears or goes (rare), so lookups need no
//! lock.
//!
//! One table per family (`NeighTable<P>` for IPv4, `NeighTable<P, u128>`
//! for IPv6), with the same rules: RFC 4861's state machine (INCOMPLETE,
//! REACHABLE, STALE, DELAY, PROBE) collapses here into "pending" and
//! "known, refreshed before it expires", which is what ARP does too, so
//! both families queue, probe and age alike and the engine drives them
//! with the same code.

use crate::addr::Addr;
use crate::packet::eth::Mac;
use hashbrown::HashMap;

/// Seconds an entry lives without being confirmed.
pub const REACHABLE_SECS: u64 = 300;
/// Re-ARP this long before an entry expires, so traffic never stalls.
pub const REFRESH_SECS: u64 = 30;
/// Resolution attempts before pending packets are dropped.
pub const MAX_PROBES: u8 = 3;
/// Packets queued per unresolved neighbour (the rest are dropped).
pub const MAX_PENDING: usize = 16;

/// Key: (port index, next hop). (Type aliases do not check bounds: `A`
/// is an [`Addr`] wherever the key is used.)
pub type NeighKey<A = u32> = (u16, A);

#[derive(Debug, Clone)]
pub struct Entry {
    pub mac: Mac,
    pub confirmed: u64,
}

/// Read-only view published to workers.
#[derive(Debug, Clone)]
pub struct NeighSnapshot<A: Addr = u32> {
    map: HashMap<NeighKey<A>, Mac>,
    version: u64,
}

impl<A: Addr> Default for NeighSnapshot<A> {
    fn default() -> Self {
        NeighSnapshot { map: HashMap::new(), version: 0 }
    }
}

impl<A: Addr> NeighSnapshot<A> {
    /// The table's [`NeighTable::version`] this snapshot was taken at.
    #[inline(always)]
    pub fn version(&self) -> u64 {
        self.version
    }

    #[inline]
    pub fn get(&self, port: u16, ip: A) -> Option<Mac> {
        self.map.get(&(port, ip)).copied()
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Both families' published neighbour tables, as every worker reads
/// them (worker 0 republishes the pair when either changes).
#[derive(Debug, Clone, Default)]
pub struct Neighbours {
    pub v4: NeighSnapshot,
    pub v6: NeighSnapshot<u128>,
}

/// An unresolved neighbour and the packets waiting for it.
#[derive(Debug)]
pub struct Pending<P> {
    pub pkts: Vec<P>,
    pub probes: u8,
    pub last_probe: u64,
}

/// What to do after a table event.
#[derive(Debug, PartialEq, Eq)]
pub enum Action<A = u32> {
    /// Send an ARP request (IPv4) or a neighbour solicitation (IPv6) for
    /// (port, ip).
    Probe(u16, A),
}

/// The authoritative table, owned by worker 0.
#[derive(Debug)]
pub struct NeighTable<P, A: Addr = u32> {
    entries: HashMap<NeighKey<A>, Entry>,
    pending: HashMap<NeighKey<A>, Pending<P>>,
    dirty: bool,
    /// Changes whenever an entry is added, changed or removed: next hops
    /// cached from the table are valid while it is unchanged.
    version: u64,
}

impl<P, A: Addr> Default for NeighTable<P, A> {
    fn default() -> Self {
        NeighTable { entries: HashMap::new(), pending: HashMap::new(), dirty: false, version: 0 }
    }
}

impl<P, A: Addr> NeighTable<P, A> {
    pub fn get(&self, port: u16, ip: A) -> Option<Mac> {
        self.entries.get(&(port, ip)).map(|e| e.mac)
    }

    /// See the field: bumped on every change of a mapping.
    #[inline(always)]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Learn or confirm a mapping (from an ARP request or reply, an NS's
    /// source link-layer address, an NA with the override flag). Returns
    /// the packets that were waiting for it, to be sent now.
    pub fn learn(&mut self, port: u16, ip: A, mac: Mac, now: u64) -> Vec<P> {
        match self.entries.get_mut(&(port, ip)) {
            Some(e) if e.mac == mac => e.confirmed = now,
            _ => {
                self.entries.insert((port, ip), Entry { mac, confirmed: now });
                self.dirty = true;
                self.version += 1;
            }
        }
        self.pending.remove(&(port, ip)).map(|p| p.pkts).unwrap_or_default()
    }

    /// Learn from a neighbour advertisement (RFC 4861 7.2.5) for `ip`
    /// with target link-layer address `mac`. Unlike ARP's merge rule, it
    /// only updates a neighbour we are resolving or already know: with no
    /// entry "the advertisement SHOULD be silently discarded", so the
    /// unsolicited advertisements every host sends to all-nodes do not
    /// fill the table. Without the override flag it resolves a pending
    /// neighbour and confirms a matching entry but never replaces a
    /// different MAC (a proxy leaves O clear so as not to displace the
    /// owner). Returns the packets to send now.
    pub fn learn_advert(&mut self, port: u16, ip: A, mac: Mac, override_: bool, now: u64) -> Vec<P> {
        match self.entries.get(&(port, ip)) {
            Some(e) if e.mac != mac && !override_ => Vec::new(),
            Some(_) => self.learn(port, ip, mac, now),
            None if self.pending.contains_key(&(port, ip)) => self.learn(port, ip, mac, now),
            None => Vec::new(),
        }
    }

    /// Queue a packet for an unresolved neighbour. Returns the packet back
    /// when the queue is full, and whether a probe should go out now.
    pub fn enqueue(&mut self, port: u16, ip: A, pkt: P, now: u64) -> (Result<(), P>, Option<Action<A>>) {
        let p = self.pending.entry((port, ip)).or_insert(Pending { pkts: Vec::new(), probes: 0, last_probe: 0 });
        let probe = if p.probes == 0 {
            p.probes = 1;
            p.last_probe = now;
            Some(Action::Probe(port, ip))
        } else {
            None
        };
        if p.pkts.len() >= MAX_PENDING {
            return (Err(pkt), probe);
        }
        p.pkts.push(pkt);
        (Ok(()), probe)
    }

    /// Once a second: re-probe pending neighbours, give up after
    /// MAX_PROBES (returning the dropped packets), refresh entries close to
    /// expiry and remove expired ones.
    pub fn tick(&mut self, now: u64) -> (Vec<Action<A>>, Vec<P>) {
        let mut actions = Vec::new();
        let mut failed = Vec::new();
        self.pending.retain(|&(port, ip), p| {
            if now < p.last_probe + 1 {
                return true;
            }
            if p.probes >= MAX_PROBES {
                failed.append(&mut p.pkts);
                return false;
            }
            p.probes += 1;
            p.last_probe = now;
            actions.push(Action::Probe(port, ip));
            true
        });
        let before = self.entries.len();
        self.entries.retain(|&(port, ip), e| {
            let age = now.saturating_sub(e.confirmed);
            if age >= REACHABLE_SECS {
                return false;
            }
            if age >= REACHABLE_SECS - REFRESH_SECS {
                actions.push(Action::Probe(port, ip));
            }
            true
        });
        if self.entries.len() != before {
            self.dirty = true;
            self.version += 1;
        }
        (actions, failed)
    }

    /// A new snapshot if the table changed since the last call.
    pub fn take_snapshot(&mut self) -> Option<NeighSnapshot<A>> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        Some(NeighSnapshot { map: self.entries.iter().map(|(k, e)| (*k, e.mac)).collect(), version: self.version })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Packets waiting for resolution (all neighbours).
    pub fn pending_len(&self) -> usize {
        self.pending.values().map(|p| p.pkts.len()).sum()
    }

    /// Take every queued packet (shutdown).
    pub fn drain_pending(&mut self) -> Vec<P> {
        self.pending.drain().flat_map(|(_, p)| p.pkts).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_flushes_pending() {
        let mut t: NeighTable<u32> = NeighTable::default();
        let (r, a) = t.enqueue(0, 7, 100, 0);
        assert!(r.is_ok());
        assert_eq!(a, Some(Action::Probe(0, 7)));
        let (_, a) = t.enqueue(0, 7, 101, 0);
        assert_eq!(a, None, "one probe per resolution round");
        let out = t.learn(0, 7, [1; 6], 0);
        assert_eq!(out, vec![100, 101]);
        assert_eq!(t.get(0, 7), Some([1; 6]));
        assert!(t.take_snapshot().unwrap().get(0, 7).is_some());
        assert!(t.take_snapshot().is_none(), "unchanged table publishes nothing");
    }

    #[test]
    fn pending_is_bounded_and_fails_after_probes() {
        let mut t: NeighTable<usize> = NeighTable::default();
        for i in 0..MAX_PENDING {
            assert!(t.enqueue(1, 9, i, 0).0.is_ok());
        }
        assert_eq!(t.enqueue(1, 9, 99, 0).0, Err(99));
        let mut now = 0;
        let mut failed = Vec::new();
        while failed.is_empty() && now < 10 {
            now += 1;
            failed = t.tick(now).1;
        }
        assert_eq!(failed.len(), MAX_PENDING);
        assert_eq!(t.pending_len(), 0);
    }

    #[test]
    fn entries_refresh_then_age_out() {
        let mut t: NeighTable<u8> = NeighTable::default();
        t.learn(0, 1, [2; 6], 0);
        let _ = t.take_snapshot();
        let (a, _) = t.tick(REACHABLE_SECS - REFRESH_SECS);
        assert_eq!(a, vec![Action::Probe(0, 1)]);
        assert!(t.get(0, 1).is_some());
        t.tick(REACHABLE_SECS);
        assert!(t.get(0, 1).is_none());
        assert!(t.take_snapshot().is_some());
    }

    const V6: u128 = 0x2001_0db8_0000_0000_0000_0000_0000_0010;

    #[test]
    fn ipv6_queues_probes_and_ages_like_ipv4() {
        let mut t: NeighTable<u8, u128> = NeighTable::default();
        let (r, a) = t.enqueue(2, V6, 1, 0);
        assert!(r.is_ok());
        assert_eq!(a, Some(Action::Probe(2, V6)));
        assert_eq!(t.tick(1).0, vec![Action::Probe(2, V6)], "re-probed a second later");
        assert_eq!(t.learn(2, V6, [3; 6], 1), vec![1]);
        let s = t.take_snapshot().unwrap();
        assert_eq!((s.get(2, V6), s.get(2, V6 + 1), s.get(1, V6)), (Some([3; 6]), None, None));
        assert_eq!(s.version(), t.version());
        let (a, _) = t.tick(1 + REACHABLE_SECS - REFRESH_SECS);
        assert_eq!(a, vec![Action::Probe(2, V6)]);
        t.tick(1 + REACHABLE_SECS);
        assert!(t.is_empty());
        // An IPv4 table beside it is a different type: its keys are u32.
        let v4: NeighTable<u8> = NeighTable::default();
        assert_eq!(v4.get(2, 0x0a00_0001), None);
    }

    #[test]
    fn advertisements_update_only_what_we_asked_for() {
        let mut t: NeighTable<u8, u128> = NeighTable::default();
        assert!(t.learn_advert(0, V6, [4; 6], true, 0).is_empty());
        assert!(t.is_empty(), "an unsolicited advertisement creates nothing");
        let _ = t.enqueue(0, V6, 9, 0);
        assert_eq!(t.learn_advert(0, V6, [4; 6], false, 5), vec![9], "a pending neighbour is resolved");
        let v = t.version();
        assert!(t.learn_advert(0, V6, [5; 6], false, 6).is_empty());
        assert_eq!((t.get(0, V6), t.version()), (Some([4; 6]), v), "without O a different MAC is not taken");
        t.learn_advert(0, V6, [4; 6], false, 200);
        assert!(t.tick(200 + REACHABLE_SECS - REFRESH_SECS - 1).0.is_empty(), "confirmed at 200");
        t.learn_advert(0, V6, [5; 6], true, 201);
        assert_eq!(t.get(0, V6), Some([5; 6]), "the override flag replaces");
        assert!(t.version() > v);
    }
}
