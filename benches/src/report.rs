//! docs/benchmarks.md from one run's results (the plots are in
//! [`crate::plots`], the prose in [`crate::explain`]).

use crate::machine::Machine;
use crate::oneway::Target;
use crate::targets::Mode;
use crate::{cps, mem, oneway};
use crate::{explain, goals, instr, sections};
use std::fmt::Write as _;

pub struct OnewayRow {
    pub workers: u32,
    pub flows: u32,
    pub target: Target,
    /// With 2 workers: the replay files split by the owner's flow hash
    /// (a NIC steering each flow to its owner); false: by flow index, as
    /// a NIC knowing nothing of rvsd's hash would (redirects measured).
    pub steered: bool,
    pub res: Result<oneway::Outcome, String>,
}

pub struct CpsRow {
    pub target: Target,
    pub res: Result<cps::Outcome, String>,
}

/// A `perf report` excerpt for one run.
pub struct Profile {
    pub what: String,
    pub lines: Vec<String>,
}

pub struct Run {
    pub machine: Machine,
    pub smoke: bool,
    pub udp: bool,
    pub nice: i32,
    pub window: f64,
    pub cps_duration: f64,
    pub oneway: Vec<OnewayRow>,
    /// The IPv6 one-way runs (1 worker), testpmd io on the IPv6 file as
    /// their own baseline. Kept apart from `oneway` so that nothing
    /// computed for the targets (all IPv4) can pick an IPv6 row up.
    pub oneway6: Vec<OnewayRow>,
    pub cps: Vec<CpsRow>,
    pub mem: Result<Vec<mem::Row>, String>,
    pub profiles: Vec<Profile>,
    /// Why perf could not give hardware counters, or its absence.
    pub perf_note: String,
    /// Criterion results of the rewrite micro benchmarks: (name, ns).
    pub micro: Vec<(String, f64)>,
    /// The engine alone: instructions (callgrind) and cycles per packet.
    pub instr: Result<instr::Results, String>,
    /// Hand-written sections of the previous report, kept at the end.
    pub manual: Option<String>,
    /// The commit measured (`git rev-parse`, "-dirty" with local changes).
    pub commit: Option<String>,
}

/// (name, median ns) from criterion's output lines
/// `group/name  time:   [1.0 ns 1.1 ns 1.2 ns]`.
pub fn parse_criterion(text: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for l in text.lines() {
        let Some((name, rest)) = l.split_once("time:") else { continue };
        let name = name.trim();
        let v: Vec<&str> = rest.trim().trim_start_matches('[').trim_end_matches(']').split_whitespace().collect();
        if name.is_empty() || v.len() < 4 {
            continue;
        }
        let scale = match v[3] {
            "ps" => 1e-3,
            "ns" => 1.0,
            "µs" | "us" => 1e3,
            "ms" => 1e6,
            _ => continue,
        };
        if let Ok(x) = v[2].parse::<f64>() {
            out.push((name.to_string(), x * scale));
        }
    }
    out
}

pub(crate) fn mpps(r: &OnewayRow) -> Option<f64> {
    r.res.as_ref().ok().map(|o| o.mpps)
}

impl Run {
    /// Mean testpmd io rate for (workers, flows): the runs before and
    /// after the rvsd runs, so drift shows and averages out.
    pub fn baseline(&self, workers: u32, flows: u32) -> Option<f64> {
        let v: Vec<f64> = self
            .oneway
            .iter()
            .filter(|r| r.workers == workers && r.flows == flows && r.steered && r.target == Target::Testpmd("io"))
            .filter_map(mpps)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    }

    /// [`Run::baseline`] of the IPv6 runs: testpmd io on the IPv6 file.
    pub fn baseline6(&self, flows: u32) -> Option<f64> {
        let v: Vec<f64> = self
            .oneway6
            .iter()
            .filter(|r| r.flows == flows && r.target == Target::Testpmd("io"))
            .filter_map(mpps)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    }

