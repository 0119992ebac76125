//! SCTP services over IPv6 through the whole sans-IO engine: NAT,
//! FULLNAT, DR and TUN (every mode rvs has for IPv6), the CRC32c checked
//! independently on the way out.

use crate::conn::{ConnKey, State, HZ};
use crate::drop::DropReason;
use crate::engine::Engine;
use crate::engine_tests::{engine, TestIo, CLI_MAC, C_MAC, RS1_MAC, S_MAC};
use crate::l3::neigh::Neighbours;
use crate::sctp_tests::{crc_ok, sctp, PROTO, RPORT, VPORT};
use crate::snapshot::{Iface, Service, ServiceTable, Snapshot};
use crate::wire::sctp::{build, chunk};
use etherparse::{IpNumber, NetSlice, PacketBuilder, SlicedPacket};
use rvs_conf::{DestConf, FwdMethod, Proto, SchedKind, ServiceConf, ServiceKey};
use std::net::{IpAddr, Ipv6Addr};

const CIP: u128 = 0x2001_0db8_000c_0000_0000_0000_0000_0200;
const VIP: u128 = 0x2001_0db8_000c_0000_0000_0000_0000_0100;
const DIP: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0100;
const RS1: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0010;
const LIP: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0101;
const DR_VIP: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0200;
const CPORT: u16 = 40000;

fn ip6(a: u128) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(a))
}

fn director(vip: u128, fwd: FwdMethod, rport: u16) -> (Snapshot, Engine<Vec<u8>>) {
    let mut s = ServiceConf::new(ServiceKey::Inet { proto: Proto::Sctp, addr: ip6(vip), port: VPORT });
    s.scheduler = SchedKind::Rr;
    s.dests = vec![DestConf::new(ip6(RS1), rport, fwd, 1)];
    if fwd == FwdMethod::FullNat {
        s.laddrs = vec![ip6(LIP)];
    }
    let iface = |name: &str, port_id, mac, addr| Iface {
        name: name.into(),
        port_id,
        mac,
        addrs: vec![],
        addrs6: vec![(addr, 64)],
        mtu: 1500,
        rss: None,
        kernel: None,
    };
    let ifaces = vec![iface("client", 0, C_MAC, VIP), iface("server", 1, S_MAC, DIP)];
    let snap = Snapshot::new(1, 1, ifaces, &[]).with_services(ServiceTable::new(vec![Service::build(&s, 1, None)]));
    let mut e = engine(0, 1, 64);
    let t = e.neigh6.as_mut().unwrap();
    t.learn(0, CIP, CLI_MAC, 0);
    t.learn(1, RS1, RS1_MAC, 0);
    (snap, e)
}

/// An Ethernet + IPv6 frame of one SCTP chunk, as received on `port`.
fn frame(port: u16, src: u128, sport: u16, dst: u128, dport: u16, ty: u8) -> (Vec<u8>, u16) {
    let value: &[u8] = match ty {
        chunk::INIT | chunk::INIT_ACK => &build::init_value(7),
        _ => b"value",
    };
    let (dmac, smac) = if port == 0 { (C_MAC, CLI_MAC) } else { (S_MAC, RS1_MAC) };
    let mut b = Vec::new();
    PacketBuilder::ethernet2(smac, dmac)
        .ipv6(src.to_be_bytes(), dst.to_be_bytes(), 64)
        .write(&mut b, IpNumber(PROTO), &sctp(sport, dport, ty, value))
        .unwrap();
    (b, port)
}

fn run(e: &mut Engine<Vec<u8>>, snap: &Snapshot, (pkt, port): (Vec<u8>, u16)) -> TestIo {
    let mut io = TestIo::default();
    e.handle(snap, &Neighbours::default(), &mut io, pkt, port, HZ);
    io
}

/// (src, sport, dst, dport, SCTP bytes) of an IPv6 frame, CRC verified.
fn out6(f: &[u8]) -> (u128, u16, u128, u16, Vec<u8>) {
    let p = SlicedPacket::from_ethernet(f).unwrap();
    let Some(NetSlice::Ipv6(ip)) = &p.net else { panic!("not ipv6") };
    let h = ip.header();
    assert_eq!(ip.payload().ip_number, IpNumber(PROTO));
    let s = ip.payload().payload.to_vec();
    assert!(crc_ok(&s), "sctp crc32c");
    let port = |i: usize| u16::from_be_bytes([s[i], s[i + 1]]);
    (u128::from_be_bytes(h.source()), port(0), u128::from_be_bytes(h.destination()), port(2), s)
}

fn state(e: &Engine<Vec<u8>>, vip: u128) -> State {
    let (id, _) = e.svc.conns6.lookup(&ConnKey::of(PROTO, CIP, CPORT, vip, VPORT)).expect("conn");
    e.svc.conns6.get(id).state
}

