//! rvs-bench: the system benchmark, run by `scripts/bench.sh`.
//!
//! In one invocation: rvsd's memory per connection, one-way replay
//! through rvsd in every forwarding mode and through dpdk-testpmd on the
//! same devices (1 and 2 workers; 1 worker again over IPv6, with testpmd
//! on the IPv6 file as its baseline), and TCP conversations through rvsd
//! (NAT, FULLNAT) and testpmd with `rvs-gen`; the sans-IO engine alone
//! under callgrind and timed (the `replay` example); then
//! docs/benchmarks.md and its plots. `--smoke` runs all of it in seconds with tiny flow counts
//! and fails (exit 1) if any part produced nothing.

#![forbid(unsafe_code)]

use anyhow::{bail, Context, Result};
use clap::Parser;
use rvs_benches::oneway::{self, Target};
use rvs_benches::pcap::{self, Proto, Traffic};
use rvs_benches::procs::Registry;
use rvs_benches::report::{self, CpsRow, OnewayRow, Profile, Run};
use rvs_benches::targets::{self, Env, Mode};
use rvs_benches::verdict::{check, summary};
use rvs_benches::{cps, instr, machine, mem, profile};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "rvs-bench", about = "rvs system benchmark (rvsd against dpdk-testpmd, one run)")]
struct Args {
    /// Seconds, tiny flow counts; checks the harness works.
    #[arg(long)]
    smoke: bool,
    #[arg(long)]
    rvsd: PathBuf,
    /// rvs-gen binary (default: next to this one).
    #[arg(long)]
    gen: Option<PathBuf>,
    #[arg(long, default_value = "dpdk-testpmd")]
    testpmd: PathBuf,
    /// Directory for pcaps, configs, logs and plot data.
    #[arg(long)]
    work: PathBuf,
    /// Where to write the report (full runs).
    #[arg(long)]
    doc: Option<PathBuf>,
    /// Where to write the PNG plots.
    #[arg(long)]
    plots: Option<PathBuf>,
    /// File that receives every child's PID (for the caller's trap).
    #[arg(long)]
    pidfile: PathBuf,
    /// Autogroup nice of the benchmark processes (0: unchanged).
    #[arg(long, default_value_t = -10, allow_negative_numbers = true)]
    nice: i32,
    /// One-way flow counts (1 worker).
    #[arg(long, value_delimiter = ',')]
    flows: Option<Vec<u32>>,
    /// One-way IPv6 flow counts (1 worker).
    #[arg(long, value_delimiter = ',')]
    flows6: Option<Vec<u32>>,
    /// rvsd modes of the one-way IPv6 replay (dr,tun,nat,fullnat; the
    /// smoke run's default is fullnat alone).
    #[arg(long, value_delimiter = ',', value_parser = parse_mode)]
    modes6: Option<Vec<Mode>>,
    /// One-way traffic as TCP (SYN pass, then ACK pass: twice the mbufs).
    #[arg(long)]
    tcp: bool,
    /// Seconds of the steady window of each one-way run.
    #[arg(long)]
    window: Option<f64>,
    /// Criterion output of the `modes` micro benchmark, for the report.
    #[arg(long)]
    micro: Option<PathBuf>,
    /// The engine replay (`cargo build --release -p rvs-dataplane
    /// --features testkit --example replay`; default: examples/replay
    /// next to rvsd).
    #[arg(long)]
    replay: Option<PathBuf>,
    /// The commit measured, for the report's first line.
    #[arg(long)]
    commit: Option<String>,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    Mode::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| format!("{s}: dr, tun, nat or fullnat"))
}

/// Durations and sizes of one kind of run.
struct Plan {
    flows: Vec<u32>,
    warmup: f64,
    window: f64,
    modes_2w: Vec<Mode>,
    testpmd_2w: bool,
    flows_2w: u32,
    frames_2w: u64,
    extra_baselines: bool,
    cps_targets: Vec<Target>,
    cps_duration: f64,
    cps_warmup: f64,
    mem_sizes: Vec<u64>,
    profiles: bool,
    /// 2 workers, files split by flow index (redirects): these modes.
    modes_2w_unsteered: Vec<Mode>,
    /// The engine alone: callgrind at these flow counts, timing at these.
    instr_flows: Vec<u32>,
    instr_packets: usize,
    time_flows: Vec<u32>,
    time_packets: usize,
    /// One-way IPv6, 1 worker: flow counts, rvsd modes, and whether
    /// testpmd io runs after the rvsd runs too (not only before).
    flows6: Vec<u32>,
    modes6: Vec<Mode>,
    testpmd6_after: bool,
}

