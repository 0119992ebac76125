//! DR (`-g`, Route): the IP packet is untouched; only the destination MAC
//! becomes the real server's. The real server holds the VIP on a
//! non-ARPing interface and replies straight to the client.
//!
//! The rewrite itself is the output path's job (resolve the RS address in
//! the neighbour table, write the Ethernet header); this module says which
//! address to resolve and checks the constraint DR imposes.

use crate::addr::Addr;

/// The next hop for a DR packet is the real server itself, which must be
/// on a directly connected network (same L2 segment).
#[inline]
pub fn nexthop(rip: u32) -> u32 {
    rip
}

/// DR delivers on-link only: a route via a gateway would hand the frame to
/// the gateway, which would route it back to the VIP.
#[inline]
pub fn on_link(route_nexthop: u32, rip: u32) -> bool {
    route_nexthop == rip
}

/// [`nexthop`] for either family.
#[inline]
pub fn nexthop_af<A: Addr>(rip: A) -> A {
    rip
}

/// [`on_link`] for either family (IPv6 DR delivers on-link only too).
#[inline]
pub fn on_link_af<A: Addr>(route_nexthop: A, rip: A) -> bool {
    route_nexthop == rip
}

#[cfg(test)]
mod tests {
    #[test]
    fn dr_requires_connected_rs() {
        assert!(super::on_link(0x0a000005, 0x0a000005));
        assert!(!super::on_link(0x0a000001, 0x0a000005));
        let rip: u128 = 0x2001_0db8_0000_0000_0000_0000_0000_000a;
        assert!(super::on_link_af(rip, rip) && super::nexthop_af(rip) == rip);
        assert!(!super::on_link_af(rip - 9, rip));
    }
}
