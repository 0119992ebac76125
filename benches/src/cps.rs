//! Conversations: `rvs-gen` (clients and real servers) on two `net_memif`
//! links to rvsd in NAT or FULLNAT, or to dpdk-testpmd's io forwarding
//! (the baseline: the same conversations through a director that only
//! moves packets). The generator's main lcore runs on CPU 0 and the
//! director's forwarding lcore on CPU 1: with both on one core the link
//! carried a fraction of its rate.
//!
//! Room: every conversation ends in TIME_WAIT (server FIN first, then the
//! client's), which IPVS — and rvsd — keep for 120 s, far longer than a
//! run. So nothing a run opens is freed before it ends, and rvsd's
//! connection table and, for FULLNAT, its local-address pool (LIPs × the
//! ports of each) must hold every conversation of the run, or the run hits
//! a plateau: new SYNs are refused (`conn_table_full`, `lport_exhausted`)
//! and the conversations in flight are lost. [`room_for`] sizes both from
//! the fastest rate the generator can drive (its rate through testpmd io,
//! which the director cannot beat); the report shows the room given and
//! any such drops.

use crate::oneway::Target;
use crate::targets::{self, Env, RvsdConf};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Spec {
    pub target: Target,
    /// Seconds of traffic, and of warm-up before the measured window.
    pub duration: f64,
    pub warmup: f64,
    /// Conversations in flight. Each has one packet in flight at a time,
    /// so keep it under the memif ring size (1024) or rings overflow.
    pub window: u32,
    pub table_size: u64,
    /// FULLNAT local addresses (each with [`targets::PORTS_PER_LIP`] ports).
    pub lips: u32,
    /// Record a perf profile of the director into this file.
    pub profile: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub cps: f64,
    pub latency_us: f64,
    pub completed: u64,
    pub lost: u64,
    pub resets: u64,
    pub rss: Option<u64>,
    pub counters: BTreeMap<String, u64>,
    pub profile: Vec<String>,
    /// rvsd's busy cycles per packet and busy share after the warm-up,
    /// and its live connections at the end (rvsadm --workers).
    pub busy_cpp: Option<f64>,
    pub busy_share: Option<f64>,
    pub live_conns: Option<u64>,
    /// Packets per poll that found work.
    pub per_poll: Option<f64>,
    /// The room rvsd was given: connection table size and, for FULLNAT,
    /// local ports (LIPs × ports per LIP, one worker).
    pub table_size: u64,
    pub local_ports: Option<u64>,
}

impl Outcome {
    /// A named drop counter of rvsd's final counters.
    pub fn drop(&self, name: &str) -> u64 {
        self.counters.get(&format!("drop {name}")).copied().unwrap_or(0)
    }
}

/// Margin over the generator's measured rate: two runs of one program
/// differ by up to ~10% on this shared machine.
pub const MARGIN: f64 = 1.25;

/// The rate assumed when testpmd's is unknown (its run failed): above
/// any the generator has reached on these machines.
pub const ASSUMED_CPS: f64 = 1_500_000.0;

/// Connections one run must have room for when the generator can drive
/// `rate` conversations/s for `duration` s (none is freed within a run).
pub fn room_for(rate: f64, duration: f64) -> u64 {
    (rate * duration * MARGIN).ceil() as u64
}

/// LIPs that give `conns` local ports to one worker (at least the
/// default count, at most what the LIP range holds).
pub fn lips_for(conns: u64) -> u32 {
    let n = conns.div_ceil(targets::PORTS_PER_LIP).max(u64::from(targets::LIPS));
    n.min(u64::from(targets::MAX_LIPS)) as u32
}

pub fn run(env: &Env, s: &Spec) -> Result<Outcome> {
    let prefix = env.prefix(&format!("cps-{}", s.target.name()));
    let r = measure(env, s, &prefix);
    env.cleanup_prefix(&prefix);
    env.cleanup_prefix(&format!("{prefix}-gen"));
    for side in ["c", "s"] {
        let _ = std::fs::remove_file(env.path(&format!("{prefix}-{side}.sock")));
    }
    r
}

