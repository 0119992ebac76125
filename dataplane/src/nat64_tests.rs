//! NAT64 through the whole sans-IO path: an IPv6 client, an IPv6 VIP,
//! IPv4 LIPs and real servers. Every frame out is checked with etherparse
//! (via `testpkt` / `testpkt6`): addresses, ports, every checksum.

use crate::conn::table::flags;
use crate::conn::HZ;
use crate::drop::DropReason;
use crate::engine::Engine;
use crate::engine_tests::{engine, TestIo, CLI_MAC, C_MAC, RS1_MAC, S_MAC};
use crate::l3::neigh::Neighbours;
use crate::modes::testpkt::{self, check};
use crate::modes::testpkt6::{check6, tcp6, udp6};
use crate::snapshot::{Iface, Service, ServiceTable, Snapshot};
use etherparse::{
    icmpv4, icmpv6, Icmpv4Type, Icmpv6Type, IpNumber, NetSlice, PacketBuilder, SlicedPacket, TransportSlice,
};
use rvs_conf::{DestConf, FwdMethod, Proto, SchedKind, ServiceConf, ServiceKey};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const CIP: u128 = 0x2001_0db8_000c_0000_0000_0000_0000_0200;
const VIP: u128 = 0x2001_0db8_000c_0000_0000_0000_0000_0100;
const DIP: [u8; 4] = [192, 168, 0, 1];
const RS1: [u8; 4] = [192, 168, 0, 10];
const LIP: [u8; 4] = [192, 168, 0, 101];
const ROUTER: [u8; 4] = [192, 168, 0, 254];

fn service(proto: Proto) -> ServiceConf {
    let mut s = ServiceConf::new(ServiceKey::Inet { proto, addr: IpAddr::V6(Ipv6Addr::from(VIP)), port: 80 });
    s.scheduler = SchedKind::Rr;
    s.dests = vec![DestConf::new(IpAddr::V4(Ipv4Addr::from(RS1)), 8080, FwdMethod::FullNat, 1)];
    s.laddrs = vec![IpAddr::V4(Ipv4Addr::from(LIP))];
    s
}

/// Client side IPv6 (MTU `mtu6`), server side IPv4 (MTU `mtu4`).
fn snapshot(proto: Proto, mtu6: u16, mtu4: u16) -> Snapshot {
    snapshot_of(service(proto), mtu6, mtu4)
}

fn snapshot_of(svc: ServiceConf, mtu6: u16, mtu4: u16) -> Snapshot {
    let ifaces = vec![
        Iface {
            name: "client".into(),
            port_id: 0,
            mac: C_MAC,
            addrs: vec![],
            addrs6: vec![(VIP, 64)],
            mtu: mtu6,
            rss: None,
            kernel: None,
        },
        Iface {
            name: "server".into(),
            port_id: 1,
            mac: S_MAC,
            addrs: vec![(u32::from_be_bytes(DIP), 24)],
            addrs6: vec![],
            mtu: mtu4,
            rss: None,
            kernel: None,
        },
    ];
    let list = vec![Service::build(&svc, 1, None)];
    Snapshot::new(1, 1, ifaces, &[]).with_services(ServiceTable::new(list))
}

/// Worker 0 of 1, knowing the client (IPv6) and RS1 (IPv4).
fn engine64() -> Engine<Vec<u8>> {
    let mut e = engine(0, 1, 64);
    e.neigh6.as_mut().unwrap().learn(0, CIP, CLI_MAC, 0);
    e
}

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

fn one(io: &TestIo, e: &Engine<Vec<u8>>) -> (u16, Vec<u8>) {
    assert_eq!(io.sent.len(), 1, "drops: {:?}", e.stats.drop_list());
    io.sent[0].clone()
}

/// An IPv4 TCP segment from RS1 (ACK set, `seq`, payload).
fn tcp4(sport: u16, dst: [u8; 4], dport: u16, syn: bool, payload: &[u8]) -> Vec<u8> {
    testpkt::tcp(RS1, sport, dst, dport, syn, payload)
}

