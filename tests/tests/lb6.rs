//! Issue 13: IPv6 load balancing end to end in the dual-stack netns lab
//! (`scripts/lab.sh up --ipv6`), with the real Linux TCP/IPv6 stack,
//! Python HTTP servers and curl -6: NAT, FULLNAT, DR and TUN (IPv6-in-IPv6,
//! taken off by scripts/lab/ip6ip6_decap.py on the real servers) with 1
//! and 2 workers. The same checks as lb.rs, for the IPv6 services.

#![forbid(unsafe_code)]

use rvs_tests::lab::Lab;
use rvs_tests::lb::{check_rr, finish, on_worker, pattern, vip4, BIG};

const CLIENT6: &str = "2001:db8:c::200";
const LIPS6: [&str; 2] = ["2001:db8:1::101", "2001:db8:1::102"];

fn vip6(mode: &str) -> &'static str {
    match mode {
        "dr" | "tun" => "2001:db8:1::200",
        _ => "2001:db8:c::100",
    }
}

/// The lab's servers over IPv6, in the order of every service's dest list.
const SERVERS6: [&str; 2] = ["webserver1 2001:db8:1::10", "webserver2 2001:db8:1::20"];

/// curl -6 from the client namespace (`-g`: the brackets are literal).
fn curl6(lab: &Lab, path: &str, vip: &str) -> String {
    lab.sh("cli", &["curl", "-6", "-g", "-sS", "--max-time", "10", &format!("http://[{vip}]{path}")])
}

/// `ping -6` of `addr` from `ns`, answered.
fn ping6(lab: &Lab, ns: &str, addr: &str) {
    let out = lab.sh(ns, &["ping", "-6", "-c", "2", "-W", "2", addr]);
    assert!(out.contains(" 2 received"), "{ns} -> {addr}: {out}");
}

/// The MAC rvsd's port `name` has, from its start-up line.
fn port_mac(lab: &Lab, name: &str) -> String {
    let log = lab.rvsd_log();
    let line = log
        .lines()
        .find(|l| l.starts_with(&format!("rvsd: interface {name} = ")))
        .unwrap_or_else(|| panic!("no interface {name} line:\n{log}"));
    let mut w = line.split_whitespace();
    w.find(|&t| t == "mac").and_then(|_| w.next()).unwrap_or_else(|| panic!("no mac in {line}")).to_string()
}

/// DR and TUN: the router must reach the VIP at rvsd's MAC, i.e. only rvsd
/// answered its neighbour solicitation (the real servers hold the VIP
/// on lo, which Linux does not advertise on eth0).
fn check_vip_neighbour(lab: &Lab) {
    let want = port_mac(lab, "lan");
    let neigh = lab.sh("rtr", &["ip", "-6", "neigh", "show", vip6("dr"), "dev", "eth1"]);
    assert!(neigh.contains(&format!("lladdr {want}")), "VIP {} not at rvsd's {want}: {neigh:?}", vip6("dr"));
    for rs in ["rs1", "rs2"] {
        let link = lab.sh(rs, &["ip", "-o", "link", "show", "eth0"]);
        assert!(!link.contains(&want), "{rs} shares rvsd's MAC? {link}");
    }
}

/// TUN: both real servers' IPv6-in-IPv6 decapsulators took packets, all
/// of them well-formed, all from the director's LAN address (the outer
/// source rvsd must use). Their last log line is written at `lab.sh down`.
fn check_decap6(state: &std::path::Path) {
    for rs in ["webserver1", "webserver2"] {
        let path = state.join(format!("{rs}-decap6.log"));
        let log = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let last = log.lines().last().unwrap_or("");
        let w: Vec<&str> = last.split_whitespace().collect();
        let n: u64 = match w.as_slice() {
            ["ip6ip6_decap:", _, "decapsulated", n, "dropped", "0", "from", "2001:db8:1::50"] => n.parse().unwrap_or(0),
            _ => panic!("{rs}: decapsulator's report: {log:?}"),
        };
        assert!(n > 0, "{rs}: nothing came through the IPv6 tunnel: {log:?}");
    }
}

