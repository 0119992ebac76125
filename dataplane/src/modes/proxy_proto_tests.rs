//! Proxy Protocol on crafted frames (both families), checked with
//! etherparse and a PROXY reader written from the spec alone.

use super::*;
use crate::modes::testpkt6;
use etherparse::{IpNumber, NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
use std::net::Ipv4Addr;

/// An address and port.
pub(crate) type End = (IpAddr, u16);

/// What a PROXY-reading server takes from the start of its stream:
/// (client, VIP, bytes used), written from `proxy-protocol.txt` alone.
pub(crate) fn read_proxy(b: &[u8]) -> Option<(End, End, usize)> {
    if b.starts_with(&V2_SIG) {
        let (ver_cmd, fam) = (*b.get(12)?, *b.get(13)?);
        let len = u16::from_be_bytes([*b.get(14)?, *b.get(15)?]) as usize;
        let a = b.get(16..16 + len)?;
        if ver_cmd != 0x21 {
            return None;
        }
        let port = |i: usize| u16::from_be_bytes([a[i], a[i + 1]]);
        let (s, d, p) = match fam {
            0x11 if len >= 12 => {
                let v4 = |i: usize| IpAddr::V4(Ipv4Addr::new(a[i], a[i + 1], a[i + 2], a[i + 3]));
                (v4(0), v4(4), 8)
            }
            0x21 if len >= 36 => {
                let v6 = |i: usize| IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&a[i..i + 16]).unwrap()));
                (v6(0), v6(16), 32)
            }
            _ => return None,
        };
        return Some(((s, port(p)), (d, port(p + 2)), 16 + len));
    }
    let end = b.windows(2).take(107).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&b[..end]).ok()?;
    let w: Vec<&str> = line.split(' ').collect();
    if w.len() != 6 || w[0] != "PROXY" {
        return None;
    }
    let (s, d): (IpAddr, IpAddr) = (w[2].parse().ok()?, w[3].parse().ok()?);
    match (w[1], s, d) {
        ("TCP4", IpAddr::V4(_), IpAddr::V4(_)) | ("TCP6", IpAddr::V6(_), IpAddr::V6(_)) => {}
        _ => return None,
    }
    Some(((s, w[4].parse().ok()?), (d, w[5].parse().ok()?), end + 2))
}

/// [`on_request`] / [`on_reply`] at the frame's own L4 location.
pub(crate) fn req<A: Addr>(p: &mut Vec<u8>, c: &mut Conn<A>, mtu: u16) -> Result<(), DropReason> {
    let at = at_of(p);
    on_request(p, at, c, mtu)
}

pub(crate) fn rep<A: Addr>(p: &mut [u8], c: &mut Conn<A>) -> Result<(), DropReason> {
    let at = at_of(p);
    on_reply(p, at, c)
}

pub(crate) const CIP4: [u8; 4] = [172, 25, 254, 200];
pub(crate) const VIP4: [u8; 4] = [172, 25, 254, 100];

/// Segment flags for [`seg`].
#[derive(Clone, Copy, Default)]
pub(crate) struct Fl {
    pub syn: bool,
    pub ack: Option<u32>,
    pub fin: bool,
    pub rst: bool,
}

/// A TCP segment with `seq`, flags, raw options (a multiple of 4
/// bytes) and payload; IPv4 from CIP4 to VIP4 or, with `v6`, IPv6 (with
/// a destination-options header) between testpkt6's CIP and VIP.
pub(crate) fn seg(v6: bool, seq: u32, f: Fl, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2([2; 6], [4; 6]);
    let ip = if v6 {
        eth.ip(testpkt6::ip(testpkt6::CIP, testpkt6::VIP, IpNumber::TCP, true))
    } else {
        eth.ipv4(CIP4, VIP4, 64)
    };
    let mut t = ip.tcp(40000, 80, seq, 65535);
    if f.syn {
        t = t.syn();
    }
    if let Some(a) = f.ack {
        t = t.ack(a);
    }
    if f.fin {
        t = t.fin();
    }
    if f.rst {
        t = t.rst();
    }
    let t = t.options_raw(opts).unwrap();
    let mut b = Vec::new();
    t.write(&mut b, payload).unwrap();
    b
}

/// The L4 location the gate would give.
pub(crate) fn at_of(b: &[u8]) -> L4At {
    if b[14] >> 4 == 6 {
        testpkt6::at6(b)
    } else {
        super::super::testpkt::at(b)
    }
}

