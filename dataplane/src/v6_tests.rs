//! IPv6 through the whole sans-IO path: the gate, Neighbour Discovery,
//! echo, NAT / FULLNAT / DR over the IPv6 connection table, hop limit and
//! packet-too-big; frames checked with etherparse (via `testpkt6`).

use crate::conn::HZ;
use crate::engine::Engine;
use crate::engine_tests::{engine, TestIo, CLI_MAC, C_MAC, RS1_MAC, S_MAC};
use crate::l3::nd;
use crate::l3::neigh::Neighbours;
use crate::modes::testpkt6::{check6, tcp6, udp6};
use crate::snapshot::{Iface, Service, ServiceTable, Snapshot};
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use rvs_conf::{DestConf, FwdMethod, Proto, SchedKind, ServiceConf, ServiceKey};
use std::net::{IpAddr, Ipv6Addr};

const CIP: u128 = 0x2001_0db8_000c_0000_0000_0000_0000_0200;
const VIP: u128 = 0x2001_0db8_000c_0000_0000_0000_0000_0100;
const DIP: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0100;
const RS1: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0010;
const LIP: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0101;
const DR_VIP: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0200;

fn ip6(a: u128) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(a))
}

fn service(vip: u128, proto: Proto, fwd: FwdMethod, rport: u16) -> ServiceConf {
    let mut s = ServiceConf::new(ServiceKey::Inet { proto, addr: ip6(vip), port: 80 });
    s.scheduler = SchedKind::Rr;
    s.dests = vec![DestConf::new(ip6(RS1), rport, fwd, 1)];
    if fwd == FwdMethod::FullNat {
        s.laddrs = vec![ip6(LIP)];
    }
    s
}

fn snapshot(services: &[ServiceConf], mtu: u16) -> Snapshot {
    let iface = |name: &str, port_id, mac, addr| Iface {
        name: name.into(),
        port_id,
        mac,
        addrs: vec![],
        addrs6: vec![(addr, 64)],
        mtu,
        rss: None,
        kernel: None,
    };
    let ifaces = vec![iface("client", 0, C_MAC, VIP), iface("server", 1, S_MAC, DIP)];
    let list = services.iter().map(|s| Service::build(s, 1, None)).collect();
    Snapshot::new(1, 1, ifaces, &[]).with_services(ServiceTable::new(list))
}

/// Worker 0 of 1, knowing the client and RS1 (unless `know_rs` is false).
fn engine6(know_rs: bool) -> Engine<Vec<u8>> {
    let mut e = engine(0, 1, 64);
    let t = e.neigh6.as_mut().unwrap();
    t.learn(0, CIP, CLI_MAC, 0);
    if know_rs {
        t.learn(1, RS1, RS1_MAC, 0);
    }
    e
}

/// `frame` (built for any MAC) as received on `port` addressed to us.
fn on(port: u16, mut frame: Vec<u8>) -> (Vec<u8>, u16) {
    frame[..6].copy_from_slice(if port == 0 { &C_MAC } else { &S_MAC });
    frame[6..12].copy_from_slice(if port == 0 { &CLI_MAC } else { &RS1_MAC });
    (frame, port)
}

fn run(e: &mut Engine<Vec<u8>>, snap: &Snapshot, (pkt, port): (Vec<u8>, u16)) -> TestIo {
    let mut io = TestIo::default();
    e.handle(snap, &Neighbours::default(), &mut io, pkt, port, HZ);
    io
}

fn hop_limit(b: &[u8]) -> u8 {
    b[14 + 7]
}

fn drops(e: &Engine<Vec<u8>>) -> u64 {
    e.stats.total_drops()
}

#[test]
fn nat_conversation_both_directions() {
    let snap = snapshot(&[service(VIP, Proto::Tcp, FwdMethod::Nat, 8080)], 1500);
    let mut e = engine6(true);
    let io = run(&mut e, &snap, on(0, tcp6(CIP, 40000, VIP, 80, true, b"", false)));
    assert_eq!(io.sent.len(), 1, "{:?}", e.stats.drop_list());
    let (port, f) = &io.sent[0];
    assert_eq!((*port, &f[..6], &f[6..12]), (1, &RS1_MAC[..], &S_MAC[..]));
    assert_eq!(check6(f), (CIP, 40000, RS1, 8080));
    assert_eq!(hop_limit(f), 63);
    assert_eq!(e.svc.conns6.len(), 1);
    assert_eq!(e.svc.conns.len(), 0, "IPv4 table untouched");
    // The reply comes back from the VIP.
    let io = run(&mut e, &snap, on(1, tcp6(RS1, 8080, CIP, 40000, false, b"hello", true)));
    assert_eq!(io.sent.len(), 1);
    let (port, f) = &io.sent[0];
    assert_eq!((*port, &f[..6]), (0, &CLI_MAC[..]));
    assert_eq!(check6(f), (VIP, 80, CIP, 40000));
    assert_eq!(drops(&e), 0);
}

