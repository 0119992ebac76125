//! The report's first table: each target of issue 12 (and the memory
//! targets of issue 6 it keeps) beside what this run measured, met or not
//! met, and what could not be measured here and why.

use crate::instr::{PktPath, Results};
use crate::oneway::Target;
use crate::report::{first_line, flows_str, fmt_rate, met, mpps, Run};
use crate::targets::Mode;
use std::fmt::Write as _;

/// What the workers of a 2-worker run handed to each other, from rvsd's
/// final counters summed over workers. `redirect_out` counts both kinds
/// of hand-off: a flow's packet through the per-pair rings (its owner
/// counts it as `redirect_in`, or the sender drops it as `redirect_full`
/// when the ring is full) and a packet given to worker 0 to wait for a
/// neighbour (worker 0 keeps the neighbour table), which is the rest.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Redirects {
    pub rx: u64,
    /// Packets of flows handed to their owner (delivered + ring full).
    pub flows: u64,
    pub ring_full: u64,
    /// Packets handed to worker 0 for neighbour resolution.
    pub neigh: u64,
}

impl Redirects {
    pub fn from_counters(c: &std::collections::BTreeMap<String, u64>) -> Option<Redirects> {
        let g = |k: &str| c.get(k).copied();
        let (rx, out, inn) = (g("rx")?, g("redirect_out")?, g("redirect_in")?);
        let ring_full = g("drop redirect_full").unwrap_or(0);
        let flows = inn + ring_full;
        Some(Redirects { rx, flows, ring_full, neigh: out.saturating_sub(flows) })
    }

    /// Flow redirects per 1000 received packets.
    pub fn per_1000(&self) -> f64 {
        1000.0 * self.flows as f64 / self.rx.max(1) as f64
    }
}

/// The hand-offs of rvsd's 2-worker one-way run in `mode` (`steered`:
/// files split by the owner's hash).
pub fn redirects(r: &Run, mode: Mode, steered: bool) -> Option<Redirects> {
    let row = r.oneway.iter().find(|x| x.workers == 2 && x.steered == steered && x.target == Target::Rvsd(mode))?;
    Redirects::from_counters(&row.res.as_ref().ok()?.counters).filter(|x| x.rx > 0)
}

fn oneway_rows(r: &Run, out: &mut String) {
    let mut flows: Vec<u32> = [r.min_flows(1), r.max_flows(1)].into_iter().flatten().collect();
    flows.dedup();
    for n in flows {
        let base = r.baseline(1, n);
        for m in Mode::ALL {
            let row = r.rvsd_row(1, n, m).and_then(mpps);
            let (cell, ok) = match (row, base) {
                (Some(x), Some(b)) => (format!("{:.2}× ({x:.2} / {b:.2} Mpps)", x / b), x / b >= 0.6),
                _ => ("no result".into(), false),
            };
            let _ = writeln!(
                out,
                "| {} established flows, {} concurrent, 64 B, 1 worker | ≥ 0.60× testpmd io | {cell} | {} |",
                m.upper(),
                flows_str(n),
                met(ok)
            );
        }
    }
    // 10M: beyond what the device replay can hold; the engine alone.
    if let Ok(i) = &r.instr {
        if let Some(big) = i.ns.iter().map(|x| x.flows).filter(|f| *f >= 10_000_000).max() {
            let cyc = |m, f| {
                Results::get(&i.ns, m, PktPath::Hit, f)
                    .and_then(|x| x.value.as_ref().ok())
                    .map(|ns| ns * r.machine.tsc_hz / 1e9)
            };
            let cells: Vec<String> =
                Mode::ALL.iter().filter_map(|m| cyc(*m, big).map(|c| format!("{} {c:.0}", m.upper()))).collect();
            let _ = writeln!(
                out,
                "| established flows, {} concurrent, 1 worker | ≥ 0.60× testpmd io (not a target) | not on a device: the replay keeps every frame in a 4 KiB mbuf, and 10M flows need more than this machine's memory. The engine alone (below), TSC cycles per packet: {} | not measured |",
                flows_str(big),
                cells.join(", ")
            );
        }
    }
}

fn cps_rows(r: &Run, out: &mut String) {
    let cb = r.cps_best(Target::Testpmd("io")).map(|o| o.cps);
    for m in [Mode::Nat, Mode::FullNat] {
        if !r.cps.iter().any(|c| c.target == Target::Rvsd(m)) {
            continue;
        }
        let (cell, ok) = match r.cps_best(Target::Rvsd(m)) {
            Some(o) => {
                let ratio = cb.map(|b| format!(", {:.2}× testpmd io's", o.cps / b)).unwrap_or_default();
                (format!("{}/s{ratio}", fmt_rate(o.cps)), o.cps >= 1e6)
            }
            None => ("no result".into(), false),
        };
        let _ = writeln!(
            out,
            "| {} conversations (6 packets, both FINs) | ≥ 1,000,000 new conn/s per worker | {cell} | {} |",
            m.upper(),
            met(ok)
        );
    }
}