/// (seq, ack, flags byte, options, payload) after checking the IP
/// length and the TCP checksum with etherparse.
pub(crate) fn tcp_of(b: &[u8]) -> (u32, u32, u8, Vec<u8>, Vec<u8>) {
    let p = SlicedPacket::from_ethernet(b).expect("parse");
    let Some(TransportSlice::Tcp(t)) = &p.transport else { panic!("not tcp") };
    match &p.net {
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header().to_header();
            assert_eq!(h.header_checksum, h.calc_header_checksum(), "ip checksum");
            assert_eq!(h.total_len as usize, b.len() - 14, "ip total length");
            let want = t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap();
            assert_eq!(t.checksum(), want, "tcp checksum");
        }
        Some(NetSlice::Ipv6(ip)) => {
            let h = ip.header();
            assert_eq!(h.payload_length() as usize, b.len() - 14 - 40, "ipv6 payload length");
            assert_eq!(t.checksum(), t.calc_checksum_ipv6(h.source(), h.destination()).unwrap(), "tcp checksum");
        }
        _ => panic!("no ip"),
    }
    let flags = b[at_of(b).l4 + 13];
    (t.sequence_number(), t.acknowledgment_number(), flags, t.options().to_vec(), t.payload().to_vec())
}

/// A FULLNAT connection entry of the crafted frames' family, PROXY `v2`
/// or v1.
pub(crate) fn conn4(v2: bool) -> Conn<u32> {
    let mut c = Conn { caddr: u32::from_be_bytes(CIP4), vaddr: u32::from_be_bytes(VIP4), ..Conn::default() };
    (c.cport, c.vport) = (40000, 80);
    c.flags = conn_flags(if v2 { ProxyProtocol::V2 } else { ProxyProtocol::V1 });
    c
}

pub(crate) fn conn6(v2: bool) -> Conn<u128> {
    let mut c = Conn { caddr: testpkt6::CIP, vaddr: testpkt6::VIP, ..Conn::default() };
    (c.cport, c.vport) = (40000, 80);
    c.flags = conn_flags(if v2 { ProxyProtocol::V2 } else { ProxyProtocol::V1 });
    c
}

fn ends<A: Addr>(c: &Conn<A>) -> (End, End) {
    ((c.caddr.to_ip(), c.cport), (c.vaddr.to_ip(), c.vport))
}

#[test]
fn headers_as_the_spec_spells_them() {
    let (c, v) = ((IpAddr::from(CIP4), 40000), (IpAddr::from(VIP4), 80));
    assert_eq!(Header::new(false, c, v).as_bytes(), b"PROXY TCP4 172.25.254.200 172.25.254.100 40000 80\r\n");
    let h = Header::new(true, c, v);
    let mut want = V2_SIG.to_vec();
    want.extend_from_slice(&[0x21, 0x11, 0, 12, 172, 25, 254, 200, 172, 25, 254, 100, 0x9c, 0x40, 0, 80]);
    assert_eq!(h.as_bytes(), &want[..]);
    let (c6, v6) =
        ((IpAddr::from(Ipv6Addr::from(testpkt6::CIP)), 1), (IpAddr::from(Ipv6Addr::from(testpkt6::VIP)), 443));
    assert_eq!(Header::new(false, c6, v6).as_bytes(), b"PROXY TCP6 2001:db8:c0::200 2001:db8:aa::100 1 443\r\n");
    let h = Header::new(true, c6, v6);
    assert_eq!(h.as_bytes().len(), 52);
    assert_eq!(&h.as_bytes()[12..16], &[0x21, 0x21, 0, 36]);
    assert_eq!(read_proxy(h.as_bytes()), Some((c6, v6, 52)));
    // A NAT64 connection's header is the IPv6 one, whatever the server's
    // family; one IPv4 end with an IPv6 one is written IPv4-mapped.
    let m = Header::new(false, (IpAddr::from(CIP4), 5), v6);
    assert_eq!(m.as_bytes(), b"PROXY TCP6 ::ffff:172.25.254.200 2001:db8:aa::100 5 443\r\n");
    // The longest v1 line fits.
    let big = IpAddr::from(Ipv6Addr::new(0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xfffe));
    let h = Header::new(false, (big, 65535), (big, 65535));
    assert_eq!(h.as_bytes().len(), 104);
    assert_eq!(read_proxy(h.as_bytes()), Some(((big, 65535), (big, 65535), 104)));
}

/// Handshake, carrier, data both ways, SACK, retransmission: one
/// connection of each version and family through the two functions.
#[test]
fn a_whole_conversation_is_shifted_both_ways() {
    for v2 in [false, true] {
        conversation(false, conn4(v2));
        conversation(true, conn6(v2));
    }
}

