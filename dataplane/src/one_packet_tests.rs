//! One-packet scheduling (`-o`) through the engine: each UDP datagram is
//! scheduled by itself and leaves no entry; without `-o` a flow's
//! datagrams stay on one dest.

use crate::engine_tests::{engine, run, snapshot, svc, CIP, RS1, RS1_MAC, RS2, RS2_MAC, VIP};
use etherparse::PacketBuilder;
use rvs_conf::{FwdMethod, Proto, SchedKind, ServiceConf, ServiceKey};

fn udp_svc(fwd: FwdMethod, one_packet: bool) -> ServiceConf {
    let mut s = svc(fwd, SchedKind::Rr, &[(RS1, 0, 1), (RS2, 0, 1)]);
    s.key = ServiceKey::Inet { proto: Proto::Udp, addr: std::net::IpAddr::from(VIP), port: 53 };
    s.one_packet = one_packet;
    s
}

fn datagram(sport: u16) -> Vec<u8> {
    let mut b = Vec::new();
    PacketBuilder::ethernet2([9; 6], [0; 6]).ipv4(CIP, VIP, 64).udp(sport, 53).write(&mut b, b"query").unwrap();
    b
}

/// The real server (by its MAC) each of four datagrams of one flow went to.
fn four_from_one_port(one_packet: bool, fwd: FwdMethod) -> (Vec<[u8; 6]>, usize, u64) {
    let snap = snapshot(1, 1, &[udp_svc(fwd, one_packet)], None);
    let mut e = engine(0, 1, 64);
    let mut macs = Vec::new();
    for t in 0..4 {
        let io = run(&mut e, &snap, datagram(40000), 0, t);
        assert_eq!(io.sent.len(), 1, "drops: {:?}", e.stats.drop_list());
        let mut mac = [0; 6];
        mac.copy_from_slice(&io.sent[0].1[0..6]);
        macs.push(mac);
    }
    let d = &snap.services.list[0].dests;
    assert_eq!(d.iter().map(|d| d.active() + d.inactive()).sum::<u32>() as usize, e.svc.conns.len(), "accounting");
    (macs, e.svc.conns.len(), e.stats.conns_created.get())
}

#[test]
fn each_datagram_is_scheduled_and_no_entry_stays() {
    for fwd in [FwdMethod::Dr, FwdMethod::Tun] {
        let (macs, left, created) = four_from_one_port(true, fwd);
        if fwd == FwdMethod::Dr {
            assert_eq!(macs, [RS1_MAC, RS2_MAC, RS1_MAC, RS2_MAC], "rr per datagram");
        }
        assert_eq!((left, created), (0, 4), "{fwd:?}: one entry per datagram, none kept");
    }
}

#[test]
fn without_it_a_flow_stays_on_its_dest() {
    let (macs, left, created) = four_from_one_port(false, FwdMethod::Dr);
    assert_eq!(macs, [RS1_MAC; 4]);
    assert_eq!((left, created), (1, 1));
}
