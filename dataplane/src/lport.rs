//! FULLNAT local ports: each worker's pool per local address (LIP), and
//! the choice of a port whose reply the NIC delivers to this worker.
//!
//! A worker owns the ports `p` with `p % workers == id`, so the reply's
//! destination port names the connection's owner on any device (the flow
//! owner function). Free ports are reused first-in first-out: a port just
//! released waits longest, so the real server's TIME_WAIT on it has ended
//! (as DPVS's sa_pool does).
//!
//! When the port the replies arrive on runs RSS with a key and RETA rvs
//! knows ([`PortRss`]), the worker also wants the reply tuple
//! `RIP:rport → LIP:lport` to hash to its own rx queue, so replies need no
//! redirect and no `rte_flow` rule. The Toeplitz hash is linear, so the
//! RETA index of a reply is `(base(RIP, LIP, rport) ⊕ part(lport)) & mask`
//! ([`PortBuckets`]): one table lookup per candidate. The pool is scanned
//! for a few candidates in FIFO order (on average `workers` of them);
//! if none fits, any port of the worker's is taken and the reply is
//! redirected, as without RSS.

use crate::addr::Addr;
use crate::rss::{PortBuckets, PortRss};
use hashbrown::HashMap;
use std::collections::VecDeque;

/// Candidates looked at before giving up on steering one connection.
const STEER_TRIES: usize = 64;

/// The reply's ingress port, when it runs RSS: which queue a reply lands on.
pub struct Steer<'a> {
    /// Interface index of the port (to cache its buckets).
    pub iface: usize,
    pub rss: &'a PortRss,
    /// The reply's source: the real server's address (widened, of the
    /// LIP's family) and port.
    pub rip: u128,
    pub rport: u16,
}

/// See the module documentation.
pub struct LocalPorts {
    id: usize,
    workers: usize,
    /// Free ports per LIP (widened: IPv4 and IPv6 LIPs in one map).
    pools: HashMap<u128, VecDeque<u16>>,
    /// Port buckets per interface index and family (IPv4 at `2 * iface`,
    /// IPv6 at `2 * iface + 1`: the port sits at another offset of the
    /// hashed tuple), built on first use (128 KiB each).
    buckets: Vec<Option<PortBuckets>>,
    /// Connections whose reply could not be steered to this worker.
    pub unsteered: u64,
}

impl LocalPorts {
    pub fn new(id: usize, workers: usize) -> Self {
        LocalPorts { id, workers: workers.max(1), pools: HashMap::new(), buckets: Vec::new(), unsteered: 0 }
    }

    /// A free port of `lip`, steered when `steer` says how.
    /// (`steer` is for IPv4 LIPs: the buckets are laid out for the IPv4
    /// RSS input.)
    pub fn alloc<A: Addr>(&mut self, lip: A, steer: Option<Steer<'_>>) -> Option<u16> {
        let (id, n) = (self.id, self.workers);
        let pool = self
            .pools
            .entry(lip.widen())
            .or_insert_with(|| (1024u32..=65535).filter(|p| *p as usize % n == id).map(|p| p as u16).collect());
        let Some(s) = steer else { return pool.pop_front() };
        let v6 = A::BITS == 128;
        let slot = 2 * s.iface + usize::from(v6);
        if self.buckets.len() <= slot {
            self.buckets.resize_with(slot + 1, || None);
        }
        let (reta, t) = (s.rss.reta(), s.rss.toeplitz());
        let b = self.buckets[slot].get_or_insert_with(|| PortBuckets::new(t, reta.len(), v6));
        let base = if v6 {
            t.ipv6_l4(&s.rip.to_be_bytes(), &lip.widen().to_be_bytes(), s.rport, 0)
        } else {
            t.ipv4_l4(s.rip as u32, lip.widen() as u32, s.rport, 0)
        } & b.mask();
        for _ in 0..STEER_TRIES.min(pool.len()) {
            let p = pool.pop_front()?;
            if reta[base as usize ^ b.bucket_of(p)] as usize == id {
                return Some(p);
            }
            pool.push_back(p);
        }
        self.unsteered += 1;
        pool.pop_front()
    }

    /// Free ports of `lip` in this worker's pool (None before its first
    /// use). One pool per address whatever the family of the service that
    /// uses it: an IPv4 LIP serves IPv4 FULLNAT and NAT64 alike.
    pub fn available<A: Addr>(&self, lip: A) -> Option<usize> {
        self.pools.get(&lip.widen()).map(VecDeque::len)
    }

    pub fn free<A: Addr>(&mut self, lip: A, port: u16) {
        if let Some(v) = self.pools.get_mut(&lip.widen()) {
            v.push_back(port);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rss::{default_reta, DEFAULT_KEY};

    #[test]
    fn steered_ports_bring_the_reply_to_the_owner_queue() {
        let rss = PortRss::new(&DEFAULT_KEY, default_reta(128, 4));
        let lip = 0xc0a8_0065;
        for id in 0..4 {
            let mut lp = LocalPorts::new(id, 4);
            for k in 0..2000u32 {
                let (rip, rport) = (0xc0a8_0000 + k % 50, 8000 + (k % 7) as u16);
                let s = Steer { iface: 1, rss: &rss, rip: u128::from(rip), rport };
                let p = lp.alloc(lip, Some(s)).unwrap();
                assert_eq!(p as usize % 4, id, "the owner function still holds");
                assert_eq!(rss.queue_for_v4(rip, rport, lip, p) as usize, id, "reply lands on the owner's queue");
            }
            assert_eq!(lp.unsteered, 0);
        }
    }

    #[test]
    fn steered_ipv6_ports_bring_the_reply_to_the_owner_queue() {
        let rss = PortRss::new(&DEFAULT_KEY, default_reta(128, 4));
        let lip: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0101;
        for id in 0..4 {
            let mut lp = LocalPorts::new(id, 4);
            for k in 0..2000u32 {
                let (rip, rport) =
                    (0x2001_0db8_0001_0000_0000_0000_0000_0000 + u128::from(k % 50), 8000 + (k % 7) as u16);
                let p = lp.alloc(lip, Some(Steer { iface: 1, rss: &rss, rip, rport })).unwrap();
                assert_eq!(p as usize % 4, id, "the owner function still holds");
                let q = rss.queue_for_v6(&rip.to_be_bytes(), rport, &lip.to_be_bytes(), p);
                assert_eq!(q as usize, id, "reply lands on the owner's queue");
            }
            assert_eq!(lp.unsteered, 0);
        }
    }

    #[test]
    fn without_rss_the_pool_is_fifo() {
        let mut lp = LocalPorts::new(1, 2);
        let a = lp.alloc(7u32, None).unwrap();
        let b = lp.alloc(7u32, None).unwrap();
        assert_eq!((a, b), (1025, 1027));
        lp.free(7u32, a);
        // The freed port waits behind every other free one.
        let n = (1024..=65535).filter(|p| p % 2 == 1).count();
        let mut last = 0;
        for _ in 0..n - 1 {
            last = lp.alloc(7u32, None).unwrap();
        }
        assert_eq!(last, a);
        assert_eq!(lp.alloc(7u32, None), None, "pool exhausted");
    }
}
