//! IPv6-in-IPv6, GRE and GUE over IPv6, checked with etherparse.

use super::super::testpkt6::*;
use super::*;
use crate::packet::get16;
use etherparse::{Ipv6HeaderSlice, NetSlice, SlicedPacket, TransportSlice, UdpHeader};

const DIP: u128 = 0x2001_0db8_00bb_0000_0000_0000_0000_0032;

/// The outer header, after checking its version and payload length.
fn outer(p: &[u8]) -> Ipv6HeaderSlice<'_> {
    let h = Ipv6HeaderSlice::from_slice(&p[14..]).unwrap();
    assert_eq!(h.version(), 6);
    assert_eq!(h.payload_length() as usize, p.len() - 14 - 40);
    assert_eq!((h.source(), h.destination()), (DIP.to_be_bytes(), RIP.to_be_bytes()));
    h
}

/// The inner packet, unwrapped from `at`, back behind the Ethernet header.
fn inner(p: &[u8], at: usize) -> Vec<u8> {
    let mut v = p[..14].to_vec();
    v.extend_from_slice(&p[at..]);
    v
}

#[test]
fn ipip6_wraps_the_untouched_inner_packet() {
    for ext in [false, true] {
        let orig = tcp6(CIP, 40000, VIP, 80, true, b"GET /", ext);
        let mut p = orig.clone();
        encap6(&mut p, TunType::Ipip, 0, DIP, RIP, 1500).unwrap();
        assert_eq!(p.len(), orig.len() + 40);
        assert_eq!(get16(&p, 12), eth::TYPE_IPV6);
        let h = outer(&p);
        assert_eq!((h.next_header().0, h.hop_limit()), (NH_IPV6, 64));
        assert_ne!(h.flow_label().value(), 0, "a flow label for ECMP");
        assert_eq!(&p[54..], &orig[14..], "inner unchanged");
        assert_eq!(check6(&inner(&p, 54)), (CIP, 40000, VIP, 80));
        // etherparse reads the outer header and leaves the inner as payload.
        let s = SlicedPacket::from_ethernet(&p).unwrap();
        let Some(NetSlice::Ipv6(ip)) = &s.net else { panic!() };
        assert_eq!(ip.payload().ip_number.0, NH_IPV6);
        assert_eq!(ip.payload().payload, &orig[14..]);
    }
}

#[test]
fn traffic_class_and_hop_limit_are_copied() {
    for (tc, hl) in [(0xb8u8, 64u8), (0x03, 1), (0x2a, 200), (0x01, 7)] {
        let mut p = udp6(CIP, 1, VIP, 2, b"x", false);
        let mut ip = Ipv6::new_checked(&mut p[14..]).unwrap();
        ip.set_traffic_class(tc);
        ip.set_hop_limit(hl);
        encap6(&mut p, TunType::Ipip, 0, DIP, RIP, 1500).unwrap();
        let h = outer(&p);
        assert_eq!(h.traffic_class(), tc, "DSCP and ECN copied (RFC 6040 normal mode)");
        assert_eq!(h.hop_limit(), hl);
    }
}

#[test]
fn the_flow_label_follows_the_flow() {
    let label = |sport: u16| {
        let mut p = tcp6(CIP, sport, VIP, 80, false, b"", false);
        encap6(&mut p, TunType::Ipip, 0, DIP, RIP, 1500).unwrap();
        outer(&p).flow_label().value()
    };
    assert_eq!(label(1000), label(1000), "one path per flow");
    let labels: std::collections::HashSet<_> = (1000..1016).map(label).collect();
    assert!(labels.len() > 12, "flows spread: {labels:?}");
}

