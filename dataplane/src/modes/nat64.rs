//! NAT64 through FULLNAT (as DPVS offers it): an IPv6 client reaches an
//! IPv6 VIP whose real servers are IPv4, and the director translates
//! each packet's IP header between the families (RFC 7915, stateful as
//! RFC 6146 does it, with the connection table as the binding table).
//!
//! Request CIP6:cport → VIP6:vport becomes LIP4:lport → RIP4:rport; the
//! reply RIP4:rport → LIP4:lport becomes VIP6:vport → CIP6:cport. The
//! connection lives in the IPv6 table, its IPv4 ends (LIP, RIP) kept
//! zero-extended ([`Addr::widen`], the deprecated IPv4-compatible
//! `::a.b.c.d` form), which the IPv6 gate refuses as a source on the wire,
//! so no IPv6 packet can ever match a NAT64 connection's reply side.
//!
//! Only the IP header is rebuilt; the TCP/UDP segment stays where it was
//! relative to the end of the frame, its checksum updated incrementally
//! for the new pseudo-header and ports (a bad checksum stays bad). An
//! SCTP packet's CRC32c knows no pseudo-header: it is computed again for
//! the new ports, and a packet that arrived with a wrong one is refused
//! (`SctpBadCrc`) after the reframe, which its caller drops. IPv6
//! extension headers are dropped (RFC 7915 5.1: they do not translate).
//!
//! Choices where RFC 7915 leaves room, and why:
//! - IPv6 → IPv4 sets DF and identification 0 (RFC 6864's atomic
//!   datagram): the IPv6 client does path MTU discovery anyway, and the
//!   IPv4 side's frag-needed errors are translated back to it as packet
//!   too big (`+ 20` for the header difference). RFC 7915 would clear DF
//!   for packets up to 1260 bytes so IPv4 links below 1280 bytes could
//!   fragment them; a director's server networks are not such links.
//! - IPv4 → IPv6: traffic class from the TOS byte, flow label 0, hop
//!   limit from the TTL; an IPv4 UDP datagram without a checksum gets one
//!   computed (IPv6 requires it; RFC 7915 4.5 lets a stateful translator
//!   compute it).

use super::L4At;
use crate::addr::Addr;
use crate::drop::DropReason;
use crate::packet::ipv6::Ipv6Repr;
use crate::packet::{csum, eth, PacketBuf};
use crate::wire::ipv4::{Ipv4Repr, MIN_HDR};
use crate::wire::ipv6::{self, HDR_LEN};
use crate::wire::{Ipv4, Ipv6, L4};

/// Bytes an IPv6 header takes over an IPv4 one without options: what a
/// translated packet grows or shrinks by (without extension headers).
pub const GROWTH: usize = HDR_LEN - MIN_HDR;

/// The IPv4 address a NAT64 connection keeps zero-extended in its IPv6
/// entry, if `a` is one.
#[inline]
pub fn v4_of(a: u128) -> Option<u32> {
    (a >> 32 == 0).then_some(a as u32)
}

/// The offsets of a translated packet's headers (Ethernet, then a 20- or
/// 40-byte IP header, then L4).
fn at_after(proto: u8, ip_len: usize) -> L4At {
    L4At { l3: eth::HDR_LEN, l4: eth::HDR_LEN + ip_len, proto }
}

/// Replace the IP header (from `at.l3` to `at.l4`) by a new one of
/// `new_len` bytes, keeping the Ethernet header (its ethertype set to
/// `ethertype`) and the `seg` bytes of the L4 segment after it. The frame
/// is cut to the segment's end first. False (the frame untouched) when
/// the buffer cannot gain the headroom.
fn reframe<P: PacketBuf>(pkt: &mut P, at: L4At, seg: usize, new_len: usize, ethertype: u16) -> bool {
    let old_len = at.l4 - at.l3;
    if new_len > old_len {
        if !pkt.prepend(new_len - old_len) {
            return false;
        }
        pkt.data_mut().copy_within(new_len - old_len..new_len - old_len + eth::HDR_LEN, 0);
    } else if new_len < old_len {
        pkt.data_mut().copy_within(0..eth::HDR_LEN, old_len - new_len);
        if !pkt.adj(old_len - new_len) {
            return false;
        }
    }
    pkt.set_len(eth::HDR_LEN + new_len + seg);
    pkt.data_mut()[12..14].copy_from_slice(&ethertype.to_be_bytes());
    true
}

