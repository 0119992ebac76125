//! One-packet scheduling in the DR lab: one client socket (one source
//! port) sends datagrams to a UDP service; each real server answers with
//! its name, straight to the client as DR does. With `one_packet` and rr
//! the datagrams alternate between the servers and rvsd keeps no entry;
//! without it they all follow the flow's first pick.

use rvs_tests::lab::Lab;
use rvs_tests::lb::check_drops;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const VIP: &str = "192.168.0.200";

/// Answers each datagram on VIP:5353 with `name`.
const RESPONDER: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[2], 5353))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(sys.argv[1].encode(), a)
"#;

/// Six datagrams from one socket, one reply awaited for each.
const CLIENT: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.bind(("0.0.0.0", 41000))
for i in range(6):
    s.sendto(b"q", (sys.argv[1], 5353))
    print(s.recvfrom(2048)[0].decode())
"#;

struct Responder(Child);

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn responder(lab: &Lab, ns: &str, name: &str) -> Responder {
    let c = Command::new("ip")
        .args(["netns", "exec", &format!("rvs{}-{ns}", lab.id), "python3", "-c", RESPONDER, name, VIP])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let r = Responder(c);
    let t0 = Instant::now();
    while !lab.sh(ns, &["ss", "-Hunl", "sport = :5353"]).contains(":5353") {
        assert!(t0.elapsed() < Duration::from_secs(5), "responder did not start in {ns}");
        std::thread::sleep(Duration::from_millis(50));
    }
    r
}

fn run(id: &str, one_packet: bool) -> (Vec<String>, String) {
    let file = std::env::temp_dir().join(format!("rvs-{id}-services.yaml"));
    std::fs::write(
        &file,
        format!(
            "services:\n  - {{ vip: {VIP}, port: 5353, proto: udp, scheduler: rr, one_packet: {one_packet}, \
             dests: [ {{ addr: 192.168.0.10, fwd: dr }}, {{ addr: 192.168.0.20, fwd: dr }} ] }}\n"
        ),
    )
    .unwrap();
    let lab = Lab::up(id, "dr", 1, Some(file.to_str().unwrap()));
    let rs = [responder(&lab, "rs1", "rs1"), responder(&lab, "rs2", "rs2")];
    let out = lab.sh("cli", &["python3", "-c", CLIENT, VIP]);
    let names: Vec<String> = out.lines().map(str::to_string).collect();
    let o =
        Command::new(rvs_tests::rvsd::binary("rvsadm")).arg("--socket").arg(lab.socket()).arg("-Lnc").output().unwrap();
    assert!(o.status.success(), "rvsadm -Lnc: {}", String::from_utf8_lossy(&o.stderr));
    let conns = String::from_utf8_lossy(&o.stdout).into_owned();
    drop(rs);
    let live = lab.settled();
    check_drops(&live);
    assert_eq!(live.get("conns_created"), if one_packet { 6 } else { 1 }, "{}", live.source);
    let (c, _) = lab.down_counters();
    check_drops(&c);
    std::fs::remove_file(&file).ok();
    (names, conns)
}

#[test]
fn one_packet_spreads_one_flow_and_keeps_no_entry() {
    let (names, conns) = run("op", true);
    assert_eq!(names.len(), 6);
    assert!(names.windows(2).all(|w| w[0] != w[1]), "rr per datagram: {names:?}");
    assert!(names.iter().all(|n| n == "rs1" || n == "rs2"), "{names:?}");
    assert!(!conns.contains("UDP"), "no entry is kept:\n{conns}");
}

#[test]
fn without_it_the_flow_stays_on_one_server() {
    let (names, conns) = run("oq", false);
    assert_eq!(names.len(), 6);
    assert!(names.iter().all(|n| *n == names[0]), "{names:?}");
    assert!(conns.contains("UDP"), "the flow's entry:\n{conns}");
}
