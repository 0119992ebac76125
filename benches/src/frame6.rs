//! Ethernet / IPv6 frames for the one-way replay: UDP and TCP from the
//! IPv6 clients, and the neighbour solicitations that teach the director
//! its real servers' MACs.
//!
//! The L4 headers and checksums are [`crate::frame`]'s, fed IPv6's
//! pseudo-header (RFC 8200 8.1): only the addresses and the header in
//! front of them differ from IPv4.

use crate::frame::{fold, pad, put16, sum, tcp_at, udp_at, Mac, Seg, ETH_LEN, PROTO_TCP, PROTO_UDP, TCP_LEN, UDP_LEN};

pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// The fixed IPv6 header (no extension headers are written).
pub const IP6_LEN: usize = 40;
pub const NH_ICMPV6: u8 = 58;
/// The smallest IPv6 UDP frame: Ethernet + IPv6 + UDP with no payload
/// (62 bytes, 66 on the wire). IPv4's 60-byte minimum cannot hold it.
pub const MIN_UDP6_FRAME: usize = ETH_LEN + IP6_LEN + UDP_LEN;
/// Neighbour solicitation: type 135, code, checksum, reserved, target,
/// one source link-layer address option (RFC 4861 4.3, RFC 2464 8).
const NS_LEN: usize = 4 + 4 + 16 + 8;
const NEIGHBOR_SOLICIT: u8 = 135;
const OPT_SOURCE_LLADDR: u8 = 1;
/// Hop limit every ND message must carry (RFC 4861 7.1.1: a receiver
/// drops any other, since a router would have decremented it).
const ND_HOP_LIMIT: u8 = 255;

/// Who talks to whom over IPv6 (addresses host order, as
/// [`crate::frame::Endpoints`] for IPv4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints6 {
    pub smac: Mac,
    pub dmac: Mac,
    pub src: u128,
    pub sport: u16,
    pub dst: u128,
    pub dport: u16,
}

/// Write Ethernet and the fixed IPv6 header for `payload_len` bytes of
/// `next` behind it; returns the payload's offset.
fn eth_ip6(b: &mut [u8], (smac, dmac): (Mac, Mac), (src, dst): (u128, u128), next: u8, hops: u8, len: usize) -> usize {
    b[0..6].copy_from_slice(&dmac);
    b[6..12].copy_from_slice(&smac);
    put16(b, 12, ETHERTYPE_IPV6);
    let ip = &mut b[ETH_LEN..ETH_LEN + IP6_LEN];
    ip[0..4].copy_from_slice(&(6u32 << 28).to_be_bytes()); // version, no class, no flow label
    put16(ip, 4, len as u16);
    ip[6] = next;
    ip[7] = hops;
    ip[8..24].copy_from_slice(&src.to_be_bytes());
    ip[24..40].copy_from_slice(&dst.to_be_bytes());
    ETH_LEN + IP6_LEN
}

/// IPv6 pseudo-header sum (RFC 8200 8.1), not folded.
fn pseudo6(src: u128, dst: u128, next: u8, l4_len: usize) -> u32 {
    sum(&src.to_be_bytes())
        + sum(&dst.to_be_bytes())
        + (l4_len as u32 >> 16)
        + (l4_len as u32 & 0xffff)
        + u32::from(next)
}

/// Write a UDP-over-IPv6 frame (`payload_len` bytes left as found),
/// padded to `pad_to`; returns its length.
pub fn udp6(b: &mut [u8], e: &Endpoints6, payload_len: usize, pad_to: usize) -> usize {
    let l4_len = UDP_LEN + payload_len;
    let l4 = eth_ip6(b, (e.smac, e.dmac), (e.src, e.dst), PROTO_UDP, 64, l4_len);
    let end = udp_at(b, l4, (e.sport, e.dport), payload_len, pseudo6(e.src, e.dst, PROTO_UDP, l4_len));
    pad(b, end, pad_to)
}

/// Write a TCP-over-IPv6 frame (see [`udp6`] and [`crate::frame::tcp`]).
pub fn tcp6(b: &mut [u8], e: &Endpoints6, s: Seg, payload_len: usize, pad_to: usize) -> usize {
    let l4_len = TCP_LEN + payload_len;
    let l4 = eth_ip6(b, (e.smac, e.dmac), (e.src, e.dst), PROTO_TCP, 64, l4_len);
    let end = tcp_at(b, l4, (e.sport, e.dport), s, payload_len, pseudo6(e.src, e.dst, PROTO_TCP, l4_len));
    pad(b, end, pad_to)
}

/// ff02::1:ffXX:XXXX, where a solicitation for `addr` goes (RFC 4291 2.7.1).
pub fn solicited_node(addr: u128) -> u128 {
    (0xff02_u128 << 112) | (0x1_ff00_0000) | (addr & 0xff_ffff)
}

