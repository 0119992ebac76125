//! SCTP services through the whole sans-IO engine, IPv4, on crafted
//! frames (the lab kernel has no SCTP): scheduling on INIT only, the
//! rewrite of each mode with the CRC32c checked independently on the way
//! out, IPVS's state walk with its timeouts and counters, and the named
//! drops of malformed packets. IPv6 is in `sctp6_tests`.

use crate::conn::sctp::Event;
use crate::conn::{secs, ConnKey, State, HZ};
use crate::drop::DropReason;
use crate::engine::Engine;
use crate::engine_tests::*;
use crate::l3::neigh::Neighbours;
use crate::snapshot::Snapshot;
use crate::wire::sctp::{build, chunk};
use etherparse::{IpNumber, NetSlice, PacketBuilder, SlicedPacket};
use proptest::prelude::*;
use rvs_conf::{DestConf, FwdMethod, Proto, SchedKind, ServiceConf, ServiceKey};

pub(crate) const PROTO: u8 = 132;
/// Diameter's SCTP port, the service's; real servers listen on `RPORT`.
pub(crate) const VPORT: u16 = 3868;
pub(crate) const RPORT: u16 = 3869;
const CPORT: u16 = 40000;

/// An SCTP service on VIP:3868 with RS1 at `rport` (0: the VIP's port).
fn sctp_svc(fwd: FwdMethod, rport: u16) -> ServiceConf {
    let mut s = ServiceConf::new(ServiceKey::Inet { proto: Proto::Sctp, addr: ip(VIP), port: VPORT });
    s.scheduler = SchedKind::Rr;
    s.dests = vec![DestConf::new(ip(RS1), rport, fwd, 1)];
    if fwd == FwdMethod::FullNat {
        s.laddrs = vec![ip(LIP)];
    }
    s
}

fn director(fwd: FwdMethod, rport: u16) -> (Snapshot, Engine<Vec<u8>>) {
    (snapshot(1, 1, &[sctp_svc(fwd, rport)], None), engine(0, 1, 64))
}

/// The SCTP packet of one chunk (type, value), CRC filled in.
pub(crate) fn sctp(sport: u16, dport: u16, ty: u8, value: &[u8]) -> Vec<u8> {
    build::packet(sport, dport, 0x0102_0304, &[(ty, 0, value)])
}

/// An Ethernet + IPv4 frame carrying `payload` as protocol 132.
fn frame(src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    PacketBuilder::ethernet2([9; 6], [0; 6]).ipv4(src, dst, 64).write(&mut b, IpNumber(PROTO), payload).unwrap();
    b
}

fn chunk_frame(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, ty: u8) -> Vec<u8> {
    let value: &[u8] = match ty {
        chunk::INIT | chunk::INIT_ACK => &build::init_value(0x0a0b_0c0d),
        chunk::DATA => b"\0\0\0\x01\0\x01\0\0\0\0\0\x2ehello",
        chunk::COOKIE_ECHO => b"cookie!",
        _ => &[],
    };
    frame(src, dst, &sctp(sport, dport, ty, value))
}

/// The CRC32c is right, computed here from the bytes (not by the view).
pub(crate) fn crc_ok(p: &[u8]) -> bool {
    let mut z = p.to_vec();
    z[8..12].fill(0);
    crc32c::crc32c(&z).to_le_bytes() == p[8..12]
}

/// (eth dst, src, sport, dst, dport, SCTP bytes) of a sent IPv4 frame,
/// its IPv4 checksum and SCTP CRC32c verified.
fn out(f: &[u8]) -> (crate::packet::eth::Mac, [u8; 4], u16, [u8; 4], u16, Vec<u8>) {
    let p = SlicedPacket::from_ethernet(f).unwrap();
    let Some(etherparse::LinkSlice::Ethernet2(e)) = &p.link else { panic!() };
    let Some(NetSlice::Ipv4(ip)) = &p.net else { panic!("not ipv4") };
    let h = ip.header().to_header();
    assert_eq!(h.header_checksum, h.calc_header_checksum(), "ip checksum");
    assert_eq!(ip.payload().ip_number, IpNumber(PROTO));
    let s = ip.payload().payload.to_vec();
    assert!(crc_ok(&s), "sctp crc32c");
    let port = |i: usize| u16::from_be_bytes([s[i], s[i + 1]]);
    (e.destination(), h.source, port(0), h.destination, port(2), s)
}

