//! The burst pipeline gives exactly what packet-at-a-time processing
//! gives: same frames out in the same order, same counters, same table,
//! whatever the burst boundaries — including packets of one flow that
//! depend on each other inside a burst (a SYN and the ACK of the
//! connection it creates; a SYN reusing a finished entry, then its ACK).

use crate::conn::HZ;
use crate::engine::{Ctx, Engine};
use crate::engine_tests::*;
use crate::l3::neigh::Neighbours;
use crate::snapshot::Snapshot;
use rvs_conf::{FwdMethod, SchedKind};

/// A client's conversation with a reused tuple: handshake, data, close
/// from both sides, then the same tuple again (IPVS conn_reuse_mode 1
/// starts a fresh connection on the new SYN).
fn conversation(sport: u16, rs: [u8; 4], rport: u16) -> Vec<(Vec<u8>, u16)> {
    let c = |f: &str| (tcp(CIP, sport, VIP, 80, f, 64), 0u16);
    let s = |f: &str| (tcp(rs, rport, CIP, sport, f, 64), 1u16);
    vec![c("S"), s("SA"), c("A"), c("A"), s("A"), c("FA"), s("FA"), c("A"), c("S"), c("A"), s("A")]
}

/// Every flow's frames, round-robin interleaved (bursts then hold several
/// flows and several packets of one flow).
fn traffic(fwd: FwdMethod) -> Vec<(Vec<u8>, u16)> {
    // rr over two dests: flow i goes to RS1 when i is even.
    let flows: Vec<_> = (0..6u16)
        .map(|i| if i % 2 == 0 { conversation(40000 + i, RS1, 8080) } else { conversation(40000 + i, RS2, 8080) })
        .collect();
    let mut out = Vec::new();
    for step in 0..flows[0].len() {
        for f in &flows {
            out.push(f[step].clone());
        }
    }
    if fwd == FwdMethod::Dr {
        // DR sees the client side only.
        out.retain(|(_, port)| *port == 0);
    }
    out
}

/// Frames sent (port, bytes), drop counters, live connections.
type Outcome = (Vec<(u16, Vec<u8>)>, Vec<(&'static str, u64)>, usize);

/// What feeding `frames` in bursts of `size` (0: one `handle` call per
/// packet) gives.
fn outcome(snap: &Snapshot, frames: &[(Vec<u8>, u16)], size: usize) -> Outcome {
    let mut e: Engine<Vec<u8>> = engine(0, 1, 64);
    let mut io = TestIo::default();
    let neigh = Neighbours::default();
    let frames: Vec<_> = frames
        .iter()
        .map(|(f, port)| {
            let mut f = f.clone();
            f[0..6].copy_from_slice(&snap.ifaces[*port as usize].mac);
            (f, *port)
        })
        .collect();
    if size == 0 {
        for (f, port) in frames {
            e.handle(snap, &neigh, &mut io, f, port, HZ);
        }
    } else {
        for chunk in frames.chunks(size) {
            let mut cx = Ctx { snap, neigh: &neigh, io: &mut io, now: HZ };
            e.handle_burst(&mut cx, chunk.iter().cloned());
        }
    }
    (io.sent, e.stats.drop_list(), e.svc.conns.len())
}

#[test]
fn bursts_forward_exactly_as_single_packets() {
    for fwd in [FwdMethod::Nat, FwdMethod::FullNat, FwdMethod::Dr] {
        let conf = svc(fwd, SchedKind::Rr, &[(RS1, 8080, 1), (RS2, 8080, 1)]);
        let snap = snapshot(1, 1, &[conf], None);
        let frames = traffic(fwd);
        let one = outcome(&snap, &frames, 0);
        assert!(!one.0.is_empty(), "{fwd:?}: nothing forwarded: {:?}", one.1);
        for size in [1, 2, 7, 32, frames.len()] {
            let got = outcome(&snap, &frames, size);
            assert_eq!(got.1, one.1, "{fwd:?}, bursts of {size}: drops");
            assert_eq!(got.2, one.2, "{fwd:?}, bursts of {size}: connections");
            assert_eq!(got.0.len(), one.0.len(), "{fwd:?}, bursts of {size}: frames sent");
            assert!(got.0 == one.0, "{fwd:?}, bursts of {size}: different frames");
        }
    }
}

#[test]
fn syn_and_ack_of_a_new_connection_in_one_burst() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 8080, 1)])], None);
    let frames = vec![(tcp(CIP, 41000, VIP, 80, "S", 64), 0), (tcp(CIP, 41000, VIP, 80, "A", 64), 0)];
    let (sent, drops, conns) = outcome(&snap, &frames, 2);
    // Without the version check the ACK's (pre-SYN) lookup says "miss",
    // and a miss without SYN is dropped as conn_no_syn.
    assert_eq!(drops, vec![], "the ACK found the connection its SYN made");
    assert_eq!((sent.len(), conns), (2, 1));
    for (port, f) in &sent {
        assert_eq!((*port, parsed(f)), (1, (RS1_MAC, CIP, 41000, RS1, 8080)));
    }
}

