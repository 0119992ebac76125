//! rvsd's own accounting, read with `rvsadm --workers --json` over the
//! control socket: per-worker packets, TSC cycles spent on polls that
//! found work (`busy_cycles`), and live connections.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Sums over workers at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snap {
    pub rx: u64,
    pub busy_cycles: u64,
    pub polls: u64,
    pub idle_polls: u64,
    pub conns: u64,
    pub conns_created: u64,
}

/// Parse `rvsadm --workers --json` output.
pub fn parse(json: &str) -> Option<Snap> {
    let v: Value = serde_json::from_str(json).ok()?;
    let mut s = Snap::default();
    for w in v.get("workers")?.as_array()? {
        let g = |k: &str| w.get(k).and_then(Value::as_u64).unwrap_or(0);
        s.rx += g("rx_pkts");
        s.busy_cycles += g("busy_cycles");
        s.polls += g("polls");
        s.idle_polls += g("idle_polls");
        s.conns += g("conns");
        s.conns_created += g("conns_created");
    }
    Some(s)
}

/// Ask rvsd; None when rvsadm is missing or the daemon does not answer.
pub fn snap(rvsadm: &Path, socket: &Path) -> Option<Snap> {
    let o = Command::new(rvsadm).arg("--socket").arg(socket).args(["--workers", "--json"]).output().ok()?;
    if !o.status.success() {
        return None;
    }
    parse(&String::from_utf8_lossy(&o.stdout))
}

/// Received packets per poll that found work, between two snapshots.
pub fn packets_per_busy_poll(a: &Snap, b: &Snap) -> Option<f64> {
    let busy = (b.polls - b.idle_polls).checked_sub(a.polls - a.idle_polls)?;
    (busy > 0).then(|| b.rx.saturating_sub(a.rx) as f64 / busy as f64)
}

/// Busy cycles per received packet between two snapshots.
pub fn cycles_per_packet(a: &Snap, b: &Snap) -> Option<f64> {
    let rx = b.rx.checked_sub(a.rx)?;
    (rx > 0).then(|| b.busy_cycles.saturating_sub(a.busy_cycles) as f64 / rx as f64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sums_workers() {
        let j = r#"{"generation":1,"workers":[{"id":0,"rx_pkts":10,"busy_cycles":1000,"polls":5,"idle_polls":1,"conns":3,"conns_created":4},
                   {"id":1,"rx_pkts":20,"busy_cycles":3000,"polls":6,"idle_polls":2,"conns":1,"conns_created":1}],"mempool":{},"ports":[]}"#;
        let s = super::parse(j).unwrap();
        assert_eq!((s.rx, s.busy_cycles, s.conns, s.conns_created), (30, 4000, 4, 5));
        let a = super::Snap { rx: 10, busy_cycles: 1000, ..s };
        assert_eq!(super::cycles_per_packet(&a, &s), Some(150.0));
    }
}
