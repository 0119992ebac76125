//! Issue 13 item 6: Proxy Protocol v1 and v2 through FULLNAT end to end,
//! in the dual-stack netns lab (`scripts/lab.sh up --mode fullnat
//! --ipv6`, lab id `pp`, two workers). The real servers here are the
//! lab's httpd.py in its strict `--proxy-protocol` mode on port 8080: a
//! connection without a PROXY header gets 400, and /whoami answers with
//! the client and VIP the header named, so real curl shows the server
//! saw the client's own address and port, over IPv4 and IPv6. Uploads
//! (client → server, every segment shifted) and a 10 MB download
//! (server acknowledgments shifted back) are checked byte for byte.

#![forbid(unsafe_code)]

use rvs_tests::lab::Lab;
use rvs_tests::lb::check_drops;
use std::process::{Child, Command, Stdio};

const CIP: &str = "172.25.254.200";
const VIP: &str = "172.25.254.100";
const CIP6: &str = "2001:db8:c::200";
const VIP6: &str = "2001:db8:c::100";
const BIG: usize = 10 * 1024 * 1024;

/// Ports 80 and 81 of each VIP: v1 and v2; port 82 of the IPv4 VIP has
/// no header (so the strict server must refuse it).
const SERVICES: &str = "services:
  - { vip: 172.25.254.100, port: 80, scheduler: rr, proxy_protocol: v1, laddrs: [192.168.0.101, 192.168.0.102], dests: [ { addr: 192.168.0.10, port: 8080, fwd: fullnat }, { addr: 192.168.0.20, port: 8080, fwd: fullnat } ] }
  - { vip: 172.25.254.100, port: 81, scheduler: rr, proxy_protocol: v2, laddrs: [192.168.0.101, 192.168.0.102], dests: [ { addr: 192.168.0.10, port: 8080, fwd: fullnat }, { addr: 192.168.0.20, port: 8080, fwd: fullnat } ] }
  - { vip: 172.25.254.100, port: 82, scheduler: rr, laddrs: [192.168.0.101], dests: [ { addr: 192.168.0.10, port: 8080, fwd: fullnat } ] }
  - { vip: '2001:db8:c::100', port: 80, scheduler: rr, proxy_protocol: v1, laddrs: ['2001:db8:1::101', '2001:db8:1::102'], dests: [ { addr: '2001:db8:1::10', port: 8080, fwd: fullnat }, { addr: '2001:db8:1::20', port: 8080, fwd: fullnat } ] }
  - { vip: '2001:db8:c::100', port: 81, scheduler: rr, proxy_protocol: v2, laddrs: ['2001:db8:1::101', '2001:db8:1::102'], dests: [ { addr: '2001:db8:1::10', port: 8080, fwd: fullnat }, { addr: '2001:db8:1::20', port: 8080, fwd: fullnat } ] }
";

/// The body the lab's servers send for /big (see scripts/lab/httpd.py).
fn pattern(n: usize) -> Vec<u8> {
    let block: Vec<u8> = (0..251 * 256).map(|i: usize| ((i * 7) + (i / 251)) as u8).collect();
    block.iter().cycle().take(n).copied().collect()
}

/// The strict PROXY servers on port 8080 of both real servers, both
/// families; killed by their PIDs when dropped.
struct PpServers(Vec<Child>);

impl PpServers {
    fn start(lab: &Lab) -> PpServers {
        let httpd = rvs_tests::root().join("scripts/lab/httpd.py");
        let mut v = Vec::new();
        for (ns, name, addr, addr6) in [
            ("rs1", "webserver1", "192.168.0.10", "2001:db8:1::10"),
            ("rs2", "webserver2", "192.168.0.20", "2001:db8:1::20"),
        ] {
            let log = std::fs::File::create(lab.state_dir().join(format!("{name}-pp.log"))).unwrap();
            let child = Command::new("ip")
                .args(["netns", "exec", &format!("rvs{}-{ns}", lab.id), "python3"])
                .arg(&httpd)
                .args([name, addr, "8080", "--v6", addr6, "--proxy-protocol"])
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .stdin(Stdio::null())
                .spawn()
                .expect("start httpd.py --proxy-protocol");
            v.push(child);
        }
        let servers = PpServers(v);
        let probe = "import socket, sys, time\n\
                     for _ in range(100):\n    \
                       try:\n        \
                         socket.create_connection((sys.argv[1], 8080), 1).close(); break\n    \
                       except OSError: time.sleep(0.1)\n\
                     else: sys.exit(1)\n";
        for ns in ["rs1", "rs2"] {
            for a in ["127.0.0.1", "::1"] {
                lab.sh(ns, &["python3", "-c", probe, a]);
            }
        }
        servers
    }
}

