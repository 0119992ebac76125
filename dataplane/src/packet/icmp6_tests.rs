//! ICMPv6 errors of our own, checked with etherparse.

use super::*;
use etherparse::icmpv6::{DestUnreachableCode, ParameterProblemCode, TimeExceededCode};
use etherparse::{
    Icmpv6Type, IpHeaders, IpNumber, Ipv6Extensions, Ipv6FragmentHeader, Ipv6Header, Ipv6RawExtHeader, NetSlice,
    PacketBuilder, SlicedPacket, TransportSlice,
};

const CLIENT: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc1];
const VIP: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0];
const OURS: u128 = 0x2001_0db8_0000_0000_0000_0000_0000_00d1;

fn tcp(payload_len: usize) -> Vec<u8> {
    let mut b = Vec::new();
    PacketBuilder::ipv6(CLIENT, VIP, 1).tcp(40000, 80, 1, 1000).ack(1).write(&mut b, &vec![0x5a; payload_len]).unwrap();
    b
}

/// UDP after a destination-options header.
fn udp_with_dest_opts() -> Vec<u8> {
    let h = Ipv6Header {
        next_header: IpNumber::IPV6_DESTINATION_OPTIONS,
        hop_limit: 1,
        source: CLIENT,
        destination: VIP,
        ..Default::default()
    };
    let exts = Ipv6Extensions {
        destination_options: Some(Ipv6RawExtHeader::new_raw(IpNumber::UDP, &[1, 4, 0, 0, 0, 0]).unwrap()),
        ..Default::default()
    };
    let mut b = Vec::new();
    PacketBuilder::ip(IpHeaders::Ipv6(h, exts)).udp(5353, 53).write(&mut b, b"query").unwrap();
    b
}

/// The error must parse as `want` from `OURS` to the client, quote
/// `quote` exactly, and have a valid checksum.
fn verify(out: &[u8], n: usize, orig: &[u8], want: Icmpv6Type, quote: usize) {
    assert!(n > 0, "built");
    assert!(n - 14 <= MIN_MTU, "fits the minimum MTU");
    assert_eq!(n, error_frame_len(orig));
    let p = SlicedPacket::from_ethernet(&out[..n]).unwrap();
    assert_eq!(p.link.as_ref().unwrap().to_header().unwrap().ethernet2().unwrap().ether_type.0, eth::TYPE_IPV6);
    let Some(NetSlice::Ipv6(ip)) = &p.net else { panic!("not ipv6") };
    let h = ip.header();
    assert_eq!((h.source(), h.destination()), (OURS.to_be_bytes(), CLIENT));
    assert_eq!((h.hop_limit(), h.next_header(), h.payload_length() as usize), (64, IpNumber::IPV6_ICMP, n - 54));
    let Some(TransportSlice::Icmpv6(ic)) = &p.transport else { panic!("not icmpv6") };
    assert!(ic.is_checksum_valid(h.source(), h.destination()), "icmpv6 checksum");
    assert_eq!(ic.icmp_type(), want);
    assert_eq!(ic.payload(), &orig[..quote]);
}

#[test]
fn packet_too_big_quotes_what_fits_in_1280() {
    let orig = tcp(1400);
    let mut out = vec![0u8; 2000];
    let n = build_error(&mut out, OURS, &orig, Icmp6Error::packet_too_big(1460));
    verify(&out, n, &orig, Icmpv6Type::PacketTooBig { mtu: 1460 }, MAX_QUOTE);
    assert_eq!(n, 14 + 1280);
}

#[test]
fn a_short_packet_is_quoted_whole_without_padding() {
    let mut orig = tcp(0);
    let len = orig.len();
    orig.extend_from_slice(&[0; 6]); // Ethernet padding after the packet
    let mut out = vec![0u8; 2000];
    let n = build_error(&mut out, OURS, &orig, Icmp6Error::TIME_EXCEEDED);
    verify(&out, n, &orig, Icmpv6Type::TimeExceeded(TimeExceededCode::HopLimitExceeded), len);
}

#[test]
fn every_dest_unreachable_code() {
    let orig = udp_with_dest_opts();
    let codes = [
        (CODE_NO_ROUTE, DestUnreachableCode::NoRoute),
        (CODE_ADMIN_PROHIBITED, DestUnreachableCode::Prohibited),
        (CODE_BEYOND_SCOPE, DestUnreachableCode::BeyondScope),
        (CODE_ADDR_UNREACH, DestUnreachableCode::Address),
        (CODE_PORT_UNREACH, DestUnreachableCode::Port),
        (CODE_SRC_POLICY, DestUnreachableCode::SourceAddressFailedPolicy),
        (CODE_REJECT_ROUTE, DestUnreachableCode::RejectRoute),
    ];
    for (code, want) in codes {
        let mut out = vec![0xeeu8; 1500];
        let n = build_error(&mut out, OURS, &orig, Icmp6Error::dest_unreach(code));
        verify(&out, n, &orig, Icmpv6Type::DestinationUnreachable(want), orig.len());
    }
}

#[test]
fn parameter_problem_carries_the_pointer() {
    let orig = udp_with_dest_opts();
    let mut out = vec![0u8; 1500];
    let n = build_error(&mut out, OURS, &orig, Icmp6Error::param_problem(CODE_UNKNOWN_NEXT_HEADER, 40));
    let want =
        etherparse::icmpv6::ParameterProblemHeader { code: ParameterProblemCode::UnrecognizedNextHeader, pointer: 40 };
    verify(&out, n, &orig, Icmpv6Type::ParameterProblem(want), orig.len());
}