fn conn_of(e: &Engine<Vec<u8>>, cport: u16) -> crate::conn::Conn {
    let (id, _) = e.svc.conns.lookup(&ConnKey::new(PROTO, u(CIP), cport, u(VIP), VPORT)).expect("conn");
    *e.svc.conns.get(id)
}

#[test]
fn nat_init_schedules_and_the_whole_association_walks_ipvs_states() {
    let (snap, mut e) = director(FwdMethod::Nat, RPORT);
    let d = &snap.services.list[0].dests[0];
    let io = run(&mut e, &snap, chunk_frame(CIP, CPORT, VIP, VPORT, chunk::INIT), 0, 0);
    assert_eq!(io.sent.len(), 1, "drops: {:?}", e.stats.drop_list());
    let (port, f) = &io.sent[0];
    let (mac, s, sp, dst, dp, _) = out(f);
    assert_eq!((*port, mac, s, sp, dst, dp), (1, RS1_MAC, CIP, CPORT, RS1, RPORT), "DNAT with the port map");
    assert_eq!(f[22], 63, "TTL");
    let c = conn_of(&e, CPORT);
    assert_eq!((c.state, c.expires), (State::SctpInit1, secs(4)), "INIT1: 4 s");
    assert_eq!((d.active(), d.inactive()), (0, 1));
    // The reply direction: INIT ACK from the real server back from the VIP.
    let io = run(&mut e, &snap, chunk_frame(RS1, RPORT, CIP, CPORT, chunk::INIT_ACK), 1, 1);
    let (mac, s, sp, dst, dp, _) = out(&io.sent[0].1);
    assert_eq!((mac, s, sp, dst, dp), (CLI_MAC, VIP, VPORT, CIP, CPORT), "SNAT back");
    assert_eq!(conn_of(&e, CPORT).state, State::SctpCookieSent);
    let steps = [
        (0, chunk::COOKIE_ECHO, State::SctpCookieReplied, 61),
        (1, chunk::COOKIE_ACK, State::SctpEstablished, 900),
        (0, chunk::DATA, State::SctpEstablished, 900),
        (1, chunk::SACK, State::SctpEstablished, 900),
        (0, chunk::SHUTDOWN, State::SctpShutdownReceived, 61),
        (1, chunk::SHUTDOWN_ACK, State::SctpShutdownAckSent, 61),
        (0, chunk::SHUTDOWN_COMPLETE, State::SctpClosed, 61),
    ];
    for (i, (port, ty, want, timeout)) in steps.into_iter().enumerate() {
        let now = 2 + i as u64;
        let f =
            if port == 0 { chunk_frame(CIP, CPORT, VIP, VPORT, ty) } else { chunk_frame(RS1, RPORT, CIP, CPORT, ty) };
        let io = run(&mut e, &snap, f, port, now);
        assert_eq!(io.sent.len(), 1, "chunk {ty}: {:?}", e.stats.drop_list());
        out(&io.sent[0].1);
        let c = conn_of(&e, CPORT);
        assert_eq!((c.state, c.expires), (want, now + secs(timeout)), "after chunk {ty}");
        let active = (want == State::SctpEstablished) as u32;
        assert_eq!((d.active(), d.inactive()), (active, 1 - active), "after chunk {ty}");
    }
    assert_eq!(e.stats.total_drops(), 0);
    // CLOSED lives 61 s, then the counters settle.
    let mut io = TestIo::default();
    for t in 9..70 * HZ {
        e.service_tick(&snap, &Neighbours::default(), &mut io, t);
    }
    assert_eq!((e.svc.conns.len(), d.active(), d.inactive()), (0, 0, 0));
}