#[test]
fn udp_nat_and_unknown_service() {
    let snap = snapshot(&[service(VIP, Proto::Udp, FwdMethod::Nat, 53)], 1500);
    let mut e = engine6(true);
    let io = run(&mut e, &snap, on(0, udp6(CIP, 5353, VIP, 80, b"q", false)));
    assert_eq!(check6(&io.sent[0].1), (CIP, 5353, RS1, 53));
    let io = run(&mut e, &snap, on(0, udp6(CIP, 5353, VIP, 81, b"q", false)));
    assert!(io.sent.is_empty());
    assert_eq!(e.stats.drops(crate::drop::DropReason::NoService), 1);
}

#[test]
fn fullnat_sends_from_the_lip_and_carries_toa6() {
    let snap = snapshot(&[service(VIP, Proto::Tcp, FwdMethod::FullNat, 8080)], 1500);
    let mut e = engine6(true);
    let io = run(&mut e, &snap, on(0, tcp6(CIP, 40000, VIP, 80, true, b"", false)));
    let (src, lport, dst, dport) = check6(&io.sent[0].1);
    assert_eq!((src, dst, dport), (LIP, RS1, 8080));
    let io = run(&mut e, &snap, on(1, tcp6(RS1, 8080, LIP, lport, false, b"", false)));
    assert_eq!(check6(&io.sent[0].1), (VIP, 80, CIP, 40000));
    // The client's final ACK carries the IPv6 TOA option (kind 254, 20 bytes).
    let io = run(&mut e, &snap, on(0, tcp6(CIP, 40000, VIP, 80, false, b"", false)));
    let f = &io.sent[0].1;
    assert_eq!(check6(f), (LIP, lport, RS1, 8080));
    let p = SlicedPacket::from_ethernet(f).unwrap();
    let Some(TransportSlice::Tcp(t)) = p.transport else { panic!() };
    let opts = t.options();
    let i = opts.iter().position(|&b| b == 254).expect("toa option");
    assert_eq!(opts[i + 1], 20);
    assert_eq!(&opts[i + 2..i + 4], &40000u16.to_be_bytes());
    assert_eq!(&opts[i + 4..i + 20], &CIP.to_be_bytes());
}

#[test]
fn dr_rewrites_only_the_mac() {
    let snap = snapshot(&[service(DR_VIP, Proto::Tcp, FwdMethod::Dr, 0)], 1500);
    let mut e = engine6(true);
    let mut req = tcp6(CIP, 40000, DR_VIP, 80, true, b"", false);
    req[..6].copy_from_slice(&S_MAC);
    let io = run(&mut e, &snap, (req.clone(), 1));
    let (port, f) = &io.sent[0];
    assert_eq!((*port, &f[..6]), (1, &RS1_MAC[..]));
    assert_eq!(check6(f), (CIP, 40000, DR_VIP, 80));
    assert_eq!(&f[14 + 8..], &req[14 + 8..], "addresses, ports and payload unchanged");
    assert_eq!(e.svc.conns6.len(), 1);
}

#[test]
fn answers_solicitations_for_vip_and_learns_the_sender() {
    let snap = snapshot(&[service(VIP, Proto::Tcp, FwdMethod::Nat, 8080)], 1500);
    let mut e = engine6(false);
    let other = [2, 0, 0, 0, 9, 9];
    let mut ns = Vec::new();
    assert!(nd::make_solicit(&mut ns, other, CIP + 7, VIP, None));
    let io = run(&mut e, &snap, (ns, 0));
    assert_eq!(io.sent.len(), 1);
    let (port, na) = &io.sent[0];
    assert_eq!(*port, 0);
    let Ok(nd::Nd::Advert(a)) = nd::parse(na) else { panic!("not an advert") };
    assert_eq!((a.target, a.dst, a.solicited, a.target_mac), (VIP, CIP + 7, true, Some(C_MAC)));
    assert_eq!(e.neigh6.as_ref().unwrap().get(0, CIP + 7), Some(other));
    // Not ours: counted, not answered.
    let mut ns = Vec::new();
    assert!(nd::make_solicit(&mut ns, other, CIP + 7, CIP + 8, None));
    assert!(run(&mut e, &snap, (ns, 0)).sent.is_empty());
    assert_eq!(e.stats.drops(crate::drop::DropReason::NdNotForUs), 1);
}