/// Open a TCP connection: the client's SYN out as IPv4 to RS1; the local
/// port it was given.
fn open(e: &mut Engine<Vec<u8>>, snap: &Snapshot) -> u16 {
    let io = run(e, snap, on(0, tcp6(CIP, 40000, VIP, 80, true, b"", true)));
    let (port, f) = one(&io, e);
    assert_eq!((port, &f[..6], &f[6..12]), (1, &RS1_MAC[..], &S_MAC[..]));
    assert_eq!(u16::from_be_bytes([f[12], f[13]]), 0x0800, "ethertype");
    let (src, lport, dst, dport) = check(&f);
    assert_eq!((src, dst, dport), (LIP, RS1, 8080));
    assert_eq!(f[14 + 8], 63, "TTL from the hop limit, decremented");
    lport
}

#[test]
fn tcp_conversation_is_translated_both_ways_with_toa6() {
    let snap = snapshot(Proto::Tcp, 1500, 1500);
    let mut e = engine64();
    let lport = open(&mut e, &snap);
    assert_eq!((e.svc.conns6.len(), e.svc.conns.len()), (1, 0), "one entry, in the IPv6 table");
    let c = *e.svc.conns6.iter().next().unwrap().1;
    assert_ne!(c.flags & flags::NAT64, 0);
    assert_eq!((c.daddr_ip(), c.laddr_ip()), (IpAddr::from(RS1), IpAddr::from(LIP)));
    // The real server's SYN-ACK comes back to the client from the VIP.
    let mut synack = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(RS1, LIP, 64)
        .tcp(8080, lport, 5000, 65535)
        .syn()
        .ack(1001)
        .write(&mut synack, b"")
        .unwrap();
    let (port, f) = one(&run(&mut e, &snap, on(1, synack)), &e);
    assert_eq!((port, &f[..6]), (0, &CLI_MAC[..]));
    assert_eq!(u16::from_be_bytes([f[12], f[13]]), 0x86dd);
    assert_eq!(check6(&f), (VIP, 80, CIP, 40000));
    assert_eq!(f[14 + 7], 63, "hop limit from the TTL, decremented");
    // The handshake's last ACK carries the client's IPv6 address in TOA.
    let (_, f) = one(&run(&mut e, &snap, on(0, tcp6(CIP, 40000, VIP, 80, false, b"GET /", false))), &e);
    assert_eq!(check(&f), (LIP, lport, RS1, 8080));
    let s = SlicedPacket::from_ethernet(&f).unwrap();
    let Some(TransportSlice::Tcp(t)) = &s.transport else { panic!() };
    let opts = t.options();
    let toa = opts.windows(2).position(|w| w == [254, 20]).expect("TOA6 option");
    assert_eq!(&opts[toa + 2..toa + 4], &40000u16.to_be_bytes());
    assert_eq!(&opts[toa + 4..toa + 20], &CIP.to_be_bytes());
    assert_eq!(t.payload(), b"GET /");
    // Data from the server.
    let (_, f) = one(&run(&mut e, &snap, on(1, tcp4(8080, LIP, lport, false, b"200 OK"))), &e);
    assert_eq!(check6(&f), (VIP, 80, CIP, 40000));
    assert_eq!(&f[f.len() - 6..], b"200 OK");
    assert_eq!(e.stats.total_drops(), 0, "{:?}", e.stats.drop_list());
    // Dest counters see both directions.
    let d = &snap.services.list[0].dests[0];
    let cell = d.rt.cell(0);
    assert_eq!((cell.in_pkts.get(), cell.out_pkts.get()), (2, 2));
}

#[test]
fn udp_both_ways_and_a_reply_without_checksum() {
    let snap = snapshot(Proto::Udp, 1500, 1500);
    let mut e = engine64();
    let (_, f) = one(&run(&mut e, &snap, on(0, udp6(CIP, 5353, VIP, 80, b"query", false))), &e);
    let (src, lport, dst, dport) = check(&f);
    assert_eq!((src, dst, dport), (LIP, RS1, 8080));
    let mut reply = testpkt::udp(RS1, 8080, LIP, lport, b"answer");
    reply[14 + 20 + 6..14 + 20 + 8].fill(0);
    let (_, f) = one(&run(&mut e, &snap, on(1, reply)), &e);
    assert_eq!(check6(&f), (VIP, 80, CIP, 5353), "a checksum computed for IPv6");
}

