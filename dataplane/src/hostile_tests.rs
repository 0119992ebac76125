//! Regression tests for the hostile-input findings (issue 11), each on
//! crafted frames through the whole sans-IO engine and checked with an
//! independent parser. Each failed (or panicked) on the code before the fix.

use crate::conn::HZ;
use crate::drop::DropReason;
use crate::engine_tests::*;
use crate::packet::{csum, get16, ipv4, put16};
use crate::snapshot::Snapshot;
use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
use rvs_conf::{FwdMethod, Proto, SchedKind, ServiceConf, ServiceKey, TunType};

const L4: usize = 34;

/// Recompute the TCP checksum of a frame (after crafting its header).
fn fix_tcp_csum(f: &mut [u8]) {
    put16(f, L4 + 16, 0);
    let src: [u8; 4] = f[26..30].try_into().unwrap();
    let dst: [u8; 4] = f[30..34].try_into().unwrap();
    let seg = (f.len() - L4) as u16;
    let s = csum::sum(&f[L4..], csum::pseudo_v4(src, dst, 6, seg));
    put16(f, L4 + 16, !csum::fold(s));
}

fn tcp_csum_ok(f: &[u8]) -> bool {
    let p = SlicedPacket::from_ethernet(f).unwrap();
    let Some(NetSlice::Ipv4(ip)) = &p.net else { panic!() };
    let Some(TransportSlice::Tcp(t)) = p.transport else { panic!() };
    t.checksum() == t.to_header().calc_checksum_ipv4(&ip.header().to_header(), t.payload()).unwrap()
}

fn set_df(f: &mut [u8], df: bool) {
    let v = get16(f, 20) & !0x4000 | if df { 0x4000 } else { 0 };
    put16(f, 20, v);
    ipv4::set_checksum(f, 14, 20);
}

/// A TCP frame with `payload` bytes of data.
fn tcp_big(src: [u8; 4], dst: [u8; 4], flags: &str, payload: usize, df: bool) -> Vec<u8> {
    let mut f = tcp(src, 7000, dst, 80, flags, 64);
    f.truncate(f.len() - 4);
    f.extend((0..payload).map(|i| i as u8));
    let total = (f.len() - 14) as u16;
    put16(&mut f, 16, total);
    set_df(&mut f, df);
    fix_tcp_csum(&mut f);
    f
}

/// FULLNAT director with one connection past its SYN.
fn fullnat_after_syn() -> (Snapshot, crate::engine::Engine<Vec<u8>>) {
    let snap = snapshot(1, 1, &[svc(FwdMethod::FullNat, SchedKind::Rr, &[(RS1, 8080, 1)])], None);
    let mut e = engine(0, 1, 64);
    assert_eq!(run(&mut e, &snap, tcp(CIP, 7000, VIP, 80, "S", 64), 0, 0).sent.len(), 1);
    (snap, e)
}

/// A pure ACK with no payload: a 20-byte header and nothing after it.
fn bare_ack(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut f = tcp(src, sport, dst, dport, "A", 64);
    f.truncate(f.len() - 4);
    put16(&mut f, 16, 40);
    ipv4::set_checksum(&mut f, 14, 20);
    fix_tcp_csum(&mut f);
    f
}

#[test]
fn fullnat_ack_with_data_offset_past_the_segment_is_dropped() {
    // The remote crash: a SYN, then an ACK whose data offset points past
    // the end of its 20-byte segment.
    let (snap, mut e) = fullnat_after_syn();
    for doff in 6u8..=15 {
        let mut f = bare_ack(CIP, 7000, VIP, 80);
        f[L4 + 12] = doff << 4;
        fix_tcp_csum(&mut f);
        let io = run(&mut e, &snap, f, 0, 1);
        assert!(io.sent.is_empty(), "doff {doff}");
    }
    assert_eq!(e.stats.drops(DropReason::TcpBadDoff), 10);
    // The connection is intact: the real ACK still gets its TOA.
    let io = run(&mut e, &snap, bare_ack(CIP, 7000, VIP, 80), 0, 2);
    assert_eq!(&io.sent[0].1[54..56], &[254, 8]);
    assert!(tcp_csum_ok(&io.sent[0].1));
}

/// Run the service tick at every tick in `ticks`.
fn tick_through(e: &mut crate::engine::Engine<Vec<u8>>, snap: &Snapshot, ticks: std::ops::Range<u64>) {
    let mut io = TestIo::default();
    for t in ticks {
        e.service_tick(snap, &Default::default(), &mut io, t);
    }
}