fn conversation<A: Addr>(v6: bool, mut c: Conn<A>) {
    let ctx = format!("v6 {v6} flags {:#x}", c.flags);
    let isn = 0xffff_fff0u32; // wraps during the conversation
    let base = isn.wrapping_add(1);
    let mut syn = seg(v6, isn, Fl { syn: true, ..Fl::default() }, &[2, 4, 5, 0xb4], b"");
    let before = syn.clone();
    req(&mut syn, &mut c, 1500).unwrap();
    assert_eq!(syn, before, "{ctx}: the SYN passes unchanged");
    // The handshake's final ACK gets the header as its payload.
    let mut ack = seg(v6, base, Fl { ack: Some(7001), ..Fl::default() }, &[], b"");
    req(&mut ack, &mut c, 1500).unwrap();
    let (seq, a, _, _, payload) = tcp_of(&ack);
    assert_eq!((seq, a), (base, 7001), "{ctx}");
    let (src, dst, n) = read_proxy(&payload).unwrap_or_else(|| panic!("{ctx}: {payload:?}"));
    assert_eq!((src, dst, n), (ends(&c).0, ends(&c).1, payload.len()), "{ctx}");
    assert_eq!(
        n,
        if c.flags & F_PP_V2 != 0 {
            if v6 {
                52
            } else {
                28
            }
        } else {
            n
        },
        "{ctx}"
    );
    let h = n as u32;
    // The first request, before the server acknowledged the header: it
    // starts at `base` too, so it carries the header again.
    let mut get = seg(v6, base, Fl { ack: Some(7001), ..Fl::default() }, &[], b"GET / HTTP/1.0\r\n\r\n");
    req(&mut get, &mut c, 1500).unwrap();
    let (seq, _, _, _, payload) = tcp_of(&get);
    assert_eq!(seq, base, "{ctx}");
    assert_eq!(read_proxy(&payload).map(|r| r.2), Some(n), "{ctx}");
    assert_eq!(&payload[n..], b"GET / HTTP/1.0\r\n\r\n", "{ctx}");
    // The server acknowledges header and request, SACKs later bytes and
    // has one block in the header.
    let reply_base = base.wrapping_add(h);
    let mut opts = vec![1, 1, 5, 18];
    for e in [reply_base.wrapping_add(100), reply_base.wrapping_add(200), base.wrapping_add(2), base.wrapping_add(h)] {
        opts.extend_from_slice(&e.to_be_bytes());
    }
    opts.extend_from_slice(&[1, 1]);
    let mut r = server_seg(v6, 7001, reply_base.wrapping_add(18), &opts, b"HTTP/1.0 200 OK\r\n");
    rep(&mut r, &mut c).unwrap();
    assert_ne!(c.flags & F_PP_ACKED, 0, "{ctx}");
    let (_, ack_no, _, o, _) = tcp_of(&r);
    assert_eq!(ack_no, base.wrapping_add(18), "{ctx}: the client sees its own numbering");
    let edge = |i: usize| u32::from_be_bytes([o[4 + 4 * i], o[5 + 4 * i], o[6 + 4 * i], o[7 + 4 * i]]);
    assert_eq!([edge(0), edge(1)], [base.wrapping_add(100), base.wrapping_add(200)], "{ctx}");
    assert_eq!([edge(2), edge(3)], [base, base], "{ctx}: header bytes are before the client's stream");
    // Later data, and a retransmission of the first request now that the
    // header is acknowledged: shifted, no header.
    for s in [base.wrapping_add(18), base] {
        let mut p = seg(v6, s, Fl { ack: Some(7018), ..Fl::default() }, &[], b"more");
        req(&mut p, &mut c, 1500).unwrap();
        let (seq, _, _, _, payload) = tcp_of(&p);
        assert_eq!((seq, &payload[..]), (s.wrapping_add(h), &b"more"[..]), "{ctx}");
    }
    let mut fin = seg(v6, base.wrapping_add(18), Fl { ack: Some(7018), fin: true, ..Fl::default() }, &[], b"");
    req(&mut fin, &mut c, 1500).unwrap();
    assert_eq!(tcp_of(&fin).0, base.wrapping_add(18 + h), "{ctx}");
}

/// A server → client segment (RIP → LIP in the real flow; addresses do
/// not matter to these functions).
pub(crate) fn server_seg(v6: bool, seq: u32, ack: u32, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    seg(v6, seq, Fl { ack: Some(ack), ..Fl::default() }, opts, payload)
}