/// A neighbour solicitation from `(smac, src)` for `target`, sent as
/// address resolution does (to the target's solicited-node group, hop
/// limit 255) and carrying the sender's MAC in a source link-layer
/// address option. A host that owns `target` learns the sender's mapping
/// from it (RFC 4861 7.2.3) whether or not it was resolving the sender:
/// what an ARP request or reply is to IPv4. Returns the frame length (86).
pub fn neighbor_solicit(b: &mut [u8], smac: Mac, src: u128, target: u128) -> usize {
    let dst = solicited_node(target);
    let l = (dst as u32).to_be_bytes();
    let dmac = [0x33, 0x33, l[0], l[1], l[2], l[3]];
    let at = eth_ip6(b, (smac, dmac), (src, dst), NH_ICMPV6, ND_HOP_LIMIT, NS_LEN);
    let m = &mut b[at..at + NS_LEN];
    m.fill(0);
    m[0] = NEIGHBOR_SOLICIT;
    m[8..24].copy_from_slice(&target.to_be_bytes());
    m[24] = OPT_SOURCE_LLADDR;
    m[25] = 1; // 8 bytes
    m[26..32].copy_from_slice(&smac);
    let c = fold(pseudo6(src, dst, NH_ICMPV6, NS_LEN) + sum(m));
    put16(m, 2, c);
    at + NS_LEN
}

/// `a:b::c` of a host-order address.
pub fn ip6_str(a: u128) -> String {
    std::net::Ipv6Addr::from(a).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{tcp_flags, MIN_FRAME};
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    use rvs_dataplane::l3::nd::{self, Nd};

    fn ep() -> Endpoints6 {
        Endpoints6 {
            smac: [2, 0, 0, 0, 0, 1],
            dmac: [2, 0, 0, 0, 0, 2],
            src: 0x2001_0db8_00ee_0000_0000_0000_0a01_0001,
            sport: 40000,
            dst: 0x2001_0db8_000c_0000_0000_0000_0000_0100,
            dport: 80,
        }
    }

    /// Lengths and checksums as an independent parser reads them.
    fn verify(b: &[u8]) -> usize {
        let p = SlicedPacket::from_ethernet(b).expect("parse");
        let Some(NetSlice::Ipv6(ip)) = &p.net else { panic!("not ipv6") };
        let h = ip.header().to_header();
        assert_eq!((h.source, h.destination), (ep().src.to_be_bytes(), ep().dst.to_be_bytes()));
        match p.transport.expect("l4") {
            TransportSlice::Udp(u) => {
                assert_eq!(u.checksum(), u.to_header().calc_checksum_ipv6(&h, u.payload()).unwrap());
                assert_ne!(u.checksum(), 0, "a zero UDP checksum is invalid over IPv6");
                u.payload().len()
            }
            TransportSlice::Tcp(t) => {
                assert_eq!(t.checksum(), t.to_header().calc_checksum_ipv6(&h, t.payload()).unwrap());
                t.payload().len()
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn udp6_minimum_and_odd_payloads_are_valid() {
        let mut b = [0xaau8; 256];
        let n = udp6(&mut b, &ep(), 0, MIN_FRAME);
        assert_eq!(n, MIN_UDP6_FRAME);
        assert_eq!(verify(&b[..n]), 0);
        for len in [1usize, 7, 18, 100] {
            let n = udp6(&mut b, &ep(), len, MIN_FRAME);
            assert_eq!((n, verify(&b[..n])), (MIN_UDP6_FRAME + len, len));
        }
    }

    #[test]
    fn tcp6_syn_and_data_are_valid() {
        let mut b = [0x5au8; 256];
        let n = tcp6(&mut b, &ep(), Seg { seq: 7, ack: 0, flags: tcp_flags::SYN }, 0, MIN_FRAME);
        assert_eq!((n, verify(&b[..n])), (ETH_LEN + IP6_LEN + TCP_LEN, 0));
        let n = tcp6(&mut b, &ep(), Seg { seq: 8, ack: 1, flags: tcp_flags::ACK }, 6, MIN_FRAME);
        assert_eq!(verify(&b[..n]), 6);
    }

    /// rvsd's own ND parser accepts the solicitation and would learn the
    /// sender from it: the reason the bench replays these (see pcap.rs).
    #[test]
    fn solicitation_is_what_rvsd_learns_from() {
        let mut b = [0u8; 128];
        let (mac, rs, dip) =
            ([2, 0x52, 0x53, 0, 0, 3], 0x2001_0db8_0001_u128 << 80 | 0x13, 0x2001_0db8_0001_u128 << 80 | 0x100);
        let n = neighbor_solicit(&mut b, mac, rs, dip);
        assert_eq!(n, 86);
        assert_eq!(b[..6], [0x33, 0x33, 0xff, 0, 1, 0]);
        let Ok(Nd::Solicit(ns)) = nd::parse(&b[..n]) else { panic!("{:?}", nd::parse(&b[..n])) };
        assert_eq!((ns.target, ns.dst), (dip, nd::solicited_node(dip)));
        assert_eq!(ns.sender(), Some((rs, mac)));
        // A corrupted byte must fail rvsd's checksum check.
        b[70] ^= 1;
        assert!(nd::parse(&b[..n]).is_err());
    }
}