    /// The IPv4 rate of the program an IPv6 row measured, at the same
    /// flow count and 1 worker (testpmd io: its baseline).
    pub fn ipv4_twin(&self, row: &OnewayRow) -> Option<f64> {
        match row.target {
            Target::Testpmd("io") => self.baseline(1, row.flows),
            Target::Rvsd(m) => self.rvsd_row(1, row.flows, m).and_then(mpps),
            Target::Testpmd(_) => None,
        }
    }

    /// The best conversation rate of a program over its runs.
    pub fn cps_best(&self, target: Target) -> Option<&cps::Outcome> {
        self.cps
            .iter()
            .filter(|r| r.target == target)
            .filter_map(|r| r.res.as_ref().ok())
            .max_by(|a, b| a.cps.total_cmp(&b.cps))
    }

    fn cps_baseline(&self) -> Option<f64> {
        self.cps_best(Target::Testpmd("io")).map(|o| o.cps)
    }

    /// Cycles of the forwarding lcores per packet, which busy-poll a
    /// source that never runs dry (so they are 100% busy).
    pub fn cycles(&self, workers: u32, mpps: f64) -> f64 {
        self.machine.tsc_hz * f64::from(workers) / (mpps * 1e6)
    }

    pub fn rvsd_row(&self, workers: u32, flows: u32, mode: Mode) -> Option<&OnewayRow> {
        self.oneway
            .iter()
            .find(|r| r.workers == workers && r.flows == flows && r.steered && r.target == Target::Rvsd(mode))
    }

    pub fn max_flows(&self, workers: u32) -> Option<u32> {
        self.oneway.iter().filter(|r| r.workers == workers).map(|r| r.flows).max()
    }

    pub fn min_flows(&self, workers: u32) -> Option<u32> {
        self.oneway.iter().filter(|r| r.workers == workers).map(|r| r.flows).min()
    }
}

pub(crate) fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else {
        format!("{:.0} k", x / 1e3)
    }
}

pub(crate) fn flows_str(n: u32) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n if n >= 1024 && n % 1024 == 0 => format!("{}Ki", n / 1024),
        n => n.to_string(),
    }
}

pub(crate) fn met(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "not met"
    }
}

pub(crate) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").replace('|', "/")
}

/// "623 (100% busy, 32/poll)" from rvsd's own counters.
pub(crate) fn busy_cell(cpp: Option<f64>, share: Option<f64>, per_poll: Option<f64>) -> String {
    match (cpp, share) {
        (Some(c), Some(b)) => {
            let pp = per_poll.map(|p| format!(", {p:.1} pkts/poll")).unwrap_or_default();
            format!("{c:.0} ({:.0}% busy{pp})", 100.0 * b)
        }
        _ => "–".into(),
    }
}