#[test]
fn unresolved_real_server_is_solicited_then_sent_on_advert() {
    let snap = snapshot(&[service(VIP, Proto::Tcp, FwdMethod::Nat, 8080)], 1500);
    let mut e = engine6(false);
    let io = run(&mut e, &snap, on(0, tcp6(CIP, 40000, VIP, 80, true, b"", false)));
    assert_eq!(io.sent.len(), 1, "only the solicitation");
    let (port, ns) = &io.sent[0];
    assert_eq!(*port, 1);
    let Ok(nd::Nd::Solicit(s)) = nd::parse(ns) else { panic!("not a solicitation") };
    assert_eq!((s.target, s.src, s.dst), (RS1, DIP, nd::solicited_node(RS1)));
    let mut na = Vec::new();
    assert!(nd::make_unsolicited_advert(&mut na, RS1_MAC, RS1));
    let io = run(&mut e, &snap, (na, 1));
    assert_eq!(io.sent.len(), 1, "the queued SYN");
    assert_eq!(&io.sent[0].1[..6], &RS1_MAC);
    assert_eq!(check6(&io.sent[0].1), (CIP, 40000, RS1, 8080));
}

#[test]
fn echo_to_our_address_is_answered() {
    let snap = snapshot(&[], 1500);
    let mut e = engine6(true);
    let req = etherparse::PacketBuilder::ethernet2(CLI_MAC, C_MAC)
        .ipv6(CIP.to_be_bytes(), VIP.to_be_bytes(), 64)
        .icmpv6_echo_request(7, 1);
    let mut b = Vec::new();
    req.write(&mut b, b"ping").unwrap();
    let io = run(&mut e, &snap, (b, 0));
    assert_eq!(io.sent.len(), 1);
    let p = SlicedPacket::from_ethernet(&io.sent[0].1).unwrap();
    let Some(NetSlice::Ipv6(ip)) = &p.net else { panic!() };
    assert_eq!(u128::from_be_bytes(ip.header().source()), VIP);
    assert_eq!(u128::from_be_bytes(ip.header().destination()), CIP);
    assert_eq!(e.stats.icmp_echo.get(), 1);
}

/// The ICMPv6 error the director sent: (type, code, 4-byte parameter).
fn icmp6_error(f: &[u8]) -> (u8, u8, u32) {
    let ip = crate::wire::Ipv6::new_checked(&f[14..]).unwrap();
    let m = ip.payload();
    (m[0], m[1], u32::from_be_bytes([m[4], m[5], m[6], m[7]]))
}

#[test]
fn hop_limit_one_gets_time_exceeded() {
    let snap = snapshot(&[service(VIP, Proto::Tcp, FwdMethod::Nat, 8080)], 1500);
    let mut e = engine6(true);
    let (mut f, port) = on(0, tcp6(CIP, 40000, VIP, 80, true, b"", false));
    f[14 + 7] = 1;
    let io = run(&mut e, &snap, (f, port));
    assert_eq!(io.sent.len(), 1);
    assert_eq!(icmp6_error(&io.sent[0].1), (3, 0, 0));
    assert_eq!(e.svc.conns6.len(), 0);
}

#[test]
fn too_big_for_the_server_link_gets_packet_too_big() {
    let snap = snapshot(&[service(VIP, Proto::Tcp, FwdMethod::Nat, 8080)], 1280);
    let mut e = engine6(true);
    let payload = vec![0u8; 1300];
    let io = run(&mut e, &snap, on(0, tcp6(CIP, 40000, VIP, 80, true, &payload, false)));
    assert_eq!(io.sent.len(), 1);
    assert_eq!(icmp6_error(&io.sent[0].1), (2, 0, 1280));
    assert_eq!(e.stats.drops(crate::drop::DropReason::TooBig), 1);
}

#[test]
fn tun_encapsulates_ipv6_in_ipv6_from_the_dip() {
    let snap = snapshot(&[service(DR_VIP, Proto::Tcp, FwdMethod::Tun, 0)], 1500);
    let mut e = engine6(true);
    let mut req = tcp6(CIP, 40000, DR_VIP, 80, true, b"", false);
    req[..6].copy_from_slice(&S_MAC);
    let io = run(&mut e, &snap, (req.clone(), 1));
    assert_eq!(io.sent.len(), 1, "{:?}", e.stats.drop_list());
    let (port, f) = &io.sent[0];
    assert_eq!((*port, &f[..6]), (1, &RS1_MAC[..]));
    let outer = crate::wire::Ipv6::new_checked(&f[14..]).unwrap();
    assert_eq!((outer.next_header(), outer.payload_len()), (41, req.len() - 14));
    assert_eq!(u128::from_be_bytes(outer.src()), DIP);
    assert_eq!(u128::from_be_bytes(outer.dst()), RS1);
    // The inner packet as the client sent it, one hop later.
    let inner = &f[14 + 40..];
    assert_eq!(inner[7], 63);
    assert_eq!(&inner[8..], &req[14 + 8..]);
    let mut whole = f[..14].to_vec();
    whole.extend_from_slice(inner);
    assert_eq!(check6(&whole), (CIP, 40000, DR_VIP, 80));
}

