//! TUN (`-i`, Tunnel): the request is wrapped in an outer IPv4 header
//! DIP → RIP and sent to the real server, which unwraps it, sees CIP → VIP
//! and replies directly. IPIP is the default; GUE (UDP) and GRE are the
//! ipvsadm `--tun-type` options.

use crate::packet::{eth, ipv4, PacketBuf};
use crate::wire::l4::UDP_HDR;
use crate::wire::tunnel::{GRE_LEN, GUE_LEN};
use crate::wire::{Ethernet, GreRepr, GueRepr, Ipv4, Ipv4Repr, UdpRepr};
use rvs_conf::TunType;

/// Bytes the encapsulation adds.
pub fn overhead(t: TunType) -> usize {
    match t {
        TunType::Ipip => ipv4::MIN_HDR,
        TunType::Gre => ipv4::MIN_HDR + GRE_LEN,
        TunType::Gue => ipv4::MIN_HDR + UDP_HDR + GUE_LEN,
    }
}

/// Why a packet could not be encapsulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncapError {
    /// Inner packet has DF and would exceed the MTU: tell the client the
    /// largest inner size that fits (ICMP frag-needed with this MTU).
    TooBig {
        mtu: u16,
    },
    NoHeadroom,
    /// Not a valid IPv4 packet after an untagged Ethernet header.
    NotIpv4,
}

/// Encapsulate the IPv4 packet after the Ethernet header. `mtu` is the
/// output interface MTU.
///
/// The outer header is built as the kernel's IPIP tunnel (and IPVS) build
/// it: TTL copied from the inner header, DF copied from the inner header,
/// DSCP copied, and ECN copied as RFC 6040's normal mode asks (so the
/// real server's decapsulation can propagate congestion marks). A packet
/// with DF that would exceed the MTU is refused ([`EncapError::TooBig`]:
/// the caller answers frag-needed); without DF it is encapsulated anyway
/// and the outer packet is fragmented on output, as IPVS does.
pub fn encap<P: PacketBuf>(
    pkt: &mut P,
    t: TunType,
    tun_port: u16,
    dip: u32,
    rip: u32,
    mtu: u16,
) -> Result<(), EncapError> {
    // The data path refuses tagged frames before any mode sees them.
    let Ok(frame) = Ethernet::new_checked(pkt.data()) else { return Err(EncapError::NotIpv4) };
    let Ok(inner) = Ipv4::new_checked(frame.payload()) else { return Err(EncapError::NotIpv4) };
    if frame.is_tagged() {
        return Err(EncapError::NotIpv4);
    }
    let inner_len = inner.total_len();
    let extra = overhead(t);
    let (df, tos, ttl, ident) = (inner.df(), inner.tos(), inner.ttl(), inner.ident());
    if df && inner_len + extra > mtu as usize {
        return Err(EncapError::TooBig { mtu: (mtu as usize).saturating_sub(extra) as u16 });
    }
    let (dst, src, ty) = (frame.dst(), frame.src(), frame.ethertype());
    if !pkt.prepend(extra) {
        return Err(EncapError::NoHeadroom);
    }
    let b = pkt.data_mut();
    let Ok(mut frame) = Ethernet::emit(&mut *b, dst, src, ty) else { return Err(EncapError::NoHeadroom) };
    let proto = match t {
        TunType::Ipip => ipv4::PROTO_IPIP,
        TunType::Gre => ipv4::PROTO_GRE,
        TunType::Gue => ipv4::PROTO_UDP,
    };
    let total_len = (inner_len + extra) as u16;
    let outer = Ipv4Repr { tos, total_len, ident, df, ttl, proto, src: dip, dst: rip };
    let l3 = frame.payload_mut();
    if outer.emit(l3).is_err() {
        return Err(EncapError::NoHeadroom);
    }
    let after = &mut l3[ipv4::MIN_HDR..];
    let written = match t {
        TunType::Ipip => Ok(()),
        // RFC 2784: no checksum, protocol type IPv4.
        TunType::Gre => GreRepr { proto: eth::TYPE_IPV4 }.emit(after),
        TunType::Gue => {
            // UDP without checksum, source port from the inner flow for
            // ECMP entropy, then a GUE header version 0, no options,
            // proto IPIP.
            let udp = UdpRepr {
                src_port: 0xc000 | (ident & 0x3fff),
                dst_port: if tun_port == 0 { 6080 } else { tun_port },
                len: (inner_len + UDP_HDR + GUE_LEN) as u16,
            };
            udp.emit(after).and_then(|()| GueRepr { proto: ipv4::PROTO_IPIP }.emit(&mut after[UDP_HDR..]))
        }
    };
    written.map_err(|_| EncapError::NoHeadroom)
}