fn cps_table(r: &Run, out: &mut String) {
    let _ = writeln!(
        out,
        "| program | conversations/s | ÷ best testpmd io | packets/s | cycles/conversation (TSC) | rvsd busy cycles/packet | live conns | room: table / local ports | refused: no port / table full | mean latency, µs | lost | RSS, MiB |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let base = r.cps_baseline();
    for row in &r.cps {
        let name = row.target.name();
        let o = match &row.res {
            Ok(o) => o,
            Err(e) => {
                let _ = writeln!(out, "| {name} | failed | | | | | | | | | | {} |", first_line(e));
                continue;
            }
        };
        let best = r.cps_best(row.target).is_some_and(|b| std::ptr::eq(b, o));
        let cps = if best { format!("**{:.0}**", o.cps) } else { format!("{:.0}", o.cps) };
        let ratio = base.map(|b| format!("{:.2}", o.cps / b)).unwrap_or_else(|| "–".into());
        let rss = o.rss.map(|x| format!("{}", x >> 20)).unwrap_or_else(|| "–".into());
        let live = o.live_conns.map(|c| c.to_string()).unwrap_or_else(|| "–".into());
        let (room, refused) = match row.target {
            Target::Testpmd(_) => ("–".to_string(), "–".to_string()),
            Target::Rvsd(_) => {
                let ports = o.local_ports.map(|p| format!("{:.2} M", p as f64 / 1e6)).unwrap_or_else(|| "–".into());
                let (lp, tf) = (o.drop("lport_exhausted"), o.drop("conn_table_full"));
                let refused = if lp + tf > 0 { format!("**{lp} / {tf}**") } else { "0 / 0".into() };
                (format!("{:.2} M / {ports}", o.table_size as f64 / 1e6), refused)
            }
        };
        let _ = writeln!(
            out,
            "| {name} | {cps} | {ratio} | {:.2} M | {:.0} | {} | {live} | {room} | {refused} | {:.0} | {} | {rss} |",
            o.cps * 6.0 / 1e6,
            r.machine.tsc_hz / o.cps.max(1.0),
            busy_cell(o.busy_cpp, o.busy_share, o.per_poll),
            o.latency_us,
            o.lost
        );
    }
    cps_room(r, out);
}

/// What the room column means for this run, and whether any run ran out.
fn cps_room(r: &Run, out: &mut String) {
    let rows: Vec<(&CpsRow, &cps::Outcome)> =
        r.cps.iter().filter_map(|c| c.res.as_ref().ok().map(|o| (c, o))).collect();
    let fullnat: Vec<&cps::Outcome> =
        rows.iter().filter(|(c, _)| c.target == Target::Rvsd(Mode::FullNat)).map(|(_, o)| *o).collect();
    let _ = writeln!(out, "\n{}", explain::CPS_ROOM);
    if let Some(ports) = fullnat.iter().filter_map(|o| o.local_ports).max() {
        let _ = writeln!(
            out,
            "\nHere the FULLNAT runs had {} LIPs × {} ports = {:.2} M local ports.",
            ports / crate::targets::PORTS_PER_LIP,
            crate::targets::PORTS_PER_LIP,
            ports as f64 / 1e6
        );
    }
    if let Some(best) = r.cps_best(Target::Rvsd(Mode::FullNat)) {
        let need = best.cps * TIME_WAIT_S;
        let _ = writeln!(
            out,
            "At its best rate here ({}/s), FULLNAT kept up for longer than 120 s would hold {:.1} M local ports at once: {} LIPs.",
            fmt_rate(best.cps),
            need / 1e6,
            (need / crate::targets::PORTS_PER_LIP as f64).ceil()
        );
    }
    for (c, o) in &rows {
        let (lp, tf) = (o.drop("lport_exhausted"), o.drop("conn_table_full"));
        if lp + tf == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "\n**{} ran out of room**: its live connections stopped at {} and from then on rvsd refused new SYNs ({lp} `lport_exhausted`, {tf} `conn_table_full`), so the conversations in flight were lost ({}) and its rate counts only what completed before the plateau.",
            c.target.name(),
            o.live_conns.map(|x| x.to_string()).unwrap_or_else(|| "?".into()),
            o.lost
        );
    }
}

/// IPVS's (and rvsd's) TIME_WAIT timeout, seconds.
const TIME_WAIT_S: f64 = 120.0;

