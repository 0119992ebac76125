//! Issue 3: load balancing end to end in the netns lab, with the real
//! Linux TCP stack, Python HTTP servers and curl, for every forwarding
//! mode, with 1 and 2 workers.

#![forbid(unsafe_code)]

use rvs_tests::lab::Lab;
use rvs_tests::lb::{check_rr, finish, on_worker, pattern, vip4, BIG};

/// The lab's servers in the order of every service's dest list.
const SERVERS: [&str; 2] = ["webserver1 192.168.0.10", "webserver2 192.168.0.20"];

fn run_mode(id: &str, mode: &str, workers: u32) {
    let lab = Lab::up(id, mode, workers, None);
    let url = format!("http://{}/", vip4(mode));
    let seq: Vec<(usize, String)> = (0..6).map(|_| on_worker(&lab, || lab.curl(&url).trim().to_string())).collect();
    check_rr(&seq, SERVERS, |r| r.to_string());
    if workers == 1 {
        let names: Vec<&str> = seq.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(names, [SERVERS[0], SERVERS[1]].repeat(3), "the seed's round robin");
    }
    // The address the real server sees.
    let who = lab.curl(&format!("http://{}/whoami", vip4(mode)));
    let seen = who.split_whitespace().nth(1).unwrap_or("").to_string();
    match mode {
        "fullnat" => assert!(seen == "192.168.0.101" || seen == "192.168.0.102", "RS must see a LIP: {who}"),
        _ => assert_eq!(seen, "172.25.254.200", "RS must see the client: {who}"),
    }
    if mode == "nat" || mode == "fullnat" {
        // UDP with port mapping (53 -> 80): each datagram from a new
        // source port is a new connection, in rr order per worker.
        let picks: Vec<(usize, String)> = (0..4)
            .map(|i| {
                let script = format!("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.settimeout(3)\ns.sendto(b'ping{i}', ('172.25.254.100', 53))\nprint(s.recvfrom(2048)[0].decode())\n");
                let (w, out) = on_worker(&lab, || lab.sh("cli", &["python3", "-c", &script]));
                let line = out.trim().to_string();
                assert!(line.ends_with(&format!("ping{i}")), "{out}");
                (w, line)
            })
            .collect();
        check_rr(&picks, SERVERS, |r| r.split(' ').next().unwrap_or("").to_string());
    }
    // 10 MB byte for byte.
    let file = format!("/tmp/rvs-big-{id}.bin");
    lab.sh("cli", &["curl", "-sS", "--max-time", "60", "-o", &file, &format!("http://{}/big", vip4(mode))]);
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
/// rr alternates across the two ports (per worker: see `rvs_tests::lb::check_rr`).
#[test]
fn port_group_service() {
    let f = services_file(
        "g",
        "services:\n  - fwmark: 66\n    scheduler: rr\n    match: [{ proto: tcp, vip: 172.25.254.100, ports: [80, 443] }]\n    dests: [ { addr: 192.168.0.10, port: 0, fwd: nat }, { addr: 192.168.0.20, port: 0, fwd: nat } ]\n",
    );
    // Without the exception path, so a port outside the group is dropped
    // as `no_service` (with it, the kernel would refuse it: exception.rs).
    let lab = Lab::up_with("g", "nat", 2, Some(&f), &["--no-kernel"]);
    // Alternate the ports until some worker has taken two connections in
    // a row on different ports: rr order there shows one rotation across
    // the group (separate ones per port would send both to the worker's
    // first server). Each curl lands on either worker, so a handful does;
    // 32 all missing would be a 1-in-2^31 fluke.
    let (mut picks, mut ports) = (Vec::new(), Vec::new());
    let mut last: [Option<u16>; 2] = [None; 2];
    let mut crossed = false;
    for i in 0..32 {
        let port = [80u16, 443][i % 2];
        let (w, body) = on_worker(&lab, || lab.curl(&format!("http://172.25.254.100:{port}/")).trim().to_string());
        crossed |= last[w].is_some_and(|p| p != port);
        last[w] = Some(port);
        picks.push((w, body));
        ports.push(port);
        if crossed && i >= 2 {
            break;
        }
    }
    assert!(crossed, "no worker took both ports in a row: {picks:?} {ports:?}");
    check_rr(&picks, SERVERS, |r| r.to_string());
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