#[test]
fn too_big_either_way_answers_the_sender_in_its_family() {
    let snap = snapshot(Proto::Tcp, 1280, 1300);
    let mut e = engine64();
    let lport = open(&mut e, &snap);
    // 1340 bytes of IPv6 become 1320 of IPv4: over 1300. The client hears
    // packet too big with the IPv6 size that fits, 1320.
    let (port, f) = one(&run(&mut e, &snap, on(0, tcp6(CIP, 40000, VIP, 80, false, &[7; 1280], false))), &e);
    assert_eq!(port, 0);
    let s = SlicedPacket::from_ethernet(&f).unwrap();
    let Some(TransportSlice::Icmpv6(ic)) = &s.transport else { panic!("{s:?}") };
    assert_eq!(ic.icmp_type(), Icmpv6Type::PacketTooBig { mtu: 1320 });
    assert_eq!(e.stats.drops(DropReason::TooBig), 1);
    // 1280 bytes of IPv4 from the server (DF) become 1300 of IPv6: over
    // the client link's 1280. The server hears frag-needed, MTU 1260.
    let (port, f) = one(&run(&mut e, &snap, on(1, tcp4(8080, LIP, lport, false, &[7; 1240]))), &e);
    assert_eq!(port, 1);
    let s = SlicedPacket::from_ethernet(&f).unwrap();
    let Some(TransportSlice::Icmpv4(ic)) = &s.transport else { panic!("{s:?}") };
    assert_eq!(
        ic.icmp_type(),
        Icmpv4Type::DestinationUnreachable(icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1260 })
    );
    assert_eq!(e.stats.drops(DropReason::TooBig), 2);
}

#[test]
fn frag_needed_from_the_server_side_reaches_the_client_as_packet_too_big() {
    let snap = snapshot(Proto::Tcp, 1500, 1500);
    let mut e = engine64();
    let lport = open(&mut e, &snap);
    // A router on the IPv4 side quotes our request LIP:lport → RS1:8080.
    let mut quoted = Vec::new();
    PacketBuilder::ipv4(LIP, RS1, 62).tcp(lport, 8080, 1000, 100).write(&mut quoted, b"data").unwrap();
    let mut b = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(ROUTER, LIP, 64)
        .icmpv4(Icmpv4Type::DestinationUnreachable(icmpv4::DestUnreachableHeader::FragmentationNeeded {
            next_hop_mtu: 1400,
        }))
        .write(&mut b, &quoted)
        .unwrap();
    let (port, f) = one(&run(&mut e, &snap, on(1, b)), &e);
    assert_eq!((port, &f[..6]), (0, &CLI_MAC[..]));
    let s = SlicedPacket::from_ethernet(&f).unwrap();
    let Some(NetSlice::Ipv6(ip)) = &s.net else { panic!() };
    assert_eq!((ip.header().source(), ip.header().destination()), (VIP.to_be_bytes(), CIP.to_be_bytes()));
    let Some(TransportSlice::Icmpv6(ic)) = &s.transport else { panic!() };
    assert_eq!(ic.icmp_type(), Icmpv6Type::PacketTooBig { mtu: 1420 });
    let h = ip.header().to_header();
    assert_eq!(ic.checksum(), ic.icmp_type().calc_checksum(h.source, h.destination, ic.payload()).unwrap());
    // The quote is the client's own packet, its checksum valid again.
    let inner = SlicedPacket::from_ip(ic.payload()).unwrap();
    let Some(NetSlice::Ipv6(iip)) = &inner.net else { panic!() };
    let ih = iip.header().to_header();
    assert_eq!((ih.source, ih.destination, ih.next_header), (CIP.to_be_bytes(), VIP.to_be_bytes(), IpNumber::TCP));
    let Some(TransportSlice::Tcp(t)) = inner.transport else { panic!() };
    assert_eq!((t.source_port(), t.destination_port()), (40000, 80));
    assert_eq!(t.checksum(), t.to_header().calc_checksum_ipv6(&ih, t.payload()).unwrap());
}