#[test]
fn gre_and_gue_over_ipv6() {
    let orig = udp6(CIP, 1, VIP, 2, b"abc", true);
    let mut p = orig.clone();
    encap6(&mut p, TunType::Gre, 0, DIP, RIP, 1500).unwrap();
    assert_eq!(outer(&p).next_header().0, NH_GRE);
    assert_eq!(&p[54..58], &[0, 0, 0x86, 0xdd], "GRE without options, protocol IPv6");
    assert_eq!(&p[58..], &orig[14..]);
    for (port, want) in [(5555, 5555), (0, 6080)] {
        let mut p = orig.clone();
        encap6(&mut p, TunType::Gue, port, DIP, RIP, 1500).unwrap();
        assert_eq!(p.len(), orig.len() + 52);
        let h = outer(&p);
        assert_eq!(h.next_header().0, NH_UDP);
        let s = SlicedPacket::from_ethernet(&p).unwrap();
        let Some(TransportSlice::Udp(u)) = s.transport else { panic!() };
        assert_eq!(u.destination_port(), want);
        assert!(u.source_port() >= 0xc000, "ephemeral source port");
        assert_eq!(u.length() as usize, orig.len() - 14 + 8 + 4);
        let c = UdpHeader::calc_checksum_ipv6_raw(&u.to_header(), h.source(), h.destination(), u.payload()).unwrap();
        assert_ne!(u.checksum(), 0, "UDP over IPv6 needs its checksum");
        assert_eq!(u.checksum(), c, "udp checksum");
        assert_eq!(&u.payload()[..4], &[0, NH_IPV6, 0, 0], "GUE version 0, protocol IPv6");
        assert_eq!(&u.payload()[4..], &orig[14..]);
    }
}

#[test]
fn too_big_reports_the_inner_mtu_and_leaves_the_packet() {
    for (t, extra) in [(TunType::Ipip, 40), (TunType::Gre, 44), (TunType::Gue, 52)] {
        let fits = tcp6(CIP, 1, VIP, 2, false, &vec![0; 1500 - extra - 60], false);
        assert_eq!(fits.len(), 14 + 1500 - extra);
        let mut p = fits.clone();
        assert_eq!(encap6(&mut p, t, 0, DIP, RIP, 1500), Ok(()), "exactly the MTU");
        let mut p = tcp6(CIP, 1, VIP, 2, false, &vec![0; 1500 - extra - 59], false);
        let before = p.clone();
        let want = (1500 - extra) as u16;
        assert_eq!(encap6(&mut p, t, 0, DIP, RIP, 1500), Err(EncapError::TooBig { mtu: want }));
        assert_eq!(p, before, "unchanged on error");
    }
    // Never below the IPv6 minimum MTU.
    let mut p = tcp6(CIP, 1, VIP, 2, false, &[0; 1300], false);
    assert_eq!(encap6(&mut p, TunType::Ipip, 0, DIP, RIP, 1300), Err(EncapError::TooBig { mtu: 1280 }));
}

#[test]
fn ethernet_padding_is_not_counted() {
    let mut p = tcp6(CIP, 1, VIP, 2, false, b"", false);
    let n = p.len();
    p.extend_from_slice(&[0; 6]);
    // 14 + 40 + 20 + 6 would not fit 100 + 40 - 6 if padding counted.
    assert_eq!(encap6(&mut p, TunType::Ipip, 0, DIP, RIP, (n - 14 + 40) as u16), Ok(()));
    assert_eq!(outer(&p[..n + 40]).payload_length() as usize, n - 14);
}

#[test]
fn refusals() {
    let orig = tcp6(CIP, 1, VIP, 2, false, b"", false);
    let mut p = crate::packet::Fixed(orig.clone());
    assert_eq!(encap6(&mut p, TunType::Ipip, 0, DIP, RIP, 1500), Err(EncapError::NoHeadroom));
    assert_eq!(p.0, orig);
    let mut v4 = super::super::testpkt::tcp([1, 1, 1, 1], 1, [2, 2, 2, 2], 2, false, b"");
    assert_eq!(encap6(&mut v4, TunType::Ipip, 0, DIP, RIP, 1500), Err(EncapError::NotIpv4));
    let mut bad = orig.clone();
    bad[14] = 0x40;
    assert_eq!(encap6(&mut bad, TunType::Ipip, 0, DIP, RIP, 1500), Err(EncapError::NotIpv4));
    let mut short = orig.clone();
    short.truncate(14 + 50);
    assert_eq!(encap6(&mut short, TunType::Ipip, 0, DIP, RIP, 1500), Err(EncapError::NotIpv4));
    let mut tagged = orig[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0, 0, 5]);
    tagged.extend_from_slice(&orig[12..]);
    assert_eq!(encap6(&mut tagged, TunType::Ipip, 0, DIP, RIP, 1500), Err(EncapError::NotIpv4));
}
