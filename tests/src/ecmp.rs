//! The scale-out lab from Rust: `scripts/lab-ecmp.sh` (several directors
//! behind an ECMP router fed by BGP) behind a guard that always tears down.

use crate::counters::{self, Counters};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

/// Labs share the machine's two cores: one at a time per test binary.
static LAB_LOCK: Mutex<()> = Mutex::new(());

/// The VIP every director announces.
pub const VIP: &str = "192.168.0.200";

pub struct EcmpLab {
    pub id: String,
    pub directors: u32,
    down: bool,
    _lock: MutexGuard<'static, ()>,
}

fn lab_sh() -> PathBuf {
    crate::root().join("scripts/lab-ecmp.sh")
}

/// Director `i`'s address (its BGP next hop on the router).
pub fn dip(i: u32) -> String {
    format!("192.168.0.5{i}")
}

impl EcmpLab {
    /// `lab-ecmp.sh up`: `directors` directors in `mode` (dr|tun), BFD
    /// on or off, with `extra` flags (`--sloppy off`).
    pub fn up(id: &str, directors: u32, mode: &str, bfd: bool, extra: &[&str]) -> EcmpLab {
        crate::require_root();
        let lock = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let lab = EcmpLab { id: id.to_string(), directors, down: false, _lock: lock };
        let out = Command::new(lab_sh())
            .args(["up", "--id", id, "--directors", &directors.to_string(), "--mode", mode])
            .args(["--bfd", if bfd { "on" } else { "off" }])
            .args(extra)
            .output()
            .expect("run lab-ecmp.sh");
        assert!(
            out.status.success(),
            "lab-ecmp.sh up failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        lab
    }

    pub fn state_dir(&self) -> PathBuf {
        PathBuf::from(format!("/tmp/rvs-ecmp-{}", self.id))
    }

    /// Who writes the BIRD include file: "rvsd" (`announce:`), or "lab"
    /// when this rvsd does not know `announce:` yet.
    pub fn announcer(&self) -> String {
        std::fs::read_to_string(self.state_dir().join("announce")).unwrap_or_default().trim().to_string()
    }

    /// Run a command in namespace `rvs<ID>-<ns>` (cli, rtr, lan, rs1, d1, ...).
    pub fn exec(&self, ns: &str, args: &[&str]) -> Output {
        crate::netns_exec(&format!("rvs{}-{ns}", self.id), args)
    }

    /// Run and return stdout, asserting success.
    pub fn sh(&self, ns: &str, args: &[&str]) -> String {
        crate::netns_sh(&format!("rvs{}-{ns}", self.id), args, String::new)
    }

    /// Director `i`'s rvsd control socket.
    pub fn socket(&self, i: u32) -> PathBuf {
        self.state_dir().join(format!("d{i}/rvsd.sock"))
    }

    /// Director `i`'s live counters.
    pub fn counters(&self, i: u32) -> Counters {
        counters::live(&self.socket(i))
    }

    /// `rvsadm ARGS` against director `i`, its stdout (asserting success).
    pub fn adm(&self, i: u32, args: &[&str]) -> String {
        let o = Command::new(crate::rvsd::binary("rvsadm"))
            .arg("--socket")
            .arg(self.socket(i))
            .args(args)
            .output()
            .expect("rvsadm");
        assert!(o.status.success(), "d{i}: rvsadm {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Director `i`'s sync daemon counters (`rvsadm -L --daemon --json`):
    /// the first daemon's fields, each count summed over the daemons
    /// that run (with `state: both`, master and backup count apart).
    pub fn sync_daemon(&self, i: u32) -> serde_json::Value {
        let text = self.adm(i, &["-L", "--daemon", "--json"]);
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("d{i}: not JSON ({e}): {text}"));
        let all = v.as_array().filter(|a| !a.is_empty()).unwrap_or_else(|| panic!("d{i}: no sync daemon: {text}"));
        let mut sum = all[0].clone();
        for (k, x) in sum.as_object_mut().expect("a daemon is an object").iter_mut() {
            if x.is_u64() && k != "syncid" && k != "port" && k != "ttl" && k != "maxlen" {
                *x = all.iter().map(|d| d[k.as_str()].as_u64().unwrap_or(0)).sum::<u64>().into();
            }
        }
        sum
    }

    /// `rvsadm ARGS` against director `i`, whatever its exit status.
    pub fn adm_output(&self, i: u32, args: &[&str]) -> Output {
        Command::new(crate::rvsd::binary("rvsadm"))
            .arg("--socket")
            .arg(self.socket(i))
            .args(args)
            .output()
            .expect("rvsadm")
    }

    /// Director `i`'s connections (`rvsadm -Lnc`) from the lab's client:
    /// client port -> real server address.
    pub fn conns(&self, i: u32) -> std::collections::BTreeMap<u16, String> {
        let o = Command::new(crate::rvsd::binary("rvsadm"))
            .arg("--socket")
            .arg(self.socket(i))
            .arg("-Lnc")
            .output()
            .expect("rvsadm");
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "d{i}: rvsadm -Lnc: {}", String::from_utf8_lossy(&o.stderr));
        let mut m = std::collections::BTreeMap::new();
        for l in text.lines().filter(|l| l.starts_with("TCP ")) {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(w.len(), 6, "d{i}: unexpected -Lnc line {l:?}");
            if let Some(port) = w[3].strip_prefix("10.0.1.2:") {
                let rs = w[5].rsplit_once(':').unwrap().0.to_string();
                m.insert(port.parse().unwrap(), rs);
            }
        }
        m
    }

    /// Director `i`'s counters once its mempool is back at its baseline
    /// (rx never stands still here: BFD and BGP ride the exception path).
    pub fn mempool_settled(&self, i: u32) -> Counters {
        counters::wait_for(&self.socket(i), std::time::Duration::from_secs(10), "mempool at baseline", |c| {
            c.mempool_at_baseline()
        })
    }

    pub fn rvsd_pid(&self, i: u32) -> u32 {
        let p = self.state_dir().join(format!("d{i}/rvsd.pid"));
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).trim().parse().unwrap()
    }

