//! The whole sans-IO path (engine + service path + modes) on crafted
//! frames, checked with an independent parser (etherparse).

use crate::conn::HZ;
use crate::drop::DropReason;
use crate::engine::{Engine, Io};
use crate::l3::neigh::Neighbours;
use crate::packet::eth::Mac;
use crate::redirect::Redirected;
use crate::service_path::{new_templates, ServicePath};
use crate::snapshot::{Iface, Service, ServiceTable, Snapshot};
use crate::stats::WorkerStats;
use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
use rvs_conf::{DestConf, FwdMethod, Proto, SchedKind, ServiceConf, ServiceKey};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

pub(crate) const C_MAC: Mac = [2, 0, 0, 0, 0, 0xc];
pub(crate) const S_MAC: Mac = [2, 0, 0, 0, 0, 0x5];
pub(crate) const CLI_MAC: Mac = [2, 0, 0, 0, 1, 0xc8];
pub(crate) const RS1_MAC: Mac = [2, 0, 0, 0, 2, 10];
pub(crate) const RS2_MAC: Mac = [2, 0, 0, 0, 2, 20];
pub(crate) const VIP: [u8; 4] = [172, 25, 254, 100];
pub(crate) const CIP: [u8; 4] = [172, 25, 254, 200];
pub(crate) const RS1: [u8; 4] = [192, 168, 0, 10];
pub(crate) const RS2: [u8; 4] = [192, 168, 0, 20];
pub(crate) const LIP: [u8; 4] = [192, 168, 0, 101];

#[derive(Default)]
pub(crate) struct TestIo {
    pub(crate) sent: Vec<(u16, Vec<u8>)>,
    pub(crate) redirected: Vec<(usize, Vec<u8>)>,
    /// The metadata each redirect carried, in the same order.
    pub(crate) redirected_meta: Vec<Option<crate::pipeline::AnyMeta>>,
}

impl Io<Vec<u8>> for TestIo {
    fn alloc(&mut self) -> Option<Vec<u8>> {
        Some(Vec::new())
    }
    fn tx(&mut self, port_id: u16, pkt: Vec<u8>) {
        self.sent.push((port_id, pkt));
    }
    fn redirect(&mut self, worker: usize, r: Redirected<Vec<u8>>) -> Result<(), Redirected<Vec<u8>>> {
        self.redirected.push((worker, r.pkt));
        self.redirected_meta.push(r.meta);
        Ok(())
    }
    fn to_neigh_owner(&mut self, _: u16, _: std::net::IpAddr, pkt: Vec<u8>) -> Result<(), Vec<u8>> {
        Err(pkt)
    }
}

pub(crate) fn ip(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

pub(crate) fn u(a: [u8; 4]) -> u32 {
    u32::from_be_bytes(a)
}

pub(crate) fn svc(fwd: FwdMethod, sched: SchedKind, dests: &[([u8; 4], u16, u32)]) -> ServiceConf {
    let mut s = ServiceConf::new(ServiceKey::Inet { proto: Proto::Tcp, addr: ip(VIP), port: 80 });
    s.scheduler = sched;
    s.dests = dests.iter().map(|(a, p, w)| DestConf::new(ip(*a), *p, fwd, *w)).collect();
    if fwd == FwdMethod::FullNat {
        s.laddrs = vec![ip(LIP)];
    }
    s
}

pub(crate) fn snapshot(gen: u64, workers: usize, services: &[ServiceConf], prev: Option<&Snapshot>) -> Snapshot {
    let ifaces = vec![
        Iface {
            name: "client".into(),
            port_id: 0,
            mac: C_MAC,
            addrs: vec![(u(VIP), 24)],
            addrs6: vec![],
            mtu: 1500,
            rss: None,
            kernel: None,
        },
        Iface {
            name: "server".into(),
            port_id: 1,
            mac: S_MAC,
            addrs: vec![(u([192, 168, 0, 100]), 24)],
            addrs6: vec![],
            mtu: 1500,
            rss: None,
            kernel: None,
        },
    ];
    let list = services
        .iter()
        .map(|s| {
            let old = prev.and_then(|p| p.services.list.iter().find(|o| o.conf.key == s.key));
            Service::build(s, workers, old)
        })
        .collect();
    Snapshot::new(gen, workers, ifaces, &[]).with_services(ServiceTable::new(list))
}

pub(crate) fn engine(id: usize, workers: usize, cap: usize) -> Engine<Vec<u8>> {
    let sp = ServicePath::new(id, workers, cap, new_templates(1024), 0);
    let mut e = Engine::new(id, Arc::new(WorkerStats::default()), sp);
    if let Some(t) = e.neigh.as_mut() {
        t.learn(0, u(CIP), CLI_MAC, 0);
        t.learn(1, u(RS1), RS1_MAC, 0);
        t.learn(1, u(RS2), RS2_MAC, 0);
    }
    e
}

pub(crate) fn tcp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, flags: &str, ttl: u8) -> Vec<u8> {
    let dmac = if dst == VIP || dst == LIP { C_MAC } else { S_MAC };
    let mut t = PacketBuilder::ethernet2([9; 6], dmac).ipv4(src, dst, ttl).tcp(sport, dport, 1, 1000);
    if flags.contains('S') {
        t = t.syn();
    }
    if flags.contains('A') {
        t = t.ack(1);
    }
    if flags.contains('F') {
        t = t.fin();
    }
    if flags.contains('R') {
        t = t.rst();
    }
    let mut b = Vec::new();
    t.write(&mut b, b"data").unwrap();
    b
}