#[test]
fn fullnat_data_offset_below_five_or_options_into_payload_are_dropped() {
    let (snap, mut e) = fullnat_after_syn();
    for doff in [0u8, 4] {
        let mut f = tcp(CIP, 7000, VIP, 80, "A", 64);
        f[L4 + 12] = doff << 4;
        run(&mut e, &snap, f, 0, 1);
    }
    assert_eq!(e.stats.drops(DropReason::TcpBadDoff), 2);
    // doff 6 with an MSS option claiming 10 bytes: it ends in the payload.
    let mut f = tcp(CIP, 7000, VIP, 80, "A", 64);
    f.splice(L4 + 20..L4 + 20, [2u8, 10, 5, 0xb4]);
    f[L4 + 12] = 6 << 4;
    let total = (f.len() - 14) as u16;
    put16(&mut f, 16, total);
    ipv4::set_checksum(&mut f, 14, 20);
    fix_tcp_csum(&mut f);
    let io = run(&mut e, &snap, f, 0, 1);
    assert!(io.sent.is_empty());
    assert_eq!(e.stats.drops(DropReason::TcpBadOptions), 1);
}

#[test]
fn fullnat_toa_keeps_a_bad_checksum_bad() {
    let (snap, mut e) = fullnat_after_syn();
    let mut f = tcp(CIP, 7000, VIP, 80, "A", 64);
    f[L4 + 16] ^= 0x11;
    let io = run(&mut e, &snap, f, 0, 1);
    let out = &io.sent[0].1;
    assert_eq!(&out[54..56], &[254, 8], "TOA added");
    assert!(!tcp_csum_ok(out), "a corrupt segment must not leave repaired");
    // And a good one leaves good.
    let (snap, mut e) = fullnat_after_syn();
    let io = run(&mut e, &snap, tcp(CIP, 7000, VIP, 80, "A", 64), 0, 1);
    assert!(tcp_csum_ok(&io.sent[0].1));
}

#[test]
fn group_macs_do_not_enter_the_service_path() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 80, 1)])], None);
    let mut e = engine(0, 1, 64);
    for mac in [[0xff; 6], [0x01, 0x00, 0x5e, 0, 0, 1], [0x33, 0x33, 0, 0, 0, 1]] {
        let mut f = tcp(CIP, 7000, VIP, 80, "S", 64);
        f[0..6].copy_from_slice(&mac);
        let mut io = TestIo::default();
        e.handle(&snap, &Default::default(), &mut io, f, 0, 0);
        assert!(io.sent.is_empty() && io.redirected.is_empty());
    }
    assert_eq!(e.stats.drops(DropReason::EthMulticast), 3);
    assert_eq!(e.svc.conns.len(), 0);
    // ARP requests still arrive broadcast and are answered.
    let mut arp = Vec::new();
    PacketBuilder::ethernet2(CLI_MAC, [0xff; 6])
        .arp(
            etherparse::ArpPacket::new(
                etherparse::ArpHardwareId::ETHERNET,
                etherparse::EtherType::IPV4,
                etherparse::ArpOperation::REQUEST,
                &CLI_MAC,
                &CIP,
                &[0; 6],
                &VIP,
            )
            .unwrap(),
        )
        .write(&mut arp)
        .unwrap();
    let mut io = TestIo::default();
    e.handle(&snap, &Default::default(), &mut io, arp, 0, 0);
    assert_eq!(io.sent.len(), 1, "{:?}", e.stats.drop_list());
}

#[test]
fn martian_and_own_sources_are_dropped() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::FullNat, SchedKind::Rr, &[(RS1, 80, 1)])], None);
    let mut e = engine(0, 1, 64);
    let bad = [[0, 1, 2, 3], [127, 0, 0, 1], [224, 0, 0, 5], [239, 1, 1, 1], [240, 0, 0, 1], [255; 4], VIP, LIP];
    for src in bad {
        let io = run(&mut e, &snap, tcp(src, 7000, VIP, 80, "S", 64), 0, 0);
        assert!(io.sent.is_empty(), "{src:?}");
    }
    // The director's own address on the server side, too.
    run(&mut e, &snap, tcp([192, 168, 0, 100], 7000, VIP, 80, "S", 64), 0, 0);
    assert_eq!(e.stats.drops(DropReason::IpMartianSrc), bad.len() as u64 + 1);
    assert_eq!(e.svc.conns.len(), 0);
}

/// NAT director whose server side has MTU `mtu`.
fn nat_with_server_mtu(mtu: u16) -> (Snapshot, crate::engine::Engine<Vec<u8>>) {
    let mut snap = snapshot(1, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 80, 1)])], None);
    snap.ifaces[1].mtu = mtu;
    (snap, engine(0, 1, 64))
}