fn measure(env: &Env, s: &Spec, prefix: &str) -> Result<Outcome> {
    let sock = |side: &str| env.path(&format!("{prefix}-{side}.sock")).display().to_string();
    let dev = |i: u32, role: &str, side: &str| format!("net_memif{i},role={role},socket={}", sock(side));
    let log = env.path(&format!("{prefix}.log"));
    let mut d = match s.target {
        Target::Rvsd(mode) => {
            let conf = RvsdConf {
                prefix: prefix.to_string(),
                workers: 1,
                mbufs: 32767,
                table_size: s.table_size,
                client_dev: dev(0, "server", "c"),
                server_dev: dev(1, "server", "s"),
                mode,
                udp: false,
                socket: env.path(&format!("{prefix}.sock")),
                lips: s.lips,
                ipv6: false,
            };
            let yaml = env.path(&format!("{prefix}.yaml"));
            std::fs::write(&yaml, conf.yaml())?;
            let mut p = env.spawn("rvsd", &env.rvsd, &["--config".into(), yaml.display().to_string()], &log)?;
            p.wait_for(&env.reg, "rvsd: ready", Duration::from_secs(120))?;
            p
        }
        Target::Testpmd(fwd) => {
            let args = targets::testpmd_args(prefix, 1, 32768, &dev(0, "server", "c"), &dev(1, "server", "s"), fwd);
            let mut p = env.spawn("dpdk-testpmd", &env.testpmd, &args, &log)?;
            p.wait_for(&env.reg, "Checking link statuses", Duration::from_secs(60))?;
            p
        }
    };
    let gen_args: Vec<String> = vec![
        "--client-dev".into(),
        dev(0, "client", "c"),
        "--server-dev".into(),
        dev(1, "client", "s"),
        "--vip".into(),
        targets::VIP.into(),
        "--gateway".into(),
        targets::GATEWAY.into(),
        "--dip".into(),
        targets::DIP.into(),
        "--rs".into(),
        targets::RS.join(","),
        "--window".into(),
        s.window.to_string(),
        "--duration".into(),
        s.duration.to_string(),
        "--warmup".into(),
        s.warmup.to_string(),
        "--lcores".into(),
        "0@0".into(),
        "--file-prefix".into(),
        format!("{prefix}-gen"),
    ];
    let glog = env.path(&format!("{prefix}-gen.log"));
    let mut g = env.spawn("rvs-gen", &env.gen, &gen_args, &glog)?;
    let mut rec = None;
    let socket = env.path(&format!("{prefix}.sock"));
    let is_rvsd = matches!(s.target, Target::Rvsd(_));
    let mut snap_a = None;
    if is_rvsd {
        // The generator needs a moment to bring the links up and resolve.
        g.wait_for(&env.reg, "gen: director mac", Duration::from_secs(30))?;
        env.reg.sleep(Duration::from_secs_f64(s.warmup))?;
        snap_a = crate::ctl::snap(&env.rvsadm, &socket).map(|x| (std::time::Instant::now(), x));
        if let Some(data) = &s.profile {
            let secs = (s.duration - s.warmup - 1.0).max(0.5);
            rec = crate::profile::start(&env.reg, d.pid(), secs, data, &data.with_extension("log"));
        }
    }
    // Just before the generator stops (it runs `duration` seconds).
    let mut snap_b = None;
    if let Some((ta, _)) = &snap_a {
        let left = s.duration - s.warmup - ta.elapsed().as_secs_f64() - 0.3;
        if left > 0.2 {
            env.reg.sleep(Duration::from_secs_f64(left))?;
            snap_b = crate::ctl::snap(&env.rvsadm, &socket).map(|x| (std::time::Instant::now(), x));
        }
    }
    // The generator prints its result and then holds its memif links up:
    // the director is stopped first. DPDK 22.11's memif PMD can fault in
    // rx when the peer unmaps its regions while the port is being polled,
    // so the side that goes away first must be the one being measured
    // against, never mid-poll.
    if let Err(e) = g.wait_for(&env.reg, "gen-result:", Duration::from_secs_f64(s.duration + 60.0)) {
        bail!("rvs-gen gave no result ({e}):\n{}", crate::procs::tail(&g.output(), 30));
    }
    let profile = rec.map(|r| crate::profile::finish(r, &env.reg, 15)).unwrap_or_default();
    let rss = d.rss();
    if !d.alive() {
        bail!("{} exited during the run:\n{}", d.name, crate::procs::tail(&d.output(), 30));
    }
    let (dcode, dout) = d.stop(Duration::from_secs(20));
    let (_, gout) = g.stop(Duration::from_secs(5));
    if dcode != Some(0) && matches!(s.target, Target::Rvsd(_)) {
        bail!("rvsd exit code {dcode:?}:\n{}", crate::procs::tail(&dout, 30));
    }
    let line = gout.lines().find_map(|l| l.strip_prefix("gen-result: ")).context("no gen-result line")?;
    let v: Value = serde_json::from_str(line)?;
    let f = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let (mut busy_cpp, mut busy_share, mut live_conns, mut per_poll) = (None, None, None, None);
    if let (Some((ta, a)), Some((tb, b))) = (snap_a, snap_b) {
        busy_cpp = crate::ctl::cycles_per_packet(&a, &b);
        per_poll = crate::ctl::packets_per_busy_poll(&a, &b);
        let dt = tb.duration_since(ta).as_secs_f64();
        busy_share = Some((b.busy_cycles - a.busy_cycles) as f64 / (dt * crate::machine::tsc_hz_cached()));
        live_conns = Some(b.conns);
    }
    Ok(Outcome {
        cps: f("cps"),
        latency_us: f("mean_latency_us"),
        completed: f("completed") as u64,
        lost: f("lost") as u64,
        resets: f("resets") as u64,
        rss,
        counters: targets::final_counters(&dout),
        profile,
        busy_cpp,
        busy_share,
        live_conns,
        per_poll,
        table_size: s.table_size,
        local_ports: (s.target == Target::Rvsd(targets::Mode::FullNat))
            .then(|| u64::from(s.lips) * targets::PORTS_PER_LIP),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_and_lips() {
        // 720k conn/s for 8 s, with the margin: 7.2M conversations.
        assert_eq!(room_for(720_000.0, 8.0), 7_200_000);
        assert_eq!(lips_for(7_200_000), 112, "7.2M / 64512 ports, rounded up");
        assert_eq!(lips_for(1000), targets::LIPS);
        assert_eq!(lips_for(u64::MAX / 2), targets::MAX_LIPS);
    }
}
