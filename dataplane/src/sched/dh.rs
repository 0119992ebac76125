//! dh — destination hashing: the request's destination address picks the
//! dest through the same weighted 256-bucket table as sh
//! ([`BucketTable`]). Meant for fwmark services in front of caches or
//! firewalls, where the destination address varies and each one should
//! always reach the same server. As in IPVS there are no flags: the port is
//! not hashed and an unavailable dest means no connection.

use super::hash::{hash_addr_port, SEED_KEY};
use super::sh::BucketTable;
use super::{PickCtx, Scheduler};
use crate::svc::Dest;

#[derive(Debug)]
pub struct Dh {
    table: BucketTable,
}

impl Dh {
    pub fn new(dests: &[Dest]) -> Self {
        Dh { table: BucketTable::new(dests) }
    }
}

impl Scheduler for Dh {
    fn pick(&self, ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        self.table.lookup(hash_addr_port(ctx.vaddr, 0, SEED_KEY), dests, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn to(v: u8, c: u16) -> PickCtx {
        PickCtx { vaddr: IpAddr::V4(Ipv4Addr::new(10, 2, 0, v)), ..ctx(c, c) }
    }

    #[test]
    fn destination_decides_and_is_stable() {
        let mut ds = dests(&[1, 1, 1]);
        let (a, b) = (Dh::new(&ds), Dh::new(&ds));
        let mut seen = [false; 3];
        let mut before = Vec::new();
        for v in 0..=255 {
            let p = a.pick(&to(v, 1), &ds);
            seen[p.unwrap()] = true;
            for c in 2..10 {
                assert_eq!(p, a.pick(&to(v, c), &ds), "client does not matter");
            }
            assert_eq!(p, b.pick(&to(v, 1), &ds));
            before.push(p);
        }
        assert_eq!(seen, [true; 3]);
        // No fallback: the destinations of an overloaded dest get nothing.
        overload(&mut ds[0]);
        for v in 0..=255 {
            let want = before[v as usize].filter(|&i| i != 0);
            assert_eq!(a.pick(&to(v, 1), &ds), want);
        }
    }
}