#[test]
fn abort_rejects_and_an_init_on_a_closed_association_is_scheduled_afresh() {
    let (snap, mut e) = director(FwdMethod::Nat, RPORT);
    run(&mut e, &snap, chunk_frame(CIP, CPORT, VIP, VPORT, chunk::INIT), 0, 0);
    run(&mut e, &snap, chunk_frame(RS1, RPORT, CIP, CPORT, chunk::ABORT), 1, 1);
    assert_eq!(conn_of(&e, CPORT).state, State::SctpRejected);
    assert_eq!(conn_of(&e, CPORT).expires, 1 + secs(4));
    // An ABORT from the client ends an established association.
    for (port, ty) in [(0, chunk::INIT), (1, chunk::INIT_ACK), (0, chunk::COOKIE_ECHO), (1, chunk::COOKIE_ACK)] {
        let f = if port == 0 {
            chunk_frame(CIP, CPORT + 1, VIP, VPORT, ty)
        } else {
            chunk_frame(RS1, RPORT, CIP, CPORT + 1, ty)
        };
        run(&mut e, &snap, f, port, 2);
    }
    assert_eq!(conn_of(&e, CPORT + 1).state, State::SctpEstablished);
    run(&mut e, &snap, chunk_frame(CIP, CPORT + 1, VIP, VPORT, chunk::ABORT), 0, 3);
    assert_eq!(conn_of(&e, CPORT + 1).state, State::SctpClosed);
    let created = e.stats.conns_created.get();
    // IPVS conn_reuse_mode: an INIT on CLOSED is a new association.
    run(&mut e, &snap, chunk_frame(CIP, CPORT + 1, VIP, VPORT, chunk::INIT), 0, 4);
    assert_eq!(e.stats.conns_created.get(), created + 1);
    assert_eq!(conn_of(&e, CPORT + 1).state, State::SctpInit1);
    // A COOKIE ECHO with an ABORT bundled behind it counts as the ABORT.
    let p = build::packet(CPORT, VPORT, 1, &[(chunk::COOKIE_ECHO, 0, b"c"), (chunk::ABORT, 0, &[])]);
    run(&mut e, &snap, frame(CIP, VIP, &p), 0, 5);
    assert_eq!(conn_of(&e, CPORT).state, State::SctpClosed);
}

#[test]
fn nat_without_a_port_map_leaves_the_sctp_packet_untouched() {
    let (snap, mut e) = director(FwdMethod::Nat, 0);
    let f = chunk_frame(CIP, CPORT, VIP, VPORT, chunk::INIT);
    let io = run(&mut e, &snap, f.clone(), 0, 0);
    let (_, _, _, dst, dp, s) = out(&io.sent[0].1);
    assert_eq!((dst, dp), (RS1, VPORT));
    assert_eq!(s, &f[34..], "addresses are not in the CRC32c: the SCTP bytes are as sent");
    // So a packet with a wrong CRC goes on as it is, for the server to drop.
    let mut bad = chunk_frame(CIP, CPORT, VIP, VPORT, chunk::DATA);
    bad[50] ^= 0x40;
    let io = run(&mut e, &snap, bad.clone(), 0, 1);
    assert_eq!(&io.sent[0].1[34..], &bad[34..]);
    assert_eq!(e.stats.total_drops(), 0);
}

#[test]
fn a_wrong_crc_is_not_laundered_by_a_port_rewrite() {
    for fwd in [FwdMethod::Nat, FwdMethod::FullNat] {
        let (snap, mut e) = director(fwd, RPORT);
        let mut bad = chunk_frame(CIP, CPORT, VIP, VPORT, chunk::INIT);
        bad[40] ^= 1; // the verification tag
        let io = run(&mut e, &snap, bad, 0, 0);
        assert!(io.sent.is_empty(), "{fwd:?}");
        assert_eq!(e.stats.drops(DropReason::SctpBadCrc), 1, "{fwd:?}");
    }
}

#[test]
fn fullnat_translates_both_ends_and_keeps_the_crc() {
    let (snap, mut e) = director(FwdMethod::FullNat, RPORT);
    let io = run(&mut e, &snap, chunk_frame(CIP, CPORT, VIP, VPORT, chunk::INIT), 0, 0);
    assert_eq!(io.sent.len(), 1, "{:?}", e.stats.drop_list());
    let (mac, s, lport, dst, dp, body) = out(&io.sent[0].1);
    assert_eq!((mac, s, dst, dp), (RS1_MAC, LIP, RS1, RPORT));
    assert_ne!(lport, CPORT);
    let sent = chunk_frame(CIP, CPORT, VIP, VPORT, chunk::INIT);
    assert_eq!((&body[4..8], &body[12..]), (&sent[38..42], &sent[46..]), "only the ports and the CRC change");
    let io = run(&mut e, &snap, chunk_frame(RS1, RPORT, LIP, lport, chunk::INIT_ACK), 1, 1);
    let (mac, s, sp, dst, dp, _) = out(&io.sent[0].1);
    assert_eq!((mac, s, sp, dst, dp), (CLI_MAC, VIP, VPORT, CIP, CPORT));
    assert_eq!(conn_of(&e, CPORT).state, State::SctpCookieSent);
}

