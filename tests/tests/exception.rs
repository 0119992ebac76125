//! Issue 14, the exception path: the director's own traffic through its
//! DPDK ports. In the lab every link has a kernel interface in the
//! director's namespace (`kernel: {}`); a server the kernel runs there is
//! reachable from the client on a director address, the kernel's own
//! connections to the real servers work, and the counters say so.

#![forbid(unsafe_code)]

use rvs_tests::lab::Lab;
use std::process::{Child, Command, Stdio};

/// A TCP echo server run by the director's kernel (socat), stopped by PID.
struct Echo(Child);

impl Echo {
    fn start(lab: &Lab, listen: &str) -> Echo {
        let c = Command::new("ip")
            .args(["netns", "exec", &format!("rvs{}-dir", lab.id), "socat", listen, "EXEC:cat"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("socat (scripts/setup.sh installs it)");
        std::thread::sleep(std::time::Duration::from_millis(300));
        Echo(c)
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A line through the echo server at `target` (socat address) from the client.
fn echo_through(lab: &Lab, target: &str, line: &str) -> String {
    let script = format!("echo {line} | timeout 5 socat - {target}");
    lab.sh("cli", &["sh", "-c", &script]).trim().to_string()
}

fn run(id: &str, mode: &str, workers: u32, ipv6: bool) {
    let extra: &[&str] = if ipv6 { &["--ipv6"] } else { &[] };
    let lab = Lab::up_with(id, mode, workers, None, extra);
    let (dip, rs) = match mode {
        "nat" => ("172.25.254.100", "192.168.0.10"),
        _ => ("192.168.0.50", "192.168.0.10"),
    };
    // The kernel interfaces carry the links' addresses (and only them).
    let addrs = lab.sh("dir", &["ip", "-br", "addr"]);
    assert!(addrs.contains(&format!("{dip}/24")), "{addrs}");
    let base = lab.counters();
    let echo = Echo::start(&lab, "TCP-LISTEN:2222,fork,reuseaddr");
    for i in 0..4 {
        // New source ports each time: with 2 workers both see some.
        assert_eq!(echo_through(&lab, &format!("TCP:{dip}:2222"), &format!("hello{i}")), format!("hello{i}"));
    }
    if ipv6 {
        let echo6 = Echo::start(&lab, "TCP6-LISTEN:2223,fork,reuseaddr");
        assert_eq!(echo_through(&lab, "TCP6:[2001:db8:c::100]:2223", "hello6"), "hello6", "{}", lab.rvsd_log());
        drop(echo6);
    }
    drop(echo);
    // A service port of the same address is still the data path's.
    if mode == "nat" {
        let body = lab.curl("http://172.25.254.100/");
        assert!(body.starts_with("webserver"), "{body}");
    }
    // The kernel's own connection to a real server (as a health check's).
    let body = lab.sh("dir", &["curl", "-sS", "--max-time", "5", &format!("http://{rs}/")]);
    assert_eq!(body.trim(), format!("webserver1 {rs}"));
    // Ping of a director address: answered (by rvsd) like any of its addresses.
    lab.sh("cli", &["ping", "-c", "2", "-W", "2", dip]);
    // A port nobody listens on: the kernel refuses it (RST), promptly.
    let o = lab.exec("cli", &["sh", "-c", &format!("timeout 5 socat - TCP:{dip}:2999 </dev/null")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("Connection refused"), "{err}");

    let c = lab.settled();
    let d = |k: &str| c.get(k) - base.get(k);
    assert!(d("kernel_up") >= 20, "passed up: {}", c.source);
    assert!(d("kernel_down") >= 20, "sent by the kernel: {}", c.source);
    assert_eq!(c.drop("kernel_ratelimit"), 0);
    assert_eq!(c.drop("kernel_full"), 0);
    let (fin, log) = lab.down_counters();
    assert!(fin.get("kernel_up") >= d("kernel_up"), "{log}");
}

#[test]
fn nat_one_worker_dual_stack() {
    run("kxn1", "nat", 1, true);
}

#[test]
fn nat_two_workers() {
    run("kxn2", "nat", 2, false);
}

#[test]
fn dr_one_worker() {
    run("kxd1", "dr", 1, false);
}