/// (eth dst, ip src, sport, ip dst, dport) of a sent frame, checksums verified.
pub(crate) fn parsed(b: &[u8]) -> (Mac, [u8; 4], u16, [u8; 4], u16) {
    let p = SlicedPacket::from_ethernet(b).unwrap();
    let Some(etherparse::LinkSlice::Ethernet2(e)) = &p.link else { panic!() };
    let Some(NetSlice::Ipv4(ipv4)) = &p.net else { panic!("not ipv4") };
    let h = ipv4.header().to_header();
    assert_eq!(h.header_checksum, h.calc_header_checksum());
    let Some(TransportSlice::Tcp(t)) = p.transport else { panic!() };
    assert_eq!(t.checksum(), t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap());
    (e.destination(), h.source, t.source_port(), h.destination, t.destination_port())
}

pub(crate) fn run(e: &mut Engine<Vec<u8>>, snap: &Snapshot, pkt: Vec<u8>, port: u16, now: u64) -> TestIo {
    run_with(e, snap, &Neighbours::default(), pkt, port, now)
}

/// [`run`] on a worker other than 0, which sees worker 0's neighbours
/// through `neigh`.
pub(crate) fn run_with(
    e: &mut Engine<Vec<u8>>,
    snap: &Snapshot,
    neigh: &Neighbours,
    mut pkt: Vec<u8>,
    port: u16,
    now: u64,
) -> TestIo {
    // Addressed to the MAC of the port it arrives on.
    pkt[0..6].copy_from_slice(&snap.ifaces[port as usize].mac);
    let mut io = TestIo::default();
    e.handle(snap, neigh, &mut io, pkt, port, now);
    io
}

#[test]
fn nat_both_directions_with_port_mapping_and_states() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 8080, 1)])], None);
    let mut e = engine(0, 1, 64);
    let io = run(&mut e, &snap, tcp(CIP, 40000, VIP, 80, "S", 64), 0, 0);
    assert_eq!(io.sent.len(), 1, "drops: {:?}", e.stats.drop_list());
    let (port, f) = &io.sent[0];
    assert_eq!(*port, 1);
    assert_eq!(parsed(f), (RS1_MAC, CIP, 40000, RS1, 8080));
    assert_eq!(f[22], 63, "TTL decremented");
    let d = &snap.services.list[0].dests[0];
    let io = run(&mut e, &snap, tcp(RS1, 8080, CIP, 40000, "SA", 64), 1, 1);
    assert_eq!(parsed(&io.sent[0].1), (CLI_MAC, VIP, 80, CIP, 40000));
    run(&mut e, &snap, tcp(CIP, 40000, VIP, 80, "A", 64), 0, 2);
    assert_eq!((d.active(), d.inactive()), (1, 0));
    let (id, _) = e.svc.conns.lookup(&crate::conn::ConnKey::new(6, u(CIP), 40000, u(VIP), 80)).unwrap();
    assert_eq!(e.svc.conns.get(id).state, crate::conn::State::Established);
    // FIN from both sides: the entry leaves ActiveConn.
    run(&mut e, &snap, tcp(CIP, 40000, VIP, 80, "FA", 64), 0, 3);
    run(&mut e, &snap, tcp(RS1, 8080, CIP, 40000, "FA", 64), 1, 4);
    assert_eq!((d.active(), d.inactive()), (0, 1));
    // Timeout (TIME_WAIT 120 s): expiry settles the counters.
    let mut io = TestIo::default();
    for t in 4..130 * HZ {
        e.service_tick(&snap, &Neighbours::default(), &mut io, t);
    }
    assert_eq!((d.active(), d.inactive()), (0, 0));
    assert_eq!(e.svc.conns.len(), 0);
}