#[test]
fn a_short_buffer_or_no_header_builds_nothing() {
    let orig = tcp(10);
    let need = error_frame_len(&orig);
    let mut out = vec![0u8; need - 1];
    assert_eq!(build_error(&mut out, OURS, &orig, Icmp6Error::TIME_EXCEEDED), 0);
    let mut out = vec![0u8; need];
    assert_eq!(build_error(&mut out, OURS, &orig, Icmp6Error::TIME_EXCEEDED), need);
    assert_eq!(build_error(&mut out, OURS, &orig[..39], Icmp6Error::TIME_EXCEEDED), 0);
    assert_eq!(error_frame_len(&orig[..39]), 0);
    let mut v4 = orig.clone();
    v4[0] = 0x45;
    assert_eq!(build_error(&mut out, OURS, &v4, Icmp6Error::TIME_EXCEEDED), 0);
    let echo_reply = Icmp6Error { ty: 129, code: 0, param: 0 };
    assert_eq!(build_error(&mut out, OURS, &orig, echo_reply), 0, "not an error type");
}

fn icmp6(src: [u8; 16], dst: [u8; 16], ty: Icmpv6Type) -> Vec<u8> {
    let mut b = Vec::new();
    PacketBuilder::ipv6(src, dst, 1).icmpv6(ty).write(&mut b, &[0; 48]).unwrap();
    b
}

#[test]
fn never_about_an_error_multicast_or_unspecified() {
    let mut out = vec![0u8; 1500];
    let refuse = |orig: &[u8], out: &mut [u8]| {
        assert!(!may_answer(orig));
        assert_eq!(build_error(out, OURS, orig, Icmp6Error::TIME_EXCEEDED), 0);
    };
    // ICMPv6 errors, after extension headers too.
    refuse(&icmp6(CLIENT, VIP, Icmpv6Type::PacketTooBig { mtu: 1280 }), &mut out);
    refuse(&icmp6(CLIENT, VIP, Icmpv6Type::DestinationUnreachable(DestUnreachableCode::Port)), &mut out);
    let h = Ipv6Header {
        next_header: IpNumber::IPV6_DESTINATION_OPTIONS,
        hop_limit: 1,
        source: CLIENT,
        destination: VIP,
        ..Default::default()
    };
    let exts = Ipv6Extensions {
        destination_options: Some(Ipv6RawExtHeader::new_raw(IpNumber::IPV6_ICMP, &[1, 4, 0, 0, 0, 0]).unwrap()),
        ..Default::default()
    };
    let mut b = Vec::new();
    PacketBuilder::ip(IpHeaders::Ipv6(h, exts))
        .icmpv6(Icmpv6Type::TimeExceeded(TimeExceededCode::HopLimitExceeded))
        .write(&mut b, &[0; 8])
        .unwrap();
    refuse(&b, &mut out);
    // An ICMPv6 message cut before its type.
    let mut cut = icmp6(CLIENT, VIP, Icmpv6Type::EchoRequest(etherparse::IcmpEchoHeader { id: 1, seq: 1 }));
    cut.truncate(40);
    cut[5] = 0;
    refuse(&cut, &mut out);
    // Multicast destination, multicast or unspecified source.
    let mcast = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let mut m = tcp(0);
    m[24..40].copy_from_slice(&mcast);
    refuse(&m, &mut out);
    let mut m = tcp(0);
    m[8..24].copy_from_slice(&mcast);
    refuse(&m, &mut out);
    let mut m = tcp(0);
    m[8..24].fill(0);
    refuse(&m, &mut out);
}

#[test]
fn echo_requests_and_later_fragments_are_answered() {
    let echo = icmp6(CLIENT, VIP, Icmpv6Type::EchoRequest(etherparse::IcmpEchoHeader { id: 1, seq: 1 }));
    assert!(may_answer(&echo));
    let mut out = vec![0u8; 1500];
    let n = build_error(&mut out, OURS, &echo, Icmp6Error::TIME_EXCEEDED);
    verify(&out, n, &echo, Icmpv6Type::TimeExceeded(TimeExceededCode::HopLimitExceeded), echo.len());
    // A later fragment of an ICMPv6 message: its type is not in it.
    let h = Ipv6Header {
        next_header: IpNumber::IPV6_FRAGMENTATION_HEADER,
        hop_limit: 1,
        source: CLIENT,
        destination: VIP,
        ..Default::default()
    };
    let frag = Ipv6FragmentHeader::new(IpNumber::IPV6_ICMP, etherparse::IpFragOffset::try_new(10).unwrap(), false, 7);
    let mut b = h.to_bytes().to_vec();
    b.extend_from_slice(&frag.to_bytes());
    b.extend_from_slice(&[1; 16]);
    let plen = (b.len() - 40) as u16;
    b[4..6].copy_from_slice(&plen.to_be_bytes());
    assert!(may_answer(&b));
    // A chain that cannot be walked (a destination-options header cut short).
    let mut bad = udp_with_dest_opts();
    bad[41] = 200;
    assert!(may_answer(&bad));
}
