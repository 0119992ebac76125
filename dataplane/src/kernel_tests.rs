//! The exception path in the engine: what goes up to the director's
//! kernel, what stays in rvsd, and the rate limit.

use crate::packet::eth::Mac;
use crate::testkit::*;
use etherparse::PacketBuilder;

fn eth(dst: Mac, src: Mac) -> etherparse::PacketBuilderStep<etherparse::Ethernet2Header> {
    PacketBuilder::ethernet2(src, dst)
}

fn tcp_to(dst: [u8; 4], dport: u16, flags_syn: bool) -> Vec<u8> {
    let b = eth(CLIENT_MAC, CIP_MAC).ipv4(CIP, dst, 64).tcp(40000, dport, 1, 64000);
    let b = if flags_syn { b.syn() } else { b.ack(1) };
    let mut v = Vec::new();
    b.write(&mut v, b"").unwrap();
    v
}

fn icmp_to(dst: [u8; 4], reply: bool) -> Vec<u8> {
    let b = eth(CLIENT_MAC, CIP_MAC).ipv4(CIP, dst, 64);
    let b = if reply { b.icmpv4_echo_reply(7, 1) } else { b.icmpv4_echo_request(7, 1) };
    let mut v = Vec::new();
    b.write(&mut v, b"ping").unwrap();
    v
}

fn arp_reply_from_cip() -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&CLIENT_MAC);
    f.extend_from_slice(&CIP_MAC);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
    f.extend_from_slice(&CIP_MAC);
    f.extend_from_slice(&CIP);
    f.extend_from_slice(&CLIENT_MAC);
    f.extend_from_slice(&DIP_CLIENT);
    f.resize(60, 0);
    f
}

fn with_kernel(workers: usize, rate: u32, burst: u32) -> Harness {
    let mut h = Harness::new(workers);
    for i in h.snap.ifaces.iter_mut() {
        i.kernel = Some((rate, burst));
    }
    h
}

#[test]
fn the_directors_own_traffic_goes_up_unchanged_on_the_link_it_came_in_on() {
    for workers in [1, 2] {
        let mut h = with_kernel(workers, 1000, 100);
        for (syn, w) in [(true, 0), (false, 1)] {
            let f = tcp_to(DIP_CLIENT, 22, syn);
            let step = h.send_on(w, CLIENT, f.clone()).unwrap();
            assert!(step.sent.is_empty() && step.drops.is_empty(), "{step:?}");
            assert_eq!(step.up.len(), 1, "{step:?}");
            assert_eq!(step.up[0].0, CLIENT);
            assert_eq!(step.up[0].1.bytes, f, "passed up as received");
            assert_eq!(step.redirects, 0, "no owner worker for the kernel's traffic");
        }
        // The server side's address, from the server side.
        let mut v = Vec::new();
        eth(SERVER_MAC, RS1_MAC).ipv4(RS1, DIP, 64).tcp(80, 50000, 1, 1000).syn().ack(1).write(&mut v, b"").unwrap();
        let step = h.send(SERVER, v).unwrap();
        assert_eq!(step.up.iter().map(|u| u.0).collect::<Vec<_>>(), vec![SERVER], "{step:?}");
    }
}

#[test]
fn without_a_kernel_interface_the_same_packets_are_dropped_by_name() {
    let mut h = Harness::new(1);
    let step = h.send(CLIENT, tcp_to(DIP_CLIENT, 22, true)).unwrap();
    assert!(step.up.is_empty());
    assert_eq!(step.drops, vec![("no_service", 1)]);
    let step = h.send(CLIENT, icmp_to(DIP_CLIENT, true)).unwrap();
    assert_eq!(step.drops, vec![("icmp_unhandled", 1)]);
}

#[test]
fn services_echo_and_arp_requests_stay_in_rvsd() {
    let mut h = with_kernel(1, 1000, 100);
    // A service port of a VIP that is no interface address: the data path's.
    let step = h.send(CLIENT, tcp_to(VIP_NAT, TCP_PORT, true)).unwrap();
    assert!(step.up.is_empty() && step.sent.len() == 1, "{step:?}");
    // Another port of that VIP: nobody's.
    let step = h.send(CLIENT, tcp_to(VIP_NAT, 22, true)).unwrap();
    assert_eq!((step.up.len(), step.drops.clone()), (0, vec![("no_service", 1)]));
    // rvsd answers pings of its addresses; the replies to the kernel's go up.
    let step = h.send(CLIENT, icmp_to(DIP_CLIENT, false)).unwrap();
    assert!(step.up.is_empty() && step.sent.len() == 1, "{step:?}");
    let step = h.send(CLIENT, icmp_to(DIP_CLIENT, true)).unwrap();
    assert_eq!(step.up.len(), 1, "{step:?}");
    // An ARP reply is learnt and passed up, so the kernel resolves too.
    let learned = h.engines[0].stats.arp_learned.get();
    let step = h.send(CLIENT, arp_reply_from_cip()).unwrap();
    assert_eq!(step.up.len(), 1, "{step:?}");
    assert_eq!(h.engines[0].stats.arp_learned.get(), learned + 1);
}

#[test]
fn a_flood_of_the_dip_is_cut_at_the_rate_limit() {
    let mut h = with_kernel(1, 10, 5);
    let mut up = 0;
    let mut limited = 0;
    for _ in 0..50 {
        let step = h.send(CLIENT, tcp_to(DIP_CLIENT, 22, true)).unwrap();
        up += step.up.len();
        limited += step.drops.iter().filter(|d| d.0 == "kernel_ratelimit").map(|d| d.1).sum::<u64>();
    }
    assert_eq!((up, limited), (5, 45), "the burst passes, then nothing within the same tick");
    // One second later the bucket holds `rate` tokens again (capped at burst).
    h.advance(crate::conn::HZ).unwrap();
    let n: usize = (0..20).map(|_| h.send(CLIENT, tcp_to(DIP_CLIENT, 22, true)).unwrap().up.len()).sum();
    assert_eq!(n, 5);
    assert_eq!(h.engines[0].stats.kernel_up.get(), 10);
}

/// A backup's sync datagrams arrive multicast: those for the group and
/// port go up to the kernel's socket, other multicast stays dropped.
#[test]
fn sync_multicast_goes_up_only_for_the_group_and_port() {
    let mut h = with_kernel(1, 1000, 100);
    let dgram = |group: [u8; 4], port: u16| {
        let mac = [0x01, 0x00, 0x5e, group[1] & 0x7f, group[2], group[3]];
        let mut v = Vec::new();
        eth(mac, CIP_MAC).ipv4(CIP, group, 1).udp(8848, port).write(&mut v, b"sync").unwrap();
        v
    };
    let step = h.send(CLIENT, dgram([224, 0, 0, 81], 8848)).unwrap();
    assert_eq!((step.up.len(), step.drops.clone()), (0, vec![("eth_multicast", 1)]), "no sync: dropped");
    h.snap.sync.group = Some((u32::from_be_bytes([224, 0, 0, 81]), 8848));
    let step = h.send(CLIENT, dgram([224, 0, 0, 81], 8848)).unwrap();
    assert_eq!(step.up.len(), 1, "{step:?}");
    for (g, p) in [([224, 0, 0, 82], 8848), ([224, 0, 0, 81], 8849)] {
        let step = h.send(CLIENT, dgram(g, p)).unwrap();
        assert_eq!((step.up.len(), step.drops.clone()), (0, vec![("eth_multicast", 1)]), "{g:?}:{p}");
    }
}
