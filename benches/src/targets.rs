//! The two programs under test, set up on the same devices: rvsd (a YAML
//! file) and dpdk-testpmd (a command line), plus the environment every
//! run shares (binaries, work directory, CPU priority, process registry).

use crate::procs::{Proc, Registry};
use anyhow::Result;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Addresses of the benchmark topology (the lab's, so logs read the same).
pub const VIP: &str = "172.25.254.100";
pub const GATEWAY: &str = "172.25.254.1";
pub const DIP: &str = "192.168.0.100";
pub const RS: [&str; 4] = ["192.168.0.10", "192.168.0.11", "192.168.0.12", "192.168.0.13"];
/// FULLNAT local addresses: `lip(0)`, `lip(1)`, ... from 192.168.64.1 on
/// (in 192.168.64.0/18, off the /24 of the DIP and the real servers: the
/// generator answers the packet it got, so it needs no route or ARP for
/// them). 64 by default, so the one-way runs' 1M connections fit; the
/// conversation runs take as many as they need (see [`crate::cps`]).
pub const LIP_BASE: u32 = 0xc0a8_4001; // 192.168.64.1
pub const LIPS: u32 = 64;
/// As many as 192.168.64.0/18 holds after its first address.
pub const MAX_LIPS: u32 = (1 << 14) - 2;
/// Local ports rvsd gives out per LIP: 1024..=65535, split between the
/// workers (each takes the ports `p % workers == id`).
pub const PORTS_PER_LIP: u64 = 65536 - 1024;

/// The `i`-th FULLNAT local address.
pub fn lip(i: u32) -> u32 {
    assert!(i < MAX_LIPS, "LIP {i} is outside 192.168.64.0/18");
    LIP_BASE + i
}

/// Bytes one mbuf takes with `--no-huge`: DPDK keeps a default-size mbuf
/// (2176-byte data room + headers) inside one 4 KiB page.
pub const MBUF_BYTES: u64 = 4096;

/// Forwarding mode of the service under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Dr,
    Tun,
    Nat,
    FullNat,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Dr, Mode::Tun, Mode::Nat, Mode::FullNat];
    pub fn name(self) -> &'static str {
        match self {
            Mode::Dr => "dr",
            Mode::Tun => "tun",
            Mode::Nat => "nat",
            Mode::FullNat => "fullnat",
        }
    }
    pub fn upper(self) -> &'static str {
        match self {
            Mode::Dr => "DR",
            Mode::Tun => "TUN",
            Mode::Nat => "NAT",
            Mode::FullNat => "FULLNAT",
        }
    }
}

/// What every benchmark process needs.
pub struct Env {
    pub reg: Registry,
    pub rvsd: PathBuf,
    /// `rvsadm`, for rvsd's own counters (optional: next to rvsd).
    pub rvsadm: PathBuf,
    pub testpmd: PathBuf,
    pub gen: PathBuf,
    /// Pcaps, configs and logs.
    pub work: PathBuf,
    /// Autogroup nice for our processes (0: leave as is). See `spawn`.
    pub nice: i32,
    seq: AtomicU32,
}

impl Env {
    pub fn new(reg: Registry, rvsd: PathBuf, testpmd: PathBuf, gen: PathBuf, work: PathBuf, nice: i32) -> Env {
        let rvsadm = rvsd.with_file_name("rvsadm");
        Env { reg, rvsd, rvsadm, testpmd, gen, work, nice, seq: AtomicU32::new(0) }
    }

    /// A fresh EAL file prefix (also names logs and memif sockets).
    pub fn prefix(&self, tag: &str) -> String {
        format!("rvsb{}-{}-{tag}", std::process::id(), self.seq.fetch_add(1, Ordering::Relaxed))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.work.join(name)
    }

    /// Start a benchmark process in a session of its own (`setsid`, which
    /// keeps the PID) and give that session's autogroup the configured
    /// nice value: with the kernel's autogroup scheduling, CPU time is
    /// shared between sessions first, so on a machine where others are
    /// compiling, a busy-polling worker would otherwise get a fraction of
    /// its core that changes from run to run.
    pub fn spawn(&self, name: &str, prog: &Path, args: &[String], log: &Path) -> Result<Proc> {
        let mut cmd = Command::new("setsid");
        cmd.arg(prog).args(args);
        let p = self.reg.spawn(name, &mut cmd, log)?;
        if self.nice != 0 {
            let _ = std::fs::write(format!("/proc/{}/autogroup", p.pid()), self.nice.to_string());
        }
        Ok(p)
    }

