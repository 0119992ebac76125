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
/// The IPv6 twins (the dual-stack lab's, scripts/lab.sh --ipv6), for the
/// IPv6 one-way replay: VIP6 on the client side, DIP6 and the real
/// servers in one /64 on the server side.
pub const VIP6: &str = "2001:db8:c::100";
pub const GATEWAY6: &str = "2001:db8:c::1";
pub const DIP6: &str = "2001:db8:1::100";
pub const RS6: [&str; 4] = ["2001:db8:1::10", "2001:db8:1::11", "2001:db8:1::12", "2001:db8:1::13"];
/// IPv6 FULLNAT local addresses: `lip6(i)` = 2001:db8:1::1:1 + i, in the
/// servers' /64 (an IPv6 prefix has room for any pool) and clear of the
/// addresses above.
pub const LIP6_BASE: u128 = 0x2001_0db8_0001_0000_0000_0000_0001_0001;

/// The `i`-th IPv6 FULLNAT local address.
pub fn lip6(i: u32) -> u128 {
    LIP6_BASE + u128::from(i)
}

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
/// servers in `mode`. With `ipv6` the interfaces are dual stack and the
/// one service is VIP6:80 over the servers' IPv6 addresses (TUN:
/// IPv6-in-IPv6 from DIP6; FULLNAT: IPv6 local addresses), its IPv6
/// connection table sized like the IPv4 one would be.
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
    /// FULLNAT local addresses (`lip(0..lips)`, `lip6` with `ipv6`).
    pub lips: u32,
    pub ipv6: bool,
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
        if self.ipv6 {
            // The IPv4 table at its default; the IPv6 one holds the flows.
            let _ = writeln!(y, "conn: {{ table_size6: {} }}", self.table_size);
        } else {
            let _ = writeln!(y, "conn: {{ table_size: {} }}", self.table_size);
        }
        let _ = writeln!(y, "control: {{ socket: {} }}", self.socket.display());
        let (c6, s6) =
            if self.ipv6 { (format!(", '{VIP6}/64'"), format!(", '{DIP6}/64'")) } else { Default::default() };
        let _ = writeln!(y, "interfaces:");
        let _ = writeln!(y, "  - {{ name: client, device: '{}', addresses: [{VIP}/24{c6}] }}", self.client_dev);
        let _ = writeln!(y, "  - {{ name: server, device: '{}', addresses: [{DIP}/24{s6}] }}", self.server_dev);
        let _ = writeln!(y, "routes:\n  - {{ prefix: 0.0.0.0/0, via: {GATEWAY}, dev: client }}");
        if self.ipv6 {
            let _ = writeln!(y, "  - {{ prefix: '::/0', via: '{GATEWAY6}', dev: client }}");
        }
        let proto = if self.udp { "udp" } else { "tcp" };
        let fwd = self.mode.name();
        let (vip, rs): (String, Vec<String>) = if self.ipv6 {
            (format!("'{VIP6}'"), RS6.iter().map(|a| format!("'{a}'")).collect())
        } else {
            (VIP.to_string(), RS.iter().map(|a| a.to_string()).collect())
        };
        let dests: Vec<String> = rs.iter().map(|a| format!("{{ addr: {a}, fwd: {fwd} }}")).collect();
        let laddrs = if self.mode == Mode::FullNat {
            let l: Vec<String> = (0..self.lips)
                .map(|i| {
                    if self.ipv6 {
                        format!("'{}'", crate::frame6::ip6_str(lip6(i)))
                    } else {
                        crate::frame::ip_str(lip(i))
                    }
                })
                .collect();
            format!(", laddrs: [{}]", l.join(", "))
        } else {
            String::new()
        };
        let _ = writeln!(
            y,
            "services:\n  - {{ proto: {proto}, vip: {vip}, port: 80, scheduler: rr{laddrs}, dests: [ {} ] }}",
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
        for (mode, ipv6) in Mode::ALL.iter().flat_map(|m| [(*m, false), (*m, true)]) {
            let c = RvsdConf {
                prefix: "x".into(),
                workers: 1,
                mbufs: 16384,
                table_size: 100_000,
                client_dev: "net_null0,no-rx=1".into(),
                server_dev: "net_null1,no-rx=1".into(),
                mode,
                udp: mode == Mode::Nat,
                socket: "/tmp/x.sock".into(),
                lips: 200,
                ipv6,
            };
            let cfg = rvs_conf::load_str("bench.yaml", &c.yaml()).unwrap_or_else(|e| panic!("{e}\n{}", c.yaml()));
            assert_eq!(cfg.services.len(), 1);
            let s = &cfg.services[0];
            let want = if mode == Mode::FullNat { 200 } else { 0 };
            assert_eq!(s.laddrs.len(), want);
            assert!(s.laddrs.iter().all(|l| l.is_ipv6() == ipv6), "{:?}", s.laddrs);
            assert_eq!(s.dests.len(), 4);
            assert!(s.dests.iter().all(|d| d.addr.is_ipv6() == ipv6));
            // The flows' table is the one of their family.
            let (v4, v6) = (cfg.conn.table_size as usize, cfg.conn.ipv6_capacity());
            assert_eq!(if ipv6 { v6 } else { v4 }, 100_000, "{}", c.yaml());
            if ipv6 {
                // The first LIP6, quoted as YAML wants it.
                assert_eq!(c.yaml().matches("'2001:db8:1::1:1'").count(), if mode == Mode::FullNat { 1 } else { 0 });
            }
        }
    }

    #[test]
    fn counters_are_summed() {
        let out = "rvsd: final counters\n  worker 0: rx 10 tx 9 conns_created 3 drops 1\n    drop no_service: 1\n  worker 1: rx 5 tx 5 conns_created 2 drops 0\n";
        let m = final_counters(out);
        assert_eq!((m["rx"], m["tx"], m["conns_created"], m["drop no_service"]), (15, 14, 5, 1));
    }
}
