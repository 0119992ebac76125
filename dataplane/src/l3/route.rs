//! Static and connected IPv4 routes with longest-prefix match.
//!
//! Director route tables are small (connected subnets and a handful of
//! static routes), so the table is a vector sorted by prefix length,
//! longest first: the first match is the longest. It is part of the
//! immutable snapshot, rebuilt by Control, never changed in place.

/// Where a route sends a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub prefix: u32,
    pub len: u8,
    /// Output port index (into the worker's port list).
    pub port: u16,
    /// Gateway; None for a connected route (next hop = destination).
    pub via: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

#[inline(always)]
fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len as u32)
    }
}

impl RouteTable {
    pub fn add(&mut self, prefix: u32, len: u8, port: u16, via: Option<u32>) {
        let r = Route { prefix: prefix & mask(len), len, port, via };
        self.routes.retain(|x| !(x.prefix == r.prefix && x.len == r.len));
        self.routes.push(r);
        self.routes.sort_by_key(|r| std::cmp::Reverse(r.len));
    }

    /// Longest-prefix match: (output port, next-hop address).
    #[inline]
    pub fn lookup(&self, dst: u32) -> Option<(u16, u32)> {
        self.routes.iter().find(|r| dst & mask(r.len) == r.prefix).map(|r| (r.port, r.via.unwrap_or(dst)))
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mut t = RouteTable::default();
        t.add(0, 0, 0, Some(0x0a000001)); // default via 10.0.0.1 on port 0
        t.add(0xc0a80000, 24, 1, None); // 192.168.0.0/24 connected on port 1
        t.add(0xc0a80080, 25, 2, Some(0xc0a80001));
        assert_eq!(t.lookup(0xc0a8000a), Some((1, 0xc0a8000a)));
        assert_eq!(t.lookup(0xc0a80081), Some((2, 0xc0a80001)));
        assert_eq!(t.lookup(0x08080808), Some((0, 0x0a000001)));
        let empty = RouteTable::default();
        assert_eq!(empty.lookup(1), None);
    }

    #[test]
    fn re_adding_replaces() {
        let mut t = RouteTable::default();
        t.add(0x0a000000, 8, 0, None);
        t.add(0x0a000000, 8, 3, None);
        assert_eq!(t.routes().len(), 1);
        assert_eq!(t.lookup(0x0a010203), Some((3, 0x0a010203)));
    }
}
