//! Tests of neighbour discovery and ICMPv6 echo: frames built by
//! etherparse go in, and what we build is read back by etherparse
//! (addresses, flags, hop limit, lengths, checksum) and by our own
//! [`parse`]. Each validation rule has a frame that breaks only it.

use super::*;
use crate::packet::{get16, put16};
use etherparse::icmpv6::NeighborAdvertisementHeader;
use etherparse::{
    EtherType, Icmpv6Slice, Icmpv6Type, IpNumber, LinkSlice, NetSlice, PacketBuilder, SlicedPacket, TransportSlice,
};
use std::net::Ipv6Addr;

const US: Mac = [2, 0, 0, 0, 0, 1];
const PEER: Mac = [2, 0, 0, 0, 0, 0xa];
/// A MAC in the peer's link-layer option that differs from its frame's
/// source, to see which one an answer goes to.
const PEER_OPT: Mac = [2, 0, 0, 0, 0, 0xb];

fn a(s: &str) -> u128 {
    s.parse::<Ipv6Addr>().unwrap().into()
}

fn vip() -> u128 {
    a("2001:db8::1:2345:6789")
}

fn peer() -> u128 {
    a("2001:db8::99")
}

/// An Ethernet + IPv6 + ICMPv6 frame built by etherparse.
fn frame(t: Icmpv6Type, (src, dst): (u128, u128), hop: u8, body: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    PacketBuilder::ethernet2(PEER, US)
        .ipv6(src.to_be_bytes(), dst.to_be_bytes(), hop)
        .icmpv6(t)
        .write(&mut b, body)
        .unwrap();
    b
}

/// Target, then a link-layer address option of `kind` when `mac` is given.
fn body(target: u128, kind: u8, mac: Option<Mac>) -> Vec<u8> {
    let mut p = target.to_be_bytes().to_vec();
    if let Some(m) = mac {
        p.extend_from_slice(&[kind, 1]);
        p.extend_from_slice(&m);
    }
    p
}

fn ns(src: u128, dst: u128, target: u128, sllao: Option<Mac>) -> Vec<u8> {
    frame(Icmpv6Type::NeighborSolicitation, (src, dst), 255, &body(target, icmpv6::OPT_SOURCE_LLADDR, sllao))
}

