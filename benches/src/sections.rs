//! Report sections: the one-way tables (IPv4 and IPv6), the engine alone
//! (instructions and cycles per packet, [`crate::instr`]), redirects with
//! two workers, and the hand-written sections a regeneration keeps.

use crate::goals::redirects;
use crate::instr::{PktPath, Results, Row, BEFORE_PIPELINE};
use crate::report::{busy_cell, first_line, flows_str, OnewayRow, Run};
use crate::targets::Mode;
use std::fmt::Write as _;

/// The line that starts the hand-written part of docs/benchmarks.md:
/// everything from it on is kept as it is by a regeneration.
pub const MANUAL_MARK: &str =
    "<!-- Hand-written sections below: scripts/bench.sh keeps them as they are when it rewrites this file. -->";

/// The hand-written tail of an existing report: from [`MANUAL_MARK`], or
/// (reports written before the mark existed) from the robustness section.
pub fn manual_tail(old: &str) -> Option<String> {
    if let Some(i) = old.find(MANUAL_MARK) {
        return Some(old[i..].trim_end().to_string() + "\n");
    }
    let i = old.find("\n## Robustness")?;
    Some(format!("{MANUAL_MARK}\n{}\n", old[i..].trim_end()))
}

/// The one-way table of `workers` (IPv4, files split by the owner's hash).
pub fn oneway_table(r: &Run, workers: u32, out: &mut String) {
    let rows: Vec<&OnewayRow> = r.oneway.iter().filter(|x| x.workers == workers && x.steered).collect();
    oneway_rows(r, &rows, |f| r.baseline(workers, f), false, out);
}

/// A one-way table of `rows` (one worker count), each rate over the
/// `base` of its flow count; `vs_ipv4`: the IPv6 table's extra column,
/// each rate over its IPv4 twin's ([`Run::ipv4_twin`]).
pub(crate) fn oneway_rows(
    r: &Run,
    rows: &[&OnewayRow],
    base: impl Fn(u32) -> Option<f64>,
    vs_ipv4: bool,
    out: &mut String,
) {
    let (extra, extra_sep) = if vs_ipv4 { (" ÷ same program over IPv4 |", "---|") } else { ("", "") };
    let _ = writeln!(
        out,
        "| flows | program | creation pass, Mpps | steady, Mpps | ÷ testpmd io |{extra} cycles/packet (TSC) | rvsd busy cycles/packet | RSS, MiB | notes |\n|---|---|---|---|---|{extra_sep}---|---|---|---|"
    );
    for row in rows {
        let workers = row.workers;
        let base = base(row.flows);
        let (flows, name) = (flows_str(row.flows), row.target.name());
        let o = match &row.res {
            Ok(o) => o,
            Err(e) => {
                let gap = if vs_ipv4 { " |" } else { "" };
                let _ = writeln!(out, "| {flows} | {name} | | failed | |{gap} | | | {} |", first_line(e));
                continue;
            }
        };
        let ratio = base.map(|b| format!("{:.2}", o.mpps / b)).unwrap_or_else(|| "–".into());
        let v4 = match (vs_ipv4, r.ipv4_twin(row)) {
            (false, _) => String::new(),
            (true, Some(x)) => format!(" {:.2} |", o.mpps / x),
            (true, None) => " – |".into(),
        };
        let create = o.create_mpps.map(|c| format!("{c:.2}")).unwrap_or_else(|| "–".into());
        let rss = o.rss.map(|x| format!("{}", x >> 20)).unwrap_or_else(|| "–".into());
        let mut notes = Vec::new();
        if let Some(c) = o.counters.get("conns_created") {
            notes.push(format!("{c} conns"));
        }

        let drops: Vec<String> = o
            .counters
            .iter()
            .filter(|(k, v)| k.starts_with("drop ") && **v > 0)
            .map(|(k, v)| format!("{} {v}", &k[5..]))
            .collect();
        if !drops.is_empty() {
            notes.push(format!("drops: {}", drops.join(", ")));
        }
        let _ = writeln!(
            out,
            "| {flows} | {name} | {create} | {:.2} | {ratio} |{v4} {:.0} | {} | {rss} | {} |",
            o.mpps,
            r.cycles(workers, o.mpps),
            busy_cell(o.busy_cpp, o.busy_share, o.per_poll),
            notes.join("; ")
        );
    }
}