#[test]
fn a_burst_larger_than_the_lookup_batch() {
    // Two lookup batches (less one) of SYNs of different clients in one
    // call (the table holds 64): every one scheduled.
    let snap = snapshot(1, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 8080, 1)])], None);
    let n = 2 * crate::pipeline::BURST - 1;
    let frames: Vec<_> = (0..n).map(|i| (tcp(CIP, 20000 + i as u16, VIP, 80, "S", 64), 0)).collect();
    let (sent, drops, conns) = outcome(&snap, &frames, n);
    assert_eq!((sent.len(), conns, drops), (n, n, vec![]));
}

#[test]
fn cached_next_hop_follows_a_changed_neighbour() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 8080, 1)])], None);
    let mut e: Engine<Vec<u8>> = engine(0, 1, 64);
    let io = run(&mut e, &snap, tcp(CIP, 42000, VIP, 80, "S", 64), 0, HZ);
    assert_eq!(parsed(&io.sent[0].1).0, RS1_MAC);
    // The real server's MAC changes (a failover): the cached hop goes.
    let moved = [2, 0, 0, 0, 2, 0x99];
    let t = e.neigh.as_mut().unwrap();
    t.learn(1, u(RS1), moved, 1);
    let io = run(&mut e, &snap, tcp(CIP, 42000, VIP, 80, "A", 64), 0, HZ);
    assert_eq!(parsed(&io.sent[0].1).0, moved);
    // A new snapshot (routes may differ) is not served from the cache
    // either: here the server's subnet moved to port 0.
    let mut snap2 = snapshot(2, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 8080, 1)])], Some(&snap));
    snap2.routes = crate::l3::route::RouteTable::default();
    let io = run(&mut e, &snap2, tcp(CIP, 42000, VIP, 80, "A", 64), 0, HZ);
    assert!(io.sent.is_empty(), "no route in the new snapshot: {:?}", e.stats.drop_list());
    assert_eq!(e.stats.drops(crate::drop::DropReason::NoRoute), 1);
}

#[test]
fn class_filter_never_hides_one_of_our_addresses() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::FullNat, SchedKind::Rr, &[(RS1, 8080, 1)])], None);
    use crate::snapshot::class;
    assert_eq!(snap.class(u(VIP)) & class::VIP, class::VIP);
    assert_eq!(snap.class(u(LIP)) & class::LIP, class::LIP);
    for ifc in &snap.ifaces {
        for (a, _) in &ifc.addrs {
            assert_eq!(snap.class(*a) & class::LOCAL, class::LOCAL);
        }
    }
    // Everything else is not ours, whatever the filter says.
    let ours = [u(VIP), u(LIP)];
    let mut x = 0x1234_5678u32;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if !ours.contains(&x) && !snap.local.contains_key(&x) {
            assert_eq!(snap.class(x), 0, "{x:#x}");
        }
    }
}

#[test]
fn a_redirect_carries_its_metadata_and_the_owner_forwards_it_unparsed() {
    use crate::redirect::Redirected;
    let snap = snapshot(1, 2, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 8080, 1)])], None);
    // A client port whose flow worker 1 owns.
    let sport = (43000u16..).find(|p| crate::service_path::owner(&snap, 2, u(CIP), *p, u(VIP), 80) == 1).unwrap();
    let mut e0 = engine(0, 2, 64);
    let io = run(&mut e0, &snap, tcp(CIP, sport, VIP, 80, "S", 64), 0, HZ);
    assert_eq!(io.redirected.len(), 1);
    let Some(crate::pipeline::AnyMeta::V4(m)) = io.redirected_meta[0] else { panic!("classified before the hand-off") };
    assert_eq!((m.key.sport, m.key.dport, m.key.daddr), (sport, 80, u(VIP)));
    // The owner takes it from the lookup on: the same frame out as if it
    // had received the packet itself.
    let mut e1 = engine(1, 2, 64);
    let neigh = neigh_of(&mut e0);
    let mut io1 = TestIo::default();
    let (_, pkt) = io.redirected.into_iter().next().unwrap();
    let mut cx = Ctx { snap: &snap, neigh: &neigh, io: &mut io1, now: HZ };
    e1.handle_redirected(
        &mut cx,
        [Redirected { pkt: pkt.clone(), port_idx: 0, meta: Some(crate::pipeline::AnyMeta::V4(m)) }],
    );
    let mut direct = engine(1, 2, 64);
    let io2 = run_with(&mut direct, &snap, &neigh, pkt, 0, HZ);
    assert_eq!(io1.sent.len(), 1, "{:?}", e1.stats.drop_list());
    assert_eq!(io1.sent, io2.sent);
    assert_eq!(e1.svc.conns.len(), 1);
}