fn plan(a: &Args) -> Plan {
    if a.smoke {
        Plan {
            flows: a.flows.clone().unwrap_or(vec![1000]),
            warmup: 0.1,
            window: a.window.unwrap_or(0.4),
            modes_2w: vec![Mode::Nat],
            testpmd_2w: false,
            flows_2w: 4096,
            frames_2w: 2_000_000,
            extra_baselines: false,
            cps_targets: vec![Target::Testpmd("io"), Target::Rvsd(Mode::Nat), Target::Rvsd(Mode::FullNat)],
            cps_duration: 1.5,
            cps_warmup: 0.5,
            mem_sizes: vec![1000, 65536],
            profiles: false,
            modes_2w_unsteered: vec![Mode::Nat],
            instr_flows: vec![1000],
            instr_packets: 2000,
            time_flows: vec![1000],
            time_packets: 20_000,
            flows6: a.flows6.clone().unwrap_or(vec![1000]),
            modes6: a.modes6.clone().unwrap_or(vec![Mode::FullNat]),
            testpmd6_after: false,
        }
    } else {
        Plan {
            flows: a.flows.clone().unwrap_or(vec![1000, 100_000, 1_000_000]),
            warmup: 1.0,
            window: a.window.unwrap_or(4.0),
            modes_2w: Mode::ALL.to_vec(),
            testpmd_2w: true,
            flows_2w: 100_000,
            frames_2w: 3_000_000,
            extra_baselines: true,
            cps_targets: [Target::Testpmd("io"), Target::Rvsd(Mode::Nat), Target::Rvsd(Mode::FullNat)].repeat(2),
            cps_duration: 8.0,
            cps_warmup: 2.0,
            mem_sizes: vec![1000, 1_000_000, 10_000_000],
            profiles: true,
            modes_2w_unsteered: Mode::ALL.to_vec(),
            instr_flows: vec![1000, 100_000],
            instr_packets: 20_000,
            time_flows: vec![1000, 100_000, 1_000_000, 10_000_000],
            time_packets: 500_000,
            flows6: a.flows6.clone().unwrap_or(vec![1000, 1_000_000]),
            modes6: a.modes6.clone().unwrap_or(Mode::ALL.to_vec()),
            testpmd6_after: true,
        }
    }
}

fn main() {
    let a = Args::parse();
    match run(&a) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("rvs-bench: {e:#}");
            std::process::exit(2);
        }
    }
}

fn err_str(e: anyhow::Error) -> String {
    format!("{e:#}")
}

/// Runs one-way replays for every flow count (1 worker): IPv4 (every
/// mode, perf profiles where asked) or, with `ipv6`, the IPv6 flows and
/// modes of the plan. testpmd io forwards each file before the rvsd runs
/// and after them (IPv6 in a smoke run: only before).
fn oneway_1w(
    env: &Env,
    p: &Plan,
    udp: bool,
    ipv6: bool,
    rows: &mut Vec<OnewayRow>,
    profiles: &mut Vec<Profile>,
) -> Result<()> {
    // What teaches rvsd the real servers' MACs on the server side.
    let neigh = env.path(if ipv6 { "nd.pcap" } else { "arp.pcap" });
    if ipv6 {
        let rs: Vec<u128> =
            targets::RS6.iter().map(|s| s.parse::<Ipv6Addr>().map(u128::from)).collect::<Result<_, _>>()?;
        pcap::write_nd_solicits(&neigh, &rs, targets::DIP6.parse::<Ipv6Addr>()?.into())?;
    } else {
        let rs: Vec<u32> =
            targets::RS.iter().map(|s| s.parse::<Ipv4Addr>().map(u32::from)).collect::<Result<_, _>>()?;
        pcap::write_arp_replies(&neigh, &rs, targets::DIP.parse::<Ipv4Addr>()?.into())?;
    }
    let all = if ipv6 { &p.flows6 } else { &p.flows };
    let (first_n, last) = (all.iter().copied().min().unwrap_or(0), all.iter().copied().max().unwrap_or(0));
    for &flows in all {
        let mut t = Traffic::new(flows);
        t.proto = if udp { Proto::Udp } else { Proto::Tcp };
        t.est_passes = if udp { 0 } else { 1 };
        if ipv6 {
            t.vip6 = Some(targets::VIP6.parse::<Ipv6Addr>()?.into());
        }
        let file = env.path(&format!("oneway{}-{flows}.pcap", if ipv6 { "6" } else { "" }));
        let (first, total) = t.write(&file)?;
        let mut order = vec![Target::Testpmd("io")];
        if p.extra_baselines && !ipv6 {
            order.push(Target::Testpmd("5tswap"));
        }
        let modes = if ipv6 { &p.modes6[..] } else { &Mode::ALL[..] };
        order.extend(modes.iter().map(|m| Target::Rvsd(*m)));
        if !ipv6 || p.testpmd6_after {
            order.push(Target::Testpmd("io"));
        }
        for target in order {
            env.reg.check()?;
            let want_profile =
                p.profiles && !ipv6 && (flows == last || flows == first_n) && target == Target::Rvsd(Mode::Nat);
            let spec = oneway::Spec {
                target,
                workers: 1,
                flows,
                udp,
                ipv6,
                first_pass: first,
                finite_total: None,
                client_dev: format!("net_pcap0,rx_pcap={},infinite_rx=1", file.display()),
                server_dev: format!("net_pcap1,rx_pcap={}", neigh.display()),
                mbufs: total + 32768,
                warmup: p.warmup,
                window: p.window,
                profile: want_profile.then(|| env.path(&format!("perf-oneway-nat-{flows}.data"))),
            };
            let res = oneway::run(env, &spec);
            report_line(
                &format!("one-way{} 1w {flows} flows {}", if ipv6 { " IPv6" } else { "" }, target.name()),
                &res,
            );
            if let Ok(o) = &res {
                if want_profile && !o.profile.is_empty() {
                    profiles.push(Profile {
                        what: format!("rvsd NAT, one-way replay, {flows} flows, steady window"),
                        lines: o.profile.clone(),
                    });
                }
            }
            rows.push(OnewayRow { workers: 1, flows, target, steered: true, res: res.map_err(err_str) });
        }
        let _ = std::fs::remove_file(&file);
    }
    Ok(())
}