/// Translate the IPv6 TCP/UDP packet at `at` (its hop limit already
/// decremented) into IPv4 `src` → `dst` with those ports. On error the
/// packet is unchanged.
pub fn to_v4<P: PacketBuf>(pkt: &mut P, at: L4At, src: (u32, u16), dst: (u32, u16)) -> Result<L4At, DropReason> {
    let ip = Ipv6::new_checked(pkt.data().get(at.l3..).ok_or(DropReason::Ip6Truncated)?)?;
    let end = at.l3 + HDR_LEN + ip.payload_len();
    let seg = end.checked_sub(at.l4).filter(|_| at.l4 >= at.l3 + HDR_LEN).ok_or(DropReason::Ip6BadExt)?;
    let (tos, ttl, old) = (ip.traffic_class(), ip.hop_limit(), csum::sum(&ip.dst(), csum::sum(&ip.src(), 0)));
    // The segment is checked before anything moves (UDP without a
    // checksum is refused over IPv6 already).
    L4::new_checked6(&pkt.data()[at.l4..end], at.proto)?;
    if !reframe(pkt, at, seg, MIN_HDR, eth::TYPE_IPV4) {
        return Err(DropReason::NoHeadroom);
    }
    let total_len = (MIN_HDR + seg) as u16;
    let repr = Ipv4Repr { tos, total_len, ident: 0, df: true, ttl, proto: at.proto, src: src.0, dst: dst.0 };
    let b = pkt.data_mut();
    repr.emit(&mut b[eth::HDR_LEN..])?;
    let new = csum::sum(&dst.0.to_be_bytes(), csum::sum(&src.0.to_be_bytes(), 0));
    let mut l4 = L4::new_checked(&mut b[eth::HDR_LEN + MIN_HDR..], at.proto)?;
    l4.fix_checksum(old, new);
    l4.set_ports(Some(src.1), Some(dst.1))?;
    Ok(at_after(at.proto, MIN_HDR))
}

/// Translate the IPv4 TCP/UDP packet at `at` (its TTL already
/// decremented) into IPv6 `src` → `dst` with those ports. On error the
/// packet is unchanged.
pub fn to_v6<P: PacketBuf>(pkt: &mut P, at: L4At, src: (u128, u16), dst: (u128, u16)) -> Result<L4At, DropReason> {
    let ip = Ipv4::new_checked(pkt.data().get(at.l3..).ok_or(DropReason::IpTruncated)?)?;
    let end = at.l3 + ip.total_len();
    let seg = end.checked_sub(at.l4).ok_or(DropReason::IpBadLen)?;
    let (tos, ttl) = (ip.tos(), ip.ttl());
    let old = csum::sum(&ip.dst().to_be_bytes(), csum::sum(&ip.src().to_be_bytes(), 0));
    let udp_no_csum = {
        let l4 = L4::new_checked(&pkt.data()[at.l4..end], at.proto)?;
        l4.udp_without_checksum()
    };
    if !reframe(pkt, at, seg, HDR_LEN, eth::TYPE_IPV6) {
        return Err(DropReason::NoHeadroom);
    }
    let (s6, d6) = (src.0.to_be_bytes(), dst.0.to_be_bytes());
    let repr = Ipv6Repr {
        traffic_class: tos,
        flow_label: 0,
        payload_len: seg as u16,
        next_header: at.proto,
        hop_limit: ttl,
        src: s6,
        dst: d6,
    };
    let b = pkt.data_mut();
    repr.emit(&mut b[eth::HDR_LEN..])?;
    let seg_at = eth::HDR_LEN + HDR_LEN;
    let mut l4 = L4::new_checked(&mut b[seg_at..], at.proto)?;
    l4.set_ports(Some(src.1), Some(dst.1))?;
    if udp_no_csum {
        let c = ipv6::upper_checksum(&s6, &d6, at.proto, &b[seg_at..]);
        b[seg_at + 6..seg_at + 8].copy_from_slice(&(if c == 0 { 0xffff } else { c }).to_be_bytes());
    } else {
        l4.fix_checksum(old, csum::sum(&d6, csum::sum(&s6, 0)));
    }
    Ok(at_after(at.proto, HDR_LEN))
}

/// The zero-extended form of an IPv4 address in a NAT64 entry.
#[inline(always)]
pub fn widened(a: u32) -> u128 {
    a.widen()
}

