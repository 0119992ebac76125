//! Report sections beside the device runs: the engine alone
//! (instructions and cycles per packet, [`crate::instr`]), redirects with
//! two workers, and the hand-written sections a regeneration keeps.

use crate::goals::redirects;
use crate::instr::{PktPath, Results, Row, BEFORE_PIPELINE};
use crate::report::{first_line, flows_str, Run};
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