#[test]
fn a_lost_carrier_is_sent_again_until_acknowledged() {
    let mut c = conn4(true);
    let base = 1001;
    let mut syn = seg(false, 1000, Fl { syn: true, ..Fl::default() }, &[], b"");
    req(&mut syn, &mut c, 1500).unwrap();
    // A reset at base before any header went out stays exact.
    let mut rst = seg(false, base, Fl { rst: true, ..Fl::default() }, &[], b"");
    let before = rst.clone();
    req(&mut rst, &mut c, 1500).unwrap();
    assert_eq!(rst, before);
    let first = |c: &mut Conn<u32>| {
        let mut p = seg(false, base, Fl { ack: Some(1), ..Fl::default() }, &[], b"hello");
        req(&mut p, c, 1500).unwrap();
        p
    };
    let sent = first(&mut c);
    // The server's duplicate SYN-ACK (it never got the carrier) passes
    // with the acknowledgment the client expects, and the carrier's
    // retransmission is the same segment again.
    let mut synack = server_seg(false, 0, base, &[], b"");
    let l4 = at_of(&synack).l4;
    synack[l4 + 13] |= 0x02;
    let b4 = synack.clone();
    rep(&mut synack, &mut c).unwrap();
    assert_eq!(synack, b4);
    assert_eq!(c.flags & F_PP_ACKED, 0);
    assert_eq!(first(&mut c), sent);
    // A partial acknowledgment of the header is no acknowledgment.
    let mut part = server_seg(false, 1, base + 10, &[], b"");
    rep(&mut part, &mut c).unwrap();
    assert_eq!(tcp_of(&part).1, base);
    assert_eq!(c.flags & F_PP_ACKED, 0);
    assert_eq!(first(&mut c), sent);
    // Once the server has it all, the retransmission is only shifted.
    let mut full = server_seg(false, 1, base + 28, &[], b"");
    rep(&mut full, &mut c).unwrap();
    assert_eq!(tcp_of(&full).1, base);
    let again = first(&mut c);
    assert_eq!(tcp_of(&again).0, base + 28);
    assert_eq!(tcp_of(&again).4, b"hello");
    // A reset after the header is shifted too (the server's numbering).
    let mut rst = seg(false, base + 5, Fl { rst: true, ..Fl::default() }, &[], b"");
    req(&mut rst, &mut c, 1500).unwrap();
    assert_eq!(tcp_of(&rst).0, base + 5 + 28);
}

#[test]
fn a_carrier_too_big_for_the_mtu_loses_its_tail_not_the_packet() {
    // The segment grows by less than the header, or shrinks (the link's
    // MTU is below the client's segment: a route change, a smaller MTU
    // toward the servers than toward the clients).
    for slack in [10, -100] {
        too_big(false, conn4(false), slack);
        too_big(true, conn6(false), slack);
        too_big(true, conn6(true), slack);
    }
}

fn too_big<A: Addr>(v6: bool, mut c: Conn<A>, slack: isize) {
    let fresh = c;
    let data: Vec<u8> = (0..1400u32).map(|i| (i * 7) as u8).collect();
    let mut syn = seg(v6, 1000, Fl { syn: true, ..Fl::default() }, &[], b"");
    let mut p = seg(v6, 1001, Fl { ack: Some(1), fin: true, ..Fl::default() }, &[1, 1, 1, 1], &data);
    let mtu = ((p.len() - 14) as isize + slack) as u16;
    req(&mut syn, &mut c, mtu).unwrap();
    req(&mut p, &mut c, mtu).unwrap();
    assert_eq!(p.len() - 14, mtu as usize, "v6 {v6}: exactly the MTU");
    let (seq, _, flags, _, payload) = tcp_of(&p);
    assert_eq!(seq, 1001);
    assert_eq!(flags & TCP_FIN, 0, "v6 {v6}: FIN followed the data that was cut");
    let n = read_proxy(&payload).unwrap().2;
    assert_eq!(&payload[n..], &data[..payload.len() - n], "v6 {v6}");
    assert_eq!(
        (payload.len() - n) as isize,
        data.len() as isize + slack - n as isize,
        "v6 {v6}: cut by what did not fit"
    );
    // An MTU that cannot take even the bare header: a named drop.
    let mut c = fresh;
    let mut syn = seg(v6, 1000, Fl { syn: true, ..Fl::default() }, &[], b"");
    let mut p = seg(v6, 1001, Fl { ack: Some(1), ..Fl::default() }, &[], b"x");
    req(&mut syn, &mut c, 1500).unwrap();
    assert_eq!(req(&mut p, &mut c, 60), Err(DropReason::ProxyNoRoom));
}

