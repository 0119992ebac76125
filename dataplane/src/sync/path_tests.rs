//! The data path's connection sync through two engines: a master notes a
//! DR connection at IPVS's packets, the event crosses (as the daemon
//! carries it: to the wire and back), a backup installs it, and the
//! flow's next packet on the backup — no SYN, no sloppy_tcp — goes to the
//! same real server and promotes the entry.

use super::path::{self, SyncEvent, F_SYNCED};
use super::{decode, Encoder};
use crate::conn::{ConnKey, State};
use crate::engine_tests::*;
use rvs_conf::{FwdMethod, SchedKind};

fn rings() -> (rtrb::Producer<SyncEvent>, rtrb::Consumer<SyncEvent>) {
    rtrb::RingBuffer::new(64)
}

#[test]
fn master_notes_backup_installs_traffic_promotes() {
    let dests = [(RS1, 80, 1), (RS2, 80, 1)];
    let mut snap = snapshot(1, 1, &[svc(FwdMethod::Dr, SchedKind::Wlc, &dests)], None);
    snap.sync.master = true;
    (snap.sync.threshold, snap.sync.period) = (3, 50);
    let mut master = engine(0, 1, 64);
    let (tx, mut from_master) = rings();
    master.sync.out = Some(tx);
    // SYN (1), ACK (2: ESTABLISHED, not yet), data (3: sent).
    let first = run(&mut master, &snap, tcp(CIP, 7000, VIP, 80, "S", 64), 0, 0);
    let rs = parsed(&first.sent[0].1).0;
    run(&mut master, &snap, tcp(CIP, 7000, VIP, 80, "A", 64), 0, 1);
    assert!(from_master.pop().is_err(), "not before the threshold");
    run(&mut master, &snap, tcp(CIP, 7000, VIP, 80, "PA", 64), 0, 2);
    let ev = from_master.pop().expect("the third packet sends");
    assert_eq!((ev.state, ev.fwd, ev.cport, ev.timeout), (State::Established, FwdMethod::Dr, 7000, 900));
    assert_eq!(master.stats.sync_queued.get(), 1);
    // 4th..52nd send nothing, the 53rd does (3 mod 50).
    for i in 4..=53u64 {
        run(&mut master, &snap, tcp(CIP, 7000, VIP, 80, "A", 64), 0, i);
    }
    assert!(from_master.pop().is_ok() && from_master.pop().is_err(), "one more at packet 53");
    // A FIN moves it to FIN_WAIT: sent at once.
    run(&mut master, &snap, tcp(CIP, 7000, VIP, 80, "FA", 64), 0, 60);
    assert_eq!(from_master.pop().expect("FIN_WAIT sends").state, State::FinWait);

    // Over the wire, as the daemon carries it.
    let mut enc = Encoder::new(1472);
    assert!(enc.push(&path::to_wire(&ev)).unwrap());
    let msg = decode(enc.finish(7)).unwrap();
    assert_eq!(msg.syncid, 7);
    let back = path::from_wire(&msg.conns[0], |_| 1).unwrap();
    assert_eq!(back, ev);

    // The backup: the same service, dests listed the other way round.
    let other = snapshot(1, 1, &[svc(FwdMethod::Dr, SchedKind::Wlc, &[dests[1], dests[0]])], None);
    let mut backup = engine(0, 1, 64);
    let (mut to_backup, rx) = rings();
    backup.sync.inbox = Some(rx);
    to_backup.push(back).unwrap();
    assert_eq!(path::drain(&mut backup, &other, 100), 1);
    assert_eq!(backup.stats.sync_installed.get(), 1);
    let key = ConnKey::new(6, u(CIP), 7000, u(VIP), 80);
    let (id, _) = backup.svc.conns.lookup(&key).expect("installed");
    let c = *backup.svc.conns.get(id);
    assert_eq!((c.state, c.flags & F_SYNCED), (State::Established, F_SYNCED));
    assert_eq!(c.expires, 100 + 900 * crate::conn::HZ);
    assert_eq!(other.services.list[0].dests.iter().map(|d| d.active()).sum::<u32>(), 1);
    // Refreshed, not duplicated.
    to_backup.push(back).unwrap();
    path::drain(&mut backup, &other, 200);
    assert_eq!(backup.svc.conns.len(), 1);
    // The flow's next packet: no SYN, and sloppy_tcp is off.
    let io = run(&mut backup, &other, tcp(CIP, 7000, VIP, 80, "A", 64), 0, 300);
    assert_eq!(io.sent.len(), 1, "drops: {:?}", backup.stats.drop_list());
    assert_eq!(parsed(&io.sent[0].1).0, rs, "the master's real server");
    assert_eq!(backup.svc.conns.get(id).flags & F_SYNCED, 0, "promoted");
    assert_eq!(backup.stats.sync_promoted.get(), 1);
}