#[test]
fn nat6_both_directions_with_the_port_map() {
    let (snap, mut e) = director(VIP, FwdMethod::Nat, RPORT);
    let io = run(&mut e, &snap, frame(0, CIP, CPORT, VIP, VPORT, chunk::INIT));
    assert_eq!(io.sent.len(), 1, "{:?}", e.stats.drop_list());
    let (port, f) = &io.sent[0];
    assert_eq!((*port, &f[..6], f[14 + 7]), (1, &RS1_MAC[..], 63));
    let (s, sp, d, dp, _) = out6(f);
    assert_eq!((s, sp, d, dp), (CIP, CPORT, RS1, RPORT));
    assert_eq!(state(&e, VIP), State::SctpInit1);
    assert_eq!(e.svc.conns.len(), 0, "the IPv4 table untouched");
    let io = run(&mut e, &snap, frame(1, RS1, RPORT, CIP, CPORT, chunk::INIT_ACK));
    let (port, f) = &io.sent[0];
    assert_eq!((*port, &f[..6]), (0, &CLI_MAC[..]));
    let (s, sp, d, dp, _) = out6(f);
    assert_eq!((s, sp, d, dp), (VIP, VPORT, CIP, CPORT));
    assert_eq!(state(&e, VIP), State::SctpCookieSent);
    run(&mut e, &snap, frame(0, CIP, CPORT, VIP, VPORT, chunk::COOKIE_ECHO));
    run(&mut e, &snap, frame(1, RS1, RPORT, CIP, CPORT, chunk::COOKIE_ACK));
    assert_eq!(state(&e, VIP), State::SctpEstablished);
    assert_eq!(snap.services.list[0].dests[0].active(), 1);
    assert_eq!(e.stats.total_drops(), 0);
}

#[test]
fn fullnat6_translates_both_ends() {
    let (snap, mut e) = director(VIP, FwdMethod::FullNat, RPORT);
    let io = run(&mut e, &snap, frame(0, CIP, CPORT, VIP, VPORT, chunk::INIT));
    assert_eq!(io.sent.len(), 1, "{:?}", e.stats.drop_list());
    let (s, lport, d, dp, _) = out6(&io.sent[0].1);
    assert_eq!((s, d, dp), (LIP, RS1, RPORT));
    let io = run(&mut e, &snap, frame(1, RS1, RPORT, LIP, lport, chunk::INIT_ACK));
    assert_eq!(io.sent.len(), 1, "{:?}", e.stats.drop_list());
    let (s, sp, d, dp, _) = out6(&io.sent[0].1);
    assert_eq!((s, sp, d, dp), (VIP, VPORT, CIP, CPORT));
    // A wrong CRC is refused rather than rewritten into a right one.
    let (mut bad, port) = frame(0, CIP, CPORT, VIP, VPORT, chunk::DATA);
    bad[14 + 40 + 20] ^= 1;
    assert!(run(&mut e, &snap, (bad, port)).sent.is_empty());
    assert_eq!(e.stats.drops(DropReason::SctpBadCrc), 1);
}

#[test]
fn dr6_and_tun6_leave_the_sctp_packet_as_it_was() {
    let (req, port) = frame(1, CIP, CPORT, DR_VIP, VPORT, chunk::INIT);
    let (snap, mut e) = director(DR_VIP, FwdMethod::Dr, 0);
    let io = run(&mut e, &snap, (req.clone(), port));
    assert_eq!(io.sent.len(), 1, "{:?}", e.stats.drop_list());
    let (port_out, f) = &io.sent[0];
    assert_eq!((*port_out, &f[..6]), (1, &RS1_MAC[..]));
    assert_eq!(&f[14 + 8..], &req[14 + 8..], "addresses, ports, chunks and CRC unchanged");
    run(&mut e, &snap, frame(1, CIP, CPORT, DR_VIP, VPORT, chunk::COOKIE_ECHO));
    assert_eq!(state(&e, DR_VIP), State::SctpEstablished, "INPUT-ONLY: the client's COOKIE ECHO");

    let (snap, mut e) = director(DR_VIP, FwdMethod::Tun, 0);
    let io = run(&mut e, &snap, (req.clone(), port));
    assert_eq!(io.sent.len(), 1, "{:?}", e.stats.drop_list());
    let f = &io.sent[0].1;
    let outer = crate::wire::Ipv6::new_checked(&f[14..]).unwrap();
    assert_eq!(
        (outer.next_header(), u128::from_be_bytes(outer.src()), u128::from_be_bytes(outer.dst())),
        (41, DIP, RS1)
    );
    let inner = &f[14 + 40..];
    assert_eq!(&inner[8..], &req[14 + 8..]);
    let mut whole = f[..14].to_vec();
    whole.extend_from_slice(inner);
    assert_eq!(out6(&whole).2, DR_VIP);
}

#[test]
fn no_init_no_association_and_short_packets_named() {
    let (snap, mut e) = director(VIP, FwdMethod::Nat, RPORT);
    assert!(run(&mut e, &snap, frame(0, CIP, CPORT, VIP, VPORT, chunk::DATA)).sent.is_empty());
    assert_eq!(e.stats.drops(DropReason::SctpNoInit), 1);
    let (mut f, port) = frame(0, CIP, CPORT, VIP, VPORT, chunk::INIT);
    f.truncate(14 + 40 + 14);
    f[18..20].copy_from_slice(&14u16.to_be_bytes());
    assert!(run(&mut e, &snap, (f, port)).sent.is_empty());
    assert_eq!(e.stats.drops(DropReason::SctpTruncated), 1);
    assert_eq!(e.svc.conns6.len(), 0);
}
