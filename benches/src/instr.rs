//! Instructions and cycles per packet of the sans-IO engine alone, from
//! `dataplane/examples/replay.rs`: a fixed replay of UDP flows through
//! `Engine::handle_burst` with no device.
//!
//! * **Instructions** come from `valgrind --tool=callgrind`, collecting
//!   only inside the replay's `measured` function: the same binary on the
//!   same input executes the same instructions however loaded the machine
//!   is, so this is the figure to compare between commits.
//! * **Cycles** are the same replay run natively, timed with the wall
//!   clock and converted at the TSC rate: noisy on a shared machine, but
//!   they can go where the device replay cannot (10M connections would
//!   need more preloaded mbufs than the machine has memory).
//!
//! Each is measured on both paths: `hit` (established flows, in a
//! scattered order) and `miss` (every measured packet is a fresh flow,
//! scheduled and given a connection), with the table already holding
//! `flows` connections.

use crate::targets::{Env, Mode};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::time::Duration;

/// Which path a replay measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PktPath {
    Hit,
    Miss,
}

impl PktPath {
    pub const BOTH: [PktPath; 2] = [PktPath::Hit, PktPath::Miss];
    pub fn name(self) -> &'static str {
        match self {
            PktPath::Hit => "hit",
            PktPath::Miss => "miss",
        }
    }
}

/// One figure of one (mode, path, flows).
#[derive(Debug, Clone)]
pub struct Row {
    pub mode: Mode,
    pub path: PktPath,
    pub flows: u32,
    pub value: Result<f64, String>,
}

/// Instructions per packet measured by this script and, for comparison,
/// before the burst pipeline (see [`BEFORE_PIPELINE`]).
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// Callgrind instructions per packet.
    pub instr: Vec<Row>,
    /// Native nanoseconds per packet.
    pub ns: Vec<Row>,
    pub instr_packets: usize,
    pub time_packets: usize,
}

impl Results {
    pub fn get(rows: &[Row], mode: Mode, path: PktPath, flows: u32) -> Option<&Row> {
        rows.iter().find(|r| r.mode == mode && r.path == path && r.flows == flows)
    }
}

/// Instructions per established (hit) packet at 1k flows measured on
/// commit e2ec820, the last engine that handled one packet at a time
/// (`Engine::handle`), with the same replay: measured by the session that
/// built the pipeline, not by this script, and quoted as given.
pub const BEFORE_PIPELINE: [(Mode, f64); 4] =
    [(Mode::Nat, 1376.0), (Mode::Dr, 1077.0), (Mode::Tun, 1799.0), (Mode::FullNat, 1551.0)];

fn exit_ok(env: &Env, p: &mut crate::procs::Proc, secs: u64) -> Result<String> {
    match p.wait_exit(&env.reg, Duration::from_secs(secs))? {
        Some(0) => Ok(p.output()),
        Some(c) => bail!("{} exited with {c}:\n{}", p.name, crate::procs::tail(&p.output(), 10)),
        None => bail!("{} did not finish within {secs} s", p.name),
    }
}

