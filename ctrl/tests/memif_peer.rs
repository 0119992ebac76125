//! Issue 11: a peer that goes away must not take rvsd down.
//!
//! rvsd serves two `net_memif` links (role=server) to `rvs-gen`, which plays
//! clients and real servers through a NAT service, plus a net_tap port in
//! a namespace of its own. The generator is killed by PID (SIGKILL) in the
//! middle of its traffic, twice, and each time rvsd must: notice the links
//! go down (and stop polling them), keep answering ping on the tap port,
//! take the generator back when it reconnects, and at the end shut down
//! cleanly with the mempool back at its baseline.
//!
//! Needs root and the binaries in target/release (`./scripts/test.sh`).
//! Bounded: about 30 s. Two cores: the generator polls on CPU 0, rvsd's
//! worker on CPU 1 (memif peers on one core crawl, see DESIGN.md).

#![forbid(unsafe_code)]

use rvs_tests::rvsd::{binary, final_counters};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NS_DIR: &str = "rvsmf-dir";
const NS_CLI: &str = "rvsmf-cli";
const TAP: &str = "tmf0";

fn ip(args: &[&str]) -> std::process::Output {
    Command::new("ip").args(args).output().expect("ip")
}

fn in_ns(ns: &str, args: &[&str]) -> std::process::Output {
    Command::new("ip").args(["netns", "exec", ns]).args(args).output().expect("ip netns exec")
}

/// Stop a child we started: SIGTERM (or SIGKILL), by its PID.
fn signal(child: &Child, sig: &str) {
    let _ = Command::new("kill").args([sig, &child.id().to_string()]).status();
}