fn mem_rows(r: &Run, out: &mut String) {
    let Ok(rows) = &r.mem else {
        let _ = writeln!(out, "| bytes per connection | ≤ 64 B / ≤ 128 B | no result | not met |");
        return;
    };
    for row in rows.iter().filter(|x| x.rss_per_conn.is_some()) {
        let n = flows_str(row.table_size as u32);
        let t = row.conn_table_per_conn;
        let _ = writeln!(
            out,
            "| DR/TUN bytes per connection, table + entry, at {n} | ≤ 64 B | {t:.0} B (one table layout serves every mode: a 64-byte entry plus its index and timer) | {} |",
            met(t <= 64.0)
        );
        let _ = writeln!(
            out,
            "| NAT/FULLNAT bytes per connection, table + entry, at {n} | ≤ 128 B | {t:.0} B | {} |",
            met(t <= 128.0)
        );
        let per = row.rss_per_conn.unwrap_or(0.0);
        let _ = writeln!(
            out,
            "| rvsd resident memory per connection it can hold, at {n} (adds the template table; issue 6) | ≤ 128 B | {per:.0} B | {} |",
            met(per <= 128.0)
        );
    }
    if let Some(row) = rows.iter().find(|x| x.table_size >= 10_000_000) {
        let gib = |b: f64| b * row.table_size as f64 / (1u64 << 30) as f64;
        let (rss, table) = (gib(row.rss_per_conn.unwrap_or(0.0)), gib(row.conn_table_per_conn));
        let _ = writeln!(
            out,
            "| 10M connections in memory (issue 6) | ≤ 2 GiB | {rss:.2} GiB rvsd RSS ({table:.2} GiB conn table) | {} |",
            met(rss <= 2.0)
        );
    }
}

fn redirect_rows(r: &Run, out: &mut String) {
    if !r.oneway.iter().any(|x| x.workers == 2) {
        return;
    }
    let mut neigh = Vec::new();
    let mut cell = |m: Mode| match redirects(r, m, true) {
        Some(x) => {
            if x.neigh > 0 {
                neigh.push(format!("{} {}", m.upper(), x.neigh));
            }
            (format!("{} {:.3} ({} of {} packets)", m.upper(), x.per_1000(), x.flows, x.rx), x.flows == 0)
        }
        None => (format!("{} no result", m.upper()), false),
    };
    let (dr, tun) = (cell(Mode::Dr), cell(Mode::Tun));
    let also = if neigh.is_empty() {
        String::new()
    } else {
        format!("; besides, packets handed to worker 0 to wait for a neighbour: {}", neigh.join(", "))
    };
    let _ = writeln!(
        out,
        "| DR/TUN flow redirects per 1000 packets, 2 workers, steering NIC model | 0 | {}, {}{also} | {} |",
        dr.0,
        tun.0,
        met(dr.1 && tun.1)
    );
    let fnat = redirects(r, Mode::FullNat, true)
        .map(|x| format!("{:.3} per 1000 on the steering model, which carries requests only", x.per_1000()))
        .unwrap_or_else(|| "no result".into());
    let _ = writeln!(
        out,
        "| FULLNAT flow redirects per 1000 packets, 2 workers, RSS-aware ports | 0 | no device here has RSS (net_pcap, net_memif and net_tap offer no RSS types or RETA), so replies steered by the local port cannot be measured; {fnat} | not measured |"
    );
}

/// The summary table against the targets.
pub fn table(r: &Run, out: &mut String) {
    let _ = writeln!(out, "| target (issue 12) | goal | measured | |\n|---|---|---|---|");
    oneway_rows(r, out);
    cps_rows(r, out);
    mem_rows(r, out);
    redirect_rows(r, out);
    if let Err(e) = &r.instr {
        let _ = writeln!(
            out,
            "| instructions per packet (callgrind) | (compared between commits) | failed: {} | |",
            first_line(e)
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hand_offs_are_told_apart() {
        let mut c = std::collections::BTreeMap::new();
        for (k, v) in [("rx", 6_000_000), ("redirect_out", 3_001_240), ("redirect_in", 1_396_360)] {
            c.insert(k.to_string(), v);
        }
        c.insert("drop redirect_full".into(), 1_603_824);
        let x = super::Redirects::from_counters(&c).unwrap();
        assert_eq!((x.flows, x.ring_full, x.neigh), (3_000_184, 1_603_824, 1_056));
        assert!((x.per_1000() - 500.03).abs() < 0.01);
    }
}