#[test]
fn rr_alternates_and_weight_zero_quiesces() {
    let conf = svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 80, 1), (RS2, 80, 1)]);
    let snap = snapshot(1, 1, std::slice::from_ref(&conf), None);
    let mut e = engine(0, 1, 64);
    let dsts: Vec<[u8; 4]> =
        (0..4).map(|i| parsed(&run(&mut e, &snap, tcp(CIP, 1000 + i, VIP, 80, "S", 64), 0, 0).sent[0].1).3).collect();
    assert_ne!(dsts[0], dsts[1]);
    assert_eq!(dsts[0], dsts[2]);
    // Quiesce RS1: new conns go to RS2, the live conn to RS1 continues.
    let live = if dsts[0] == RS1 { 1000 } else { 1001 };
    let mut q = conf.clone();
    q.dests[0].weight = 0;
    let snap2 = snapshot(2, 1, &[q], Some(&snap));
    for i in 0..4 {
        let io = run(&mut e, &snap2, tcp(CIP, 2000 + i, VIP, 80, "S", 64), 0, 1);
        assert_eq!(parsed(&io.sent[0].1).3, RS2);
    }
    let io = run(&mut e, &snap2, tcp(CIP, live, VIP, 80, "A", 64), 0, 1);
    assert_eq!(parsed(&io.sent[0].1).3, RS1, "live connection survives weight 0");
    // Counters were carried into the new snapshot.
    assert!(snap2.services.list[0].dests[0].inactive() + snap2.services.list[0].dests[0].active() >= 2);
}

#[test]
fn upper_threshold_overloads_dest() {
    let mut conf = svc(FwdMethod::Nat, SchedKind::Wlc, &[(RS1, 80, 100), (RS2, 80, 1)]);
    conf.dests[0].upper = 2;
    let snap = snapshot(1, 1, &[conf], None);
    let mut e = engine(0, 1, 64);
    let mut to_rs1 = 0;
    for i in 0..6 {
        let io = run(&mut e, &snap, tcp(CIP, 3000 + i, VIP, 80, "S", 64), 0, 0);
        if parsed(&io.sent[0].1).3 == RS1 {
            to_rs1 += 1;
        }
    }
    assert_eq!(to_rs1, 2, "RS1 takes no more than its upper threshold");
    assert!(snap.services.list[0].dests[0].overloaded());
}

#[test]
fn persistence_sticks_across_ports() {
    let mut conf = svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 80, 1), (RS2, 80, 1)]);
    conf.persistent = Some(300);
    let snap = snapshot(1, 1, &[conf], None);
    let mut e = engine(0, 1, 64);
    let first = parsed(&run(&mut e, &snap, tcp(CIP, 5000, VIP, 80, "S", 64), 0, 0).sent[0].1).3;
    for i in 1..6 {
        let io = run(&mut e, &snap, tcp(CIP, 5000 + i, VIP, 80, "S", 64), 0, i as u64);
        assert_eq!(parsed(&io.sent[0].1).3, first);
    }
    // Another client is scheduled on its own (rr moves on).
    let other = run(&mut e, &snap, tcp([172, 25, 254, 201], 5000, VIP, 80, "S", 64), 0, 9);
    assert_ne!(parsed(&other.sent[0].1).3, first);
}

#[test]
fn dr_rewrites_only_the_mac_and_tun_encapsulates() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::Dr, SchedKind::Rr, &[(RS1, 0, 1)])], None);
    let mut e = engine(0, 1, 64);
    let orig = tcp(CIP, 6000, VIP, 80, "S", 64);
    let io = run(&mut e, &snap, orig.clone(), 0, 0);
    let f = &io.sent[0].1;
    assert_eq!(parsed(f), (RS1_MAC, CIP, 6000, VIP, 80));
    assert_eq!(&f[6..12], &S_MAC);
    let snap = snapshot(1, 1, &[svc(FwdMethod::Tun, SchedKind::Rr, &[(RS1, 0, 1)])], None);
    let mut e = engine(0, 1, 64);
    let io = run(&mut e, &snap, orig.clone(), 0, 0);
    let f = &io.sent[0].1;
    let outer = crate::packet::ipv4::validate(f, 14).unwrap();
    assert_eq!((outer.src, outer.dst, outer.proto), (u([192, 168, 0, 100]), u(RS1), 4));
    let mut inner = f[..14].to_vec();
    inner.extend_from_slice(&f[34..]);
    assert_eq!(parsed(&inner).1, CIP);
}