#[cfg(test)]
mod tests {
    use super::super::testpkt::*;
    use super::*;
    use crate::packet::{get16, put16};
    use etherparse::{NetSlice, SlicedPacket};

    const DIP: u32 = 0xc0a80032;
    const RIP: u32 = 0xc0a8000a;

    #[test]
    fn ipip_wraps_untouched_inner() {
        let orig = tcp([172, 25, 254, 200], 40000, [192, 168, 0, 200], 80, true, b"");
        let mut p = orig.clone();
        encap(&mut p, TunType::Ipip, 0, DIP, RIP, 1500).unwrap();
        assert_eq!(p.len(), orig.len() + 20);
        let outer = ipv4::validate(&p, 14).unwrap();
        assert_eq!((outer.src, outer.dst, outer.proto), (DIP, RIP, ipv4::PROTO_IPIP));
        assert_eq!(outer.total_len, orig.len() - 14 + 20);
        // The inner packet is byte-identical, and valid per etherparse.
        assert_eq!(&p[34..], &orig[14..]);
        let s = SlicedPacket::from_ethernet(&p).unwrap();
        assert!(matches!(s.net, Some(NetSlice::Ipv4(_))));
        let mut inner = orig[..14].to_vec();
        inner.extend_from_slice(&p[34..]);
        check(&inner);
    }

    #[test]
    fn gre_and_gue_headers() {
        let orig = udp([1, 1, 1, 1], 1, [2, 2, 2, 2], 2, b"abc");
        let mut p = orig.clone();
        encap(&mut p, TunType::Gre, 0, DIP, RIP, 1500).unwrap();
        assert_eq!(ipv4::validate(&p, 14).unwrap().proto, ipv4::PROTO_GRE);
        assert_eq!(get16(&p, 36), eth::TYPE_IPV4);
        assert_eq!(&p[38..], &orig[14..]);
        let mut p = orig.clone();
        encap(&mut p, TunType::Gue, 5555, DIP, RIP, 1500).unwrap();
        assert_eq!(get16(&p, 36), 5555);
        assert_eq!(p[43], ipv4::PROTO_IPIP);
        assert_eq!(&p[46..], &orig[14..]);
    }

    #[test]
    fn df_too_big_reports_inner_mtu() {
        let mut p = tcp([1, 1, 1, 1], 1, [2, 2, 2, 2], 2, false, &[0u8; 1460]);
        // etherparse sets DF by default? make sure it is set.
        let f = get16(&p, 20) | 0x4000;
        put16(&mut p, 20, f);
        ipv4::set_checksum(&mut p, 14, 20);
        assert_eq!(encap(&mut p, TunType::Ipip, 0, DIP, RIP, 1500), Err(EncapError::TooBig { mtu: 1480 }));
        assert_eq!(p.len(), 14 + 1500, "unchanged on error");
    }

    #[test]
    fn outer_header_copies_tos_ecn_and_ttl() {
        for (tos, ttl) in [(0xb8u8, 64u8), (0x03, 1), (0x2a, 200), (0x01, 7)] {
            let mut p = udp([1, 1, 1, 1], 1, [2, 2, 2, 2], 2, b"x");
            p[15] = tos;
            p[22] = ttl;
            ipv4::set_checksum(&mut p, 14, 20);
            encap(&mut p, TunType::Ipip, 0, DIP, RIP, 1500).unwrap();
            let s = SlicedPacket::from_ethernet(&p).unwrap();
            let Some(NetSlice::Ipv4(ip)) = &s.net else { panic!() };
            let h = ip.header().to_header();
            assert_eq!(h.header_checksum, h.calc_header_checksum());
            assert_eq!((h.dscp.value() << 2) | h.ecn.value(), tos, "DSCP and ECN copied");
            assert_eq!(h.time_to_live, ttl, "TTL from the inner header");
        }
    }

    #[test]
    fn no_df_too_big_is_encapsulated_for_fragmentation() {
        let mut p = tcp([1, 1, 1, 1], 1, [2, 2, 2, 2], 2, false, &[0u8; 1460]);
        let f = get16(&p, 20) & !0x4000;
        put16(&mut p, 20, f);
        ipv4::set_checksum(&mut p, 14, 20);
        assert_eq!(encap(&mut p, TunType::Ipip, 0, DIP, RIP, 1500), Ok(()));
        let outer = ipv4::validate(&p, 14).unwrap();
        assert_eq!(outer.total_len, 1520);
        assert!(!outer.df);
        let plan = crate::packet::frag::Plan::new(&p, 1500).expect("to be fragmented");
        assert_eq!(plan.count(), 2);
    }
}