fn run_mode(id: &str, mode: &str, workers: u32) {
    let lab = Lab::up_with(id, mode, workers, None, &["--ipv6"]);
    let vip = vip6(mode);
    let seq: Vec<(usize, String)> =
        (0..6).map(|_| on_worker(&lab, || curl6(&lab, "/", vip).trim().to_string())).collect();
    check_rr(&seq, SERVERS6, |r| r.to_string());
    if workers == 1 {
        let names: Vec<&str> = seq.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(names, [SERVERS6[0], SERVERS6[1]].repeat(3), "round robin over IPv6");
    }
    // The address the real server sees.
    let who = curl6(&lab, "/whoami", vip);
    let seen = who.split_whitespace().nth(1).unwrap_or("").to_string();
    match mode {
        "fullnat" => assert!(LIPS6.contains(&seen.as_str()), "RS must see an IPv6 LIP: {who}"),
        _ => assert_eq!(seen, CLIENT6, "RS must see the client: {who}"),
    }
    if mode == "nat" || mode == "fullnat" {
        // UDP with port mapping (53 -> 80), one connection per datagram
        // from a new source port, in rr order per worker.
        let picks: Vec<(usize, String)> = (0..4)
            .map(|i| {
                let script = format!("import socket\ns = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\ns.settimeout(3)\ns.sendto(b'ping{i}', ('{vip}', 53))\nprint(s.recvfrom(2048)[0].decode())\n");
                let (w, out) = on_worker(&lab, || lab.sh("cli", &["python3", "-c", &script]));
                let line = out.trim().to_string();
                assert!(line.ends_with(&format!("ping{i}")), "{out}");
                (w, line)
            })
            .collect();
        check_rr(&picks, SERVERS6, |r| r.split(' ').next().unwrap_or("").to_string());
    }
    // `rvsadm -Lnc` lists the IPv6 connections as ipvsadm does, with
    // bracketed addresses (from the workers' IPv6 tables).
    let o = std::process::Command::new(rvs_tests::rvsd::binary("rvsadm"))
        .arg("--socket")
        .arg(lab.socket())
        .arg("-Lnc")
        .output()
        .unwrap();
    assert!(o.status.success(), "rvsadm -Lnc: {}", String::from_utf8_lossy(&o.stderr));
    let listing = String::from_utf8_lossy(&o.stdout);
    let (client, service) = (format!("[{CLIENT6}]:"), format!("[{vip}]:80"));
    assert!(
        listing.lines().any(|l| l.contains(&client) && l.contains(&service)),
        "no IPv6 connection of {client} to {service} listed:\n{listing}"
    );
    // 10 MB byte for byte.
    let file = format!("/tmp/rvs-big6-{id}.bin");
    lab.sh("cli", &["curl", "-6", "-g", "-sS", "--max-time", "60", "-o", &file, &format!("http://[{vip}]/big")]);
    let got = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).ok();
    assert_eq!(got.len(), BIG);
    assert!(got == pattern(BIG), "10 MB body differs");

    // ICMPv6 echo of the director's own addresses (DR, TUN: through the
    // router and back over rvsd's IPv6 default route).
    let echo_before = lab.counters().get("icmp_echo");
    match mode {
        "dr" | "tun" => {
            ping6(&lab, "cli", "2001:db8:1::50");
            check_vip_neighbour(&lab);
        }
        _ => {
            ping6(&lab, "cli", "2001:db8:c::100");
            ping6(&lab, "rs1", "2001:db8:1::100");
        }
    }
    let echo = lab.counters().get("icmp_echo") - echo_before;
    assert!(echo >= 2, "icmp_echo went up by {echo}");
    // Dual stack: the IPv4 service still answers beside the IPv6 one.
    let v4 = lab.curl(&format!("http://{}/", vip4(mode)));
    assert!(v4.starts_with("webserver") && v4.contains(" 192.168.0."), "IPv4 beside IPv6: {v4}");

    let state = lab.state_dir();
    let c = finish(lab);
    let log = &c.source;
    assert!(c.get("conns_created") >= 9, "{log}");
    if mode == "tun" {
        check_decap6(&state);
    }
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
fn lb6_nat_1_worker() {
    run_mode("6n1", "nat", 1);
}

#[test]
fn lb6_nat_2_workers() {
    run_mode("6n2", "nat", 2);
}

#[test]
fn lb6_fullnat_1_worker() {
    run_mode("6f1", "fullnat", 1);
}

#[test]
fn lb6_fullnat_2_workers() {
    run_mode("6f2", "fullnat", 2);
}

#[test]
fn lb6_dr_1_worker() {
    run_mode("6d1", "dr", 1);
}

#[test]
fn lb6_dr_2_workers() {
    run_mode("6d2", "dr", 2);
}

#[test]
fn lb6_tun_1_worker() {
    run_mode("6t1", "tun", 1);
}

#[test]
fn lb6_tun_2_workers() {
    run_mode("6t2", "tun", 2);
}