#[test]
fn two_workers_hand_ipv6_flows_to_their_owner_with_metadata() {
    let snap = {
        let mut s = snapshot(&[service(VIP, Proto::Tcp, FwdMethod::Nat, 8080)], 1500);
        s.workers = 2;
        s
    };
    // A client port whose flow worker 1 owns.
    let sport = (40000u16..).find(|p| crate::service_path::owner(&snap, 2, CIP, *p, VIP, 80) == 1).unwrap();
    let mut e0 = engine(0, 2, 64);
    let io = run(&mut e0, &snap, on(0, tcp6(CIP, sport, VIP, 80, true, b"", false)));
    assert_eq!(io.redirected.len(), 1);
    let Some(crate::pipeline::AnyMeta::V6(m)) = io.redirected_meta[0] else { panic!("IPv6 metadata") };
    assert_eq!((m.key.saddr, m.key.sport, m.key.daddr), (CIP, sport, VIP));
}

#[test]
fn new_ipv6_vips_and_lips_are_announced_once_on_every_port() {
    let snap = snapshot(&[service(VIP, Proto::Tcp, FwdMethod::FullNat, 8080)], 1500);
    let mut e = engine6(true);
    let announced = |io: &TestIo| -> Vec<(u16, u128)> {
        io.sent
            .iter()
            .map(|(port, f)| {
                let Ok(nd::Nd::Advert(a)) = nd::parse(f) else { panic!("not an advert") };
                assert!(a.override_ && !a.solicited && a.dst == nd::ALL_NODES, "{a:?}");
                (*port, a.target)
            })
            .collect()
    };
    let mut io = TestIo::default();
    e.tick(&snap, &mut io, HZ);
    assert_eq!(announced(&io), [(0, LIP), (1, LIP), (0, VIP), (1, VIP)], "in address order");
    let mut io = TestIo::default();
    e.tick(&snap, &mut io, 2 * HZ);
    assert!(io.sent.is_empty(), "announced once");
    // A new snapshot with one more VIP: only that one goes out.
    let mut next = snapshot(
        &[service(VIP, Proto::Tcp, FwdMethod::FullNat, 8080), service(DR_VIP, Proto::Tcp, FwdMethod::Dr, 0)],
        1500,
    );
    next.generation = 2;
    let mut io = TestIo::default();
    e.tick(&next, &mut io, 3 * HZ);
    assert_eq!(announced(&io), [(0, DR_VIP), (1, DR_VIP)]);
}

#[test]
fn packet_too_big_from_the_server_side_reaches_the_client_translated() {
    use crate::packet::icmp6::{build_error, Icmp6Error};
    let snap = snapshot(&[service(VIP, Proto::Tcp, FwdMethod::Nat, 8080)], 1500);
    let mut e = engine6(true);
    let io = run(&mut e, &snap, on(0, tcp6(CIP, 40000, VIP, 80, true, b"", false)));
    let sent = io.sent[0].1.clone();
    // A router on the server side cannot forward what we sent to RS1.
    let router = RS1 + 0x100;
    let mut err = vec![0u8; 1500];
    let n = build_error(&mut err, router, &sent[14..], Icmp6Error::packet_too_big(1400));
    err.truncate(n);
    let io = run(&mut e, &snap, on(1, err));
    assert_eq!(io.sent.len(), 1, "{:?}", e.stats.drop_list());
    let (port, f) = &io.sent[0];
    assert_eq!((*port, &f[..6]), (0, &CLI_MAC[..]));
    let ip = crate::wire::Ipv6::new_checked(&f[14..]).unwrap();
    assert_eq!((u128::from_be_bytes(ip.src()), u128::from_be_bytes(ip.dst())), (VIP, CIP));
    let m = crate::wire::Icmpv6::new_checked(ip.payload()).unwrap();
    assert!(m.checksum_ok(&ip.src(), &ip.dst()));
    assert_eq!((m.msg_type(), m.mtu()), (2, Some(1400)));
    // The client sees its own SYN quoted.
    let q = crate::modes::icmp6_err::parse6(f, 54).unwrap();
    assert_eq!((q.src, q.sport, q.dst, q.dport), (CIP, 40000, VIP, 80));
    // An error about nothing we track is dropped by name.
    let mut stray = vec![0u8; 1500];
    let other = tcp6(CIP + 1, 1, RS1, 2, true, b"", false);
    let n = build_error(&mut stray, router, &other[14..], Icmp6Error::packet_too_big(1400));
    stray.truncate(n);
    assert!(run(&mut e, &snap, on(1, stray)).sent.is_empty());
    assert_eq!(e.stats.drops(crate::drop::DropReason::Icmp6Unhandled), 1);
}