#[test]
fn installs_that_cannot_be_honoured_are_refused() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::Dr, SchedKind::Rr, &[(RS1, 80, 1)])], None);
    let mut e = engine(0, 1, 64);
    let ev = |vport, daddr: [u8; 4], fwd| SyncEvent {
        proto: 6,
        fwd,
        state: State::Established,
        caddr: std::net::Ipv4Addr::from(CIP).into(),
        vaddr: std::net::Ipv4Addr::from(VIP).into(),
        daddr: std::net::Ipv4Addr::from(daddr).into(),
        laddr: std::net::Ipv4Addr::from(LIP).into(),
        cport: 1,
        vport,
        dport: 80,
        lport: 0,
        fwmark: 0,
        timeout: 900,
        template: false,
    };
    use path::Refused::*;
    assert_eq!(path::install::<_, u32>(&mut e, &snap, &ev(81, RS1, FwdMethod::Dr), 0), Err(NoService));
    assert_eq!(path::install::<_, u32>(&mut e, &snap, &ev(80, RS2, FwdMethod::Dr), 0), Err(NoDest));
    assert_eq!(path::install::<_, u32>(&mut e, &snap, &ev(80, RS1, FwdMethod::FullNat), 0), Err(FullNat));
    assert_eq!(e.svc.conns.len(), 0);
    assert_eq!(path::install::<_, u32>(&mut e, &snap, &ev(80, RS1, FwdMethod::Dr), 0), Ok(()));
}

#[test]
fn templates_and_unknown_states_are_not_events() {
    let mut c = path::to_wire(&SyncEvent {
        proto: 6,
        fwd: FwdMethod::Tun,
        state: State::TimeWait,
        caddr: "10.0.0.1".parse().unwrap(),
        vaddr: "10.0.0.2".parse().unwrap(),
        daddr: "10.0.0.3".parse().unwrap(),
        laddr: "10.0.0.1".parse().unwrap(),
        cport: 1,
        vport: 2,
        dport: 2,
        lport: 0,
        fwmark: 0,
        timeout: 0,
        template: false,
    });
    assert_eq!(c.flags, super::CONN_F_TUNNEL);
    assert_eq!(path::from_wire(&c, |s| if s == State::TimeWait { 120 } else { 0 }).unwrap().timeout, 120);
    c.state = 11;
    assert!(path::from_wire(&c, |_| 1).is_err());
    c.state = 0;
    c.flags |= super::CONN_F_TEMPLATE;
    let t = path::from_wire(&c, |_| 1).unwrap();
    assert!(t.template && t.timeout == 360, "a template without a timeout: IPVS's 360 s");
}

#[test]
fn sctp_entries_carry_the_kernels_state_numbers() {
    use crate::conn::Transition;
    let ev = |state| SyncEvent {
        proto: 132,
        fwd: FwdMethod::Dr,
        state,
        caddr: "10.0.0.1".parse().unwrap(),
        vaddr: "10.0.0.2".parse().unwrap(),
        daddr: "10.0.0.3".parse().unwrap(),
        laddr: "10.0.0.1".parse().unwrap(),
        cport: 1,
        vport: 3868,
        dport: 3868,
        lport: 0,
        fwmark: 0,
        timeout: 0,
        template: false,
    };
    // IP_VS_SCTP_S_ESTABLISHED is 8, _CLOSED 13.
    for (s, n) in [(State::SctpEstablished, 8), (State::SctpClosed, 13), (State::SctpNone, 0)] {
        let c = path::to_wire(&ev(s));
        assert_eq!(c.state, n, "{s}");
        assert_eq!(path::from_wire(&c, |_| 1).unwrap().state, s);
    }
    let mut c = path::to_wire(&ev(State::SctpClosed));
    c.state = 14;
    assert!(path::from_wire(&c, |_| 1).is_err(), "past IP_VS_SCTP_S_LAST");
    // Synced as IPVS syncs SCTP: entering a SHUTDOWN state or CLOSED sends
    // at once, ESTABLISHED at the threshold, the handshake never.
    let tr = |old, new| Transition { old, new };
    assert!(path::needed(132, tr(State::SctpEstablished, State::SctpShutdownSent), 0, 3, 50));
    assert!(path::needed(132, tr(State::SctpShutdownAckSent, State::SctpClosed), 0, 3, 50));
    assert!(!path::needed(132, tr(State::SctpCookieSent, State::SctpEstablished), 0, 3, 50));
    assert!(path::needed(132, tr(State::SctpEstablished, State::SctpEstablished), 3, 3, 50));
    assert!(!path::needed(132, tr(State::SctpInit1, State::SctpCookieSent), 3, 3, 50));
}