#[test]
fn df_packets_over_the_egress_mtu_get_frag_needed() {
    let (snap, mut e) = nat_with_server_mtu(1400);
    let syn = tcp(CIP, 7000, VIP, 80, "S", 64);
    run(&mut e, &snap, syn, 0, 0);
    let big = tcp_big(CIP, VIP, "A", 1400, true);
    let orig = big.clone();
    let io = run(&mut e, &snap, big, 0, 1);
    assert_eq!(io.sent.len(), 1, "only the ICMP error: {:?}", e.stats.drop_list());
    let (port, f) = &io.sent[0];
    assert_eq!(*port, 0, "back to the client side");
    let p = SlicedPacket::from_ethernet(f).unwrap();
    let Some(NetSlice::Ipv4(ip)) = &p.net else { panic!() };
    assert_eq!(ip.header().destination(), CIP);
    let Some(TransportSlice::Icmpv4(ic)) = p.transport else { panic!() };
    match ic.icmp_type() {
        etherparse::Icmpv4Type::DestinationUnreachable(
            etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu },
        ) => assert_eq!(next_hop_mtu, 1400),
        t => panic!("{t:?}"),
    }
    // It quotes the packet as the client sent it (to the VIP, TTL 64).
    assert_eq!(&ic.payload()[..28], &orig[14..42]);
    assert_eq!(e.stats.drops(DropReason::TooBig), 1);
    assert_eq!(e.stats.icmp_err_sent.get(), 1);
}

#[test]
fn packets_without_df_are_fragmented_at_the_egress_mtu() {
    let (snap, mut e) = nat_with_server_mtu(1400);
    run(&mut e, &snap, tcp(CIP, 7000, VIP, 80, "S", 64), 0, 0);
    let big = tcp_big(CIP, VIP, "A", 2000, false);
    let io = run(&mut e, &snap, big.clone(), 0, 1);
    assert_eq!(io.sent.len(), 2, "{:?}", e.stats.drop_list());
    let mut data = vec![0u8; 2020];
    let mut seen = 0;
    for (port, f) in &io.sent {
        assert_eq!(*port, 1);
        assert!(f.len() - 14 <= 1400);
        assert_eq!(&f[0..6], &RS1_MAC);
        let info = ipv4::validate(f, 14).unwrap();
        assert_eq!((info.src, info.dst), (u(CIP), u(RS1)));
        let off = (get16(f, 20) & 0x1fff) as usize * 8;
        let body = &f[34..];
        data[off..off + body.len()].copy_from_slice(body);
        seen += body.len();
    }
    assert_eq!(seen, 2020);
    // Reassembled, it is the DNATed segment with a valid checksum.
    let mut whole = io.sent[0].1[..34].to_vec();
    whole.extend_from_slice(&data);
    put16(&mut whole, 16, 2040);
    put16(&mut whole, 20, 0);
    ipv4::set_checksum(&mut whole, 14, 20);
    assert_eq!(parsed(&whole), (RS1_MAC, CIP, 7000, RS1, 80));
    assert_eq!(e.stats.frags_out.get(), 2);
}

#[test]
fn jumbo_mtu_carries_big_frames_unfragmented() {
    let (mut snap, mut e) = nat_with_server_mtu(9000);
    snap.ifaces[0].mtu = 9000;
    run(&mut e, &snap, tcp(CIP, 7000, VIP, 80, "S", 64), 0, 0);
    let io = run(&mut e, &snap, tcp_big(CIP, VIP, "A", 8000, true), 0, 1);
    assert_eq!(io.sent.len(), 1);
    assert_eq!(io.sent[0].1.len(), 14 + 40 + 8000);
}

fn tun_director(tt: TunType, mtu: u16) -> (Snapshot, crate::engine::Engine<Vec<u8>>) {
    let mut conf = svc(FwdMethod::Tun, SchedKind::Rr, &[(RS1, 80, 1)]);
    conf.dests[0].tun_type = tt;
    conf.dests[0].tun_port = 7777;
    let mut snap = snapshot(1, 1, &[conf], None);
    snap.ifaces[1].mtu = mtu;
    (snap, engine(0, 1, 64))
}