/// Finite replay with one file per worker (see the report's note):
/// `steered`, the files split by the owner's flow hash, with testpmd
/// before and after; otherwise by flow index, rvsd only (redirects).
fn oneway_2w(env: &Env, p: &Plan, udp: bool, steered: bool, rows: &mut Vec<OnewayRow>) -> Result<()> {
    let arp = env.path("arp.pcap");
    let mut files = Vec::new();
    let (mut first, mut total) = (0, 0);
    for w in 0..2 {
        let mut t = Traffic::new(p.flows_2w);
        t.proto = if udp { Proto::Udp } else { Proto::Tcp };
        t.shard = Some((w, 2));
        t.by_index = !steered;
        let per_file = t.ids().len().max(1) as u64;
        t.est_passes = (p.frames_2w / per_file).saturating_sub(1).max(1) as u32;
        let f = env.path(&format!("oneway2w-{w}.pcap"));
        let (a, b) = t.write(&f)?;
        first += a;
        total += b;
        files.push(f);
    }
    let client = format!("net_pcap0,rx_pcap={},rx_pcap={}", files[0].display(), files[1].display());
    // The ARP replies on queue 0 only, as RSS puts non-IP frames there:
    // on queue 1 they would be handed to worker 0 (which keeps the
    // neighbour table) through the same rings as redirected flows.
    let none = env.path("empty.pcap");
    pcap::write_arp_replies(&none, &[], 0)?;
    let server = format!("net_pcap1,rx_pcap={},rx_pcap={}", arp.display(), none.display());
    let baseline = p.testpmd_2w && steered;
    let mut order = Vec::new();
    if baseline {
        order.push(Target::Testpmd("io"));
    }
    let modes = if steered { &p.modes_2w } else { &p.modes_2w_unsteered };
    order.extend(modes.iter().map(|m| Target::Rvsd(*m)));
    if baseline {
        order.push(Target::Testpmd("io"));
    }
    for target in order {
        env.reg.check()?;
        let spec = oneway::Spec {
            target,
            workers: 2,
            flows: p.flows_2w,
            udp,
            ipv6: false,
            first_pass: first,
            finite_total: Some(total),
            client_dev: client.clone(),
            server_dev: server.clone(),
            mbufs: 65536,
            warmup: 0.0,
            window: 0.0,
            profile: None,
        };
        let res = oneway::run(env, &spec);
        let split = if steered { "" } else { " (split by index)" };
        report_line(&format!("one-way 2w {} flows {}{split}", p.flows_2w, target.name()), &res);
        rows.push(OnewayRow { workers: 2, flows: p.flows_2w, target, steered, res: res.map_err(err_str) });
    }
    for f in files {
        let _ = std::fs::remove_file(f);
    }
    Ok(())
}

fn report_line<T: std::fmt::Debug>(what: &str, r: &Result<T>) {
    match r {
        Ok(_) => println!("rvs-bench: {what}: ok"),
        Err(e) => println!("rvs-bench: {what}: FAILED: {}", format!("{e:#}").lines().next().unwrap_or("")),
    }
}