#[test]
fn ipv6_fullnat_replies_steered_to_the_owner_queue_by_rss() {
    use crate::rss::{default_reta, PortRss, DEFAULT_KEY};
    let mut snap = snapshot(&[service(VIP, Proto::Tcp, FwdMethod::FullNat, 8080)], 1500);
    let rss = PortRss::new(&DEFAULT_KEY, default_reta(128, 2));
    snap.ifaces[1].rss = Some(rss.clone());
    // Worker 0 of 2 (it keeps the neighbour tables).
    let mut e = engine(0, 2, 256);
    let t = e.neigh6.as_mut().unwrap();
    t.learn(0, CIP, CLI_MAC, 0);
    t.learn(1, RS1, RS1_MAC, 0);
    let mut n = 0;
    for sport in 30000u16..30400 {
        let io = run(&mut e, &snap, on(0, tcp6(CIP, sport, VIP, 80, true, b"", false)));
        if !io.redirected.is_empty() {
            continue; // worker 1's flow
        }
        let (lip, lport, rs, rport) = check6(&io.sent[0].1);
        assert_eq!((lip, rs, rport), (LIP, RS1, 8080));
        assert_eq!(lport % 2, 0, "worker 0's port");
        let q = rss.queue_for_v6(&RS1.to_be_bytes(), 8080, &LIP.to_be_bytes(), lport);
        assert_eq!(q, 0, "the reply's queue is worker 0's");
        n += 1;
    }
    assert!(n > 100, "{n} connections");
    assert_eq!(e.svc.lports.unsteered, 0);
}

/// An ICMPv6 error about a one-way (DR) flow on an RSS port goes to the
/// worker whose queue the NIC gave the flow's requests, which holds it.
#[test]
fn icmp6_error_of_a_dr_flow_on_an_rss_port_stays_with_the_receiving_worker() {
    use crate::rss::{default_reta, PortRss, DEFAULT_KEY};
    use crate::service_path::owner;
    let mut snap = snapshot(&[service(DR_VIP, Proto::Tcp, FwdMethod::Dr, 0)], 1500);
    let rss = PortRss::new(&DEFAULT_KEY, default_reta(128, 2));
    snap.ifaces[0].rss = Some(rss.clone());
    // A flow the NIC gives queue 0 but the flow hash would give worker 1.
    let sport = (30000u16..40000)
        .find(|&p| {
            rss.queue_for_v6(&CIP.to_be_bytes(), p, &DR_VIP.to_be_bytes(), 80) == 0
                && owner(&snap, 2, CIP, p, DR_VIP, 80) == 1
        })
        .unwrap();
    let mut e = engine(0, 2, 256);
    let t = e.neigh6.as_mut().unwrap();
    t.learn(0, CIP, CLI_MAC, 0);
    t.learn(1, RS1, RS1_MAC, 0);
    let io = run(&mut e, &snap, on(0, tcp6(CIP, sport, DR_VIP, 80, true, b"", false)));
    assert_eq!((io.sent.len(), e.svc.conns6.len()), (1, 1), "the receiving worker owns the flow");
    let mut quoted = Vec::new();
    etherparse::PacketBuilder::ipv6(DR_VIP.to_be_bytes(), CIP.to_be_bytes(), 60)
        .tcp(80, sport, 1, 100)
        .write(&mut quoted, b"")
        .unwrap();
    let mut b = Vec::new();
    etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv6(CIP.to_be_bytes(), DR_VIP.to_be_bytes(), 64)
        .icmpv6(etherparse::Icmpv6Type::DestinationUnreachable(etherparse::icmpv6::DestUnreachableCode::Port))
        .write(&mut b, &quoted)
        .unwrap();
    let io = run(&mut e, &snap, on(0, b));
    assert!(io.redirected.is_empty(), "not handed to the flow-hash owner");
    assert_eq!(io.sent.len(), 1, "forwarded to the real server: {:?}", e.stats.drop_list());
    assert_eq!(io.sent[0].0, 1);
}