#[test]
fn fullnat_translates_both_ends() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::FullNat, SchedKind::Rr, &[(RS1, 8080, 1)])], None);
    let mut e = engine(0, 1, 64);
    let io = run(&mut e, &snap, tcp(CIP, 7000, VIP, 80, "S", 64), 0, 0);
    let (_, s, lport, d, dp) = parsed(&io.sent[0].1);
    assert_eq!((s, d, dp), (LIP, RS1, 8080));
    let io = run(&mut e, &snap, tcp(RS1, 8080, LIP, lport, "SA", 64), 1, 1);
    assert_eq!(parsed(&io.sent[0].1), (CLI_MAC, VIP, 80, CIP, 7000));
    // The handshake's ACK carries TOA with the client address.
    let io = run(&mut e, &snap, tcp(CIP, 7000, VIP, 80, "A", 64), 0, 2);
    let f = &io.sent[0].1;
    parsed(f);
    assert_eq!(&f[54..62], &[254, 8, 0x1b, 0x58, 172, 25, 254, 200]);
}

#[test]
fn flows_go_to_their_owner_worker() {
    let snap = snapshot(1, 2, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 80, 1)])], None);
    let mut e0 = engine(0, 2, 64);
    let mut e1 = engine(1, 2, 64);
    let neigh = Neighbours { v4: e0.neigh.as_mut().unwrap().take_snapshot().unwrap(), ..Default::default() };
    let (mut r0, mut r1) = (0, 0);
    for p in 0..40u16 {
        let pkt = tcp(CIP, 9000 + p, VIP, 80, "S", 64);
        let owner = crate::conn::flow_hash(u(CIP), 9000 + p) as usize % 2;
        let io = run(&mut e0, &snap, pkt.clone(), 0, 0);
        // Every packet is accounted for: sent by its owner, nowhere else.
        let io = if owner == 0 {
            assert!(io.redirected.is_empty());
            r0 += 1;
            io
        } else {
            assert!(io.sent.is_empty());
            assert_eq!(io.redirected.len(), 1);
            assert_eq!(io.redirected[0].0, 1);
            let io = run_with(&mut e1, &snap, &neigh, pkt, 0, 0);
            assert!(io.redirected.is_empty());
            r1 += 1;
            io
        };
        assert_eq!(io.sent.len(), 1, "port {}: drops {:?} {:?}", 9000 + p, e0.stats.drop_list(), e1.stats.drop_list());
        assert_eq!(parsed(&io.sent[0].1), (RS1_MAC, CIP, 9000 + p, RS1, 80));
    }
    assert!(r0 > 5 && r1 > 5, "{r0} {r1}");
    assert_eq!((e0.stats.total_drops(), e1.stats.total_drops()), (0, 0));
    assert_eq!((e0.stats.redirect_out.get(), e1.stats.redirect_out.get()), (r1, 0));
}

#[test]
fn stray_and_expired_packets_are_counted() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 80, 1)])], None);
    let mut e = engine(0, 1, 2);
    run(&mut e, &snap, tcp(CIP, 1, VIP, 80, "A", 64), 0, 0);
    assert_eq!(e.stats.drops(DropReason::ConnNoSyn), 1);
    run(&mut e, &snap, tcp(CIP, 1, VIP, 80, "S", 1), 0, 0);
    assert_eq!(e.stats.drops(DropReason::IpTtlExceeded), 1);
    run(&mut e, &snap, tcp(CIP, 1, VIP, 81, "S", 64), 0, 0);
    assert_eq!(e.stats.drops(DropReason::NoService), 1);
    // Table of 2: the third new connection is refused, the first two flow.
    for p in 2..5 {
        run(&mut e, &snap, tcp(CIP, p, VIP, 80, "S", 64), 0, 0);
    }
    assert_eq!(e.stats.drops(DropReason::ConnTableFull), 1);
    assert_eq!(run(&mut e, &snap, tcp(CIP, 2, VIP, 80, "A", 64), 0, 0).sent.len(), 1);
}