fn read(p: &PathBuf) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Poll `cond` every 50 ms for up to `secs`.
fn wait(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// Everything the test made, removed on drop (also after a failure).
struct Setup {
    dir: PathBuf,
    children: Vec<Child>,
    prefixes: Vec<String>,
}

impl Setup {
    fn new() -> Setup {
        rvs_tests::require_root();
        let dir = std::env::temp_dir().join(format!("rvs-memif-peer-{}", std::process::id()));
        let s = Setup { dir, children: Vec::new(), prefixes: Vec::new() };
        s.clean_ns();
        std::fs::create_dir_all(&s.dir).unwrap();
        for ns in [NS_DIR, NS_CLI] {
            assert!(ip(&["netns", "add", ns]).status.success(), "ip netns add {ns}");
            in_ns(ns, &["ip", "link", "set", "lo", "up"]);
        }
        s
    }

    fn clean_ns(&self) {
        for ns in [NS_DIR, NS_CLI] {
            let _ = ip(&["netns", "del", ns]);
        }
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.join(f)
    }

    fn spawn(&mut self, log: &str, cmd: &mut Command) -> usize {
        let f = std::fs::File::create(self.path(log)).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(f.try_clone().unwrap()))
            .stderr(Stdio::from(f))
            .spawn()
            .expect("spawn");
        self.children.push(child);
        self.children.len() - 1
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        for c in &mut self.children {
            if matches!(c.try_wait(), Ok(None)) {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        self.clean_ns();
        for p in &self.prefixes {
            let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{p}"));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ping(n: &str) -> bool {
    in_ns(NS_CLI, &["ping", "-c", n, "-i", "0.2", "-W", "2", "10.77.0.1"]).status.success()
}

#[test]
fn rvsd_survives_its_memif_peer_being_killed_mid_traffic() {
    let mut s = Setup::new();
    let pid = std::process::id();
    let sock = |side: &str| s.path(&format!("{side}.sock")).display().to_string();
    let (csock, ssock) = (sock("c"), sock("s"));
    let prefix = format!("rvsmf-{pid}");
    s.prefixes.push(prefix.clone());
    let yaml = format!(
        "dpdk: {{ memory_mb: 256, mbufs: 8191, file_prefix: {prefix} }}\n\
         workers: {{ count: 1 }}\n\
         control: {{ socket: {ctl} }}\n\
         interfaces:\n\
         \x20 - {{ name: client, device: 'net_memif0,role=server,socket={csock}', addresses: [172.25.254.100/24] }}\n\
         \x20 - {{ name: server, device: 'net_memif1,role=server,socket={ssock}', addresses: [192.168.0.100/24] }}\n\
         \x20 - {{ name: mgmt, device: 'net_tap0,iface={TAP}', addresses: [10.77.0.1/24] }}\n\
         routes:\n\
         \x20 - {{ prefix: 0.0.0.0/0, via: 172.25.254.1, dev: client }}\n\
         services:\n\
         \x20 - {{ vip: 172.25.254.100, port: 80, scheduler: rr, dests: [ {{ addr: 192.168.0.10, fwd: nat }}, {{ addr: 192.168.0.11, fwd: nat }} ] }}\n",
        ctl = s.path("rvsd.sock").display()
    );
    std::fs::write(s.path("rvsd.yaml"), yaml).unwrap();
    let rvsd_log = s.path("rvsd.log");
    let rvsd_bin = binary("rvsd");
    let cfg = s.path("rvsd.yaml");
    let d = s
        .spawn("rvsd.log", Command::new("ip").args(["netns", "exec", NS_DIR]).arg(&rvsd_bin).arg("--config").arg(&cfg));
    assert!(wait(30, || read(&rvsd_log).contains("rvsd: ready")), "rvsd not ready:\n{}", read(&rvsd_log));

    // The tap port's peer: a namespace of its own.
    assert!(in_ns(NS_DIR, &["ip", "link", "set", TAP, "netns", NS_CLI]).status.success());
    in_ns(NS_CLI, &["ip", "link", "set", TAP, "address", "02:72:76:6d:66:01"]);
    in_ns(NS_CLI, &["ip", "addr", "add", "10.77.0.2/24", "dev", TAP]);
    in_ns(NS_CLI, &["ip", "link", "set", TAP, "up"]);
    assert!(wait(10, || ping("1")), "no ping on the tap port at boot:\n{}", read(&rvsd_log));

    let gen_bin = binary("rvs-gen");
    for round in 1..=2u32 {
        let gprefix = format!("rvsmf-gen-{pid}-{round}");
        s.prefixes.push(gprefix.clone());
        let glog_name = format!("gen{round}.log");
        let glog = s.path(&glog_name);
        let g = s.spawn(
            &glog_name,
            // In rvsd's namespace: memif's sockets are abstract (per netns).
            Command::new("ip").args(["netns", "exec", NS_DIR]).arg(&gen_bin).args([
                "--client-dev",
                &format!("net_memif0,role=client,socket={csock}"),
                "--server-dev",
                &format!("net_memif1,role=client,socket={ssock}"),
                "--rs",
                "192.168.0.10,192.168.0.11",
                "--window",
                "256",
                "--duration",
                "30",
                "--warmup",
                "0.5",
                "--lcores",
                "0@0",
                "--memory-mb",
                "256",
                "--mbufs",
                "8191",
                "--file-prefix",
                &gprefix,
            ]),
        );
        // Traffic through the director: conversations complete.
        let flowing = || {
            read(&glog).lines().any(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix("completed="))
                    .and_then(|v| v.parse::<u64>().ok())
                    .is_some_and(|v| v > 100)
            })
        };
        assert!(
            wait(20, flowing),
            "round {round}: no traffic through rvsd:\n{}\nrvsd:\n{}",
            read(&glog),
            read(&rvsd_log)
        );
        let downs = read(&rvsd_log).matches("link down: not polled").count() + 2;
        signal(&s.children[g], "-KILL");
        let _ = s.children[g].wait();

        // Both memif links go down; rvsd lives on and still answers on the tap.
        assert!(
            wait(5, || read(&rvsd_log).matches("link down: not polled").count() >= downs),
            "round {round}: link down not seen:\n{}",
            read(&rvsd_log)
        );
        assert!(matches!(s.children[d].try_wait(), Ok(None)), "rvsd died with its peer:\n{}", read(&rvsd_log));
        assert!(ping("3"), "round {round}: rvsd stopped answering on its other port:\n{}", read(&rvsd_log));
    }
    // Each generator's two links were taken (back) up.
    assert!(
        read(&rvsd_log).matches("link up: polling again").count() >= 4,
        "the second generator's links were not taken back:\n{}",
        read(&rvsd_log)
    );

    signal(&s.children[d], "-TERM");
    let st = {
        let t = Instant::now();
        loop {
            if let Ok(Some(st)) = s.children[d].try_wait() {
                break st;
            }
            assert!(t.elapsed() < Duration::from_secs(15), "rvsd did not stop:\n{}", read(&rvsd_log));
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let log = read(&rvsd_log);
    assert!(st.success(), "rvsd exit {st}:\n{log}");
    let c = final_counters(&log);
    assert!(c.get("rx_pkts") > 0 && c.get("conns_created") > 0, "{log}");
    assert!(c.mempool_at_baseline(), "mbuf leak:\n{log}");
    for port in ["net_memif0", "net_memif1"] {
        let line = log.lines().find(|l| l.contains(&format!("({port}): ipackets"))).unwrap_or_else(|| panic!("{log}"));
        let changes: u64 = line
            .split("link_changes ")
            .nth(1)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no link_changes for {port}: {line}"));
        assert!(changes >= 3, "{port}: {changes} link changes (down, up, down expected): {line}");
    }
}