#[test]
fn tun_outer_header_copies_dscp_ecn_and_ttl() {
    let (snap, mut e) = tun_director(TunType::Ipip, 1500);
    let mut syn = tcp(CIP, 7000, VIP, 80, "S", 9);
    syn[15] = 0xb9; // DSCP EF (46), ECN ECT(1)
    ipv4::set_checksum(&mut syn, 14, 20);
    let io = run(&mut e, &snap, syn, 0, 0);
    let f = &io.sent[0].1;
    let outer = ipv4::validate(f, 14).unwrap();
    assert_eq!(outer.proto, ipv4::PROTO_IPIP);
    assert_eq!(f[15], 0xb9, "TOS of the outer header");
    assert_eq!(outer.ttl, 8, "the inner TTL (after our decrement), not at least 2");
    assert_eq!(f[34 + 8], 8);
}

#[test]
fn tun_without_df_is_encapsulated_and_fragmented() {
    let (snap, mut e) = tun_director(TunType::Ipip, 1500);
    run(&mut e, &snap, tcp(CIP, 7000, VIP, 80, "S", 64), 0, 0);
    let io = run(&mut e, &snap, tcp_big(CIP, VIP, "A", 1460, false), 0, 1);
    assert_eq!(io.sent.len(), 2, "{:?}", e.stats.drop_list());
    for (_, f) in &io.sent {
        let outer = ipv4::validate(f, 14).unwrap();
        assert_eq!((outer.proto, outer.dst), (ipv4::PROTO_IPIP, u(RS1)));
        assert!(outer.fragment && f.len() - 14 <= 1500);
    }
    assert_eq!(e.stats.drops(DropReason::TooBig), 0);
    // With DF the client is told the inner MTU.
    let io = run(&mut e, &snap, tcp_big(CIP, VIP, "A", 1460, true), 0, 2);
    assert_eq!(io.sent.len(), 1);
    assert_eq!(get16(&io.sent[0].1, 34 + 6), 1480);
    assert_eq!(e.stats.drops(DropReason::TooBig), 1);
}

#[test]
fn icmp_errors_to_a_tun_dest_use_its_tunnel_type() {
    let (snap, mut e) = tun_director(TunType::Gue, 1500);
    let io = run(&mut e, &snap, tcp(CIP, 4444, VIP, 80, "S", 64), 0, 0);
    assert_eq!(ipv4::validate(&io.sent[0].1, 14).unwrap().proto, ipv4::PROTO_UDP, "GUE");
    // The client complains about a reply VIP:80 -> CIP:4444 (sent by the RS).
    let quoted = &tcp(VIP, 80, CIP, 4444, "A", 63)[14..42];
    let mut err = Vec::new();
    PacketBuilder::ethernet2([9; 6], C_MAC)
        .ipv4(CIP, VIP, 64)
        .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(etherparse::icmpv4::DestUnreachableHeader::Port))
        .write(&mut err, quoted)
        .unwrap();
    let io = run(&mut e, &snap, err, 0, 1);
    assert_eq!(io.sent.len(), 1, "{:?}", e.stats.drop_list());
    let f = &io.sent[0].1;
    let outer = ipv4::validate(f, 14).unwrap();
    assert_eq!((outer.proto, outer.dst), (ipv4::PROTO_UDP, u(RS1)), "encapsulated as GUE, not IPIP");
    assert_eq!(get16(f, 36), 7777);
}

#[test]
fn ttl_expiry_answers_time_exceeded_within_the_rate_limit() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 80, 1)])], None);
    let mut e = engine(0, 1, 64);
    let io = run(&mut e, &snap, tcp(CIP, 7000, VIP, 80, "S", 1), 0, 0);
    assert_eq!(io.sent.len(), 1);
    let p = SlicedPacket::from_ethernet(&io.sent[0].1).unwrap();
    let Some(TransportSlice::Icmpv4(ic)) = p.transport else { panic!() };
    assert!(matches!(ic.icmp_type(), etherparse::Icmpv4Type::TimeExceeded(_)), "{:?}", ic.icmp_type());
    // A burst within one tick: the bucket (50) runs dry, the rest is counted.
    let mut sent = 1;
    for i in 0..99u16 {
        sent += run(&mut e, &snap, tcp(CIP, 7001 + i, VIP, 80, "S", 1), 0, 0).sent.len();
    }
    assert_eq!(sent, 50);
    assert_eq!(e.stats.icmp_err_suppressed.get(), 50);
    assert_eq!(e.stats.drops(DropReason::IpTtlExceeded), 100);
    // Tokens come back with time (1000/s).
    assert_eq!(run(&mut e, &snap, tcp(CIP, 9999, VIP, 80, "S", 1), 0, HZ).sent.len(), 1);
}