    /// Remove the EAL runtime directory a finished process left.
    pub fn cleanup_prefix(&self, prefix: &str) {
        if let Some(dir) = crate::telemetry::socket_path(prefix).parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// An rvsd configuration for the benchmark topology: a client-side and a
/// server-side interface, one TCP or UDP service VIP:80 over four real
/// servers in `mode`.
#[derive(Debug, Clone)]
pub struct RvsdConf {
    pub prefix: String,
    pub workers: u32,
    pub mbufs: u64,
    pub table_size: u64,
    pub client_dev: String,
    pub server_dev: String,
    pub mode: Mode,
    pub udp: bool,
    pub socket: PathBuf,
    /// FULLNAT local addresses (`lip(0..lips)`).
    pub lips: u32,
}

/// EAL memory for a pool of `mbufs` (plus rings, tables, slack).
pub fn memory_mb(mbufs: u64) -> u64 {
    ((mbufs * MBUF_BYTES * 11 / 10) >> 20) + 256
}

impl RvsdConf {
    pub fn yaml(&self) -> String {
        let mut y = String::new();
        // One worker: main lcore on CPU 0, the worker alone on CPU 1.
        // More: rvsd's default map (workers on CPUs 1, 0, ...).
        let lcores = if self.workers == 1 { ", lcores: \"0-1\"" } else { "" };
        let _ = writeln!(
            y,
            "dpdk: {{ memory_mb: {}, mbufs: {}, file_prefix: {}{lcores} }}",
            memory_mb(self.mbufs),
            self.mbufs,
            self.prefix
        );
        let _ = writeln!(y, "workers: {{ count: {}, busy_poll: true }}", self.workers);
        let _ = writeln!(y, "conn: {{ table_size: {} }}", self.table_size);
        let _ = writeln!(y, "control: {{ socket: {} }}", self.socket.display());
        let _ = writeln!(y, "interfaces:");
        let _ = writeln!(y, "  - {{ name: client, device: '{}', addresses: [{VIP}/24] }}", self.client_dev);
        let _ = writeln!(y, "  - {{ name: server, device: '{}', addresses: [{DIP}/24] }}", self.server_dev);
        let _ = writeln!(y, "routes:\n  - {{ prefix: 0.0.0.0/0, via: {GATEWAY}, dev: client }}");
        let proto = if self.udp { "udp" } else { "tcp" };
        let fwd = self.mode.name();
        let dests: Vec<String> = RS.iter().map(|a| format!("{{ addr: {a}, fwd: {fwd} }}")).collect();
        let laddrs = if self.mode == Mode::FullNat {
            let l: Vec<String> = (0..self.lips).map(|i| crate::frame::ip_str(lip(i))).collect();
            format!(", laddrs: [{}]", l.join(", "))
        } else {
            String::new()
        };
        let _ = writeln!(
            y,
            "services:\n  - {{ proto: {proto}, vip: {VIP}, port: 80, scheduler: rr{laddrs}, dests: [ {} ] }}",
            dests.join(", ")
        );
        y
    }
}

/// dpdk-testpmd in io forwarding between the same two devices.
pub fn testpmd_args(
    prefix: &str,
    workers: u32,
    mbufs: u64,
    client_dev: &str,
    server_dev: &str,
    fwd: &str,
) -> Vec<String> {
    let lcores = if workers == 1 { "0-1".to_string() } else { "0@0,1@0,2@1".to_string() };
    let lflag = if workers == 1 { "-l" } else { "--lcores" };
    let mut a: Vec<String> = vec![
        lflag.into(),
        lcores,
        "--no-huge".into(),
        "-m".into(),
        memory_mb(mbufs).to_string(),
        "--file-prefix".into(),
        prefix.into(),
        "--no-pci".into(),
        "--vdev".into(),
        client_dev.into(),
        "--vdev".into(),
        server_dev.into(),
        "--".into(),
        format!("--forward-mode={fwd}"),
        "--stats-period".into(),
        "1".into(),
        format!("--total-num-mbufs={mbufs}"),
        format!("--nb-cores={workers}"),
        format!("--rxq={workers}"),
        format!("--txq={workers}"),
    ];
    a.shrink_to_fit();
    a
}

/// rvsd's final counters, summed over workers ("rx", "tx", "drops",
/// "conns_created", "drop NAME", ...).
pub fn final_counters(out: &str) -> std::collections::BTreeMap<String, u64> {
    let mut m = std::collections::BTreeMap::new();
    let Some(tail) = out.split("rvsd: final counters").nth(1) else {
        return m;
    };
    for l in tail.lines().map(str::trim) {
        if let Some(rest) = l.strip_prefix("drop ") {
            if let Some((k, v)) = rest.split_once(": ") {
                *m.entry(format!("drop {k}")).or_default() += v.trim().parse::<u64>().unwrap_or(0);
            }
        } else if l.starts_with("worker ") {
            let w: Vec<&str> = l.split_whitespace().skip(2).collect();
            for kv in w.chunks(2) {
                if let [k, v] = kv {
                    *m.entry(k.to_string()).or_default() += v.parse::<u64>().unwrap_or(0);
                }
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_loads_with_rvsd_schema() {
        for mode in Mode::ALL {
            let c = RvsdConf {
                prefix: "x".into(),
                workers: 1,
                mbufs: 16384,
                table_size: 1000,
                client_dev: "net_null0,no-rx=1".into(),
                server_dev: "net_null1,no-rx=1".into(),
                mode,
                udp: mode == Mode::Nat,
                socket: "/tmp/x.sock".into(),
                lips: 200,
            };
            let cfg = rvs_conf::load_str("bench.yaml", &c.yaml()).unwrap_or_else(|e| panic!("{e}\n{}", c.yaml()));
            assert_eq!(cfg.services.len(), 1);
            let want = if mode == Mode::FullNat { 200 } else { 0 };
            assert_eq!(cfg.services[0].laddrs.len(), want);
        }
    }

    #[test]
    fn counters_are_summed() {
        let out = "rvsd: final counters\n  worker 0: rx 10 tx 9 conns_created 3 drops 1\n    drop no_service: 1\n  worker 1: rx 5 tx 5 conns_created 2 drops 0\n";
        let m = final_counters(out);
        assert_eq!((m["rx"], m["tx"], m["conns_created"], m["drop no_service"]), (15, 14, 5, 1));
    }
}