fn na(src: u128, dst: u128, target: u128, solicited: bool, r#override: bool) -> Vec<u8> {
    let h = NeighborAdvertisementHeader { router: false, solicited, r#override };
    frame(Icmpv6Type::NeighborAdvertisement(h), (src, dst), 255, &body(target, icmpv6::OPT_TARGET_LLADDR, Some(PEER)))
}

/// What etherparse reads of an ND/ICMPv6 frame: (eth dst, eth src,
/// IPv6 src, IPv6 dst, hop limit), the ICMPv6 message, and whether its
/// checksum is valid.
fn read(b: &[u8]) -> ((Mac, Mac, u128, u128, u8), Icmpv6Slice<'_>, bool) {
    let p = SlicedPacket::from_ethernet(b).unwrap();
    let Some(LinkSlice::Ethernet2(e)) = p.link else { panic!("{:?}", p.link) };
    assert_eq!(e.ether_type(), EtherType::IPV6);
    let Some(NetSlice::Ipv6(ip)) = p.net else { panic!("{:?}", p.net) };
    let h = ip.header();
    assert!(ip.extensions().is_empty(), "no extension headers");
    assert_eq!((h.version(), h.next_header()), (6, IpNumber::IPV6_ICMP));
    assert_eq!(usize::from(h.payload_length()) + 54, b.len(), "no padding, length right");
    let Some(TransportSlice::Icmpv6(m)) = p.transport else { panic!("{:?}", p.transport) };
    let ok = m.is_checksum_valid(h.source(), h.destination());
    let addrs = (e.destination(), e.source(), u128::from_be_bytes(h.source()), u128::from_be_bytes(h.destination()));
    ((addrs.0, addrs.1, addrs.2, addrs.3, h.hop_limit()), m, ok)
}

/// Recompute the ICMPv6 checksum of an untagged frame without extension
/// headers (after a test broke one rule in its fields).
fn refill(b: &mut [u8]) {
    let (src, dst) = (b[22..38].try_into().unwrap(), b[38..54].try_into().unwrap());
    put16(b, 56, 0);
    let c = ipv6::upper_checksum(&src, &dst, NH_ICMPV6, &b[54..]);
    put16(b, 56, c);
}

#[test]
fn addresses_follow_rfc_4291_and_2464() {
    // RFC 4291 2.7.1's own example.
    let sn = solicited_node(a("4037::01:800:200E:8C6C"));
    assert_eq!(sn, a("FF02::1:FF0E:8C6C"));
    assert!(is_solicited_node(sn) && !is_solicited_node(a("ff02::1")) && !is_solicited_node(vip()));
    assert!(is_solicited_node(a("ff02::1:ff00:0")) && !is_solicited_node(a("ff02::2:ff00:1")));
    assert_eq!(multicast_mac(sn), [0x33, 0x33, 0xff, 0x0e, 0x8c, 0x6c]);
    assert_eq!(multicast_mac(ALL_NODES), [0x33, 0x33, 0, 0, 0, 1]);
    assert_eq!(ALL_NODES, a("ff02::1"));
    assert!(is_multicast(ALL_NODES) && is_multicast(sn) && !is_multicast(vip()) && !is_multicast(0));
}

#[test]
fn parses_what_etherparse_builds() {
    let mut b = ns(peer(), solicited_node(vip()), vip(), Some(PEER_OPT));
    b.extend_from_slice(&[0xee; 4]); // trailing bytes past the payload length
    let s = Solicit { src: peer(), dst: solicited_node(vip()), target: vip(), src_mac: Some(PEER_OPT), eth_src: PEER };
    assert_eq!(parse(&b), Ok(Nd::Solicit(s)));
    assert_eq!((s.is_dad(), s.sender(), Nd::Solicit(s).target()), (false, Some((peer(), PEER_OPT)), vip()));
    let unicast = ns(peer(), vip(), vip(), None);
    let Ok(Nd::Solicit(u)) = parse(&unicast) else { panic!() };
    assert_eq!((u.dst, u.src_mac, u.sender()), (vip(), None, None), "nothing to learn without the option");
    let dad = ns(0, solicited_node(vip()), vip(), None);
    let Ok(Nd::Solicit(d)) = parse(&dad) else { panic!() };
    assert_eq!((d.is_dad(), d.sender()), (true, None));
    let got = parse(&na(peer(), vip(), peer(), true, false));
    let want = Advert {
        src: peer(),
        dst: vip(),
        target: peer(),
        router: false,
        solicited: true,
        override_: false,
        target_mac: Some(PEER),
    };
    assert_eq!(got, Ok(Nd::Advert(want)));
    let Ok(Nd::Advert(u)) = parse(&na(peer(), ALL_NODES, peer(), false, true)) else { panic!() };
    assert_eq!((u.solicited, u.override_, u.dst), (false, true, ALL_NODES), "unsolicited to all nodes is fine");
    let h = NeighborAdvertisementHeader { router: true, solicited: true, r#override: true };
    let bare = frame(Icmpv6Type::NeighborAdvertisement(h), (peer(), vip()), 255, &body(peer(), 2, None));
    let Ok(Nd::Advert(r)) = parse(&bare) else { panic!() };
    assert_eq!((r.router, r.target_mac), (true, None));
}

#[test]
fn each_validation_rule_refuses_its_frame() {
    let (p, sn, v) = (peer(), solicited_node(vip()), vip());
    let good = ns(p, sn, v, Some(PEER));
    assert!(parse(&good).is_ok());
    let cases: Vec<(&str, Vec<u8>, DropReason)> = vec![
        (
            "hop limit 254",
            frame(Icmpv6Type::NeighborSolicitation, (p, sn), 254, &body(v, 1, Some(PEER))),
            DropReason::NdHopLimit,
        ),
        (
            "hop limit 64 NA",
            {
                let h = NeighborAdvertisementHeader { router: false, solicited: true, r#override: true };
                frame(Icmpv6Type::NeighborAdvertisement(h), (p, v), 64, &body(p, 2, Some(PEER)))
            },
            DropReason::NdHopLimit,
        ),
        (
            "bad checksum",
            {
                let mut b = good.clone();
                b[56] ^= 1;
                b
            },
            DropReason::Icmp6BadCsum,
        ),
        (
            "checksum over other addresses",
            {
                let mut b = good.clone();
                b[37] ^= 1; // the IPv6 source: the pseudo-header counts
                b
            },
            DropReason::Icmp6BadCsum,
        ),
        (
            "code 1",
            {
                let mut b = Vec::new();
                PacketBuilder::ethernet2(PEER, US)
                    .ipv6(p.to_be_bytes(), sn.to_be_bytes(), 255)
                    .icmpv6_raw(135, 1, [0; 4])
                    .write(&mut b, &body(v, 1, Some(PEER)))
                    .unwrap();
                b
            },
            DropReason::NdInvalid,
        ),
        (
            "shorter than 24",
            frame(Icmpv6Type::NeighborSolicitation, (p, sn), 255, &v.to_be_bytes()[..12]),
            DropReason::Icmp6Truncated,
        ),
        (
            "option of length 0",
            {
                let mut b = good.clone();
                b[79] = 0;
                refill(&mut b);
                b
            },
            DropReason::Icmp6BadNdOpt,
        ),
        ("multicast target", ns(p, sn, ALL_NODES, Some(PEER)), DropReason::NdInvalid),
        ("multicast target NA", na(p, v, sn, true, true), DropReason::NdInvalid),
        ("multicast source", ns(a("ff02::2"), sn, v, Some(PEER)), DropReason::NdInvalid),
        ("DAD not to a solicited-node group", ns(0, v, v, None), DropReason::NdInvalid),
        ("DAD to all nodes", ns(0, ALL_NODES, v, None), DropReason::NdInvalid),
        ("DAD with a source link-layer option", ns(0, sn, v, Some(PEER)), DropReason::NdInvalid),
        ("solicited NA to all nodes", na(p, ALL_NODES, p, true, true), DropReason::NdInvalid),
        ("solicited NA to a solicited-node group", na(p, sn, p, true, false), DropReason::NdInvalid),
        ("NA from ::", na(0, ALL_NODES, p, false, true), DropReason::NdInvalid),
        (
            "echo request",
            frame(Icmpv6Type::EchoRequest(etherparse::IcmpEchoHeader { id: 1, seq: 1 }), (p, v), 255, b"x"),
            DropReason::Icmp6Unhandled,
        ),
        (
            "router advertisement",
            {
                let mut b = Vec::new();
                PacketBuilder::ethernet2(PEER, US)
                    .ipv6(p.to_be_bytes(), ALL_NODES.to_be_bytes(), 255)
                    .icmpv6_raw(134, 0, [64, 0, 0, 0])
                    .write(&mut b, &[0; 8])
                    .unwrap();
                b
            },
            DropReason::Icmp6Unhandled,
        ),
        (
            "UDP",
            {
                let mut b = Vec::new();
                PacketBuilder::ethernet2(PEER, US)
                    .ipv6(p.to_be_bytes(), v.to_be_bytes(), 255)
                    .udp(1, 2)
                    .write(&mut b, &[135; 32])
                    .unwrap();
                b
            },
            DropReason::Icmp6Unhandled,
        ),
        (
            "IPv4",
            {
                let mut b = Vec::new();
                PacketBuilder::ethernet2(PEER, US)
                    .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 255)
                    .udp(1, 2)
                    .write(&mut b, &[])
                    .unwrap();
                b
            },
            DropReason::EthUnknownType,
        ),
        ("IPv6 cut short", good[..50].to_vec(), DropReason::Ip6Truncated),
        ("payload length past the frame", good[..good.len() - 1].to_vec(), DropReason::Ip6BadLen),
        ("atomic fragment (RFC 6980)", with_ext(&good, 44, [0, 0, 0, 0, 0, 7]), DropReason::NdInvalid),
        ("later fragment", with_ext(&good, 44, [0, 8, 0, 0, 0, 7]), DropReason::Icmp6Unhandled),
    ];
    for (name, b, want) in cases {
        assert_eq!(parse(&b), Err(want), "{name}");
    }
}

/// `b` with an 8-byte extension header of type `nh` (its bytes 2..8 from
/// `rest`) between the IPv6 header and the upper layer.
fn with_ext(b: &[u8], nh: u8, rest: [u8; 6]) -> Vec<u8> {
    let mut v = b[..54].to_vec();
    v.extend_from_slice(&[b[20], 0]);
    v.extend_from_slice(&rest);
    v.extend_from_slice(&b[54..]);
    v[20] = nh;
    let pl = get16(&v, 18) + 8;
    put16(&mut v, 18, pl);
    v
}

/// The NA's flags and its body (target, then options) as etherparse
/// reads them.
fn na_of<'a>(m: &Icmpv6Slice<'a>) -> (NeighborAdvertisementHeader, &'a [u8]) {
    let Icmpv6Type::NeighborAdvertisement(h) = m.icmp_type() else { panic!("{:?}", m.icmp_type()) };
    (h, m.payload())
}

#[test]
fn a_solicitation_becomes_our_advertisement() {
    let mut b = ns(peer(), solicited_node(vip()), vip(), Some(PEER_OPT));
    let Ok(Nd::Solicit(s)) = parse(&b) else { panic!() };
    assert!(make_advert(&mut b, &s, US));
    let (hdr, m, ok) = read(&b);
    assert!(ok, "checksum");
    assert_eq!(hdr, (PEER_OPT, US, vip(), peer(), 255), "to the option's MAC, from the target");
    let (h, body) = na_of(&m);
    assert_eq!((h.router, h.solicited, h.r#override), (false, true, true));
    assert_eq!(body, &self::body(vip(), icmpv6::OPT_TARGET_LLADDR, Some(US))[..]);
    assert_eq!(b.len(), FRAME_LEN);
    let Ok(Nd::Advert(back)) = parse(&b) else { panic!() };
    assert_eq!((back.target, back.target_mac, back.solicited, back.override_), (vip(), Some(US), true, true));

    // A unicast probe without the option: answered to the frame's source.
    let mut b = ns(peer(), vip(), vip(), None);
    let Ok(Nd::Solicit(s)) = parse(&b) else { panic!() };
    assert!(make_advert(&mut b, &s, US));
    let (hdr, _, ok) = read(&b);
    assert!(ok);
    assert_eq!(hdr, (PEER, US, vip(), peer(), 255));
}

#[test]
fn duplicate_address_detection_is_answered_to_all_nodes() {
    let mut b = ns(0, solicited_node(vip()), vip(), None);
    let Ok(Nd::Solicit(s)) = parse(&b) else { panic!() };
    assert!(make_advert(&mut b, &s, US));
    let (hdr, m, ok) = read(&b);
    assert!(ok);
    assert_eq!(hdr, ([0x33, 0x33, 0, 0, 0, 1], US, vip(), ALL_NODES, 255));
    let (h, body) = na_of(&m);
    assert_eq!((h.router, h.solicited, h.r#override), (false, false, true), "S clear: nobody to confirm to");
    assert_eq!(&body[16..], &[2, 1, 2, 0, 0, 0, 0, 1]);
    assert!(parse(&b).is_ok(), "a valid NA to all nodes");
}

#[test]
fn solicitations_resolve_by_group_and_probe_by_unicast() {
    let src = a("fe80::1");
    let mut b = vec![0xaa; 200]; // a used buffer: every byte is rewritten
    assert!(make_solicit(&mut b, US, src, peer(), None));
    let (hdr, m, ok) = read(&b);
    assert!(ok);
    assert_eq!(hdr, ([0x33, 0x33, 0xff, 0, 0, 0x99], US, src, a("ff02::1:ff00:99"), 255));
    assert_eq!(m.icmp_type(), Icmpv6Type::NeighborSolicitation);
    assert_eq!(m.slice()[4..8], [0; 4], "reserved");
    assert_eq!(m.payload(), &body(peer(), icmpv6::OPT_SOURCE_LLADDR, Some(US))[..]);
    let Ok(Nd::Solicit(s)) = parse(&b) else { panic!() };
    assert_eq!((s.target, s.sender()), (peer(), Some((src, US))));

    assert!(make_solicit(&mut b, US, src, peer(), Some(PEER)));
    let (hdr, m, ok) = read(&b);
    assert!(ok);
    assert_eq!(hdr, (PEER, US, src, peer(), 255));
    assert_eq!(m.payload(), &body(peer(), icmpv6::OPT_SOURCE_LLADDR, Some(US))[..]);
    assert!(parse(&b).is_ok());

    assert!(!make_solicit(&mut b, US, 0, peer(), None), "no DAD from a director");
}

#[test]
fn an_unsolicited_advertisement_announces_a_vip() {
    let mut b = Vec::new();
    assert!(make_unsolicited_advert(&mut b, US, vip()));
    let (hdr, m, ok) = read(&b);
    assert!(ok);
    assert_eq!(hdr, ([0x33, 0x33, 0, 0, 0, 1], US, vip(), ALL_NODES, 255));
    let (h, body) = na_of(&m);
    assert_eq!((h.router, h.solicited, h.r#override), (false, false, true));
    assert_eq!(body, &self::body(vip(), icmpv6::OPT_TARGET_LLADDR, Some(US))[..]);
    let Ok(Nd::Advert(back)) = parse(&b) else { panic!() };
    assert_eq!((back.src, back.target, back.target_mac), (vip(), vip(), Some(US)));
}

#[test]
fn builders_refuse_a_buffer_too_small() {
    let s = Solicit { src: peer(), dst: vip(), target: vip(), src_mac: None, eth_src: PEER };
    let mut f = crate::packet::Fixed(vec![0; FRAME_LEN - 1]);
    assert!(!make_advert(&mut f, &s, US));
    assert!(!make_solicit(&mut f, US, vip(), peer(), None));
    assert!(!make_unsolicited_advert(&mut f, US, vip()));
    assert_eq!(f.0, vec![0; FRAME_LEN - 1], "nothing written");
}

fn echo(src: u128, dst: u128, payload: &[u8]) -> Vec<u8> {
    frame(Icmpv6Type::EchoRequest(etherparse::IcmpEchoHeader { id: 0x1234, seq: 7 }), (src, dst), 60, payload)
}

/// The reply's (IPv6 src, dst, hop limit), id, seq and data, checked
/// with etherparse (checksum included).
fn reply_of(b: &[u8]) -> ((u128, u128, u8), u16, u16, Vec<u8>) {
    let ((_, _, src, dst, hop), m, ok) = read(b);
    assert!(ok, "checksum");
    let Icmpv6Type::EchoReply(h) = m.icmp_type() else { panic!("{:?}", m.icmp_type()) };
    ((src, dst, hop), h.id, h.seq, m.payload().to_vec())
}

#[test]
fn echo_requests_are_answered_in_place() {
    let mut b = echo(peer(), vip(), b"ping data");
    b.extend_from_slice(&[0; 5]); // Ethernet padding goes
    assert_eq!(echo_reply(&mut b, eth::HDR_LEN), Ok(()));
    assert_eq!(reply_of(&b), ((vip(), peer(), ECHO_HOP_LIMIT), 0x1234, 7, b"ping data".to_vec()));
    assert_eq!(&b[..12], &echo(peer(), vip(), b"")[..12], "Ethernet left to the output path");

    // Extension headers (destination options, hop-by-hop) are not echoed.
    let req = echo(peer(), vip(), &[9; 33]);
    let with = with_ext(&with_ext(&req, 60, [1, 4, 0, 0, 0, 0]), 0, [1, 4, 0, 0, 0, 0]);
    assert_eq!(
        SlicedPacket::from_ethernet(&with).unwrap().net.unwrap().ipv6_ref().unwrap().extensions().slice().len(),
        16
    );
    let mut b = with.clone();
    assert_eq!(echo_reply(&mut b, eth::HDR_LEN), Ok(()));
    assert_eq!(b.len(), req.len());
    assert_eq!(reply_of(&b), ((vip(), peer(), ECHO_HOP_LIMIT), 0x1234, 7, vec![9; 33]));
}

#[test]
fn echo_refusals_change_nothing() {
    let (p, v) = (peer(), vip());
    let reply = frame(Icmpv6Type::EchoReply(etherparse::IcmpEchoHeader { id: 1, seq: 1 }), (p, v), 64, b"x");
    let mut bad = echo(p, v, b"ping");
    bad[60] ^= 0x80;
    let mut udp = Vec::new();
    PacketBuilder::ethernet2(PEER, US)
        .ipv6(p.to_be_bytes(), v.to_be_bytes(), 64)
        .udp(1, 2)
        .write(&mut udp, &[128; 8])
        .unwrap();
    let cases = [
        ("a reply", reply, DropReason::Icmp6Unhandled),
        ("an NS", ns(p, v, v, None), DropReason::Icmp6Unhandled),
        ("bad checksum", bad, DropReason::Icmp6BadCsum),
        ("to all nodes", echo(p, ALL_NODES, b"ping"), DropReason::Icmp6Unhandled),
        ("from ::", echo(0, v, b"ping"), DropReason::IpMartianSrc),
        ("from a group", echo(a("ff05::2"), v, b"ping"), DropReason::IpMartianSrc),
        ("first fragment", with_ext(&echo(p, v, b"ping"), 44, [0, 1, 0, 0, 0, 7]), DropReason::Icmp6Unhandled),
        ("UDP", udp, DropReason::Icmp6Unhandled),
        ("cut short", echo(p, v, b"ping")[..53].to_vec(), DropReason::Ip6Truncated),
        (
            "ICMPv6 header cut short",
            {
                let mut b = echo(p, v, b"");
                b.truncate(58);
                put16(&mut b, 18, 4);
                b
            },
            DropReason::Icmp6Truncated,
        ),
    ];
    for (name, b, want) in cases {
        let mut c = b.clone();
        assert_eq!(echo_reply(&mut c, eth::HDR_LEN), Err(want), "{name}");
        assert_eq!(c, b, "{name}: unchanged");
    }
    assert_eq!(echo_reply(&mut vec![0u8; 10], eth::HDR_LEN), Err(DropReason::Ip6Truncated));
}