/// Under the IPv6 table's heading (the method is [`crate::explain::METHOD6`]).
pub const ONEWAY6_NOTE: &str = "\
How these were measured is under *IPv6* in the method above. The ÷ testpmd io column is over testpmd io on the IPv6 file; the next one sets each rate beside the same program's IPv4 rate in this run (for testpmd io, its IPv4 baseline). The targets table does not use these rows.";

/// The IPv6 one-way table (nothing when no IPv6 run was made).
pub fn oneway6(r: &Run, out: &mut String) {
    if r.oneway6.is_empty() {
        return;
    }
    let _ = writeln!(out, "## One-way replay over IPv6, 1 worker\n\n{ONEWAY6_NOTE}\n");
    let rows: Vec<&OnewayRow> = r.oneway6.iter().collect();
    oneway_rows(r, &rows, |f| r.baseline6(f), true, out);
    let _ = writeln!(out);
}

/// The method's IPv6 paragraph, filled in from the IPv6 runs made.
pub fn method6(r: &Run) -> Option<String> {
    let mut flows: Vec<u32> = r.oneway6.iter().map(|x| x.flows).collect();
    flows.sort_unstable();
    flows.dedup();
    let list: Vec<String> = flows.iter().map(|f| flows_str(*f)).collect();
    let (proto, size) = if r.udp { ("UDP", 66) } else { ("TCP", 78) };
    (!flows.is_empty()).then(|| {
        crate::explain::METHOD6
            .replace("{flows6}", &list.join(" and "))
            .replace("{proto}", proto)
            .replace("{size6}", &size.to_string())
            .replace("{lips}", &crate::targets::LIPS.to_string())
    })
}

/// The memory-per-connection table.
pub fn mem_table(r: &Run, out: &mut String) {
    let rows = match &r.mem {
        Ok(rows) => rows,
        Err(e) => {
            let _ = writeln!(out, "Memory measurement failed: {}", first_line(e));
            return;
        }
    };
    let _ = writeln!(
        out,
        "| conn.table_size | rvsd RSS after boot, MiB | RSS per connection | ConnTable per entry | TemplateTable per entry |\n|---|---|---|---|---|"
    );
    for x in rows {
        let per = x.rss_per_conn.map(|v| format!("{v:.0} B")).unwrap_or_else(|| "(reference)".into());
        let _ = writeln!(
            out,
            "| {} | {} | {per} | {:.0} B | {:.0} B |",
            flows_str(x.table_size as u32),
            x.rss >> 20,
            x.conn_table_per_conn,
            x.template_per_conn
        );
    }
}

pub const INSTR_NOTE: &str = "\
`dataplane/examples/replay.rs` drives one sans-IO engine (`Engine::handle_burst`, bursts of 32, the lab configuration's UDP services, neighbours learned in advance, transmitted buffers recycled) with 64-byte UDP frames and no device. **Hit**: the table holds the flows' connections and every measured packet belongs to one of them, in a scattered order. **Miss**: the table holds as many connections, and every measured packet is a new flow that is scheduled and gets a connection (the table is sized so none is refused). *Instructions* are callgrind's count inside the replay's `measured` function only (`valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*'`), {ipk} packets per figure, divided by the packets: the same binary on the same input executes the same instructions however busy the machine is, so this is the figure to compare between commits. *Cycles* are the same replay run natively ({tpk} packets per path; best of three up to 100k flows, one run above), wall-clock time at the TSC rate: noisy here, but it reaches 10M connections, which the device replay cannot hold. Neither includes a device: compare them with the one-way table's cycles minus testpmd's.";

fn value(rows: &[Row], m: Mode, p: PktPath, f: u32, scale: f64) -> String {
    match Results::get(rows, m, p, f).map(|x| &x.value) {
        Some(Ok(v)) => format!("{:.0}", v * scale),
        Some(Err(e)) => format!("failed: {}", first_line(e)),
        None => "–".into(),
    }
}