#[test]
fn syn_ack_is_scheduled_like_ipvs() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 80, 1)])], None);
    let mut e = engine(0, 1, 64);
    let io = run(&mut e, &snap, tcp(CIP, 7000, VIP, 80, "SA", 64), 0, 0);
    assert_eq!(io.sent.len(), 1);
    assert_eq!(e.svc.conns.len(), 1);
    run(&mut e, &snap, tcp(CIP, 7001, VIP, 80, "SR", 64), 0, 0);
    assert_eq!(e.stats.drops(DropReason::ConnNoSyn), 1, "SYN+RST is not");
}

#[test]
fn packets_waiting_for_arp_are_counted_at_shutdown() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[([192, 168, 0, 30], 80, 1)])], None);
    let mut e = engine(0, 1, 64);
    let io = run(&mut e, &snap, tcp(CIP, 7000, VIP, 80, "S", 64), 0, 0);
    assert_eq!(io.sent.len(), 1, "only the ARP probe");
    e.shutdown();
    assert_eq!(e.stats.drops(DropReason::Shutdown), 1);
}

#[test]
fn expiry_honours_its_budget() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 80, 1)])], None);
    let mut e = engine(0, 1, 4096);
    for p in 0..2000u16 {
        run(&mut e, &snap, tcp(CIP, 10000 + p, VIP, 80, "S", 64), 0, 0);
    }
    assert_eq!(e.svc.conns.len(), 2000);
    // All 2000 fall due on the same tick: no tick may expire more than
    // the budget, so it takes several.
    let mut io = TestIo::default();
    let (mut most, mut busy) = (0, 0);
    for t in 1..400 * HZ {
        let before = e.stats.conns_expired.get();
        e.service_tick(&snap, &Default::default(), &mut io, t);
        let n = e.stats.conns_expired.get() - before;
        most = most.max(n);
        busy += (n > 0) as u32;
    }
    assert_eq!(e.svc.conns.len(), 0);
    assert_eq!(most, 512, "bounded by EXPIRE_BUDGET");
    assert!(busy >= 4, "{busy} ticks");
    assert_eq!(snap.services.list[0].dests[0].inactive(), 0);
}

#[test]
fn persist_conn_falls_when_templates_expire() {
    let mut conf = svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 80, 1)]);
    conf.persistent = Some(10);
    let snap = snapshot(1, 1, &[conf], None);
    let mut e = engine(0, 1, 64);
    run(&mut e, &snap, tcp(CIP, 7000, VIP, 80, "S", 64), 0, 0);
    let d = &snap.services.list[0].dests[0];
    assert_eq!(d.rt.persist(), 1);
    tick_through(&mut e, &snap, 1..400 * HZ);
    assert_eq!(e.svc.conns.len(), 0);
    assert_eq!(d.rt.persist(), 0, "the template expired");
}

#[test]
fn templates_are_keyed_by_service_identity() {
    // Two persistent services on one VIP (TCP and UDP port 80), each with
    // its own dest: a client's template in one never steers the other.
    let mut tcp_svc = svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 80, 1)]);
    tcp_svc.persistent = Some(300);
    let mut udp_svc = ServiceConf::new(ServiceKey::Inet { proto: Proto::Udp, addr: ip(VIP), port: 80 });
    udp_svc.persistent = Some(300);
    udp_svc.dests = vec![rvs_conf::DestConf::new(ip(RS2), 80, FwdMethod::Nat, 1)];
    let snap = snapshot(1, 1, &[tcp_svc, udp_svc], None);
    let mut e = engine(0, 1, 64);
    run(&mut e, &snap, tcp(CIP, 7000, VIP, 80, "S", 64), 0, 0);
    let mut u = Vec::new();
    PacketBuilder::ethernet2([9; 6], C_MAC).ipv4(CIP, VIP, 64).udp(7001, 80).write(&mut u, b"q").unwrap();
    let io = run(&mut e, &snap, u, 0, 1);
    assert_eq!(&io.sent[0].1[30..34], &RS2);
    assert_eq!(e.svc.templates_len(), 2);
}

#[test]
fn fullnat_local_ports_are_reused_first_in_first_out() {
    let (snap, mut e) = fullnat_after_syn();
    let first = e.svc.conns.iter().next().map(|(_, c)| c.lport).unwrap();
    // Expire it: the freed port goes to the back of the queue.
    tick_through(&mut e, &snap, 1..400 * HZ);
    assert_eq!(e.svc.conns.len(), 0);
    run(&mut e, &snap, tcp(CIP, 7001, VIP, 80, "S", 64), 0, 400 * HZ);
    let next = e.svc.conns.iter().next().map(|(_, c)| c.lport).unwrap();
    assert_ne!(next, first, "the port just freed is not handed out again at once");
}