/// Persistence: the master sends the connection's template before it; the
/// backup installs it, and the client's next connection there (a new SYN)
/// sticks to the template's dest whatever the scheduler would pick.
#[test]
fn templates_follow_their_connections() {
    let dests = [(RS1, 80, 1), (RS2, 80, 1)];
    let mut conf = svc(FwdMethod::Dr, SchedKind::Rr, &dests);
    conf.persistent = Some(600);
    let mut snap = snapshot(1, 1, &[conf.clone()], None);
    snap.sync.master = true;
    (snap.sync.threshold, snap.sync.period) = (2, 50);
    let mut master = engine(0, 1, 64);
    let (tx, mut from_master) = rings();
    master.sync.out = Some(tx);
    let io = run(&mut master, &snap, tcp(CIP, 7100, VIP, 80, "S", 64), 0, 0);
    let rs = parsed(&io.sent[0].1).0;
    run(&mut master, &snap, tcp(CIP, 7100, VIP, 80, "A", 64), 0, 1);
    let (t, c) = (from_master.pop().unwrap(), from_master.pop().unwrap());
    assert!(t.template && !c.template);
    assert_eq!((t.cport, t.timeout, t.vport), (0, 600, 80));
    assert_eq!(t.daddr, c.daddr);
    let mut enc = Encoder::new(1472);
    enc.push(&path::to_wire(&t)).unwrap();
    enc.push(&path::to_wire(&c)).unwrap();
    let msg = decode(enc.finish(1)).unwrap();
    assert_ne!(msg.conns[0].flags & super::CONN_F_TEMPLATE, 0);
    let backup_snap = snapshot(1, 1, &[conf], None);
    let mut backup = engine(0, 1, 64);
    let (mut to_backup, rx) = rings();
    backup.sync.inbox = Some(rx);
    for r in &msg.conns {
        to_backup.push(path::from_wire(r, |_| 1).unwrap()).unwrap();
    }
    assert_eq!(path::drain(&mut backup, &backup_snap, 10), 2);
    assert_eq!((backup.stats.sync_installed.get(), backup.stats.sync_refused.get()), (2, 0));
    // New connections of that client on the backup: all to the same dest
    // (rr alone would alternate).
    for p in 7200..7204u16 {
        let io = run(&mut backup, &backup_snap, tcp(CIP, p, VIP, 80, "S", 64), 0, 20);
        assert_eq!(parsed(&io.sent[0].1).0, rs, "port {p} sticks to the template's dest");
    }
}

#[test]
fn a_received_connection_goes_to_the_worker_that_owns_its_flow() {
    let snap = snapshot(1, 4, &[svc(FwdMethod::Dr, SchedKind::Rr, &[(RS1, 80, 1)])], None);
    for port in 1000..1100u16 {
        let ev = SyncEvent {
            proto: 6,
            fwd: FwdMethod::Dr,
            state: State::Established,
            caddr: std::net::Ipv4Addr::from(CIP).into(),
            vaddr: std::net::Ipv4Addr::from(VIP).into(),
            daddr: std::net::Ipv4Addr::from(RS1).into(),
            laddr: std::net::Ipv4Addr::UNSPECIFIED.into(),
            cport: port,
            vport: 80,
            dport: 80,
            lport: 0,
            fwmark: 0,
            timeout: 900,
            template: false,
        };
        let data_path = crate::service_path::owner(&snap, 4, u(CIP), port, u(VIP), 80);
        assert_eq!(path::owner(4, &ev), data_path, "port {port}");
    }
}