/// Cycles over the wire's, and the profiles read through `explain`.
fn bottleneck(r: &Run, out: &mut String) {
    if let Some(n) = r.max_flows(1) {
        if let Some(b) = r.baseline(1, n) {
            let wire = r.cycles(1, b);
            let _ = writeln!(
                out,
                "At {} flows testpmd io needs {wire:.0} cycles per packet (the replay device's copy and the sink's free, which rvsd pays too). Over that, rvsd spends:\n",
                flows_str(n)
            );
            for m in Mode::ALL {
                if let Some(x) = r.rvsd_row(1, n, m).and_then(mpps) {
                    let (all, own) = (r.cycles(1, x), r.cycles(1, x) - wire);
                    let _ = writeln!(out, "- {}: {own:.0} cycles per packet of its own ({all:.0} in all)", m.upper());
                }
            }
            let _ = writeln!(out);
        }
        let small = r.min_flows(1).filter(|s| *s != n);
        if let Some(s) = small {
            let nat = |f| r.rvsd_row(1, f, Mode::Nat).and_then(mpps).map(|x| r.cycles(1, x));
            if let (Some(a), Some(b)) = (nat(s), nat(n)) {
                let _ = writeln!(
                    out,
                    "NAT needs {a:.0} cycles per packet at {} flows, where the table fits in the caches, and {b:.0} at {}.\n",
                    flows_str(s),
                    flows_str(n)
                );
            }
        }
    }
    let _ = writeln!(out, "{}\n", r.perf_note);
    for p in &r.profiles {
        let _ = writeln!(out, "**{}**: where the samples fall —\n", p.what);
        let groups = explain::group(&p.lines);
        for (pct, what) in groups.iter().take(6) {
            let _ = writeln!(out, "- {pct:.0}%: {what}");
        }
        if let Some((pct, what)) = groups.iter().find(|(_, w)| !explain::is_device(w)) {
            let _ = writeln!(out, "\nThe next bottleneck in this run: {what} ({pct:.0}% of the samples).");
        }
        let _ = writeln!(out, "\n<details><summary>perf report (top symbols)</summary>\n\n```");
        for l in &p.lines {
            let _ = writeln!(out, "{l}");
        }
        let _ = writeln!(out, "```\n</details>\n");
    }
    if !r.micro.is_empty() {
        let _ = writeln!(
            out,
            "The rewrites alone, on a 64-byte frame in a buffer with headroom (`cargo bench -p rvs-benches --bench modes`, run by this script):\n\n| micro benchmark | ns | cycles |\n|---|---|---|"
        );
        for (name, ns) in &r.micro {
            let _ = writeln!(out, "| {name} | {ns:.1} | {:.0} |", ns * r.machine.tsc_hz / 1e9);
        }
        let _ = writeln!(out);
    }
}

/// The whole of docs/benchmarks.md.
pub fn markdown(r: &Run) -> String {
    let m = &r.machine;
    let mut o = String::new();
    let _ = writeln!(o, "# Benchmarks\n");
    let _ = writeln!(
        o,
        "Written by `./scripts/bench.sh` on {}{} — rerun it after performance work; do not edit by hand. Every number was measured in this one run, and every rvsd rate stands beside dpdk-testpmd's on the same virtual devices and traffic.\n",
        m.date,
        r.commit.as_ref().map(|c| format!(", measuring commit {c}")).unwrap_or_default()
    );
    let _ = writeln!(o, "## Against the targets\n");
    goals::table(r, &mut o);
    let _ = writeln!(o, "\n## Machine\n");
    let _ = writeln!(
        o,
        "{} CPUs ({}), TSC {:.2} GHz, {:.0} GiB, Linux {}, DPDK {}. Load average at the start {}, at the end {}: others were using the machine, so compare within a run, never across runs (the two testpmd io runs of each row group show the drift within one). Benchmark processes ran in sessions of their own with autogroup nice {}.\n",
        m.cpus,
        m.cpu_model,
        m.tsc_hz / 1e9,
        m.mem_gib,
        m.kernel,
        m.dpdk,
        m.load_start,
        m.load_end,
        r.nice
    );
    let proto = if r.udp { "UDP" } else { "TCP" };
    let method = explain::METHOD
        .replace("{proto}", proto)
        .replace("{window}", &format!("{:.1}", r.window))
        .replace("{cps}", &format!("{:.0}", r.cps_duration));
    // IPv6 right after the one-way replay it repeats.
    let method = match sections::method6(r) {
        Some(m6) => method.replacen("- **Sampling.**", &format!("{m6}- **Sampling.**"), 1),
        None => method,
    };
    let _ = writeln!(o, "## Method\n\n{method}");
    let _ = writeln!(o, "## One-way replay, 1 worker\n");
    sections::oneway_table(r, 1, &mut o);
    let _ = writeln!(
        o,
        "\n![Mpps by mode](plots/mpps_vs_mode.png)\n\n![Mpps by concurrent connections](plots/mpps_vs_conns.png)\n"
    );
    sections::oneway6(r, &mut o);
    if r.oneway.iter().any(|x| x.workers == 2) {
        let _ = writeln!(o, "## One-way replay, 2 workers\n\n{}\n", explain::TWO_WORKERS);
        sections::oneway_table(r, 2, &mut o);
        let n = r.max_flows(2).unwrap_or(0);
        let best = Mode::ALL.iter().filter_map(|m| r.rvsd_row(2, n, *m).and_then(mpps)).fold(0.0, f64::max);
        if let Some(b) = r.baseline(2, n).filter(|b| best >= 0.8 * b) {
            let _ = writeln!(
                o,
                "\nHere testpmd io with two forwarding cores ({b:.2} Mpps) gets little or no further than rvsd ({best:.2} Mpps): both are bounded by the file reading, so these rows show that two workers keep up with the replay and what a packet costs each worker, not how far rvsd scales. That needs more cores than this machine has."
            );
        }
        let _ = writeln!(o);
        sections::redirects_table(r, &mut o);
    }
    let _ = writeln!(o, "## Conversations (new connections per second), 1 worker\n\n{}\n", explain::CPS_NOTE);
    cps_table(r, &mut o);
    let _ = writeln!(o, "\n![Connections per second](plots/cps.png)\n");
    let _ = writeln!(o, "## Memory per connection\n\n{}\n", explain::MEM_NOTE);
    sections::mem_table(r, &mut o);
    let _ = writeln!(o, "\n## The engine alone: instructions and cycles per packet\n");
    sections::instr(r, &mut o);
    let _ = writeln!(o, "## Where the time goes\n");
    bottleneck(r, &mut o);
    let _ = writeln!(o, "{}\n", explain::READING);
    let _ = writeln!(o, "{}", explain::RUNNING);
    if let Some(m) = &r.manual {
        let _ = write!(o, "\n{m}");
    }
    o
}