fn flows_of(rows: &[Row]) -> Vec<u32> {
    let mut v: Vec<u32> = rows.iter().map(|x| x.flows).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The engine-alone table.
pub fn instr(r: &Run, out: &mut String) {
    let i = match &r.instr {
        Ok(i) => i,
        Err(e) => {
            let _ = writeln!(out, "Not measured: {}\n", first_line(e));
            return;
        }
    };
    let note = INSTR_NOTE.replace("{ipk}", &i.instr_packets.to_string()).replace("{tpk}", &i.time_packets.to_string());
    let _ = writeln!(out, "{note}\n");
    let (fi, ft) = (flows_of(&i.instr), flows_of(&i.ns));
    let before = fi.contains(&1000);
    let mut head = String::from("| mode | path |");
    for f in &fi {
        let _ = write!(head, " instructions/packet, {} flows |", flows_str(*f));
    }
    if before {
        head.push_str(" before the pipeline, 1k flows (e2ec820) |");
    }
    for f in &ft {
        let _ = write!(head, " TSC cycles/packet, {} flows |", flows_str(*f));
    }
    let cols = head.matches('|').count() - 1;
    let _ = writeln!(out, "{head}\n|{}", "---|".repeat(cols));
    let ghz = r.machine.tsc_hz / 1e9;
    for m in Mode::ALL {
        for p in PktPath::BOTH {
            let mut line = format!("| {} | {} |", m.upper(), p.name());
            for f in &fi {
                let _ = write!(line, " {} |", value(&i.instr, m, p, *f, 1.0));
            }
            if before {
                let b = BEFORE_PIPELINE.iter().find(|(x, _)| *x == m).filter(|_| p == PktPath::Hit);
                let _ = write!(line, " {} |", b.map(|(_, v)| format!("{v:.0}")).unwrap_or_else(|| "–".into()));
            }
            for f in &ft {
                let _ = write!(line, " {} |", value(&i.ns, m, p, *f, ghz));
            }
            let _ = writeln!(out, "{line}");
        }
    }
    if before {
        let _ = writeln!(
            out,
            "\nThe \"before the pipeline\" column is not measured by this script: it is the figure the session that built the burst pipeline measured on commit e2ec820 (the last engine that handled one packet at a time, `Engine::handle`) with the same replay, hit path, 1k flows, quoted as given."
        );
    }
    let _ = writeln!(out);
}

pub const REDIRECT_NOTE: &str = "\
A worker hands a packet to another in two ways, both counted in its `redirect_out`: a flow's packet to the flow's owner through the per-pair SPSC rings (the owner counts it as `redirect_in`; when the ring is full the sender drops it as `redirect_full`), and a packet whose next hop is not yet resolved to worker 0, which keeps the neighbour table. Flow redirects are the first kind (`redirect_in` + `redirect_full`, summed over workers), per 1000 packets the workers received (`rx`), over the whole run. With the files split by the owner's flow hash (the steering NIC model above) every flow reaches its owner, so a flow redirect would mean the owner function and the steering disagree. The one-way replay carries requests only: the replies of NAT and FULLNAT, which a NIC's RSS would spread by the reply tuple and rvs's RSS-aware local ports (FULLNAT) steer back to the owner's queue, are not part of it, and no device here offers RSS to measure that with (`net_pcap`, `net_memif` and `net_tap` have no RSS types or RETA). The second split sends each flow to the queue of its index's parity, as a NIC that knows nothing of rvsd's hash would: on a port without RSS, rvsd then redirects every packet that landed on the other worker's queue. The replay feeds both workers as fast as they poll, so they are overloaded by construction: the rate and the ring-full drops show what redirecting costs under overload, not on a paced link.";

/// Redirects of the 2-worker one-way runs, both splits.
pub fn redirects_table(r: &Run, out: &mut String) {
    let rows: Vec<_> =
        r.oneway.iter().filter(|x| x.workers == 2 && matches!(x.target, crate::oneway::Target::Rvsd(_))).collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Redirects, 2 workers\n\n{REDIRECT_NOTE}\n");
    let _ = writeln!(
        out,
        "| files split by | mode | packets received | flow redirects | of which dropped: ring full | flow redirects per 1000 packets | handed to worker 0 for a neighbour | steady, Mpps | ÷ testpmd io |\n|---|---|---|---|---|---|---|---|---|"
    );
    for steered in [true, false] {
        for m in Mode::ALL {
            let Some(row) = rows.iter().find(|x| x.steered == steered && x.target == crate::oneway::Target::Rvsd(m))
            else {
                continue;
            };
            let split = if steered { "owner's flow hash (steering NIC)" } else { "flow index (no steering)" };
            let rate = row.res.as_ref().map(|o| o.mpps);
            let ratio = match (&rate, r.baseline(2, row.flows)) {
                (Ok(x), Some(b)) => format!("{:.2}", x / b),
                _ => "–".into(),
            };
            let cells = match (redirects(r, m, steered), &rate) {
                (Some(x), Ok(mpps)) => format!(
                    "{} | {} | {} | {:.3} | {} | {mpps:.2} | {ratio}",
                    x.rx,
                    x.flows,
                    x.ring_full,
                    x.per_1000(),
                    x.neigh
                ),
                (_, Err(e)) => format!("– | – | – | – | – | failed: {} | –", first_line(e)),
                (None, Ok(mpps)) => format!("– | – | – | no counters | – | {mpps:.2} | {ratio}"),
            };
            let _ = writeln!(out, "| {split} | {} | {cells} |", m.upper());
        }
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oneway::{Outcome, Target};

    fn row(flows: u32, target: Target, mpps: f64) -> OnewayRow {
        OnewayRow { workers: 1, flows, target, steered: true, res: Ok(Outcome { mpps, ..Outcome::default() }) }
    }

    /// The IPv6 rows get their own table over their own testpmd baseline,
    /// each beside its IPv4 twin, and the targets table ignores them.
    #[test]
    fn ipv6_rows_beside_ipv4_and_out_of_the_targets() {
        let mut r = crate::report::run_with(Vec::new());
        r.oneway = vec![row(1000, Target::Testpmd("io"), 4.0), row(1000, Target::Rvsd(Mode::Nat), 2.0)];
        let mut targets4 = String::new();
        crate::goals::table(&r, &mut targets4);
        r.oneway6 = vec![
            row(1000, Target::Testpmd("io"), 3.0),
            row(1000, Target::Rvsd(Mode::Nat), 1.5),
            row(1000, Target::Testpmd("io"), 5.0),
            row(1000, Target::Rvsd(Mode::Tun), 1.0),
        ];
        let mut out = String::new();
        oneway6(&r, &mut out);
        assert!(out.starts_with("## One-way replay over IPv6, 1 worker\n"), "{out}");
        // NAT over IPv6: 1.5 / mean(3, 5) of testpmd on the IPv6 file,
        // 1.5 / 2.0 of NAT over IPv4; TUN has no IPv4 twin in this run.
        assert!(out.contains("| 1k | rvsd-nat | – | 1.50 | 0.38 | 0.75 |"), "{out}");
        assert!(out.contains("| 1k | testpmd-io | – | 3.00 | 0.75 | 0.75 |"), "{out}");
        assert!(out.contains("| 1k | rvsd-tun | – | 1.00 | 0.25 | – |"), "{out}");
        let mut targets = String::new();
        crate::goals::table(&r, &mut targets);
        assert_eq!(targets, targets4, "IPv6 rows must not reach the targets");
        let md = crate::report::markdown(&r);
        let (m6, sampling) = (
            md.find("- **IPv6.** The one-way replay again over IPv6, 1 worker, at 1k flows"),
            md.find("- **Sampling.**"),
        );
        assert!(m6.is_some() && m6 < sampling, "the IPv6 method paragraph follows the one-way one:\n{md}");
        assert!(md.contains("66 B on the wire") && md.contains("from 64 IPv6 local addresses"), "{md}");
        // No IPv6 runs: no table, no paragraph.
        r.oneway6.clear();
        let md = crate::report::markdown(&r);
        assert!(!md.contains("over IPv6") && !md.contains("**IPv6.**"), "{md}");
    }

    #[test]
    fn keeps_the_hand_written_tail() {
        let old = "# Benchmarks\n\nold generated\n\n## Robustness under hostile input\n\ntext\n";
        let t = manual_tail(old).unwrap();
        assert!(t.starts_with(MANUAL_MARK) && t.ends_with("## Robustness under hostile input\n\ntext\n"), "{t}");
        let again = format!("# Benchmarks\n\nnew\n\n{t}");
        assert_eq!(manual_tail(&again).as_deref(), Some(t.as_str()));
        assert_eq!(manual_tail("# Benchmarks\n\nnothing\n"), None);
    }
}
