//! `rvsadm --workers`: per-worker counters, the mempool and the ports.
//!
//! An rvs extension with no ipvsadm format to follow, so the layout is
//! ours: one row per worker with the counters that answer "is traffic
//! flowing and evenly spread", then the non-zero drop reasons (a drop is
//! always named), the mempool against its boot baseline (a leak shows as
//! a free count that never returns) and the NIC's own counters.

use crate::adm::format::json;
use crate::adm::view::WorkersView;
use std::fmt::Write;

/// The listing, or with `json` the view as JSON.
pub fn format(v: &WorkersView, json_out: bool) -> String {
    if json_out {
        return json(v);
    }
    let mut out = String::new();
    let _ = writeln!(out, "Workers (published generation {})", v.generation);
    let _ = writeln!(
        out,
        "{:>6} {:>6} {:>12} {:>12} {:>10} {:>10} {:>9} {:>10} {:>9}",
        "Worker", "Gen", "RxPkts", "TxPkts", "RedirIn", "RedirOut", "Conns", "Created", "Drops"
    );
    for w in &v.workers {
        let drops: u64 = w.drops.values().sum();
        let _ = writeln!(
            out,
            "{:>6} {:>6} {:>12} {:>12} {:>10} {:>10} {:>9} {:>10} {:>9}",
            w.id, w.generation, w.rx_pkts, w.tx_pkts, w.redirect_in, w.redirect_out, w.conns, w.conns_created, drops
        );
    }
    for w in v.workers.iter().filter(|w| w.drops.values().any(|n| *n > 0)) {
        let list: Vec<String> = w.drops.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(out, "  worker {} drops: {}", w.id, list.join(", "));
    }
    let m = &v.mempool;
    let _ = writeln!(
        out,
        "Mempool: free {} baseline {} size {} (in flight {})",
        m.free,
        m.baseline,
        m.size,
        m.baseline.saturating_sub(m.free)
    );
    for p in &v.ports {
        let _ = writeln!(
            out,
            "Port {} ({}): ipackets {} opackets {} ibytes {} obytes {} imissed {} ierrors {} oerrors {} rx_nombuf {} link {} ({} changes)",
            p.id,
            p.name,
            p.ipackets,
            p.opackets,
            p.ibytes,
            p.obytes,
            p.imissed,
            p.ierrors,
            p.oerrors,
            p.rx_nombuf,
            if p.link_up { "up" } else { "down" },
            p.link_changes
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adm::view::{MempoolView, PortView, WorkerView};

    fn view() -> WorkersView {
        let mut w0 = WorkerView { id: 0, generation: 3, rx_pkts: 10, tx_pkts: 9, conns: 2, ..Default::default() };
        w0.drops.insert("no_service".into(), 1);
        WorkersView {
            generation: 3,
            workers: vec![w0, WorkerView { id: 1, generation: 2, ..Default::default() }],
            mempool: MempoolView { free: 100, baseline: 110, size: 127 },
            ports: vec![PortView {
                id: 0,
                name: "net_tap0".into(),
                ipackets: 10,
                link_up: false,
                link_changes: 3,
                ..Default::default()
            }],
        }
    }

    #[test]
    fn text_layout() {
        let out = format(&view(), false);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Workers (published generation 3)");
        assert!(lines[2].trim_start().starts_with("0      3           10            9"), "{}", lines[2]);
        assert!(lines[2].ends_with(" 1"), "{}", lines[2]);
        assert_eq!(lines[4], "  worker 0 drops: no_service 1");
        assert_eq!(lines[5], "Mempool: free 100 baseline 110 size 127 (in flight 10)");
        assert!(lines[6].starts_with("Port 0 (net_tap0): ipackets 10 "), "{}", lines[6]);
        assert!(lines[6].ends_with(" link down (3 changes)"), "{}", lines[6]);
    }

    #[test]
    fn json_round_trips() {
        let v = view();
        let back: WorkersView = serde_json::from_str(&format(&v, true)).unwrap();
        assert_eq!(back, v);
    }
}
