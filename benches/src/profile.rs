//! Where rvsd's worker spends its time: `perf record` with the software
//! CPU clock (these VMs expose no hardware counters to `perf stat`), run
//! against the daemon's PID during a measured window, reported by shared
//! object and symbol. DPDK's libraries carry no symbols here, so their
//! share shows as the library's name with an address.

use crate::procs::{Proc, Registry};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A perf recording in progress.
pub struct Recording {
    proc: Proc,
    data: PathBuf,
}

/// Whether `perf` can sample, and what it cannot do (for the report).
pub fn note() -> (bool, String) {
    let out = Command::new("perf").args(["stat", "-e", "cycles,instructions", "--", "true"]).output();
    match out {
        Err(_) => (
            false,
            "`perf` is not installed, so there is no sampling profile; the cycle figures come from the TSC.".into(),
        ),
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stderr);
            if text.contains("not supported") || !o.status.success() {
                (
                    true,
                    "`perf stat` gets no hardware counters on this machine (cycles and instructions are `<not supported>` in this VM), so cycles per packet come from the TSC and the profiles below from `perf record -e cpu-clock` (software clock sampling).".into(),
                )
            } else {
                (true, "Profiles below are `perf record -e cpu-clock` samples.".into())
            }
        }
    }
}

/// Start sampling `pid` for `secs` seconds.
pub fn start(reg: &Registry, pid: u32, secs: f64, data: &Path, log: &Path) -> Option<Recording> {
    let mut cmd = Command::new("perf");
    cmd.args(["record", "-e", "cpu-clock", "-F", "999", "-p", &pid.to_string(), "-o"]).arg(data).args([
        "--",
        "sleep",
        &format!("{secs:.1}"),
    ]);
    let proc = reg.spawn("perf", &mut cmd, log).ok()?;
    Some(Recording { proc, data: data.to_path_buf() })
}

/// Wait for the recording and return the top `n` lines of its report.
pub fn finish(mut r: Recording, reg: &Registry, n: usize) -> Vec<String> {
    let _ = r.proc.wait_exit(reg, Duration::from_secs(30));
    drop(r.proc);
    let out = Command::new("perf")
        .args(["report", "--no-children", "--stdio", "--sort", "dso,sym", "-i"])
        .arg(&r.data)
        .output();
    let Ok(o) = out else { return Vec::new() };
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit()) && l.contains('%'))
        .take(n)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}
