//! Checks shared by the load-balancing lab tests (tests/tests/lb.rs for
//! IPv4, lb6.rs for IPv6): they drive the same lab with the same servers,
//! so what counts as a benign drop, how a connection is tied to the worker
//! that created it and what round robin must look like are one thing,
//! kept here so the two families cannot drift apart.

use crate::counters::Counters;
use crate::lab::Lab;

/// The size of the servers' /big body: enough segments that a broken
/// rewrite or a lost retransmit shows, small enough for a lab run.
pub const BIG: usize = 10 * 1024 * 1024;

/// The IPv4 VIP of the lab's default services for `mode` (scripts/lab.sh):
/// DR and TUN need it on the servers' LAN, where the real servers hold it
/// on lo; NAT and FULLNAT have it on the client side.
pub fn vip4(mode: &str) -> &'static str {
    match mode {
        "dr" | "tun" => "192.168.0.200",
        _ => "172.25.254.100",
    }
}

/// The first `n` bytes of the body the lab's servers send for /big (see
/// scripts/lab/httpd.py), to compare a download byte for byte.
pub fn pattern(n: usize) -> Vec<u8> {
    let block: Vec<u8> = (0..251 * 256).map(|i: usize| ((i * 7) + (i / 251)) as u8).collect();
    block.iter().cycle().take(n).copied().collect()
}

/// Drops that are not failures: traffic the lab's kernels send around
/// (IPv6 router solicitations, MLD reports and other multicast to group
/// MACs, neighbour solicitations for each other's addresses on the shared
/// LAN, ARP for other hosts). `ipv6_unsupported` is not among them: every
/// IPv6 frame must be handled or dropped for a named reason. Any other
/// drop, or an mbuf not back in the pool, fails the test.
pub fn check_drops(c: &Counters) {
    for (name, v) in c.drops() {
        let benign = matches!(
            name.as_str(),
            "nd_not_for_us"
                | "icmp6_unhandled"
                | "arp_not_for_us"
                | "ip_not_for_us"
                | "eth_not_for_us"
                | "eth_multicast"
                | "l4_unsupported"
        );
        assert!(benign, "unexpected drop {name}={v}:\n{}", c.source);
    }
    assert!(c.mempool_at_baseline(), "mbuf leak:\n{}", c.source);
}

/// Tear the lab down and return rvsd's final counters. The live counters
/// once traffic has settled are checked first, then the final ones: both
/// strictly, both for unexpected drops and leaks, and the final ones must
/// not count fewer packets than the live ones did.
pub fn finish(lab: Lab) -> Counters {
    let live = lab.settled();
    check_drops(&live);
    let (c, log) = lab.down_counters();
    check_drops(&c);
    assert!(c.get("rx_pkts") >= live.get("rx_pkts") && c.get("tx_pkts") >= live.get("tx_pkts"), "{log}");
    c
}

/// Run `f`, which opens exactly one connection through rvsd, and return
/// the worker that created it (the one whose `conns_created` went up)
/// with `f`'s result. Fails unless exactly one worker created exactly one
/// connection, so a test that means one connection really made one.
pub fn on_worker<T>(lab: &Lab, f: impl FnOnce() -> T) -> (usize, T) {
    let created = |c: &Counters| c.per_worker.iter().map(|w| w["conns_created"]).collect::<Vec<u64>>();
    let before = created(&lab.counters());
    let out = f();
    let after = created(&lab.counters());
    let grew: Vec<usize> = (0..after.len()).filter(|&w| after[w] != before[w]).collect();
    assert!(
        grew.len() == 1 && after[grew[0]] == before[grew[0]] + 1,
        "one new connection on one worker expected: {before:?} -> {after:?}"
    );
    (grew[0], out)
}

/// rr keeps one cursor per worker and service (dataplane/src/sched/rr.rs):
/// worker `w`'s k-th new connection of a service goes to server
/// `servers[(w + k) mod 2]`. So each worker alternates strictly, worker 0
/// starting at the first server and worker 1 at the second; with one
/// worker that is the seed's first, second, first, ... `picks` are
/// (worker, reply) in order, `servers` the replies of the service's two
/// dests in dest-list order, `name` the part of a reply that names the
/// server (applied to both sides).
pub fn check_rr(picks: &[(usize, String)], servers: [&str; 2], name: impl Fn(&str) -> String) {
    println!("rr picks (worker, reply): {picks:?}");
    let mut k = [0usize; 2];
    for (w, reply) in picks {
        let want = servers[(w + k[*w]) % 2];
        assert_eq!(name(reply), name(want), "worker {w}'s pick {} breaks its rr order: {picks:?}", k[*w]);
        k[*w] += 1;
    }
}
