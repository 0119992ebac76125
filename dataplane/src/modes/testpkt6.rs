//! Crafted IPv6 packets and an independent checker (etherparse) for the
//! modes' tests.

use super::L4At;
use crate::wire::Ipv6;
use etherparse::{
    IpHeaders, IpNumber, Ipv6Extensions, Ipv6Header, Ipv6RawExtHeader, NetSlice, PacketBuilder, SlicedPacket,
    TransportSlice, UdpHeader,
};

pub const CIP: u128 = 0x2001_0db8_00c0_0000_0000_0000_0000_0200;
pub const VIP: u128 = 0x2001_0db8_00aa_0000_0000_0000_0000_0100;
pub const RIP: u128 = 0x2001_0db8_00bb_0000_0000_0000_0000_000a;
pub const LIP: u128 = 0x2001_0db8_00bb_0000_0000_0000_0000_0065;

/// The IPv6 header and, with `dest_opts`, a destination-options header
/// (8 bytes, a PadN option) before `proto`.
pub fn ip(src: u128, dst: u128, proto: IpNumber, dest_opts: bool) -> IpHeaders {
    let next_header = if dest_opts { IpNumber::IPV6_DESTINATION_OPTIONS } else { proto };
    let h = Ipv6Header {
        traffic_class: 0x28,
        next_header,
        hop_limit: 64,
        source: src.to_be_bytes(),
        destination: dst.to_be_bytes(),
        ..Default::default()
    };
    let mut exts = Ipv6Extensions::default();
    if dest_opts {
        exts.destination_options = Some(Ipv6RawExtHeader::new_raw(proto, &[1, 4, 0, 0, 0, 0]).unwrap());
    }
    IpHeaders::Ipv6(h, exts)
}

pub fn tcp6(src: u128, sport: u16, dst: u128, dport: u16, syn: bool, payload: &[u8], dest_opts: bool) -> Vec<u8> {
    let mut b = Vec::new();
    let mut t = PacketBuilder::ethernet2([2; 6], [4; 6])
        .ip(ip(src, dst, IpNumber::TCP, dest_opts))
        .tcp(sport, dport, 1000, 65535);
    t = if syn { t.syn() } else { t.ack(5) };
    t.write(&mut b, payload).unwrap();
    b
}

pub fn udp6(src: u128, sport: u16, dst: u128, dport: u16, payload: &[u8], dest_opts: bool) -> Vec<u8> {
    let mut b = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ip(ip(src, dst, IpNumber::UDP, dest_opts))
        .udp(sport, dport)
        .write(&mut b, payload)
        .unwrap();
    b
}

/// (src, sport, dst, dport) after verifying the L4 checksum (the IPv6
/// header has none) and the payload length.
pub fn check6(b: &[u8]) -> (u128, u16, u128, u16) {
    let p = SlicedPacket::from_ethernet(b).expect("parse");
    let Some(NetSlice::Ipv6(ip)) = &p.net else { panic!("not ipv6") };
    let h = ip.header();
    assert_eq!(h.payload_length() as usize, b.len() - 14 - 40, "payload length");
    let (s, d) = (h.source(), h.destination());
    let (src, dst) = (u128::from_be_bytes(s), u128::from_be_bytes(d));
    match p.transport.expect("l4") {
        TransportSlice::Tcp(t) => {
            assert_eq!(t.checksum(), t.calc_checksum_ipv6(s, d).unwrap(), "tcp checksum");
            (src, t.source_port(), dst, t.destination_port())
        }
        TransportSlice::Udp(u) => {
            let want = UdpHeader::calc_checksum_ipv6_raw(&u.to_header(), s, d, u.payload()).unwrap();
            assert_ne!(u.checksum(), 0, "udp over ipv6 has a checksum");
            assert_eq!(u.checksum(), want, "udp checksum");
            (src, u.source_port(), dst, u.destination_port())
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// Where the gate would say the upper layer is.
pub fn at6(b: &[u8]) -> L4At {
    let ip = Ipv6::new_checked(&b[14..]).unwrap();
    let up = ip.upper_layer().unwrap();
    L4At { l3: 14, l4: 14 + 40 + up.offset, proto: up.proto }
}
