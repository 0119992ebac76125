//! Issue 3: load balancing end to end in the netns lab, with the real
//! Linux TCP stack, Python HTTP servers and curl, for every forwarding
//! mode, with 1 and 2 workers.

#![forbid(unsafe_code)]

use rvs_tests::counters::Counters;
use rvs_tests::lab::Lab;

/// The body the lab's servers send for /big (see scripts/lab/httpd.py).
fn pattern(n: usize) -> Vec<u8> {
    let block: Vec<u8> = (0..251 * 256).map(|i: usize| ((i * 7) + (i / 251)) as u8).collect();
    block.iter().cycle().take(n).copied().collect()
}

const BIG: usize = 10 * 1024 * 1024;

fn vip(mode: &str) -> &'static str {
    match mode {
        "dr" | "tun" => "192.168.0.200",
        _ => "172.25.254.100",
    }
}

/// Drops that are not failures: traffic the lab's kernels send around
/// (IPv6 router solicitations to group MACs, ARP for other hosts on the
/// shared LAN).
fn check_drops(c: &Counters) {
    for (name, v) in c.drops() {
        let benign = matches!(
            name.as_str(),
            "ipv6_unsupported"
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

/// The live counters once traffic has settled, then the final ones:
/// both strict, both checked for unexpected drops and leaks.
fn finish(lab: Lab) -> Counters {
    let live = lab.settled();
    check_drops(&live);
    let (c, log) = lab.down_counters();
    check_drops(&c);
    assert!(c.get("rx_pkts") >= live.get("rx_pkts") && c.get("tx_pkts") >= live.get("tx_pkts"), "{log}");
    c
}

fn run_mode(id: &str, mode: &str, workers: u32) {
    let lab = Lab::up(id, mode, workers, None);
    let url = format!("http://{}/", vip(mode));
    // The seed's round robin: webserver1, webserver2, webserver1, ...
    let seq: Vec<String> = (0..6).map(|_| lab.curl(&url).trim().to_string()).collect();
    let first = &seq[0];
    assert!(first == "webserver1 192.168.0.10" || first == "webserver2 192.168.0.20", "{seq:?}");
    for w in seq.windows(2) {
        assert_ne!(w[0], w[1], "rr must alternate: {seq:?}");
    }
    // The address the real server sees.
    let who = lab.curl(&format!("http://{}/whoami", vip(mode)));
    let seen = who.split_whitespace().nth(1).unwrap_or("").to_string();
    match mode {
        "fullnat" => assert!(seen == "192.168.0.101" || seen == "192.168.0.102", "RS must see a LIP: {who}"),
        _ => assert_eq!(seen, "172.25.254.200", "RS must see the client: {who}"),
    }
    if mode == "nat" || mode == "fullnat" {
        // UDP with port mapping (53 -> 80): each datagram from a new
        // source port is a new connection, rr alternates.
        let script = "import socket\nfor i in range(4):\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n    s.settimeout(3)\n    s.sendto(b'ping%d' % i, ('172.25.254.100', 53))\n    print(s.recvfrom(2048)[0].decode())\n";
        let out = lab.sh("cli", &["python3", "-c", script]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        for (i, l) in lines.iter().enumerate() {
            assert!(l.ends_with(&format!("ping{i}")), "{out}");
        }
        assert_ne!(lines[0].split(' ').next(), lines[1].split(' ').next(), "udp rr: {out}");
    }
    // 10 MB byte for byte.
    let file = format!("/tmp/rvs-big-{id}.bin");
    lab.sh("cli", &["curl", "-sS", "--max-time", "60", "-o", &file, &format!("http://{}/big", vip(mode))]);
    let got = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).ok();
    assert_eq!(got.len(), BIG);
    assert!(got == pattern(BIG), "10 MB body differs");

    let c = finish(lab);
    let log = &c.source;
    assert!(c.get("conns_created") >= 8, "{log}");
    // net_tap has no RETA (its RSS is an rte_flow action with its own
    // key): with several queues it runs without RSS, and says why.
    let want = if workers > 1 { "rss off (device has no redirection table)" } else { "rss off (one rx queue)" };
    let ifaces: Vec<&str> = log.lines().filter(|l| l.starts_with("rvsd: interface ")).collect();
    assert!(!ifaces.is_empty() && ifaces.iter().all(|l| l.ends_with(want)), "{want}:\n{log}");
    let tx_pkts = c.get("tx_pkts");
    if mode == "dr" || mode == "tun" {
        // Replies bypass the director: it sent only the client's packets.
        assert!(tx_pkts < 2000, "{mode}: director transmitted {tx_pkts} packets for a 10 MB reply:\n{log}");
    } else {
        assert!(tx_pkts > 7000, "{mode}: replies must cross the director:\n{log}");
    }
    if workers > 1 && (mode == "nat" || mode == "fullnat") {
        assert!(c.get("redirect_in") > 0, "2 workers: no redirect seen:\n{log}");
    }
}

#[test]
fn nat_1_worker() {
    run_mode("n1", "nat", 1);
}

#[test]
fn nat_2_workers() {
    run_mode("n2", "nat", 2);
}

#[test]
fn dr_1_worker() {
    run_mode("d1", "dr", 1);
}

#[test]
fn dr_2_workers() {
    run_mode("d2", "dr", 2);
}

#[test]
fn tun_1_worker() {
    run_mode("t1", "tun", 1);
}

#[test]
fn tun_2_workers() {
    run_mode("t2", "tun", 2);
}

#[test]
fn fullnat_1_worker() {
    run_mode("f1", "fullnat", 1);
}

#[test]
fn fullnat_2_workers() {
    run_mode("f2", "fullnat", 2);
}

fn services_file(id: &str, yaml: &str) -> String {
    let p = format!("/tmp/rvs-services-{id}.yaml");
    std::fs::write(&p, yaml).unwrap();
    p
}

/// The seed's firewall-mark lab: 80 and 443 scheduled as one service, so
/// rr alternates across the two ports.
#[test]
fn port_group_service() {
    let f = services_file(
        "g",
        "services:\n  - fwmark: 66\n    scheduler: rr\n    match: [{ proto: tcp, vip: 172.25.254.100, ports: [80, 443] }]\n    dests: [ { addr: 192.168.0.10, port: 0, fwd: nat }, { addr: 192.168.0.20, port: 0, fwd: nat } ]\n",
    );
    let lab = Lab::up("g", "nat", 2, Some(&f));
    let a = lab.curl("http://172.25.254.100:80/");
    let b = lab.curl("http://172.25.254.100:443/");
    let c = lab.curl("http://172.25.254.100:80/");
    assert_ne!(a, b, "80 then 443 must go to different servers (one rr across the group)");
    assert_eq!(a, c);
    // A port outside the group is not a service.
    let o = lab.exec("cli", &["curl", "-sS", "--max-time", "2", "http://172.25.254.100:8080/"]);
    assert!(!o.status.success());
    let live = lab.settled();
    assert!(live.drop("no_service") >= 1, "{}", live.source);
    let (c, log) = lab.down_counters();
    assert!(c.drop("no_service") >= 1, "{log}");
}

/// `-p`: one client sticks to one server across connections (and ports of
/// a port-0 service), even when its connections land on different workers.
#[test]
fn persistent_service() {
    let f = services_file(
        "s",
        "services:\n  - { vip: 172.25.254.100, port: 0, scheduler: rr, persistent: 300, dests: [ { addr: 192.168.0.10, fwd: nat }, { addr: 192.168.0.20, fwd: nat } ] }\n",
    );
    let lab = Lab::up("s", "nat", 2, Some(&f));
    let first = lab.curl("http://172.25.254.100/");
    for port in [80, 443, 80, 443, 80, 443] {
        assert_eq!(lab.curl(&format!("http://172.25.254.100:{port}/")), first, "persistence broken");
    }
    finish(lab);
}