impl Drop for PpServers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// curl from the client; the body, then curl's own local address and
/// port (`-w`), so the test knows what the server should have been told.
fn curl(lab: &Lab, url: &str, extra: &[&str]) -> (String, String, u16) {
    let mut args = vec!["curl", "-g", "-sS", "--max-time", "20", "-w", "\n%{local_ip} %{local_port}"];
    args.extend_from_slice(extra);
    args.push(url);
    let out = lab.sh("cli", &args);
    let (body, local) = out.rsplit_once('\n').unwrap();
    let (ip, port) = local.split_once(' ').unwrap();
    (body.to_string(), ip.to_string(), port.parse().unwrap())
}

#[test]
fn proxy_protocol_v1_and_v2_over_ipv4_and_ipv6_2_workers() {
    let file = std::env::temp_dir().join("rvs-pp-services.yaml");
    std::fs::write(&file, SERVICES).unwrap();
    let lab = Lab::up_with("pp", "fullnat", 2, Some(file.to_str().unwrap()), &["--ipv6"]);
    let servers = PpServers::start(&lab);

    // The server reads the client's address and port, and the VIP, from
    // the header; the connection itself comes from a LIP.
    let cases = [
        (format!("http://{VIP}:80"), "v1", CIP, VIP, 80, "192.168.0.10"),
        (format!("http://{VIP}:81"), "v2", CIP, VIP, 81, "192.168.0.10"),
        (format!("http://[{VIP6}]:80"), "v1", CIP6, VIP6, 80, "2001:db8:1::10"),
        (format!("http://[{VIP6}]:81"), "v2", CIP6, VIP6, 81, "2001:db8:1::10"),
    ];
    for (base, ver, cip, vip, vport, _) in &cases {
        let mut names = Vec::new();
        for _ in 0..4 {
            let (body, local_ip, local_port) = curl(&lab, &format!("{base}/whoami"), &[]);
            assert_eq!(local_ip, *cip, "{body}");
            let w: Vec<&str> = body.split_whitespace().collect();
            assert_eq!(w.len(), 8, "{base}: {body}");
            assert_eq!(&w[1..6], &[*cip, &local_port.to_string(), *vip, &vport.to_string(), *ver], "{base}: {body}");
            let lips: &[&str] = if vip.contains(':') {
                &["2001:db8:1::101", "2001:db8:1::102"]
            } else {
                &["192.168.0.101", "192.168.0.102"]
            };
            assert!(w[6] == "via" && lips.contains(&w[7]), "{base}: the real peer is a LIP: {body}");
            names.push(w[0].to_string());
        }
        names.sort();
        names.dedup();
        assert_eq!(names, ["webserver1", "webserver2"], "{base}: both servers");
    }

    // Toward the server: 3 MB uploaded, every segment after the header shifted.
    let up: Vec<u8> = pattern(3 * 1024 * 1024 + 17);
    let up_file = lab.state_dir().join("upload.bin");
    std::fs::write(&up_file, &up).unwrap();
    let data = format!("@{}", up_file.display());
    let want = sha256_hex(&lab, &up_file);
    for (base, ..) in &cases {
        let (body, ..) =
            curl(&lab, &format!("{base}/upload"), &["--data-binary", &data, "-H", "Expect:", "-H", "Content-Type: x"]);
        let w: Vec<&str> = body.split_whitespace().collect();
        assert_eq!(&w[1..], &[up.len().to_string().as_str(), want.as_str()], "{base}: {body}");
    }
    // Back from the server: 10 MB byte for byte (its acknowledgments of
    // the client's stream shifted back, the whole way).
    for base in [format!("http://{VIP}:81"), format!("http://[{VIP6}]:80")] {
        let out = lab.state_dir().join("big.bin");
        let o = out.to_str().unwrap();
        curl(&lab, &format!("{base}/big"), &["--max-time", "60", "-o", o]);
        let got = std::fs::read(&out).unwrap();
        std::fs::remove_file(&out).ok();
        assert_eq!(got.len(), BIG, "{base}");
        assert!(got == pattern(BIG), "{base}: 10 MB body differs");
    }
    // Without proxy_protocol the strict server sees no header: the
    // positive results above are the director's doing.
    let (body, ..) = curl(&lab, &format!("http://{VIP}:82/whoami"), &[]);
    assert_eq!(body.trim(), "no PROXY header");

    drop(servers);
    std::fs::remove_file(&up_file).ok();
    let live = lab.settled();
    check_drops(&live);
    let (c, log) = lab.down_counters();
    check_drops(&c);
    std::fs::remove_file(&file).ok();
    // 16 /whoami, 4 uploads, 2 downloads, 1 without a header.
    assert!(c.get("conns_created") >= 23, "{log}");
}

/// sha256 of a file by the lab's own tools (not ours).
fn sha256_hex(lab: &Lab, f: &std::path::Path) -> String {
    let out = lab.sh("cli", &["sha256sum", f.to_str().unwrap()]);
    out.split_whitespace().next().unwrap().to_string()
}
