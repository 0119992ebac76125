//! The IPv6 half of the snapshot: each IPv4 lookup's twin over `u128`
//! addresses, and [`SnapAddr`], which picks the family's table for code
//! written once over [`Addr`].

use super::{Iface, Service, ServiceTable, Snapshot};
use crate::addr::Addr;
use crate::l3::route::RouteTable;

/// fe80::/10: link-local unicast (RFC 4291 §2.5.6).
fn is_link_local(a: u128) -> bool {
    a >> 118 == 0x3fa
}

impl Iface {
    /// An IPv6 address of ours on this interface (for NS probes, the TUN
    /// outer source, ICMPv6 errors): the one whose prefix holds `peer`
    /// (a link-local peer gets our link-local address), else the first
    /// global one — never a link-local address for a peer off the link.
    pub fn source_for6(&self, peer: u128) -> Option<u128> {
        self.addrs6
            .iter()
            .find(|(a, l)| {
                let m = u128::prefix_mask(*l);
                a & m == peer & m
            })
            .or_else(|| self.addrs6.iter().find(|(a, _)| !is_link_local(*a)))
            .map(|(a, _)| *a)
    }
}

impl ServiceTable {
    /// The service of an IPv6 packet (an index into `list`), in IPVS
    /// order as [`ServiceTable::lookup`].
    #[inline]
    pub fn lookup6(&self, proto: u8, vip: u128, port: u16) -> Option<u32> {
        self.v6.lookup(proto, vip, port)
    }

    #[inline]
    pub fn is_vip6(&self, a: u128) -> bool {
        self.v6.vips.contains(&a)
    }

    #[inline]
    pub fn is_lip6(&self, a: u128) -> bool {
        self.v6.lips.contains(&a)
    }

    pub fn lips6(&self) -> impl Iterator<Item = u128> + '_ {
        self.v6.lips.iter().copied()
    }
}

impl Snapshot {
    /// Add static IPv6 routes (prefix, length, port index, gateway) to
    /// the connected ones [`Snapshot::new`] made from the interfaces.
    pub fn with_routes6(mut self, routes: &[(u128, u8, u16, Option<u128>)]) -> Self {
        for &(p, l, port, via) in routes {
            self.routes6.add(p, l, port, via);
        }
        self
    }

    /// The [`super::class`] bits of an IPv6 address (0: not ours).
    #[inline(always)]
    pub fn class6(&self, addr: u128) -> u8 {
        self.classes6.get(addr)
    }

    /// Whether a Neighbor Solicitation for `addr` arriving on `port_idx`
    /// gets our answer: an address of that interface (a link-local
    /// address may be on several), or a VIP or LIP (answered on every
    /// interface, as ARP is).
    pub fn answers_nd_for(&self, port_idx: u16, addr: u128) -> bool {
        if self.local6.contains_key(&addr) {
            return self.ifaces.get(port_idx as usize).is_some_and(|i| i.addrs6.iter().any(|(a, _)| *a == addr));
        }
        self.services.is_vip6(addr) || self.services.is_lip6(addr)
    }
}

/// The snapshot's tables of one family, for code generic over [`Addr`]:
/// `A::class_of(snap, a)` is `snap.class(a)` for IPv4 and
/// `snap.class6(a)` for IPv6, and so on.
pub trait SnapAddr: Addr {
    fn class_of(snap: &Snapshot, a: Self) -> u8;
    fn routes(snap: &Snapshot) -> &RouteTable<Self>;
    fn lookup(t: &ServiceTable, proto: u8, vip: Self, port: u16) -> Option<u32>;
    fn is_vip(t: &ServiceTable, a: Self) -> bool;
    fn is_lip(t: &ServiceTable, a: Self) -> bool;
    /// Our address on `ifc` to send to `peer` from.
    fn source_for(ifc: &Iface, peer: Self) -> Option<Self>;
    /// The service's FULLNAT local addresses of this family.
    fn laddrs(s: &Service) -> &[Self];
    /// The persistence mask of the service's clients of this family.
    fn netmask(s: &Service) -> Self;
}

impl SnapAddr for u32 {
    #[inline(always)]
    fn class_of(snap: &Snapshot, a: u32) -> u8 {
        snap.class(a)
    }
    #[inline(always)]
    fn routes(snap: &Snapshot) -> &RouteTable<u32> {
        &snap.routes
    }
    #[inline(always)]
    fn lookup(t: &ServiceTable, proto: u8, vip: u32, port: u16) -> Option<u32> {
        t.lookup(proto, vip, port)
    }
    #[inline(always)]
    fn is_vip(t: &ServiceTable, a: u32) -> bool {
        t.is_vip(a)
    }
    #[inline(always)]
    fn is_lip(t: &ServiceTable, a: u32) -> bool {
        t.is_lip(a)
    }
    fn source_for(ifc: &Iface, peer: u32) -> Option<u32> {
        ifc.source_for(peer)
    }
    #[inline(always)]
    fn laddrs(s: &Service) -> &[u32] {
        &s.laddrs
    }
    #[inline(always)]
    fn netmask(s: &Service) -> u32 {
        s.netmask
    }
}

impl SnapAddr for u128 {
    #[inline(always)]
    fn class_of(snap: &Snapshot, a: u128) -> u8 {
        snap.class6(a)
    }
    #[inline(always)]
    fn routes(snap: &Snapshot) -> &RouteTable<u128> {
        &snap.routes6
    }
    #[inline(always)]
    fn lookup(t: &ServiceTable, proto: u8, vip: u128, port: u16) -> Option<u32> {
        t.lookup6(proto, vip, port)
    }
    #[inline(always)]
    fn is_vip(t: &ServiceTable, a: u128) -> bool {
        t.is_vip6(a)
    }
    #[inline(always)]
    fn is_lip(t: &ServiceTable, a: u128) -> bool {
        t.is_lip6(a)
    }
    fn source_for(ifc: &Iface, peer: u128) -> Option<u128> {
        ifc.source_for6(peer)
    }
    #[inline(always)]
    fn laddrs(s: &Service) -> &[u128] {
        &s.laddrs6
    }
    #[inline(always)]
    fn netmask(s: &Service) -> u128 {
        s.netmask6
    }
}
