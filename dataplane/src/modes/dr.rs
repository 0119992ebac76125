//! DR (`-g`, Route): the IP packet is untouched; only the destination MAC
//! becomes the real server's. The real server holds the VIP on a
//! non-ARPing interface and replies straight to the client.
//!
//! The rewrite itself is the output path's job (resolve the RS address in
//! the neighbour table, write the Ethernet header); this module says which
//! address to resolve and checks the constraint DR imposes.

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

#[cfg(test)]
mod tests {
    #[test]
    fn dr_requires_connected_rs() {
        assert!(super::on_link(0x0a000005, 0x0a000005));
        assert!(!super::on_link(0x0a000001, 0x0a000005));
    }
}
