//! FULLNAT local-port exhaustion (issue 12): when every local port of the
//! LIPs a worker owns is held by a connection, a new connection is refused
//! with the named drop `lport_exhausted` (never lost silently), and a port
//! comes back when its connection expires.

use crate::conn::HZ;
use crate::drop::DropReason;
use crate::engine_tests::*;
use crate::l3::neigh::Neighbours;
use rvs_conf::{FwdMethod, SchedKind};

/// Ports rvsd hands out per LIP: 1024..=65535.
const PORTS: u16 = 64512;

#[test]
fn exhausted_pool_is_a_named_drop_and_ports_come_back() {
    let snap = snapshot(1, 1, &[svc(FwdMethod::FullNat, SchedKind::Rr, &[(RS1, 80, 1)])], None);
    let mut e = engine(0, 1, usize::from(PORTS) + 16);
    // One SYN per client port 1024..=65535: the one LIP's every port.
    for p in 0..PORTS {
        let io = run(&mut e, &snap, tcp(CIP, 1024 + p, VIP, 80, "S", 64), 0, 0);
        assert_eq!(io.sent.len(), 1, "SYN {p}: drops {:?}", e.stats.drop_list());
    }
    assert_eq!(e.stats.drops(DropReason::LportExhausted), 0);
    // The next new connection finds no port.
    let other = [172, 25, 254, 201];
    let io = run(&mut e, &snap, tcp(other, 5000, VIP, 80, "S", 64), 0, 1);
    assert!(io.sent.is_empty());
    assert_eq!(e.stats.drops(DropReason::LportExhausted), 1);
    assert_eq!(e.svc.conns.len(), usize::from(PORTS));
    // Half-open entries expire (SYN_RECV, 60 s): their ports return.
    let mut io = TestIo::default();
    for t in 1..70 * HZ {
        e.service_tick(&snap, &Neighbours::default(), &mut io, t);
    }
    assert_eq!(e.svc.conns.len(), 0);
    let io = run(&mut e, &snap, tcp(other, 5000, VIP, 80, "S", 64), 0, 70 * HZ);
    assert_eq!(io.sent.len(), 1, "drops {:?}", e.stats.drop_list());
    assert_eq!(e.stats.drops(DropReason::LportExhausted), 1);
}
