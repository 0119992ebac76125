//! Issue 13: NAT64 end to end in the dual-stack netns lab
//! (`scripts/lab.sh up --mode fullnat --ipv6`): an IPv6 client (real
//! curl -6, Python's UDP socket) reaches an IPv6 VIP whose real servers
//! are the lab's IPv4 HTTP servers, through an IPv4 LIP that an IPv4
//! FULLNAT service on the same director shares. Two workers, so the
//! IPv4 replies to the LIP must come back to the worker that owns the
//! connection in its IPv6 table.

#![forbid(unsafe_code)]

use rvs_tests::lab::Lab;
use rvs_tests::lb::{finish, pattern, BIG};

const VIP6: &str = "2001:db8:c::100";
const CLIENT6: &str = "2001:db8:c::200";
const LIP: &str = "192.168.0.101";

const SERVICES: &str = "services:
  - { vip: '2001:db8:c::100', port: 80, scheduler: rr, laddrs: [192.168.0.101], dests: [ { addr: 192.168.0.10, fwd: fullnat }, { addr: 192.168.0.20, fwd: fullnat } ] }
  - { vip: '2001:db8:c::100', port: 53, proto: udp, scheduler: rr, laddrs: [192.168.0.101], dests: [ { addr: 192.168.0.10, port: 80, fwd: fullnat }, { addr: 192.168.0.20, port: 80, fwd: fullnat } ] }
  - { vip: 172.25.254.100, port: 80, scheduler: rr, laddrs: [192.168.0.101], dests: [ { addr: 192.168.0.10, fwd: fullnat }, { addr: 192.168.0.20, fwd: fullnat } ] }
";

fn curl6(lab: &Lab, path: &str) -> String {
    lab.sh("cli", &["curl", "-6", "-g", "-sS", "--max-time", "20", &format!("http://[{VIP6}]{path}")])
}

#[test]
fn nat64_ipv6_clients_reach_ipv4_servers_2_workers() {
    let file = std::env::temp_dir().join("rvs-nat64-services.yaml");
    std::fs::write(&file, SERVICES).unwrap();
    let lab = Lab::up_with("64", "fullnat", 2, Some(file.to_str().unwrap()), &["--ipv6"]);

    // Both IPv4 servers answer the IPv6 VIP, naming their IPv4 address.
    let mut names: Vec<String> = (0..4).map(|_| curl6(&lab, "/").trim().to_string()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names, ["webserver1 192.168.0.10", "webserver2 192.168.0.20"], "both IPv4 servers, over IPv6");
    // The server sees the IPv4 LIP.
    let who = curl6(&lab, "/whoami");
    assert_eq!(who.split_whitespace().nth(1), Some(LIP), "{who}");
    // UDP with port mapping 53 -> 80.
    for i in 0..4 {
        let script = format!(
            "import socket\ns = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\ns.settimeout(3)\n\
             s.sendto(b'ping{i}', ('{VIP6}', 53))\nprint(s.recvfrom(2048)[0].decode())\n"
        );
        let out = lab.sh("cli", &["python3", "-c", &script]);
        assert!(out.trim().starts_with("webserver") && out.trim().ends_with(&format!("ping{i}")), "{out}");
    }
    // rvsadm -Lnc: the IPv6 client and VIP, the IPv4 real server.
    let o = std::process::Command::new(rvs_tests::rvsd::binary("rvsadm"))
        .arg("--socket")
        .arg(lab.socket())
        .arg("-Lnc")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&o.stdout);
    assert!(
        listing.lines().any(|l| l.contains(&format!("[{CLIENT6}]:"))
            && l.contains(&format!("[{VIP6}]:80"))
            && (l.contains("192.168.0.10:80") || l.contains("192.168.0.20:80"))),
        "no NAT64 connection listed:\n{listing}"
    );
    // 10 MB byte for byte, translated segment by segment.
    let out = std::env::temp_dir().join("rvs-nat64-big.bin");
    let url = format!("http://[{VIP6}]/big");
    lab.sh("cli", &["curl", "-6", "-g", "-sS", "--max-time", "60", "-o", out.to_str().unwrap(), &url]);
    let got = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).ok();
    assert_eq!(got.len(), BIG);
    assert!(got == pattern(BIG), "10 MB body differs");
    // The IPv4 FULLNAT service on the same LIP still works beside it.
    let v4 = lab.curl("http://172.25.254.100/whoami");
    assert_eq!(v4.split_whitespace().nth(1), Some(LIP), "{v4}");

    let c = finish(lab);
    std::fs::remove_file(&file).ok();
    assert!(c.get("conns_created") >= 11, "{}", c.source);
    assert!(c.get("tx_pkts") > 7000, "the replies cross the director:\n{}", c.source);
}