#[test]
fn dr_and_tun_forward_the_sctp_packet_unchanged_input_only() {
    let orig = chunk_frame(CIP, CPORT, VIP, VPORT, chunk::INIT);
    let (snap, mut e) = director(FwdMethod::Dr, 0);
    let io = run(&mut e, &snap, orig.clone(), 0, 0);
    let f = &io.sent[0].1;
    let (mac, s, sp, dst, dp, body) = out(f);
    assert_eq!((mac, s, sp, dst, dp), (RS1_MAC, CIP, CPORT, VIP, VPORT));
    assert_eq!(body, &orig[34..]);
    // The client's side alone: COOKIE ECHO establishes (INPUT-ONLY table).
    run(&mut e, &snap, chunk_frame(CIP, CPORT, VIP, VPORT, chunk::COOKIE_ECHO), 0, 1);
    assert_eq!(conn_of(&e, CPORT).state, State::SctpEstablished);
    assert_eq!(snap.services.list[0].dests[0].active(), 1);

    let (snap, mut e) = director(FwdMethod::Tun, 0);
    let io = run(&mut e, &snap, orig.clone(), 0, 0);
    let f = &io.sent[0].1;
    let outer = crate::packet::ipv4::validate(f, 14).unwrap();
    assert_eq!((outer.src, outer.dst, outer.proto), (u([192, 168, 0, 100]), u(RS1), 4));
    let mut inner = f[..14].to_vec();
    inner.extend_from_slice(&f[34..]);
    let (_, s, _, dst, _, body) = out(&inner);
    assert_eq!((s, dst), (CIP, VIP));
    assert_eq!(body, &orig[34..]);
}

#[test]
fn only_an_init_starts_an_association() {
    let (snap, mut e) = director(FwdMethod::Nat, RPORT);
    let others = [
        chunk::DATA,
        chunk::INIT_ACK,
        chunk::SACK,
        chunk::HEARTBEAT,
        chunk::ABORT,
        chunk::SHUTDOWN,
        chunk::SHUTDOWN_ACK,
        chunk::ERROR,
        chunk::COOKIE_ECHO,
        chunk::COOKIE_ACK,
        chunk::SHUTDOWN_COMPLETE,
        0xc0,
    ];
    for ty in others {
        let io = run(&mut e, &snap, chunk_frame(CIP, CPORT, VIP, VPORT, ty), 0, 0);
        assert!(io.sent.is_empty(), "chunk {ty}");
    }
    assert_eq!(e.stats.drops(DropReason::SctpNoInit), others.len() as u64);
    assert_eq!(e.svc.conns.len(), 0);
    // Not another port's service, nor TCP's.
    let io = run(&mut e, &snap, chunk_frame(CIP, CPORT, VIP, 80, chunk::INIT), 0, 0);
    assert!(io.sent.is_empty());
    assert_eq!(e.stats.drops(DropReason::NoService), 1);
}

#[test]
fn truncated_and_malformed_headers_are_dropped_with_their_names() {
    let (snap, mut e) = director(FwdMethod::FullNat, RPORT);
    let init = sctp(CPORT, VPORT, chunk::INIT, &build::init_value(1));
    for n in [0, 1, 4, 11, 12, 15] {
        run(&mut e, &snap, frame(CIP, VIP, &init[..n]), 0, 0);
    }
    assert_eq!(e.stats.drops(DropReason::SctpTruncated), 6);
    // A chunk length past the packet, or below its header.
    for clen in [0u16, 3, 21, 0xffff] {
        let mut p = init.clone();
        p[14..16].copy_from_slice(&clen.to_be_bytes());
        run(&mut e, &snap, frame(CIP, VIP, &p), 0, 0);
    }
    assert_eq!(e.stats.drops(DropReason::SctpBadChunk), 4);
    // Cut inside the INIT's value: its length says more than there is.
    run(&mut e, &snap, frame(CIP, VIP, &init[..24]), 0, 0);
    assert_eq!(e.stats.drops(DropReason::SctpBadChunk), 5);
    assert_eq!(e.svc.conns.len(), 0);
    assert_eq!(e.stats.drop_list().iter().map(|d| d.1).sum::<u64>(), 11);
}

#[test]
fn the_event_a_packet_carries() {
    let m = |ty| {
        let p = sctp(1, 2, ty, &[]);
        crate::packet::l4::check(&p, 0, p.len(), PROTO).unwrap().flags
    };
    assert_eq!(m(chunk::INIT), Event::Init as u8);
    assert_eq!(m(chunk::HEARTBEAT), Event::Data as u8);
    assert_eq!(m(chunk::SHUTDOWN_COMPLETE), Event::ShutdownComplete as u8);
}