#[cfg(test)]
mod tests {
    use super::super::{testpkt, testpkt6};
    use super::*;
    use crate::packet::Fixed;
    use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};

    const LIP: u32 = 0xc0a8_0064; // 192.168.0.100
    const RIP: u32 = 0xc0a8_000a; // 192.168.0.10

    #[test]
    fn request_becomes_ipv4_with_valid_checksums() {
        for dest_opts in [false, true] {
            let mut p =
                testpkt6::tcp6(testpkt6::CIP, 40000, testpkt6::VIP, 80, false, b"GET / HTTP/1.0\r\n\r\n", dest_opts);
            let at = testpkt6::at6(&p);
            let at4 = to_v4(&mut p, at, (LIP, 1025), (RIP, 8080)).unwrap();
            assert_eq!((at4.l3, at4.l4), (14, 34));
            assert_eq!(testpkt::check(&p), ([192, 168, 0, 100], 1025, [192, 168, 0, 10], 8080));
            let s = SlicedPacket::from_ethernet(&p).unwrap();
            let Some(etherparse::NetSlice::Ipv4(ip)) = &s.net else { panic!() };
            let h = ip.header();
            assert!(h.dont_fragment() && h.identification() == 0);
            assert_eq!((h.ttl(), h.total_len() as usize), (64, p.len() - 14));
            let Some(TransportSlice::Tcp(t)) = s.transport else { panic!() };
            assert_eq!(t.payload(), b"GET / HTTP/1.0\r\n\r\n");
        }
    }

    #[test]
    fn udp_reply_becomes_ipv6_and_gains_a_checksum_it_lacked() {
        for with_csum in [true, false] {
            let mut p = testpkt::udp([192, 168, 0, 10], 53, [192, 168, 0, 100], 1025, b"answer");
            if !with_csum {
                p[14 + 20 + 6..14 + 20 + 8].fill(0);
            }
            let at = testpkt::at(&p);
            let at6 = to_v6(&mut p, at, (testpkt6::VIP, 53), (testpkt6::CIP, 40000)).unwrap();
            assert_eq!((at6.l3, at6.l4), (14, 54));
            assert_eq!(testpkt6::check6(&p), (testpkt6::VIP, 53, testpkt6::CIP, 40000));
            assert_eq!(p.len(), 14 + 40 + 8 + 6);
        }
    }

    #[test]
    fn tcp_reply_with_ethernet_padding() {
        let mut p = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([192, 168, 0, 10], [192, 168, 0, 100], 33)
            .tcp(8080, 1025, 7, 100)
            .ack(9)
            .write(&mut p, b"hello")
            .unwrap();
        // Ethernet padding after the packet is cut.
        p.extend_from_slice(&[0; 6]);
        let at = testpkt::at(&p);
        to_v6(&mut p, at, (testpkt6::VIP, 80), (testpkt6::CIP, 40000)).unwrap();
        assert_eq!(testpkt6::check6(&p), (testpkt6::VIP, 80, testpkt6::CIP, 40000));
        assert_eq!(p[14 + 7], 33, "hop limit from the TTL");
        assert_eq!(&p[p.len() - 5..], b"hello");
    }

    #[test]
    fn bad_checksum_stays_bad_and_errors_leave_the_packet_alone() {
        let mut p = testpkt6::tcp6(testpkt6::CIP, 40000, testpkt6::VIP, 80, true, b"", false);
        let at = testpkt6::at6(&p);
        p[at.l4 + 16] ^= 0x5a;
        to_v4(&mut p, at, (LIP, 1025), (RIP, 80)).unwrap();
        let s = SlicedPacket::from_ethernet(&p).unwrap();
        let Some(etherparse::NetSlice::Ipv4(ip)) = &s.net else { panic!() };
        let Some(TransportSlice::Tcp(t)) = &s.transport else { panic!() };
        let want = t.to_header().calc_checksum_ipv4(&ip.header().to_header(), t.payload()).unwrap();
        assert_ne!(t.checksum(), want);
        // IPv4 → IPv6 needs headroom; a full buffer is refused as it was.
        let q = testpkt::udp([192, 168, 0, 10], 53, [192, 168, 0, 100], 1025, b"x");
        let mut f = Fixed(q.clone());
        let at = testpkt::at(&q);
        assert_eq!(to_v6(&mut f, at, (testpkt6::VIP, 53), (testpkt6::CIP, 1)).unwrap_err(), DropReason::NoHeadroom);
        assert_eq!(f.0, q);
        // A truncated segment is refused before anything moves.
        let mut t = testpkt6::udp6(testpkt6::CIP, 1, testpkt6::VIP, 53, b"abcdef", false);
        let at = testpkt6::at6(&t);
        let n = t.len();
        t[14 + 4..14 + 6].copy_from_slice(&4u16.to_be_bytes());
        t.truncate(n - 10);
        let before = t.clone();
        assert!(to_v4(&mut t, at, (LIP, 1), (RIP, 53)).is_err());
        assert_eq!(t, before);
    }

    #[test]
    fn v4_of_tells_nat64_ends_apart() {
        assert_eq!(v4_of(widened(RIP)), Some(RIP));
        assert_eq!(v4_of(testpkt6::RIP), None);
    }
}
