//! One set of forwarding primitives per address family, behind a trait,
//! so the engine writes each mode once: `A::rewrite(..)` for `A = u32`
//! (IPv4) or `u128` (IPv6), as its tables are `ConnTable<A>`.

use super::tun::{self, EncapError};
use super::{rewrite, tun6, v6, L4At};
use crate::addr::Addr;
use crate::drop::DropReason;
use crate::packet::{ipv4, PacketBuf};
use rvs_conf::TunType;

/// The per-family rewrites of the forwarding modes (DR needs none: it
/// changes only the MAC).
pub trait Rewrite: Addr {
    /// Replace either or both ends (address, port) of the TCP/UDP packet
    /// at `at`, keeping checksums valid: [`super::rewrite`] /
    /// [`v6::rewrite6`].
    fn rewrite(b: &mut [u8], at: L4At, src: Option<(Self, u16)>, dst: Option<(Self, u16)>) -> Result<(), DropReason>;

    /// Decrement the TTL / hop limit of the header at `l3` (the caller
    /// checked it is above 1). False when no valid header is there.
    fn dec_ttl(b: &mut [u8], l3: usize) -> bool;

    /// Bytes a TUN encapsulation of type `t` adds.
    fn tun_overhead(t: TunType) -> usize;

    /// Wrap the packet after the Ethernet header for the real server
    /// `rip`, from `dip` ([`tun::encap`] / [`tun6::encap6`]).
    fn encap<P: PacketBuf>(
        pkt: &mut P,
        t: TunType,
        tun_port: u16,
        dip: Self,
        rip: Self,
        mtu: u16,
    ) -> Result<(), EncapError>;
}

impl Rewrite for u32 {
    #[inline(always)]
    fn rewrite(b: &mut [u8], at: L4At, src: Option<(u32, u16)>, dst: Option<(u32, u16)>) -> Result<(), DropReason> {
        rewrite(b, at, src, dst)
    }

    #[inline(always)]
    fn dec_ttl(b: &mut [u8], l3: usize) -> bool {
        ipv4::dec_ttl(b, l3)
    }

    fn tun_overhead(t: TunType) -> usize {
        tun::overhead(t)
    }

    fn encap<P: PacketBuf>(
        pkt: &mut P,
        t: TunType,
        tun_port: u16,
        dip: u32,
        rip: u32,
        mtu: u16,
    ) -> Result<(), EncapError> {
        tun::encap(pkt, t, tun_port, dip, rip, mtu)
    }
}

impl Rewrite for u128 {
    #[inline(always)]
    fn rewrite(b: &mut [u8], at: L4At, src: Option<(u128, u16)>, dst: Option<(u128, u16)>) -> Result<(), DropReason> {
        v6::rewrite6(b, at, src, dst)
    }

    #[inline(always)]
    fn dec_ttl(b: &mut [u8], l3: usize) -> bool {
        v6::dec_hop_limit(b, l3)
    }

    fn tun_overhead(t: TunType) -> usize {
        tun6::overhead6(t)
    }

    fn encap<P: PacketBuf>(
        pkt: &mut P,
        t: TunType,
        tun_port: u16,
        dip: u128,
        rip: u128,
        mtu: u16,
    ) -> Result<(), EncapError> {
        tun6::encap6(pkt, t, tun_port, dip, rip, mtu)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{testpkt, testpkt6};
    use super::*;

    /// One generic caller, as the engine will be, over both families.
    fn nat_request<A: Rewrite>(b: &mut [u8], at: L4At, rip: A, rport: u16) -> Result<(), DropReason> {
        assert!(A::dec_ttl(b, at.l3));
        A::rewrite(b, at, None, Some((rip, rport)))
    }

    #[test]
    fn both_families_through_one_generic_function() {
        let mut p = testpkt::tcp([10, 0, 0, 1], 1000, [10, 0, 0, 100], 80, true, b"");
        let a = testpkt::at(&p);
        nat_request(&mut p, a, 0xc0a8000au32, 8080).unwrap();
        assert_eq!(testpkt::check(&p), ([10, 0, 0, 1], 1000, [192, 168, 0, 10], 8080));
        assert_eq!(p[14 + 8], 63, "ttl");
        let mut p = testpkt6::tcp6(testpkt6::CIP, 1000, testpkt6::VIP, 80, true, b"", true);
        let a = testpkt6::at6(&p);
        nat_request(&mut p, a, testpkt6::RIP, 8080).unwrap();
        assert_eq!(testpkt6::check6(&p), (testpkt6::CIP, 1000, testpkt6::RIP, 8080));
        assert_eq!(p[14 + 7], 63, "hop limit");
        assert_eq!((u32::tun_overhead(TunType::Ipip), u128::tun_overhead(TunType::Ipip)), (20, 40));
    }
}