/// A run with nothing measured but `cps`, for the report's tests.
#[cfg(test)]
pub(crate) fn run_with(cps: Vec<CpsRow>) -> Run {
    Run {
        machine: Machine { tsc_hz: 2.6e9, ..Machine::default() },
        smoke: true,
        udp: true,
        nice: 0,
        window: 1.0,
        cps_duration: 8.0,
        oneway: Vec::new(),
        oneway6: Vec::new(),
        cps,
        mem: Err("not run".into()),
        profiles: Vec::new(),
        perf_note: String::new(),
        micro: Vec::new(),
        instr: Err("not run".into()),
        manual: None,
        commit: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A FULLNAT run that ran out of local ports is named, with its
    /// drops and where its live connections stopped.
    #[test]
    fn plateau_is_reported() {
        let mut o = cps::Outcome {
            cps: 500_000.0,
            lost: 512,
            live_conns: Some(4_128_768),
            table_size: 8 << 20,
            local_ports: Some(64 * crate::targets::PORTS_PER_LIP),
            ..cps::Outcome::default()
        };
        o.counters.insert("drop lport_exhausted".into(), 91_000);
        let ok = cps::Outcome { local_ports: Some(112 * crate::targets::PORTS_PER_LIP), ..o.clone() };
        let ok = cps::Outcome { counters: Default::default(), lost: 0, ..ok };
        let r = run_with(vec![
            CpsRow { target: Target::Rvsd(Mode::FullNat), res: Ok(o) },
            CpsRow { target: Target::Rvsd(Mode::FullNat), res: Ok(ok) },
        ]);
        let mut out = String::new();
        cps_table(&r, &mut out);
        assert!(out.contains("| 8.39 M / 4.13 M | **91000 / 0** |"), "{out}");
        assert!(out.contains("| 8.39 M / 7.23 M | 0 / 0 |"), "{out}");
        assert!(out.contains("**rvsd-fullnat ran out of room**: its live connections stopped at 4128768"), "{out}");
        assert!(out.contains("91000 `lport_exhausted`"), "{out}");
        assert!(out.contains("112 LIPs × 64512 ports = 7.23 M local ports"), "{out}");
        assert_eq!(out.matches("ran out of room").count(), 1, "{out}");
    }

    #[test]
    fn criterion_lines() {
        let t = "rewrite/nat_request     time:   [12.277 ns 12.387 ns 12.575 ns]\nnoise\nrewrite/x time: [1.0 µs 1.5 µs 2.0 µs]\n";
        assert_eq!(
            super::parse_criterion(t),
            vec![("rewrite/nat_request".into(), 12.387), ("rewrite/x".into(), 1500.0)]
        );
    }
}