/// `sloppy_tcp`: a director that did not see a flow's SYN (it came to
/// another director before an ECMP change) takes it over on its next
/// ACK, as ESTABLISHED, and `mh` sends it to the dest any director would
/// pick; a RST still starts nothing.
#[test]
fn sloppy_tcp_takes_over_mid_stream_flows() {
    let dests = [(RS1, 80, 1), (RS2, 80, 1)];
    let mut snap = snapshot(1, 1, &[svc(FwdMethod::Dr, SchedKind::Mh, &dests)], None);
    let mut e = engine(0, 1, 64);
    assert_eq!(run(&mut e, &snap, tcp(CIP, 5000, VIP, 80, "A", 64), 0, 0).sent.len(), 0);
    assert_eq!(e.stats.drops(DropReason::ConnNoSyn), 1);
    snap.sloppy_tcp = true;
    // Another director (its own engine, dests listed the other way round)
    // sees the SYNs; this one sees only later ACKs.
    let mut other = snapshot(1, 1, &[svc(FwdMethod::Dr, SchedKind::Mh, &[dests[1], dests[0]])], None);
    other.sloppy_tcp = true;
    let mut e2 = engine(0, 1, 64);
    for p in 5000..5032u16 {
        let first = run(&mut e2, &other, tcp(CIP, p, VIP, 80, "S", 64), 0, 0);
        let later = run(&mut e, &snap, tcp(CIP, p, VIP, 80, "A", 64), 0, 1);
        assert_eq!(later.sent.len(), 1, "drops: {:?}", e.stats.drop_list());
        assert_eq!(parsed(&later.sent[0].1).0, parsed(&first.sent[0].1).0, "port {p}: same real server");
        let (id, _) = e.svc.conns.lookup(&crate::conn::ConnKey::new(6, u(CIP), p, u(VIP), 80)).unwrap();
        assert_eq!(e.svc.conns.get(id).state, crate::conn::State::Established);
    }
    assert_eq!(run(&mut e, &snap, tcp(CIP, 6000, VIP, 80, "R", 64), 0, 2).sent.len(), 0);
    assert_eq!(e.stats.drops(DropReason::ConnNoSyn), 2);
}

fn icmp_error_about(outer_src: [u8; 4], outer_dst: [u8; 4], quoted: &[u8], dmac: Mac) -> Vec<u8> {
    let mut b = Vec::new();
    PacketBuilder::ethernet2([9; 6], dmac)
        .ipv4(outer_src, outer_dst, 64)
        .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
            etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1400 },
        ))
        .write(&mut b, quoted)
        .unwrap();
    b
}

#[test]
fn icmp_errors_are_translated_both_ways() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 8080, 1)])], None);
    let mut e = engine(0, 1, 64);
    run(&mut e, &snap, tcp(CIP, 4444, VIP, 80, "S", 64), 0, 0);
    // A router on the server side complains about our DNATed packet.
    let quoted = &tcp(CIP, 4444, RS1, 8080, "A", 63)[14..42];
    let io = run(&mut e, &snap, icmp_error_about([192, 168, 0, 1], CIP, quoted, S_MAC), 1, 1);
    assert_eq!(io.sent.len(), 1, "{:?}", e.stats.drop_list());
    let f = &io.sent[0].1;
    assert_eq!(io.sent[0].0, 0, "sent to the client side");
    assert_eq!(&f[26..30], &VIP, "outer source becomes the VIP");
    assert_eq!(&f[30..34], &CIP);
    assert_eq!(&f[42 + 16..42 + 20], &VIP, "quoted destination is the VIP again");
    assert_eq!(crate::packet::get16(f, 42 + 22), 80);
    // The client complains about a reply (VIP:80 -> CIP:4444): to the RS.
    let quoted = &tcp(VIP, 80, CIP, 4444, "A", 63)[14..42];
    let io = run(&mut e, &snap, icmp_error_about(CIP, VIP, quoted, C_MAC), 0, 2);
    let f = &io.sent[0].1;
    assert_eq!(io.sent[0].0, 1);
    assert_eq!(&f[30..34], &RS1);
    assert_eq!(&f[42 + 12..42 + 16], &RS1, "quoted source is the RS");
    assert_eq!(crate::packet::get16(f, 42 + 20), 8080);
    assert!(crate::packet::ipv4::validate(f, 14).is_ok());
    assert_eq!(crate::packet::csum::fold(crate::packet::csum::sum(&f[34..], 0)), 0xffff, "ICMP checksum");
    // An error about no known connection is counted.
    let quoted = &tcp(CIP, 1, RS1, 8080, "A", 63)[14..42];
    run(&mut e, &snap, icmp_error_about([192, 168, 0, 1], CIP, quoted, S_MAC), 1, 3);
    assert_eq!(e.stats.drops(DropReason::IcmpUnhandled), 1);
}
