//! The `wire` fuzz target's body: every view's gate, every accessor and
//! every rewrite over arbitrary bytes, as a plain function so that
//! libFuzzer (nightly, `fuzz/`) and the corpus replay and property tests
//! (stable) run the same code.
//!
//! It panics when an accessor or rewrite panics (what the gates exist to
//! make impossible), when a rewrite that keeps lengths makes the gate
//! refuse what it accepted, or when a rewrite changes a checksum's
//! residue: a valid checksum must stay valid and a wrong one stay wrong
//! by the same amount (RFC 1624 arithmetic is exact modulo 0xffff).

use super::*;
use crate::packet::csum;
use crate::packet::eth::{TYPE_ARP, TYPE_IPV4, TYPE_IPV6};
use crate::packet::ipv4::{PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use ipv6::NH_ICMPV6;
use std::hint::black_box;

/// A sum's class modulo 0xffff (0 and 0xffff are one value): what
/// incremental updates preserve exactly.
fn residue(data: &[u8], init: u32) -> u16 {
    csum::fold(csum::sum(data, init)) % 0xffff
}

/// Addresses and ports the rewrites move to, varied with the input.
fn other4(a: u32) -> u32 {
    a.rotate_left(7) ^ 0x5a5a_0001
}

fn other6(a: &Addr6) -> Addr6 {
    std::array::from_fn(|i| a[15 - i] ^ (i as u8))
}

/// `wire` target: `data` as an Ethernet frame, and as each header on its
/// own (so that no outer layer needs to be valid to reach an inner gate).
pub fn views(data: &[u8]) {
    frame(&mut data.to_vec());
    arp(&mut data.to_vec());
    ip4(&mut data.to_vec());
    ip6(&mut data.to_vec());
    for proto in [PROTO_TCP, PROTO_UDP] {
        l4_4(&mut data.to_vec(), proto, 0x0a000001, 0x0a000002);
        l4_6(&mut data.to_vec(), proto, &[0xfe; 16], &[0x20; 16]);
    }
    icmp(&mut data.to_vec());
    icmp6(&mut data.to_vec(), &[1; 16], &[2; 16]);
    sctp(&mut data.to_vec());
}

/// SCTP: the gate, the accessors, and port rewrites that either refuse a
/// wrong CRC32c (changing nothing) or leave a right one.
fn sctp(b: &mut [u8]) {
    let Ok(mut l) = L4::new_checked(&mut *b, crate::packet::ipv4::PROTO_SCTP) else { return };
    read_l4(&l);
    let s = l.sctp().expect("an SCTP L4 view has its SCTP view");
    black_box((s.verification_tag(), s.chunk_flags(), s.second_chunk_type(), s.deciding_chunk()));
    let (ok, sport, dport) = (s.crc_ok(), s.src_port(), s.dst_port());
    assert_eq!((l.checksum_ok4(1, 2), l.checksum_ok6(&[1; 16], &[2; 16])), (ok, ok), "no pseudo-header");
    l.fix_addr(1, 2);
    l.fix_addr6(&[1; 16], &[2; 16]);
    let before = l.segment().to_vec();
    match l.set_ports(Some(sport ^ 0x0101), Some(dport)) {
        Ok(()) => assert!(l.sctp().unwrap().crc_ok(), "a rewrite writes a right CRC32c"),
        Err(r) => {
            assert_eq!((r, ok), (DropReason::SctpBadCrc, false));
            assert_eq!(l.segment(), &before[..], "a refused rewrite changes nothing");
        }
    }
    assert_eq!(l.set_ports(None, Some(l.dst_port())), Ok(()), "no change, nothing checked");
}

fn frame(b: &mut [u8]) {
    let Ok(mut e) = Ethernet::new_checked(&mut *b) else { return };
    black_box((e.dst(), e.src(), e.is_group(), e.is_tagged(), e.vlan(), e.vlan_tci(), e.payload().len()));
    let (hl, ty, tagged) = (e.header_len(), e.ethertype(), e.is_tagged());
    assert_eq!(hl, if tagged { 18 } else { 14 });
    assert_eq!(e.set_vlan(e.vlan().unwrap_or(0) ^ 0x0abc), tagged);
    e.set_src(e.dst());
    e.set_ethertype(ty);
    let h = e.header_len();
    assert_eq!(e.payload_mut().len() + h, b.len());
    let e = Ethernet::new_checked(&*b).expect("a rewrite kept the frame's length");
    assert_eq!((e.header_len(), e.ethertype()), (hl, ty));
    match ty {
        TYPE_ARP => arp(&mut b[hl..]),
        TYPE_IPV4 => ip4(&mut b[hl..]),
        TYPE_IPV6 => ip6(&mut b[hl..]),
        _ => {}
    }
}

fn arp(b: &mut [u8]) {
    let Ok(mut a) = Arp::new_checked(&mut *b) else { return };
    let r = a.repr();
    assert_eq!((r.op, r.sha, r.spa, r.tha, r.tpa), (a.op(), a.sha(), a.spa(), a.tha(), a.tpa()));
    a.make_reply([2, 0, 0, 0, 0, 1]);
    let a = Arp::new_checked(&*b).expect("a reply is still Ethernet/IPv4 ARP");
    assert_eq!((a.op(), a.tha(), a.tpa(), a.spa()), (arp::OP_REPLY, r.sha, r.spa, r.tpa));
    assert_eq!(r.emit(&mut *b).map(|a| a.repr()), Ok(r));
}

fn ip4(b: &mut [u8]) {
    if let Ok(q) = Ipv4::new_checked_quoted(&*b) {
        read4(&q);
    }
    let Ok(v) = Ipv4::new_checked(&mut *b) else { return };
    read4(&v);
    let (hr, proto, total) = (residue(v.header(), 0), v.proto(), v.total_len() as u16);
    let (src, dst) = (v.src(), v.dst());
    // The L4 residue before the rewrite, if the payload passes its gate.
    // (SCTP has no pseudo-header: its own function below.)
    let l4r = L4::new_checked(v.payload(), proto).ok().filter(|l| !l.is_sctp()).map(|l| {
        let s = l.segment();
        (l.checksum(), residue(s, csum::pseudo_v4(src.to_be_bytes(), dst.to_be_bytes(), proto, s.len() as u16)))
    });
    let mut v = v;
    let (ns, nd) = (other4(src), other4(dst));
    assert_eq!((v.set_src(ns), v.set_dst(nd)), (src, dst));
    v.dec_ttl();
    v.set_tos(v.tos() ^ 0xfc);
    assert!(v.set_total_len(total));
    assert_eq!(v.header_mut().len(), v.hdr_len());
    let (h, p) = v.split_mut();
    black_box((h.len(), p.len()));
    if let Some((c0, r0)) = l4r {
        let mut l = L4::new_checked(v.payload_mut(), proto).expect("the payload was not touched");
        l.fix_addr(src, ns);
        l.fix_addr(dst, nd);
        l.set_ports(Some(l.src_port().wrapping_add(1)), None).unwrap();
        l.set_ports(None, Some(l.dst_port() ^ 0x8000)).unwrap();
        let s = l.segment();
        let r1 = residue(s, csum::pseudo_v4(ns.to_be_bytes(), nd.to_be_bytes(), proto, s.len() as u16));
        if proto == PROTO_UDP && c0 == 0 {
            assert_eq!(l.checksum(), 0, "UDP without a checksum stays without");
        } else {
            assert_eq!(r0, r1, "L4 checksum residue moved");
        }
    }
    let v = Ipv4::new_checked(&*b).expect("rewrites keep the IPv4 gate");
    assert_eq!(residue(v.header(), 0), hr, "IPv4 header checksum residue moved");
    if proto == PROTO_ICMP {
        let (h, n) = (v.hdr_len(), v.payload().len());
        icmp(&mut b[h..h + n]);
    }
}

fn read4<T: AsRef<[u8]>>(v: &Ipv4<T>) {
    black_box((v.hdr_len(), v.tos(), v.total_len(), v.ident(), v.df(), v.mf(), v.frag_offset()));
    black_box((v.is_fragment(), v.ttl(), v.proto(), v.checksum(), v.src(), v.dst(), v.checksum_ok()));
    black_box((v.header().len(), v.packet().len(), v.payload().len()));
    if let Ok(l) = L4::new_checked(v.payload(), v.proto()) {
        read_l4(&l);
    }
}

fn read_l4<T: AsRef<[u8]>>(l: &L4<T>) {
    black_box((l.proto(), l.is_tcp(), l.src_port(), l.dst_port(), l.flags(), l.hdr_len(), l.checksum()));
    black_box((l.header().len(), l.options().len(), l.payload().len(), l.segment().len()));
    black_box((l.checksum_ok4(1, 2), l.checksum_ok6(&[1; 16], &[2; 16])));
}

fn l4_4(b: &mut [u8], proto: u8, src: u32, dst: u32) {
    let Ok(mut l) = L4::new_checked(&mut *b, proto) else { return };
    read_l4(&l);
    let (c0, ok) = (l.checksum(), l.checksum_ok4(src, dst));
    l.fix_addr(src, other4(src));
    l.set_ports(None, Some(!l.dst_port())).unwrap();
    if c0 != 0 || proto == PROTO_TCP {
        assert_eq!(l.checksum_ok4(other4(src), dst), ok, "checksum validity changed");
    }
}

fn l4_6(b: &mut [u8], proto: u8, src: &Addr6, dst: &Addr6) {
    let Ok(mut l) = L4::new_checked6(&mut *b, proto) else { return };
    read_l4(&l);
    let s = l.segment();
    let r0 = residue(s, ipv6::pseudo_sum(src, dst, proto, s.len()));
    let ns = other6(src);
    l.fix_addr6(src, &ns);
    l.set_ports(Some(l.src_port() ^ 0x1234), None).unwrap();
    let s = l.segment();
    assert_eq!(residue(s, ipv6::pseudo_sum(&ns, dst, proto, s.len())), r0, "L4 (IPv6) residue moved");
    if proto == PROTO_UDP {
        assert_ne!(l.checksum(), 0, "over IPv6 a UDP checksum never becomes 0");
    }
}

fn ip6(b: &mut [u8]) {
    if let Ok(q) = Ipv6::new_checked_quoted(&*b) {
        read6(&q);
    }
    let Ok(mut v) = Ipv6::new_checked(&mut *b) else { return };
    read6(&v);
    let (src, dst, plen) = (v.src(), v.dst(), v.payload_len() as u16);
    let (ns, nd) = (other6(&src), other6(&dst));
    assert_eq!((v.set_src(ns), v.set_dst(nd)), (src, dst));
    v.dec_hop_limit();
    v.set_traffic_class(!v.traffic_class());
    v.set_flow_label(v.flow_label() ^ 0xf_0f0f);
    assert!(v.set_payload_len(plen));
    let Ok(up) = v.upper_layer() else { return };
    if !up.has_header() {
        return;
    }
    let (nh, u) = (up.proto, v.upper_payload_mut(&up));
    // The upper layer's residue under the old addresses, then fixed for
    // the new ones, must come out equal.
    let before = |u: &[u8]| residue(u, ipv6::pseudo_sum(&src, &dst, nh, u.len()));
    match nh {
        PROTO_TCP | PROTO_UDP => {
            let Ok(l) = L4::new_checked6(&*u, nh) else { return };
            let s = l.segment();
            let r0 = residue(s, ipv6::pseudo_sum(&src, &dst, nh, s.len()));
            let mut l = L4::new_checked6(&mut *u, nh).expect("same bytes");
            l.fix_addr6(&src, &ns);
            l.fix_addr6(&dst, &nd);
            let s = l.segment();
            assert_eq!(residue(s, ipv6::pseudo_sum(&ns, &nd, nh, s.len())), r0, "L4 over IPv6 residue moved");
        }
        NH_ICMPV6 => {
            let r0 = before(u);
            let Ok(mut m) = Icmpv6::new_checked(&mut *u) else { return };
            m.fix_addr6(&src, &ns);
            m.fix_addr6(&dst, &nd);
            let len = m.message().len();
            assert_eq!(residue(m.message(), ipv6::pseudo_sum(&ns, &nd, nh, len)), r0, "ICMPv6 residue moved");
            icmp6(u, &ns, &nd);
        }
        _ => {}
    }
}

fn read6<T: AsRef<[u8]>>(v: &Ipv6<T>) {
    black_box((v.traffic_class(), v.flow_label(), v.payload_len(), v.next_header(), v.hop_limit()));
    black_box((v.src(), v.dst(), v.header().len(), v.packet().len(), v.payload().len()));
    let Ok(up) = v.upper_layer() else { return };
    assert!(up.offset <= v.payload().len());
    let u = v.upper_payload(&up);
    black_box((up.has_header(), up.frag.map(|f| (f.is_first(), f.is_atomic())), v.pseudo_sum(up.proto, u.len())));
    if let Ok(l) = L4::new_checked6(u, up.proto) {
        read_l4(&l);
    }
    if up.proto == NH_ICMPV6 {
        if let Ok(m) = Icmpv6::new_checked(u) {
            read_icmp6(&m, &v.src(), &v.dst());
        }
    }
}

fn icmp(b: &mut [u8]) {
    let Ok(mut m) = Icmp::new_checked(&mut *b) else { return };
    black_box((m.msg_type(), m.code(), m.checksum(), m.is_error(), m.is_echo(), m.echo_id(), m.echo_seq()));
    black_box((m.next_hop_mtu(), m.pointer(), m.data().len(), m.message().len(), m.checksum_ok()));
    if let Some(q) = m.quoted() {
        if let Ok(q) = Ipv4::new_checked_quoted(q) {
            read4(&q);
        }
    }
    let r0 = residue(m.message(), 0);
    m.set_echo_id(m.echo_id() ^ 0xffff);
    m.set_echo_seq(m.echo_seq().wrapping_add(1));
    m.set_code(m.code() ^ 1);
    if m.msg_type() == icmp::ECHO_REQUEST {
        m.make_echo_reply();
    }
    if let Some(d) = m.data().get(..4) {
        let old = csum::sum(d, 0);
        m.data_mut()[..4].copy_from_slice(b"RVS!");
        m.fix_checksum(old, csum::sum(b"RVS!", 0));
    }
    assert_eq!(residue(m.message(), 0), r0, "ICMP residue moved");
    m.fill_checksum();
    assert!(m.checksum_ok());
}

fn read_icmp6<T: AsRef<[u8]>>(m: &Icmpv6<T>, src: &Addr6, dst: &Addr6) {
    black_box((m.msg_type(), m.code(), m.checksum(), m.is_error(), m.is_echo(), m.echo_id(), m.echo_seq()));
    black_box((m.mtu(), m.pointer(), m.data().len(), m.message().len(), m.checksum_ok(src, dst)));
    black_box((m.nd_target(), m.na_flags(), m.source_lladdr(), m.target_lladdr()));
    let mut n = 0;
    for o in m.nd_options() {
        black_box((o.kind, o.data.len()));
        n += 1;
    }
    assert!(n <= icmpv6::MAX_ND_OPTS);
    if let Some(q) = m.quoted() {
        if let Ok(q) = Ipv6::new_checked_quoted(q) {
            read6(&q);
        }
    }
}

fn icmp6(b: &mut [u8], src: &Addr6, dst: &Addr6) {
    let Ok(mut m) = Icmpv6::new_checked(&mut *b) else { return };
    read_icmp6(&m, src, dst);
    let r0 = residue(m.message(), ipv6::pseudo_sum(src, dst, NH_ICMPV6, m.message().len()));
    m.set_echo_id(m.echo_id().rotate_left(3));
    m.set_echo_seq(!m.echo_seq());
    m.set_code(m.code().wrapping_add(1));
    let ty = m.msg_type();
    assert!(m.set_type(ty));
    if ty == icmpv6::ECHO_REQUEST {
        m.make_echo_reply();
    }
    m.set_na_flags(!m.na_flags().unwrap_or(0));
    let nd = other6(dst);
    m.fix_addr6(dst, &nd);
    let r1 = residue(m.message(), ipv6::pseudo_sum(src, &nd, NH_ICMPV6, m.message().len()));
    assert_eq!(r0, r1, "ICMPv6 residue moved");
    let m = Icmpv6::new_checked(&mut *b).expect("rewrites keep the ICMPv6 gate");
    let mut m = m;
    m.fill_checksum(src, &nd);
    assert!(m.checksum_ok(src, &nd));
}

/// Seed inputs for `wire`: a frame of each kind the views read, built by
/// etherparse or by hand where it has no builder.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    use etherparse::{Icmpv6Type, PacketBuilder, VlanId};
    let (m1, m2) = ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let (a4, b4) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let (a6, b6) = (
        [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
    );
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |name: &str, f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = Vec::new();
        f(&mut b);
        out.push((format!("seed-{name}"), b));
    };
    let e = || PacketBuilder::ethernet2(m1, m2);
    add("ipv4-tcp", &|b| e().ipv4(a4, b4, 64).tcp(1000, 80, 1, 100).syn().write(b, b"x").unwrap());
    add("ipv4-udp", &|b| e().ipv4(a4, b4, 64).udp(53, 53).write(b, b"query").unwrap());
    add("ipv4-icmp-echo", &|b| e().ipv4(a4, b4, 64).icmpv4_echo_request(1, 2).write(b, b"ping").unwrap());
    add("vlan-ipv4-udp", &|b| {
        e().single_vlan(VlanId::try_new(42).unwrap()).ipv4(a4, b4, 64).udp(1, 2).write(b, b"v").unwrap()
    });
    add("ipv6-tcp", &|b| e().ipv6(a6, b6, 64).tcp(1000, 443, 1, 100).syn().write(b, b"x").unwrap());
    add("ipv6-udp", &|b| e().ipv6(a6, b6, 64).udp(1, 2).write(b, b"datagram").unwrap());
    add("ipv6-icmp6-echo", &|b| e().ipv6(a6, b6, 64).icmpv6_echo_request(7, 8).write(b, b"ping").unwrap());
    // SCTP (IP protocol 132): an INIT, and a COOKIE ECHO with an ABORT
    // bundled behind it, each with its CRC32c.
    let sctp = |chunks: &[(u8, &[u8])]| {
        let mut p = vec![0x9c, 0x40, 0x0f, 0x1c, 0, 0, 0, 0, 0, 0, 0, 0];
        for (ty, v) in chunks {
            p.extend_from_slice(&[*ty, 0]);
            p.extend_from_slice(&(4 + v.len() as u16).to_be_bytes());
            p.extend_from_slice(v);
            p.resize(p.len().next_multiple_of(4), 0);
        }
        let c = crc32c::crc32c(&p);
        p[8..12].copy_from_slice(&c.to_le_bytes());
        p
    };
    let init = sctp(&[(sctp::chunk::INIT, &[0, 0, 0, 7, 0, 1, 0, 0, 0, 10, 0, 10, 0, 0, 0, 1])]);
    let cookie = sctp(&[(sctp::chunk::COOKIE_ECHO, b"cookie"), (sctp::chunk::ABORT, b"")]);
    add("ipv4-sctp-init", &|b| e().ipv4(a4, b4, 64).write(b, etherparse::IpNumber(132), &init).unwrap());
    add("ipv6-sctp-cookie-abort", &|b| e().ipv6(a6, b6, 64).write(b, etherparse::IpNumber(132), &cookie).unwrap());
    add("ipv6-icmp6-ptb", &|b| {
        let mut q = Vec::new();
        PacketBuilder::ipv6(b6, a6, 64).udp(1, 2).write(&mut q, &[0; 64]).unwrap();
        e().ipv6(a6, b6, 64).icmpv6(Icmpv6Type::PacketTooBig { mtu: 1280 }).write(b, &q).unwrap()
    });
    add("ipv6-ns", &|b| {
        let mut p = a6.to_vec();
        p.extend_from_slice(&[1, 1, 2, 0, 0, 0, 0, 1]);
        e().ipv6(b6, a6, 255).icmpv6(Icmpv6Type::NeighborSolicitation).write(b, &p).unwrap()
    });
    add("arp-request", &|b| {
        b.extend_from_slice(&[0xff; 6]);
        b.extend_from_slice(&m1);
        b.extend_from_slice(&[8, 6, 0, 1, 8, 0, 6, 4, 0, 1]);
        b.extend_from_slice(&m1);
        b.extend_from_slice(&a4);
        b.extend_from_slice(&[0; 6]);
        b.extend_from_slice(&b4);
    });
    // IPv6 with hop-by-hop and a first fragment header before UDP (by
    // hand: etherparse 0.19 writes fragment headers wrongly).
    add("ipv6-hbh-frag-udp", &|b| {
        e().ipv6(a6, b6, 64).udp(1, 2).write(b, b"frag").unwrap();
        // Hop-by-hop (PadN) → first fragment (M set) → the UDP datagram,
        // whose checksum does not change: same addresses and length.
        let exts = [44u8, 0, 1, 4, 0, 0, 0, 0, 17, 0, 0, 1, 0, 0, 0, 9];
        b.splice(54..54, exts);
        b[20] = 0;
        let plen = (b.len() - 54) as u16;
        b[18..20].copy_from_slice(&plen.to_be_bytes());
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::PathBuf;

    fn fuzz_dir(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz").join(rel)
    }

    fn replay(rel: &str) -> usize {
        let dir = fuzz_dir(rel);
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            let b = std::fs::read(&p).unwrap();
            if let Err(e) = std::panic::catch_unwind(|| views(&b)) {
                eprintln!("failing input: {}", p.display());
                std::panic::resume_unwind(e);
            }
            n += 1;
        }
        n
    }

    #[test]
    fn corpus_wire_replays_clean() {
        assert!(replay("corpus/wire") >= seeds().len());
        // The frames corpus is bytes too: more shapes for free.
        assert!(replay("corpus/frames") > 0);
        assert!(replay("regressions/wire") >= 1);
    }

    /// Every seed is read by the views it was made for, and every prefix
    /// of it passes through all of them without a panic.
    #[test]
    fn seeds_parse_and_every_truncation_is_safe() {
        for (name, s) in seeds() {
            let e = Ethernet::new_checked(&s[..]).unwrap();
            // Valid all the way up, so that the rewrites' residue checks
            // start from right checksums.
            let ok = match e.ethertype() {
                TYPE_ARP => Arp::new_checked(e.payload()).is_ok(),
                TYPE_IPV4 => Ipv4::new_checked(e.payload()).is_ok_and(|v| {
                    let l4 = L4::new_checked(v.payload(), v.proto()).is_ok_and(|l| l.checksum_ok4(v.src(), v.dst()));
                    let icmp = Icmp::new_checked(v.payload()).is_ok_and(|m| m.checksum_ok());
                    v.checksum_ok() && if v.proto() == PROTO_ICMP { icmp } else { l4 }
                }),
                TYPE_IPV6 => Ipv6::new_checked(e.payload()).is_ok_and(|v| {
                    let Ok(up) = v.upper_layer() else { return false };
                    let u = v.upper_payload(&up);
                    match up.proto {
                        NH_ICMPV6 => Icmpv6::new_checked(u).is_ok_and(|m| m.checksum_ok(&v.src(), &v.dst())),
                        p => L4::new_checked6(u, p).is_ok_and(|l| l.checksum_ok6(&v.src(), &v.dst())),
                    }
                }),
                _ => false,
            };
            assert!(ok, "{name}");
            for n in 0..=s.len() {
                views(&s[..n]);
            }
        }
    }

    #[test]
    #[ignore = "writes files: run by hand to (re)create the seeds"]
    fn write_seeds() {
        let dir = fuzz_dir("corpus/wire");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, s) in seeds() {
            std::fs::write(dir.join(name), s).unwrap();
        }
    }

    fn mutated() -> impl Strategy<Value = Vec<u8>> {
        let seeds = seeds();
        (0..seeds.len(), proptest::collection::vec((any::<u16>(), any::<u8>()), 0..6), any::<u16>()).prop_map(
            move |(i, flips, cut)| {
                let mut b = seeds[i].1.clone();
                for (at, v) in flips {
                    let n = b.len();
                    b[at as usize % n] = v;
                }
                let keep = b.len() - cut as usize % (b.len() / 2);
                b.truncate(keep);
                b
            },
        )
    }

    proptest! {
        #[test]
        fn any_bytes_pass_every_view(b in proptest::collection::vec(any::<u8>(), 0..160)) {
            views(&b);
        }

        #[test]
        fn mutated_frames_pass_every_view(b in mutated()) {
            views(&b);
        }
    }
}
