//! Static and connected routes with longest-prefix match, one table per
//! family (`RouteTable` for IPv4, `RouteTable<u128>` for IPv6).
//!
//! Director route tables are small (connected subnets and a handful of
//! static routes), so the table is a vector sorted by prefix length,
//! longest first: the first match is the longest. It is part of the
//! immutable snapshot, rebuilt by Control, never changed in place.

use crate::addr::Addr;

/// Where a route sends a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<A: Addr = u32> {
    pub prefix: A,
    pub len: u8,
    /// Output port index (into the worker's port list).
    pub port: u16,
    /// Gateway; None for a connected route (next hop = destination).
    pub via: Option<A>,
}

#[derive(Debug, Clone)]
pub struct RouteTable<A: Addr = u32> {
    routes: Vec<Route<A>>,
}

impl<A: Addr> Default for RouteTable<A> {
    fn default() -> Self {
        RouteTable { routes: Vec::new() }
    }
}

impl<A: Addr> RouteTable<A> {
    pub fn add(&mut self, prefix: A, len: u8, port: u16, via: Option<A>) {
        let r = Route { prefix: prefix & A::prefix_mask(len), len, port, via };
        self.routes.retain(|x| !(x.prefix == r.prefix && x.len == r.len));
        self.routes.push(r);
        self.routes.sort_by_key(|r| std::cmp::Reverse(r.len));
    }

    /// Longest-prefix match: (output port, next-hop address).
    #[inline]
    pub fn lookup(&self, dst: A) -> Option<(u16, A)> {
        self.routes.iter().find(|r| dst & A::prefix_mask(r.len) == r.prefix).map(|r| (r.port, r.via.unwrap_or(dst)))
    }

    pub fn routes(&self) -> &[Route<A>] {
        &self.routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mut t = RouteTable::<u32>::default();
        t.add(0, 0, 0, Some(0x0a000001)); // default via 10.0.0.1 on port 0
        t.add(0xc0a80000, 24, 1, None); // 192.168.0.0/24 connected on port 1
        t.add(0xc0a80080, 25, 2, Some(0xc0a80001));
        assert_eq!(t.lookup(0xc0a8000a), Some((1, 0xc0a8000a)));
        assert_eq!(t.lookup(0xc0a80081), Some((2, 0xc0a80001)));
        assert_eq!(t.lookup(0x08080808), Some((0, 0x0a000001)));
        let empty = RouteTable::<u32>::default();
        assert_eq!(empty.lookup(1), None);
    }

    #[test]
    fn re_adding_replaces() {
        let mut t = RouteTable::<u32>::default();
        t.add(0x0a000000, 8, 0, None);
        t.add(0x0a000000, 8, 3, None);
        assert_eq!(t.routes().len(), 1);
        assert_eq!(t.lookup(0x0a010203), Some((3, 0x0a010203)));
    }

    #[test]
    fn ipv6_longest_prefix_wins() {
        let a = |s: &str| u128::from(s.parse::<std::net::Ipv6Addr>().unwrap());
        let mut t = RouteTable::<u128>::default();
        t.add(0, 0, 0, Some(a("fe80::1")));
        t.add(a("2001:db8::"), 32, 1, None);
        t.add(a("2001:db8:1::"), 48, 2, Some(a("2001:db8::1")));
        assert_eq!(t.lookup(a("2001:db8::10")), Some((1, a("2001:db8::10"))));
        assert_eq!(t.lookup(a("2001:db8:1::10")), Some((2, a("2001:db8::1"))));
        assert_eq!(t.lookup(a("2001:db9::1")), Some((0, a("fe80::1"))));
        t.add(a("2001:db8::5"), 128, 3, None);
        assert_eq!(t.lookup(a("2001:db8::5")), Some((3, a("2001:db8::5"))));
    }
}