fn run(a: &Args) -> Result<bool> {
    std::fs::create_dir_all(&a.work)?;
    let gen = match &a.gen {
        Some(g) => g.clone(),
        None => std::env::current_exe()?.with_file_name("rvs-gen"),
    };
    for (what, p) in [("rvsd", &a.rvsd), ("rvs-gen", &gen)] {
        if !p.exists() {
            bail!("{what} not found at {}", p.display());
        }
    }
    let reg = Registry::new(&a.pidfile)?;
    let env = Env::new(reg, a.rvsd.clone(), a.testpmd.clone(), gen, a.work.clone(), a.nice);
    let p = plan(a);
    let udp = !a.tcp;
    let (perf_ok, perf_note) = profile::note();
    let mut r = Run {
        machine: machine::probe(),
        smoke: a.smoke,
        udp,
        nice: a.nice,
        window: p.window,
        cps_duration: p.cps_duration,
        oneway: Vec::new(),
        oneway6: Vec::new(),
        cps: Vec::new(),
        mem: Err("not run".into()),
        profiles: Vec::new(),
        perf_note,
        micro: a
            .micro
            .as_ref()
            .map(|p| report::parse_criterion(&std::fs::read_to_string(p).unwrap_or_default()))
            .unwrap_or_default(),
        instr: Err("not run".into()),
        commit: a.commit.clone().filter(|c| !c.is_empty()),
        // A regeneration keeps the hand-written sections of the report.
        manual: a
            .doc
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d).ok())
            .and_then(|old| rvs_benches::sections::manual_tail(&old)),
    };
    let p = Plan { profiles: p.profiles && perf_ok, ..p };
    println!(
        "rvs-bench: {} mode, {} CPUs, TSC {:.2} GHz, load {}",
        if a.smoke { "smoke" } else { "full" },
        r.machine.cpus,
        r.machine.tsc_hz / 1e9,
        r.machine.load_start
    );

    r.mem = mem::run(&env, &p.mem_sizes).map_err(err_str);
    report_line("memory", &r.mem.as_ref().map_err(|e| anyhow::anyhow!("{e}")));
    env.reg.check()?;
    oneway_1w(&env, &p, udp, false, &mut r.oneway, &mut r.profiles)?;
    // IPv6 right after, so its rows and their IPv4 twins share the load.
    oneway_1w(&env, &p, udp, true, &mut r.oneway6, &mut r.profiles)?;
    oneway_2w(&env, &p, udp, true, &mut r.oneway)?;
    oneway_2w(&env, &p, udp, false, &mut r.oneway)?;
    for target in p.cps_targets.clone() {
        env.reg.check()?;
        let want_profile = p.profiles && target == Target::Rvsd(Mode::Nat) && !r.cps.iter().any(|c| c.target == target);
        // Room for every conversation the generator can open in a run
        // (see cps.rs): from its best rate through testpmd io so far.
        let wire = r.cps_best(Target::Testpmd("io")).map(|o| o.cps).filter(|c| *c > 0.0);
        let room = cps::room_for(wire.unwrap_or(cps::ASSUMED_CPS), p.cps_duration);
        let spec = cps::Spec {
            target,
            duration: p.cps_duration,
            warmup: p.cps_warmup,
            window: 512,
            table_size: room.max(if a.smoke { 1 << 20 } else { 8 << 20 }),
            lips: cps::lips_for(room),
            profile: want_profile.then(|| env.path("perf-cps-nat.data")),
        };
        let res = cps::run(&env, &spec);
        report_line(&format!("conversations {}", target.name()), &res);
        if let Ok(o) = &res {
            if want_profile && !o.profile.is_empty() {
                r.profiles.push(Profile { what: "rvsd NAT, conversations".into(), lines: o.profile.clone() });
            }
        }
        r.cps.push(CpsRow { target, res: res.map_err(err_str) });
    }
    let replay = a.replay.clone().unwrap_or_else(|| a.rvsd.with_file_name("examples").join("replay"));
    r.instr =
        instr::run(&env, &replay, &p.instr_flows, p.instr_packets, &p.time_flows, p.time_packets).map_err(err_str);
    report_line("engine replay", &r.instr.as_ref().map_err(|e| anyhow::anyhow!("{e}")));
    r.machine.load_end = machine::loadavg();

    let md = report::markdown(&r);
    let doc = a.doc.clone().unwrap_or_else(|| a.work.join("benchmarks.md"));
    std::fs::write(&doc, &md).with_context(|| doc.display().to_string())?;
    let plots = a.plots.clone().unwrap_or_else(|| a.work.join("plots"));
    if let Err(e) = rvs_benches::plots::write(&r, &a.work, &plots) {
        println!("rvs-bench: plots: {e}");
    }
    println!("rvs-bench: report in {}", doc.display());
    summary(&r);
    Ok(check(&r))
}
