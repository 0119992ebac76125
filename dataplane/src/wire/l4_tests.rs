//! Tests of the L4 views: accessors and rewrites against etherparse.

use super::*;
use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};

fn ip_payload(tcp: bool) -> (Vec<u8>, usize) {
    let mut b = Vec::new();
    let ip = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64);
    if tcp {
        ip.tcp(4000, 80, 7, 1024).syn().ack(9).write(&mut b, b"hello").unwrap();
    } else {
        ip.udp(5353, 53).write(&mut b, b"query").unwrap();
    }
    (b, 20)
}

fn csum_ok(b: &[u8]) -> bool {
    let p = SlicedPacket::from_ip(b).unwrap();
    let Some(etherparse::NetSlice::Ipv4(ip)) = &p.net else { panic!() };
    let h = ip.header().to_header();
    match p.transport.unwrap() {
        TransportSlice::Tcp(t) => t.checksum() == t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap(),
        TransportSlice::Udp(u) => u.checksum() == u.to_header().calc_checksum_ipv4(&h, u.payload()).unwrap(),
        _ => panic!(),
    }
}

#[test]
fn accessors_match_etherparse() {
    let (b, l4) = ip_payload(true);
    let v = L4::new_checked(&b[l4..], PROTO_TCP).unwrap();
    let p = SlicedPacket::from_ip(&b).unwrap();
    let Some(TransportSlice::Tcp(t)) = p.transport else { panic!() };
    assert_eq!((v.src_port(), v.dst_port()), (t.source_port(), t.destination_port()));
    assert_eq!(v.hdr_len(), t.header_len());
    assert_eq!(v.checksum(), t.checksum());
    assert_eq!(v.flags(), 0x12, "SYN+ACK");
    assert_eq!(v.payload(), t.payload());
    assert!(v.options().is_empty());
    let (b, l4) = ip_payload(false);
    let v = L4::new_checked(&b[l4..], PROTO_UDP).unwrap();
    let p = SlicedPacket::from_ip(&b).unwrap();
    let Some(TransportSlice::Udp(u)) = p.transport else { panic!() };
    assert_eq!((v.src_port(), v.dst_port(), v.checksum()), (5353, 53, u.checksum()));
    assert_eq!((v.flags(), v.hdr_len(), v.payload()), (0, 8, &b"query"[..]));
}

#[test]
fn port_and_address_rewrites_keep_checksums() {
    for tcp in [true, false] {
        let (mut b, l4) = ip_payload(tcp);
        let proto = if tcp { PROTO_TCP } else { PROTO_UDP };
        let mut ip = crate::wire::Ipv4::new_checked(&mut b[..]).unwrap();
        let old = ip.set_dst(0xc0a8000a);
        let mut v = L4::new_checked(&mut b[l4..], proto).unwrap();
        v.fix_addr(old, 0xc0a8000a);
        v.set_ports(None, Some(8080)).unwrap();
        v.set_ports(Some(1), None).unwrap();
        assert!(v.checksum_ok4(0x0a000001, 0xc0a8000a));
        assert!(!v.checksum_ok4(0x0a000001, 0xc0a8000b), "the pseudo-header counts");
        assert!(csum_ok(&b), "tcp={tcp}");
    }
}

/// `nat4` writes exactly what the per-field updates did, bit for bit,
/// whatever the checksum that arrived (0 and 0xffff included) and
/// whether a port really changes.
#[test]
fn nat4_is_fix_addr_then_set_ports() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for k in 0..200_000u32 {
        let tcp = k % 2 == 0;
        let (b0, l4) = ip_payload(tcp);
        let proto = if tcp { PROTO_TCP } else { PROTO_UDP };
        let r = next();
        let mut seg = b0[l4..].to_vec();
        let at = if tcp { field::TCP_CHECKSUM } else { field::UDP_CHECKSUM };
        let c = match k % 7 {
            0 => 0,
            1 => 0xffff,
            _ => r as u16,
        };
        wr16(&mut seg, at, c);
        let pick = |r: u64, sh: u32| -> Option<(u32, u32, u16)> {
            let port = if (r >> sh) & 3 == 0 { rd16(&seg, field::SRC_PORT) } else { (r >> (sh + 8)) as u16 };
            ((r >> (sh + 2)) & 1 == 1).then_some(((r >> 20) as u32, (r >> 40) as u32 ^ (r as u32), port))
        };
        let (src, dst) = (pick(r, 0), pick(r.rotate_left(29), 3));
        if src.is_none() && dst.is_none() {
            continue;
        }
        let mut want = seg.clone();
        let mut v = L4::new_checked(&mut want[..], proto).unwrap();
        if let Some((o, n, p)) = src {
            v.fix_addr(o, n);
            v.set_ports(Some(p), None).unwrap();
        }
        if let Some((o, n, p)) = dst {
            v.fix_addr(o, n);
            v.set_ports(None, Some(p)).unwrap();
        }
        let mut got = seg.clone();
        L4::new_checked(&mut got[..], proto).unwrap().nat4(src, dst);
        assert_eq!(got, want, "case {k}: {src:x?} {dst:x?} csum {c:#x}");
    }
}

