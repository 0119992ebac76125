//! What the report says about the machine, and the TSC rate that turns
//! packets per second into cycles per packet.

use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub tsc_hz: f64,
    pub kernel: String,
    pub mem_gib: f64,
    pub dpdk: String,
    /// /proc/loadavg when the run started (other work on the machine).
    pub load_start: String,
    pub load_end: String,
    pub date: String,
}

fn read(p: &str) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn cmd(prog: &str, args: &[&str]) -> String {
    Command::new(prog)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

static TSC_HZ: std::sync::OnceLock<f64> = std::sync::OnceLock::new();

/// [`tsc_hz`], measured once per process.
pub fn tsc_hz_cached() -> f64 {
    *TSC_HZ.get_or_init(tsc_hz)
}

/// TSC ticks per second, measured against the monotonic clock.
pub fn tsc_hz() -> f64 {
    let (t0, c0) = (Instant::now(), rvs_ffi::rdtsc());
    std::thread::sleep(Duration::from_millis(200));
    let (dt, dc) = (t0.elapsed().as_secs_f64(), rvs_ffi::rdtsc() - c0);
    dc as f64 / dt
}

pub fn loadavg() -> String {
    read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

pub fn probe() -> Machine {
    let cpuinfo = read("/proc/cpuinfo");
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let mem_kb: f64 = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0.0);
    let mut dpdk = cmd("pkg-config", &["--modversion", "libdpdk"]);
    if dpdk.is_empty() {
        dpdk = "unknown".into();
    }
    Machine {
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_model,
        tsc_hz: tsc_hz_cached(),
        kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        mem_gib: mem_kb / 1024.0 / 1024.0,
        dpdk,
        load_start: loadavg(),
        load_end: String::new(),
        date: cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
    }
}
