//! ICMPv4: echo replies and the errors the director originates.

use super::{eth, ipv4};
use crate::wire::{Ethernet, Icmp, Ipv4, Ipv4Repr};

pub const ECHO_REPLY: u8 = 0;
pub const DEST_UNREACH: u8 = 3;
pub const ECHO_REQUEST: u8 = 8;
pub const TIME_EXCEEDED: u8 = 11;
/// Code of DEST_UNREACH: fragmentation needed and DF set.
pub const CODE_FRAG_NEEDED: u8 = 4;
pub const CODE_PORT_UNREACH: u8 = 3;

pub fn is_error(ty: u8) -> bool {
    matches!(ty, DEST_UNREACH | TIME_EXCEEDED | 4 | 5 | 12)
}

/// May the director send an ICMP error about `orig` (an IPv4 packet from
/// its header on)? Not about an ICMP error (RFC 1122 §3.2.2), nor about a
/// fragment other than the first, nor about a packet to a group address.
pub fn may_answer(orig: &[u8]) -> bool {
    let Ok(ip) = Ipv4::new_checked_quoted(orig) else { return false };
    if ip.frag_offset() != 0 || ip.dst() >> 28 >= 0xe {
        return false;
    }
    if ip.proto() == ipv4::PROTO_ICMP {
        // Only queries (echo and friends) get errors; an unreadable type
        // is treated as an error.
        return ip.payload().first().is_some_and(|t| !is_error(*t));
    }
    true
}

/// Turn an echo request (IPv4 packet at `l3`) into the reply in place:
/// swap addresses, type 0, fix checksums. Ethernet addresses are left to
/// the output path. Returns false (nothing changed) if the packet is not
/// a well-formed echo request with a valid ICMP checksum.
pub fn echo_reply_in_place(b: &mut [u8], l3: usize, _info: &ipv4::Ipv4Info) -> bool {
    let Some(Ok(mut ip)) = b.get_mut(l3..).map(Ipv4::new_checked) else { return false };
    let (src, dst) = (ip.src(), ip.dst());
    let Ok(mut msg) = Icmp::new_checked(ip.payload_mut()) else { return false };
    if msg.msg_type() != ECHO_REQUEST || !msg.checksum_ok() {
        return false;
    }
    msg.make_echo_reply();
    ip.set_src(dst);
    ip.set_dst(src);
    ip.set_ttl(64);
    true
}

/// Bytes of the offending packet quoted in an ICMP error (RFC 792: header
/// + 8 bytes; we quote up to 548 bytes like Linux, for better diagnosis).
pub const MAX_QUOTE: usize = 548;

/// Build an ICMP error into `out` (Ethernet addresses left blank for the
/// output path, IPv4 at 14) about
/// `orig` (the offending IPv4 packet, from its IP header on). `src` is the
/// director address the error comes from. `mtu` goes in bytes 6..8 for
/// frag-needed. Returns the frame length: 0 (nothing built) when `orig`
/// has no IPv4 header or `out` is too short.
pub fn build_error(out: &mut [u8], src: u32, orig: &[u8], ty: u8, code: u8, mtu: u16) -> usize {
    let Ok(quoted) = Ipv4::new_checked_quoted(orig) else { return 0 };
    let dst = quoted.src();
    let quote = orig.len().min(MAX_QUOTE);
    let l3 = eth::HDR_LEN;
    let l4 = l3 + ipv4::MIN_HDR;
    let total = ipv4::MIN_HDR + crate::wire::icmp::HDR_LEN + quote;
    let frame = l3 + total;
    if out.len() < frame {
        return 0;
    }
    let out = &mut out[..frame];
    out.fill(0);
    let Ok(mut msg) = Icmp::new_checked(&mut out[l4..]) else { return 0 };
    msg.set_type(ty);
    msg.set_code(code);
    msg.set_next_hop_mtu(mtu);
    msg.data_mut()[..quote].copy_from_slice(&orig[..quote]);
    msg.fill_checksum();
    let ip =
        Ipv4Repr { tos: 0, total_len: total as u16, ident: 0, df: false, ttl: 64, proto: ipv4::PROTO_ICMP, src, dst };
    if ip.emit(&mut out[l3..]).is_err() || Ethernet::emit(out, [0; 6], [0; 6], eth::TYPE_IPV4).is_err() {
        return 0;
    }
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{Icmpv4Type, PacketBuilder, SlicedPacket, TransportSlice};

    #[test]
    fn echo_request_becomes_reply() {
        let mut b = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 1)
            .icmpv4_echo_request(7, 9)
            .write(&mut b, b"hello ping")
            .unwrap();
        let info = ipv4::validate(&b, 14).unwrap();
        assert!(echo_reply_in_place(&mut b, 14, &info));
        let p = SlicedPacket::from_ethernet(&b).unwrap();
        let Some(etherparse::NetSlice::Ipv4(ip)) = &p.net else { panic!() };
        assert_eq!(ip.header().source(), [10, 0, 0, 1]);
        assert_eq!(ip.header().destination(), [10, 0, 0, 2]);
        let Some(TransportSlice::Icmpv4(ic)) = p.transport else { panic!() };
        match ic.icmp_type() {
            Icmpv4Type::EchoReply(h) => assert_eq!((h.id, h.seq), (7, 9)),
            t => panic!("{t:?}"),
        }
        assert_eq!(ic.payload(), b"hello ping");
        // Independent checksum verification.
        let ip_hdr = ip.header().to_header();
        assert_eq!(ip_hdr.header_checksum, ip_hdr.calc_header_checksum());
        assert_eq!(ic.checksum(), ic.header().icmp_type.calc_checksum(ic.payload()));
    }

    #[test]
    fn bad_icmp_checksum_refused() {
        let mut b = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 1)
            .icmpv4_echo_request(7, 9)
            .write(&mut b, b"x")
            .unwrap();
        let n = b.len();
        b[n - 1] ^= 0xff;
        let info = ipv4::validate(&b, 14).unwrap();
        assert!(!echo_reply_in_place(&mut b, 14, &info));
    }

    #[test]
    fn frag_needed_quotes_the_packet() {
        let mut orig = Vec::new();
        PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 64).udp(5, 6).write(&mut orig, &[0u8; 100]).unwrap();
        let mut out = vec![0u8; 1600];
        let n = build_error(&mut out, 0x02020202, &orig, DEST_UNREACH, CODE_FRAG_NEEDED, 1480);
        let p = SlicedPacket::from_ethernet(&out[..n]).unwrap();
        let Some(TransportSlice::Icmpv4(ic)) = p.transport else { panic!() };
        match ic.icmp_type() {
            Icmpv4Type::DestinationUnreachable(etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded {
                next_hop_mtu,
            }) => {
                assert_eq!(next_hop_mtu, 1480)
            }
            t => panic!("{t:?}"),
        }
        assert_eq!(ic.checksum(), ic.header().icmp_type.calc_checksum(ic.payload()));
    }
}