/// Callgrind's total for the collected part (`totals:` or `summary:`).
pub fn parse_totals(out: &str) -> Option<u64> {
    out.lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// `ns_per_pkt` of the replay's line for `path`.
pub fn parse_ns(out: &str, path: PktPath) -> Option<f64> {
    let tag = format!(" path {} ", path.name());
    let l = out.lines().find(|l| l.starts_with("mode ") && l.contains(&tag))?;
    let mut w = l.split_whitespace();
    w.find(|x| *x == "ns_per_pkt")?;
    w.next()?.parse().ok()
}

fn callgrind(env: &Env, replay: &Path, mode: Mode, path: PktPath, flows: u32, packets: usize) -> Result<f64> {
    let tag = format!("{}-{}-{flows}", mode.name(), path.name());
    let out = env.path(&format!("callgrind-{tag}.out"));
    let args: Vec<String> = vec![
        "--tool=callgrind".into(),
        "--collect-atstart=no".into(),
        "--toggle-collect=*measured*".into(),
        format!("--callgrind-out-file={}", out.display()),
        replay.display().to_string(),
        mode.name().into(),
        flows.to_string(),
        packets.to_string(),
        path.name().into(),
    ];
    let log = env.path(&format!("callgrind-{tag}.log"));
    let mut p = env.spawn("valgrind", Path::new("valgrind"), &args, &log)?;
    exit_ok(env, &mut p, 600)?;
    let text = std::fs::read_to_string(&out).with_context(|| out.display().to_string())?;
    let ir = parse_totals(&text).context("no totals in the callgrind output")?;
    Ok(ir as f64 / packets as f64)
}

/// Native hit and miss timing of one (mode, flows), best of `tries`.
fn timed(env: &Env, replay: &Path, mode: Mode, flows: u32, packets: usize, tries: u32) -> Result<[f64; 2]> {
    let mut best = [f64::INFINITY; 2];
    for k in 0..tries {
        let log = env.path(&format!("replay-{}-{flows}-{k}.log", mode.name()));
        let args = vec![mode.name().to_string(), flows.to_string(), packets.to_string(), "both".into()];
        let mut p = env.spawn("replay", replay, &args, &log)?;
        let out = exit_ok(env, &mut p, 600)?;
        for (i, path) in PktPath::BOTH.iter().enumerate() {
            let ns = parse_ns(&out, *path).with_context(|| format!("no {} line:\n{out}", path.name()))?;
            best[i] = best[i].min(ns);
        }
    }
    Ok(best)
}

/// Every mode, both paths: callgrind at `instr_flows`, native timing at
/// `time_flows` (best of three where that is cheap).
pub fn run(
    env: &Env,
    replay: &Path,
    instr_flows: &[u32],
    instr_packets: usize,
    time_flows: &[u32],
    time_packets: usize,
) -> Result<Results> {
    if !replay.exists() {
        bail!("the replay example is not built at {}", replay.display());
    }
    let mut r = Results { instr_packets, time_packets, ..Results::default() };
    for &flows in instr_flows {
        for mode in Mode::ALL {
            for path in PktPath::BOTH {
                env.reg.check()?;
                let v = callgrind(env, replay, mode, path, flows, instr_packets).map_err(|e| format!("{e:#}"));
                println!("rvs-bench: callgrind {} {} {flows}: {}", mode.name(), path.name(), show(&v, "instr/pkt"));
                r.instr.push(Row { mode, path, flows, value: v });
            }
        }
    }
    for &flows in time_flows {
        for mode in Mode::ALL {
            env.reg.check()?;
            let tries = if flows <= 100_000 { 3 } else { 1 };
            let v = timed(env, replay, mode, flows, time_packets, tries).map_err(|e| format!("{e:#}"));
            for (i, path) in PktPath::BOTH.iter().enumerate() {
                let value = v.as_ref().map(|x| x[i]).map_err(String::clone);
                println!(
                    "rvs-bench: replay timing {} {} {flows}: {}",
                    mode.name(),
                    path.name(),
                    show(&value, "ns/pkt")
                );
                r.ns.push(Row { mode, path: *path, flows, value });
            }
        }
    }
    Ok(r)
}

fn show(v: &Result<f64, String>, unit: &str) -> String {
    match v {
        Ok(x) => format!("{x:.0} {unit}"),
        Err(e) => format!("FAILED: {}", e.lines().next().unwrap_or("")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_replay_and_callgrind_output() {
        let out = "mode nat path hit flows 1000 packets 20 sent 20 conns 1000 ns_per_pkt 124.5 drops []\n\
                   mode nat path miss flows 1000 packets 20 sent 20 conns 1020 ns_per_pkt 314.1 drops []\n";
        assert_eq!(parse_ns(out, PktPath::Hit), Some(124.5));
        assert_eq!(parse_ns(out, PktPath::Miss), Some(314.1));
        let cg = "events: Ir\nfn=(1) x\n0 5\nsummary: 27878925\ntotals: 27878925\n";
        assert_eq!(parse_totals(cg), Some(27_878_925));
        assert_eq!(parse_totals("events: Ir\n"), None);
    }
}