#[test]
fn port_unreachable_from_the_client_reaches_the_server_as_icmpv4() {
    let snap = snapshot(Proto::Udp, 1500, 1500);
    let mut e = engine64();
    let (_, f) = one(&run(&mut e, &snap, on(0, udp6(CIP, 5353, VIP, 80, b"query", false))), &e);
    let lport = check(&f).1;
    // The client's host quotes our reply VIP:80 → CIP:5353.
    let mut quoted = Vec::new();
    PacketBuilder::ipv6(VIP.to_be_bytes(), CIP.to_be_bytes(), 60).udp(80, 5353).write(&mut quoted, b"ans").unwrap();
    let mut b = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv6(CIP.to_be_bytes(), VIP.to_be_bytes(), 64)
        .icmpv6(Icmpv6Type::DestinationUnreachable(icmpv6::DestUnreachableCode::Port))
        .write(&mut b, &quoted)
        .unwrap();
    let (port, f) = one(&run(&mut e, &snap, on(0, b)), &e);
    assert_eq!((port, &f[..6]), (1, &RS1_MAC[..]));
    let s = SlicedPacket::from_ethernet(&f).unwrap();
    let Some(NetSlice::Ipv4(ip)) = &s.net else { panic!() };
    let h = ip.header().to_header();
    assert_eq!((h.source, h.destination), (LIP, RS1));
    assert_eq!(h.header_checksum, h.calc_header_checksum());
    let Some(TransportSlice::Icmpv4(ic)) = &s.transport else { panic!() };
    assert_eq!(ic.icmp_type(), Icmpv4Type::DestinationUnreachable(icmpv4::DestUnreachableHeader::Port));
    assert_eq!(ic.checksum(), ic.header().icmp_type.calc_checksum(ic.payload()));
    let inner = SlicedPacket::from_ip(ic.payload()).unwrap();
    let Some(NetSlice::Ipv4(iip)) = &inner.net else { panic!() };
    let ih = iip.header().to_header();
    assert_eq!((ih.source, ih.destination), (RS1, LIP));
    let Some(TransportSlice::Udp(u)) = inner.transport else { panic!() };
    assert_eq!((u.source_port(), u.destination_port()), (8080, lport));
    assert_eq!(u.checksum(), u.to_header().calc_checksum_ipv4(&ih, u.payload()).unwrap());
}

#[test]
fn ipv4_compatible_and_mapped_sources_never_reach_a_nat64_entry() {
    let snap = snapshot(Proto::Tcp, 1500, 1500);
    let mut e = engine64();
    let lport = open(&mut e, &snap);
    // An IPv6 packet claiming to be RS1 → LIP in NAT64's own widened form.
    let rs = u128::from(u32::from_be_bytes(RS1));
    let lip = u128::from(u32::from_be_bytes(LIP));
    let io = run(&mut e, &snap, on(1, tcp6(rs, 8080, lip, lport, false, b"x", false)));
    assert!(io.sent.is_empty());
    let mapped = 0xffff_0000_0000 | rs;
    let io = run(&mut e, &snap, on(0, tcp6(mapped, 1, VIP, 80, true, b"", false)));
    assert!(io.sent.is_empty());
    assert_eq!(e.stats.drops(DropReason::IpMartianSrc), 2);
}

#[test]
fn an_ipv4_packet_to_the_lip_of_no_connection_is_still_a_stray() {
    let snap = snapshot(Proto::Tcp, 1500, 1500);
    let mut e = engine64();
    let lport = open(&mut e, &snap);
    let io = run(&mut e, &snap, on(1, tcp4(8081, LIP, lport, false, b"x")));
    assert!(io.sent.is_empty());
    assert_eq!(e.stats.drops(DropReason::NoService), 1);
}

#[test]
fn expiry_returns_the_local_port_to_the_ipv4_pool() {
    let snap = snapshot(Proto::Udp, 1500, 1500);
    let mut e = engine64();
    let (_, f) = one(&run(&mut e, &snap, on(0, udp6(CIP, 5353, VIP, 80, b"q", false))), &e);
    let lport = check(&f).1;
    assert!(lport >= 1024);
    // The port came from the IPv4 LIP's own pool (one port taken) ...
    let lip = u32::from_be_bytes(LIP);
    let all = (1024..=65535).count();
    assert_eq!(e.svc.lports.available(lip), Some(all - 1));
    // ... and goes back to it when the entry expires.
    let mut io = TestIo::default();
    for t in HZ..400 * HZ {
        e.service_tick(&snap, &Neighbours::default(), &mut io, t);
    }
    assert_eq!(e.svc.conns6.len(), 0);
    assert_eq!(e.svc.lports.available(lip), Some(all));
}