#[test]
fn icmp_errors_about_an_association_are_translated() {
    let (snap, mut e) = director(FwdMethod::Nat, RPORT);
    run(&mut e, &snap, chunk_frame(CIP, CPORT, VIP, VPORT, chunk::INIT), 0, 0);
    // A router on the server side: frag-needed about our DNATed INIT,
    // quoting its IP header and the first 8 SCTP bytes.
    let sent = chunk_frame(CIP, CPORT, RS1, RPORT, chunk::INIT);
    let mut err = Vec::new();
    PacketBuilder::ethernet2([9; 6], S_MAC)
        .ipv4([192, 168, 0, 1], CIP, 64)
        .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
            etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1400 },
        ))
        .write(&mut err, &sent[14..42])
        .unwrap();
    let io = run(&mut e, &snap, err, 1, 1);
    assert_eq!(io.sent.len(), 1, "{:?}", e.stats.drop_list());
    let f = &io.sent[0].1;
    assert_eq!((io.sent[0].0, &f[26..30], &f[30..34]), (0, &VIP[..], &CIP[..]), "from the VIP to the client");
    assert_eq!((&f[42 + 16..42 + 20], crate::packet::get16(f, 42 + 22)), (&VIP[..], VPORT), "quoted VIP:vport");
    assert_eq!(&f[42 + 24..42 + 28], &sent[38..42], "the quoted verification tag untouched");
    assert_eq!(crate::packet::csum::fold(crate::packet::csum::sum(&f[34..], 0)), 0xffff, "ICMP checksum");
}

/// (src, dst, SCTP bytes) of a sent IPv4 frame, nothing verified.
fn out_raw(f: &[u8]) -> ([u8; 4], [u8; 4], Vec<u8>) {
    let p = SlicedPacket::from_ethernet(f).unwrap();
    let Some(NetSlice::Ipv4(ip)) = &p.net else { panic!("not ipv4") };
    let h = ip.header().to_header();
    (h.source, h.destination, ip.payload().payload.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Arbitrary bytes as the SCTP packet (often with a first chunk that
    /// fits and a right CRC, so that scheduling and the rewrites run
    /// too), then as the reply of whatever they created, through every
    /// mode: never a panic; a port rewrite never sends a wrong CRC32c and
    /// never makes a wrong one right.
    #[test]
    fn random_sctp_never_panics(
        mut body in proptest::collection::vec(any::<u8>(), 0..80),
        fit_chunk in any::<bool>(),
        fix_crc in any::<bool>(),
        init in any::<bool>(),
        fwd in prop_oneof![Just(FwdMethod::Nat), Just(FwdMethod::FullNat), Just(FwdMethod::Dr), Just(FwdMethod::Tun)],
    ) {
        if body.len() >= 16 {
            body[2..4].copy_from_slice(&VPORT.to_be_bytes());
            if init {
                body[12] = chunk::INIT;
            }
            if fit_chunk {
                let clen = 4 + u16::from_be_bytes([body[14], body[15]]) as usize % (body.len() - 15);
                body[14..16].copy_from_slice(&(clen as u16).to_be_bytes());
            }
            if fix_crc {
                let c = crc32c::crc32c(&{ let mut z = body.clone(); z[8..12].fill(0); z });
                body[8..12].copy_from_slice(&c.to_le_bytes());
            }
        }
        let (snap, mut e) = director(fwd, RPORT);
        let io = run(&mut e, &snap, frame(CIP, VIP, &body), 0, 0);
        let rewrites = matches!(fwd, FwdMethod::Nat | FwdMethod::FullNat);
        for (_, f) in &io.sent {
            if fwd == FwdMethod::Tun {
                continue;
            }
            let (_, _, s) = out_raw(f);
            prop_assert_eq!(crc_ok(&s), crc_ok(&body), "the CRC's rightness is kept");
            prop_assert!(!rewrites || crc_ok(&s));
        }
        let mut reply = body.clone();
        if reply.len() >= 4 {
            reply[..2].copy_from_slice(&RPORT.to_be_bytes());
            reply[2..4].copy_from_slice(&CPORT.to_be_bytes());
        }
        run(&mut e, &snap, frame(RS1, CIP, &reply), 1, 1);
    }
}