#[test]
fn the_segment_stops_at_the_udp_length() {
    let (mut b, l4) = ip_payload(false);
    b.extend_from_slice(&[0xaa; 3]); // past the datagram, inside the IP payload
    let v = L4::new_checked(&b[l4..], PROTO_UDP).unwrap();
    assert_eq!(v.segment().len(), 13);
    assert!(v.checksum_ok4(0x0a000001, 0x0a000002));
    let (b, l4) = ip_payload(true);
    let v = L4::new_checked(&b[l4..], PROTO_TCP).unwrap();
    assert_eq!(v.segment(), &b[l4..]);
    assert!(v.checksum_ok4(0x0a000001, 0x0a000002));
}

#[test]
fn udp_without_checksum_stays_without() {
    let (mut b, l4) = ip_payload(false);
    b[l4 + 6..l4 + 8].fill(0);
    let mut v = L4::new_checked(&mut b[l4..], PROTO_UDP).unwrap();
    v.set_ports(None, Some(1)).unwrap();
    v.fix_addr(1, 2);
    v.fix_addr6(&[1; 16], &[2; 16]);
    assert_eq!(v.checksum(), 0);
    assert!(v.checksum_ok4(1, 2), "no checksum is fine over IPv4");
}

#[test]
fn the_gate_names_each_defect() {
    let (b, l4) = ip_payload(true);
    assert_eq!(L4::new_checked(&b[l4..l4 + 19], PROTO_TCP).unwrap_err(), DropReason::L4Truncated);
    let mut v = b.clone();
    v[l4 + 12] = 4 << 4;
    assert_eq!(L4::new_checked(&v[l4..], PROTO_TCP).unwrap_err(), DropReason::TcpBadDoff);
    v[l4 + 12] = 7 << 4; // 28 > 25
    assert_eq!(L4::new_checked(&v[l4..], PROTO_TCP).unwrap_err(), DropReason::TcpBadDoff);
    let (b, l4) = ip_payload(false);
    assert_eq!(L4::new_checked(&b[l4..l4 + 7], PROTO_UDP).unwrap_err(), DropReason::L4Truncated);
    let mut v = b.clone();
    v[l4 + 5] = 7;
    assert_eq!(L4::new_checked(&v[l4..], PROTO_UDP).unwrap_err(), DropReason::UdpBadLen);
    v[l4 + 5] = 14;
    assert_eq!(L4::new_checked(&v[l4..], PROTO_UDP).unwrap_err(), DropReason::UdpBadLen);
    assert_eq!(L4::new_checked(&b[l4..], 1).unwrap_err(), DropReason::L4Unsupported);
}

#[test]
fn an_option_written_into_the_header_keeps_the_checksum() {
    // Grow the header by 4 bytes taken from the payload: a NOP-padded
    // option; the segment length is unchanged, the sum moved around.
    let (mut b, l4) = ip_payload(true);
    let mut v = L4::new_checked(&mut b[l4..], PROTO_TCP).unwrap();
    // The header and the payload bytes that become options.
    let old = csum::sum(&v.payload()[..4], v.header_sum());
    assert!(!v.set_hdr_len(22) && !v.set_hdr_len(64) && !v.set_hdr_len(28), "unaligned, too long, past the segment");
    assert!(v.set_hdr_len(24));
    assert_eq!((v.hdr_len(), v.payload()), (24, &b"o"[..]));
    v.options_mut().copy_from_slice(&[1, 1, 1, 0]);
    let new = v.header_sum();
    v.fix_checksum(old, new);
    assert!(v.checksum_ok4(0x0a000001, 0x0a000002));
    assert!(csum_ok(&b));
    assert_eq!(b[l4 + 12] & 0x0f, 0, "reserved bits kept");
    // A longer segment: the pseudo-header's length follows.
    let (mut b, l4) = ip_payload(true);
    b.extend_from_slice(&[0, 0]);
    let mut v = L4::new_checked(&mut b[l4..], PROTO_TCP).unwrap();
    v.fix_pseudo_len(25, 27);
    assert!(v.checksum_ok4(0x0a000001, 0x0a000002));
    let (mut b, l4) = ip_payload(false);
    let mut v = L4::new_checked(&mut b[l4..], PROTO_UDP).unwrap();
    assert!(v.options_mut().is_empty() && !v.set_hdr_len(8), "UDP has neither");
}

#[test]
fn udp_header_is_emitted() {
    let mut b = [0xeeu8; 10];
    UdpRepr { src_port: 0xc001, dst_port: 6080, len: 9 }.emit(&mut b[..]).unwrap();
    assert_eq!(b, [0xc0, 0x01, 0x17, 0xc0, 0, 9, 0, 0, 0xee, 0xee]);
    let v = L4::new_checked(&b[..9], PROTO_UDP).unwrap();
    assert_eq!((v.src_port(), v.dst_port(), v.checksum(), v.segment().len()), (0xc001, 6080, 0, 9));
    assert_eq!(UdpRepr { src_port: 1, dst_port: 2, len: 8 }.emit(&mut b[..7]), Err(DropReason::L4Truncated));
}