#[test]
fn ethernet_padding_is_not_taken_for_data() {
    let mut c = conn4(true);
    let mut syn = seg(false, 1000, Fl { syn: true, ..Fl::default() }, &[], b"");
    req(&mut syn, &mut c, 1500).unwrap();
    let mut p = seg(false, 1001, Fl { ack: Some(1), ..Fl::default() }, &[], b"");
    p.resize(60, 0xee); // a minimum frame, padded
    req(&mut p, &mut c, 1500).unwrap();
    let (_, _, _, _, payload) = tcp_of(&p);
    assert_eq!(payload.len(), 28);
    assert_eq!(read_proxy(&payload).unwrap().2, 28);
}

#[test]
fn a_bad_checksum_stays_bad() {
    let ok = |b: &[u8]| {
        let p = SlicedPacket::from_ethernet(b).unwrap();
        let Some(NetSlice::Ipv4(ip)) = &p.net else { panic!() };
        let Some(TransportSlice::Tcp(t)) = &p.transport else { panic!() };
        t.checksum() == t.to_header().calc_checksum_ipv4(&ip.header().to_header(), t.payload()).unwrap()
    };
    let sum = |b: &[u8]| crate::packet::get16(b, 34 + 16);
    let diff = |a: u16, b: u16| csum::fold(a as u32 + (!b) as u32);
    for payload in [&b""[..], b"odd", b"even"] {
        let mut c = conn4(false);
        let mut syn = seg(false, 1000, Fl { syn: true, ..Fl::default() }, &[], b"");
        req(&mut syn, &mut c, 1500).unwrap();
        let good = [
            seg(false, 1001, Fl { ack: Some(1), ..Fl::default() }, &[], payload),
            seg(false, 2001, Fl { ack: Some(1), ..Fl::default() }, &[], payload),
            server_seg(false, 1, 3001, &[1, 1, 5, 10, 0, 0, 0x0f, 0xa0, 0, 0, 0x13, 0x88], payload),
        ];
        for (i, g) in good.iter().enumerate() {
            let (mut g, mut b) = (g.clone(), g.clone());
            b[34 + 16] ^= 0x5a;
            let d_in = diff(sum(&b), sum(&g));
            for p in [&mut g, &mut b] {
                let mut cc = c;
                if i == 2 {
                    rep(p, &mut cc).unwrap();
                } else {
                    req(p, &mut cc, 1500).unwrap();
                }
            }
            assert_ne!(g, good[i], "{i}: header inserted, seq or ack changed");
            assert!(ok(&g), "{i} ({payload:?})");
            assert!(!ok(&b), "{i}: error repaired ({payload:?})");
            assert_eq!(diff(sum(&b), sum(&g)), d_in, "{i}: the error travelled unchanged");
        }
    }
}

#[test]
fn malformed_reply_options_are_a_named_drop() {
    let mut c = conn4(true);
    let mut syn = seg(false, 1000, Fl { syn: true, ..Fl::default() }, &[], b"");
    req(&mut syn, &mut c, 1500).unwrap();
    let mut r = server_seg(false, 1, 1029, &[5, 10, 0, 0], b"");
    assert_eq!(rep(&mut r, &mut c), Err(DropReason::TcpBadOptions));
}

#[test]
fn an_entry_without_its_syn_goes_on_without_a_header() {
    let mut c = conn4(false);
    let mut p = seg(false, 5000, Fl { ack: Some(1), ..Fl::default() }, &[], b"mid-stream");
    let before = p.clone();
    req(&mut p, &mut c, 1500).unwrap();
    assert_eq!(p, before);
    assert_eq!(c.flags & F_PP, 0);
}

#[test]
fn fast_open_data_leaves_the_syn() {
    for v6 in [false, true] {
        let mut c = conn4(false);
        let mut syn = seg(v6, 1000, Fl { syn: true, ..Fl::default() }, &[2, 4, 5, 0xb4], b"GET / early");
        req(&mut syn, &mut c, 1500).unwrap();
        let (seq, _, flags, opts, payload) = tcp_of(&syn);
        assert_eq!((seq, flags & TCP_SYN, &opts[..], &payload[..]), (1000, TCP_SYN, &[2, 4, 5, 0xb4][..], &b""[..]));
        // Sent again after the handshake: behind the header.
        let mut p = seg(v6, 1001, Fl { ack: Some(1), ..Fl::default() }, &[], b"GET / early");
        req(&mut p, &mut c, 1500).unwrap();
        let payload = tcp_of(&p).4;
        let n = read_proxy(&payload).unwrap().2;
        assert_eq!(&payload[n..], b"GET / early");
    }
}