#[test]
fn proxy_protocol_v2_reaches_the_ipv4_server_with_the_ipv6_client() {
    let mut svc = service(Proto::Tcp);
    svc.proxy_protocol = rvs_conf::ProxyProtocol::V2;
    let snap = snapshot_of(svc, 1500, 1500);
    let mut e = engine64();
    let lport = open(&mut e, &snap);
    // The handshake's last ACK (seq 1001: the SYN's 1000 + 1) carries
    // the 52-byte v2 header: TCP6 with the IPv6 ends; no TOA.
    let mut ack = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv6(CIP.to_be_bytes(), VIP.to_be_bytes(), 64)
        .tcp(40000, 80, 1001, 65535)
        .ack(5001)
        .write(&mut ack, b"")
        .unwrap();
    let (_, f) = one(&run(&mut e, &snap, on(0, ack)), &e);
    assert_eq!(check(&f), (LIP, lport, RS1, 8080));
    let s = SlicedPacket::from_ethernet(&f).unwrap();
    let Some(TransportSlice::Tcp(t)) = &s.transport else { panic!() };
    let h = t.payload();
    assert_eq!(&h[..12], b"\r\n\r\n\0\r\nQUIT\n");
    assert_eq!((h[12], h[13], u16::from_be_bytes([h[14], h[15]])), (0x21, 0x21, 36));
    assert_eq!((&h[16..32], &h[32..48]), (&CIP.to_be_bytes()[..], &VIP.to_be_bytes()[..]));
    assert_eq!((u16::from_be_bytes([h[48], h[49]]), u16::from_be_bytes([h[50], h[51]])), (40000, 80));
    assert_eq!(h.len(), 52);
    assert!(!t.options().windows(2).any(|w| w == [254, 20]), "no TOA with Proxy Protocol");
    assert_eq!(t.sequence_number(), 1001);
    // The server acknowledges the header: the client hears nothing of it
    // (its own 1001 acknowledged).
    let mut data = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(RS1, LIP, 64)
        .tcp(8080, lport, 5001, 65535)
        .ack(1001 + 52)
        .write(&mut data, b"200 OK")
        .unwrap();
    let (_, f) = one(&run(&mut e, &snap, on(1, data)), &e);
    assert_eq!(check6(&f), (VIP, 80, CIP, 40000));
    let s = SlicedPacket::from_ethernet(&f).unwrap();
    let Some(TransportSlice::Tcp(t)) = &s.transport else { panic!() };
    assert_eq!(t.acknowledgment_number(), 1001);
    assert_eq!(e.stats.total_drops(), 0, "{:?}", e.stats.drop_list());
}

#[test]
fn sctp_through_nat64_gets_a_new_crc_for_its_new_ports() {
    use crate::sctp_tests::{crc_ok, sctp};
    use crate::wire::sctp::{build, chunk};
    let snap = snapshot(Proto::Sctp, 1500, 1500);
    let mut e = engine64();
    let mut f6 = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv6(CIP.to_be_bytes(), VIP.to_be_bytes(), 64)
        .write(&mut f6, IpNumber(132), &sctp(40000, 80, chunk::INIT, &build::init_value(9)))
        .unwrap();
    let (port, f) = one(&run(&mut e, &snap, on(0, f6)), &e);
    assert_eq!((port, u16::from_be_bytes([f[12], f[13]])), (1, 0x0800));
    let s = &f[14 + 20..];
    let lport = u16::from_be_bytes([s[0], s[1]]);
    assert_eq!((&f[14 + 12..14 + 20], u16::from_be_bytes([s[2], s[3]])), (&[LIP, RS1].concat()[..], 8080));
    assert!(crc_ok(s), "a right CRC32c for LIP:lport → RIP:8080");
    // The INIT ACK back to the client, from the VIP over IPv6.
    let mut f4 = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(RS1, LIP, 64)
        .write(&mut f4, IpNumber(132), &sctp(8080, lport, chunk::INIT_ACK, &build::init_value(3)))
        .unwrap();
    let (port, f) = one(&run(&mut e, &snap, on(1, f4)), &e);
    assert_eq!((port, u16::from_be_bytes([f[12], f[13]])), (0, 0x86dd));
    let s = &f[14 + 40..];
    assert_eq!((u16::from_be_bytes([s[0], s[1]]), u16::from_be_bytes([s[2], s[3]])), (80, 40000));
    assert!(crc_ok(s));
    let c = *e.svc.conns6.iter().next().unwrap().1;
    assert_eq!(c.state, crate::conn::State::SctpCookieSent);
}