    pub fn rvsd_log(&self, i: u32) -> String {
        std::fs::read_to_string(self.state_dir().join(format!("d{i}/rvsd.log"))).unwrap_or_default()
    }

    /// The next hops of the router's kernel route for the VIP.
    pub fn vip_nexthops(&self) -> Vec<String> {
        let text = self.sh("rtr", &["ip", "route", "show", VIP]);
        let w: Vec<&str> = text.split_whitespace().collect();
        w.windows(2).filter(|p| p[0] == "via").map(|p| p[1].to_string()).collect()
    }

    /// `birdc` against the router's (None) or director `i`'s BIRD.
    pub fn birdc(&self, who: Option<u32>, args: &[&str]) -> String {
        let sock = match who {
            None => self.state_dir().join("rtr/bird.ctl"),
            Some(i) => self.state_dir().join(format!("d{i}/bird.ctl")),
        };
        let o = Command::new("birdc").arg("-s").arg(sock).args(args).output().expect("birdc");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Tear down (rvsd first: it prints its final counters).
    pub fn down(mut self) {
        self.teardown();
    }

    fn teardown(&mut self) {
        if self.down {
            return;
        }
        self.down = true;
        let out = Command::new(lab_sh()).args(["down", "--id", &self.id]).output().expect("lab-ecmp.sh down");
        assert!(out.status.success(), "lab-ecmp.sh down failed: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for EcmpLab {
    fn drop(&mut self) {
        if !self.down {
            self.down = true;
            let _ = Command::new(lab_sh()).args(["down", "--id", &self.id]).output();
        }
    }
}

/// A lab script (scripts/lab/NAME) run in the client namespace, its JSON
/// read from stdout when it ends; killed by PID if dropped first.
pub struct Client(Option<Child>);

impl Client {
    pub fn start(lab: &EcmpLab, script: &str, args: &[&str]) -> Client {
        Client::start_in(lab, "cli", script, args)
    }

    /// The same in namespace `rvs<ID>-<ns>`.
    pub fn start_in(lab: &EcmpLab, ns: &str, script: &str, args: &[&str]) -> Client {
        let c = Command::new("ip")
            .args(["netns", "exec", &format!("rvs{}-{ns}", lab.id), "python3"])
            .arg(crate::root().join("scripts/lab").join(script))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3");
        Client(Some(c))
    }

    /// `ipvs_sync_recv.py` in rs2, joined to the sync group for 3 s and
    /// decoding by the kernel's layout; returns once it listens.
    pub fn sync_recv(lab: &EcmpLab) -> Client {
        let ready = lab.state_dir().join("recv-ready");
        let _ = std::fs::remove_file(&ready);
        let ready_arg = ready.to_string_lossy().into_owned();
        let recv = Client::start_in(
            lab,
            "rs2",
            "ipvs_sync_recv.py",
            &["--ifaddr", "192.168.0.20", "--seconds", "3", "--ready-file", &ready_arg],
        );
        let t = std::time::Instant::now();
        while !ready.exists() {
            assert!(t.elapsed() < std::time::Duration::from_secs(5), "ipvs_sync_recv.py did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        recv
    }

    pub fn json(mut self) -> serde_json::Value {
        let out = self.0.take().unwrap().wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}\n{}", text, String::from_utf8_lossy(&out.stderr));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Start `count` slow streams to the VIP (streams.py: `chunks` chunks 0.5 s
/// apart; one silent for `stall` s counts as broken) and wait, 20 s at
/// most, until all are open: the client, and what streams.py reported
/// then (`opened`, and per connection its `sport` and `server`).
pub fn open_streams(lab: &EcmpLab, count: usize, chunks: u32, stall: u32) -> (Client, serde_json::Value) {
    let ready = lab.state_dir().join("streams-ready.json");
    let _ = std::fs::remove_file(&ready);
    let ready_arg = ready.to_string_lossy().into_owned();
    let (n, chunks, stall) = (count.to_string(), chunks.to_string(), stall.to_string());
    let args =
        [VIP, "--count", &n, "--chunks", &chunks, "--interval", "0.5", "--stall", &stall, "--ready-file", &ready_arg];
    let streams = Client::start(lab, "streams.py", &args);
    let t0 = std::time::Instant::now();
    while !ready.exists() {
        assert!(t0.elapsed() < std::time::Duration::from_secs(20), "streams not all open after 20 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let opened: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
    assert_eq!(opened["opened"].as_u64(), Some(count as u64), "{opened}");
    (streams, opened)
}

/// The lab's real server address of an httpd.py name.
pub fn rs_addr(name: &str) -> &'static str {
    match name {
        "webserver1" => "192.168.0.10",
        "webserver2" => "192.168.0.20",
        other => panic!("unknown server {other:?}"),
    }
}