/// Worker 0's neighbour table as the other workers see it.
fn neigh_of(e0: &mut Engine<Vec<u8>>) -> Neighbours {
    let t = e0.neigh.as_mut().unwrap();
    t.learn(0, u(CIP), CLI_MAC, 0);
    Neighbours { v4: t.take_snapshot().unwrap_or_default(), ..Default::default() }
}

#[test]
fn fullnat_replies_steered_to_the_owner_queue_by_rss() {
    use crate::rss::{default_reta, PortRss, DEFAULT_KEY};
    let mut snap = snapshot(1, 2, &[svc(FwdMethod::FullNat, SchedKind::Rr, &[(RS1, 8080, 1)])], None);
    let rss = PortRss::new(&DEFAULT_KEY, default_reta(128, 2));
    snap.ifaces[1].rss = Some(rss.clone());
    let mut e1 = engine(1, 2, 256);
    let neigh = neigh_of(&mut engine(0, 2, 64));
    let mut n = 0;
    for sport in 30000u16..30400 {
        if crate::service_path::owner(&snap, 2, u(CIP), sport, u(VIP), 80) != 1 {
            continue;
        }
        let mut io = TestIo::default();
        let mut f = tcp(CIP, sport, VIP, 80, "S", 64);
        f[0..6].copy_from_slice(&snap.ifaces[0].mac);
        let mut cx = Ctx { snap: &snap, neigh: &neigh, io: &mut io, now: HZ };
        e1.handle_burst(&mut cx, [(f, 0)]);
        let (_, lip, lport, rs, rport) = parsed(&io.sent[0].1);
        assert_eq!((lip, rs, rport), (LIP, RS1, 8080));
        assert_eq!(lport % 2, 1, "worker 1's port");
        assert_eq!(rss.queue_for_v4(u(RS1), 8080, u(LIP), lport), 1, "the reply's queue is worker 1's");
        n += 1;
    }
    assert!(n > 100, "{n} connections");
    assert_eq!(e1.svc.lports.unsteered, 0);
}

#[test]
fn dr_on_an_rss_port_is_owned_by_the_receiving_worker() {
    use crate::rss::{default_reta, PortRss, DEFAULT_KEY};
    let dr = svc(FwdMethod::Dr, SchedKind::Rr, &[(RS1, 0, 1)]);
    let mut snap = snapshot(1, 2, &[dr], None);
    let neigh = neigh_of(&mut engine(0, 2, 64));
    let redirects = |snap: &Snapshot| {
        let mut e1 = engine(1, 2, 256);
        let mut io = TestIo::default();
        for sport in 30000u16..30100 {
            let mut f = tcp(CIP, sport, VIP, 80, "S", 64);
            f[0..6].copy_from_slice(&snap.ifaces[0].mac);
            let mut cx = Ctx { snap, neigh: &neigh, io: &mut io, now: HZ };
            e1.handle_burst(&mut cx, [(f, 0)]);
        }
        (io.redirected.len(), io.sent.len(), e1.svc.conns.len())
    };
    // Without RSS the flow hash names the owner: about half go to worker 0.
    let (r, s, c) = redirects(&snap);
    assert!(r > 20 && r + s == 100 && c == s, "{r} redirected, {s} sent");
    // With RSS every flow stays on the worker whose queue received it.
    snap.ifaces[0].rss = Some(PortRss::new(&DEFAULT_KEY, default_reta(128, 2)));
    assert_eq!(redirects(&snap), (0, 100, 100));
    // A NAT VIP on the same port still follows the flow hash (its
    // replies arrive by another tuple).
    let mut nat = snapshot(1, 2, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 8080, 1)])], None);
    nat.ifaces[0].rss = snap.ifaces[0].rss.clone();
    assert!(redirects(&nat).0 > 20);
}

#[test]
fn a_vlan_tagged_frame_is_refused_by_name() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::Nat, SchedKind::Rr, &[(RS1, 8080, 1)])], None);
    let mut e = engine(0, 1, 64);
    let plain = tcp(CIP, 44000, VIP, 80, "S", 64);
    // The same SYN with an 802.1Q tag (VLAN 7) after the MAC addresses.
    let mut tagged = plain[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x07]);
    tagged.extend_from_slice(&plain[12..]);
    let io = run(&mut e, &snap, tagged, 0, HZ);
    assert!(io.sent.is_empty());
    assert_eq!(e.stats.drop_list(), vec![("eth_unknown_type", 1)]);
}
