//! One-way replay: `net_pcap` (client side) → program under test →
//! server-side port, for rvsd in each forwarding mode and for
//! dpdk-testpmd's io forwarding on the same devices and the same file.
//!
//! The server-side device is `net_pcap` too, replaying a few ARP replies
//! once and dropping what it is given to send (as `net_null` would):
//! nothing else on a replay link could answer the director's ARP
//! requests for its real servers, and rvsd has no static neighbours.
//! For the IPv6 replay it replays the servers' neighbour solicitations
//! for the director's address instead (see [`crate::pcap::write_nd_solicits`]
//! for why not advertisements).
//!
//! Port counters are sampled through telemetry every 5 ms: the samples
//! up to the end of the first pass (one packet per flow, each creating a
//! connection) give the creation rate, the samples of a later window the
//! steady rate.

use crate::procs::Proc;
use crate::targets::{self, Env, Mode, RvsdConf};
use crate::telemetry::Telemetry;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What runs in the director's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Testpmd(&'static str),
    Rvsd(Mode),
}

impl Target {
    pub fn name(&self) -> String {
        match self {
            Target::Testpmd(f) => format!("testpmd-{f}"),
            Target::Rvsd(m) => format!("rvsd-{}", m.name()),
        }
    }
}

/// One replay run.
#[derive(Debug, Clone)]
pub struct Spec {
    pub target: Target,
    pub workers: u32,
    pub flows: u32,
    pub udp: bool,
    /// IPv6 flows (rvsd: the IPv6 service of [`RvsdConf`]; testpmd
    /// forwards whatever the file holds).
    pub ipv6: bool,
    /// Frames of the first pass, over all files.
    pub first_pass: u64,
    /// All frames over all files when the replay is finite (one file per
    /// queue without `infinite_rx`), None when it loops.
    pub finite_total: Option<u64>,
    pub client_dev: String,
    pub server_dev: String,
    pub mbufs: u64,
    pub warmup: f64,
    pub window: f64,
    /// Record a perf profile of the steady window into this file.
    pub profile: Option<std::path::PathBuf>,
}

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Receive rate during the first pass (connection creation), Mpps.
    pub create_mpps: Option<f64>,
    /// Forwarded (server-side tx) rate in the steady window, Mpps.
    pub mpps: f64,
    /// Received rate in the same window, Mpps.
    pub rx_mpps: f64,
    pub window_secs: f64,
    pub rss: Option<u64>,
    /// rvsd's final counters (empty for testpmd).
    pub counters: BTreeMap<String, u64>,
    /// Top lines of the perf profile, when one was asked for.
    pub profile: Vec<String>,
    /// rvsd's own busy cycles per received packet in the window, and the
    /// share of the window's cycles that were busy (rvsadm --workers).
    pub busy_cpp: Option<f64>,
    pub busy_share: Option<f64>,
    /// Packets per poll that found work (rvsd's burst fill).
    pub per_poll: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    t: f64,
    rx: u64,
    tx: u64,
}

fn start(env: &Env, s: &Spec, prefix: &str) -> Result<Proc> {
    let log = env.path(&format!("{prefix}.log"));
    match s.target {
        Target::Rvsd(mode) => {
            let conf = RvsdConf {
                prefix: prefix.to_string(),
                workers: s.workers,
                mbufs: s.mbufs,
                table_size: u64::from(s.flows) + 65536,
                client_dev: s.client_dev.clone(),
                server_dev: s.server_dev.clone(),
                mode,
                udp: s.udp,
                socket: env.path(&format!("{prefix}.sock")),
                lips: targets::LIPS,
                ipv6: s.ipv6,
            };
            let yaml = env.path(&format!("{prefix}.yaml"));
            std::fs::write(&yaml, conf.yaml())?;
            let mut p = env.spawn("rvsd", &env.rvsd, &["--config".into(), yaml.display().to_string()], &log)?;
            p.wait_for(&env.reg, "rvsd: ready", Duration::from_secs(180))?;
            Ok(p)
        }
        Target::Testpmd(fwd) => {
            let args = targets::testpmd_args(prefix, s.workers, s.mbufs, &s.client_dev, &s.server_dev, fwd);
            let mut p = env.spawn("dpdk-testpmd", &env.testpmd, &args, &log)?;
            p.wait_for(&env.reg, "start packet forwarding", Duration::from_secs(180))?;
            Ok(p)
        }
    }
}

/// Run one replay and measure it.
pub fn run(env: &Env, s: &Spec) -> Result<Outcome> {
    let prefix = env.prefix(&s.target.name());
    let r = measure(env, s, &prefix);
    env.cleanup_prefix(&prefix);
    r
}

fn measure(env: &Env, s: &Spec, prefix: &str) -> Result<Outcome> {
    let mut p = start(env, s, prefix)?;
    let mut tel = Telemetry::connect(prefix, Duration::from_secs(30))?;
    let t0 = Instant::now();
    let mut samples: Vec<Sample> = Vec::with_capacity(8192);
    let mut created_at: Option<f64> = None;
    let mut last_progress = 0.0;
    let limit = 60.0 + s.warmup + s.window;
    let mut rec = None;
    let socket = env.path(&format!("{prefix}.sock"));
    let is_rvsd = matches!(s.target, Target::Rvsd(_));
    // rvsd's counters where the window starts (a finite replay: from 0).
    let mut snap_a = (is_rvsd && s.finite_total.is_some()).then(|| (0.0, crate::ctl::Snap::default()));
    loop {
        env.reg.check()?;
        if !p.alive() {
            bail!("{} exited during the run:\n{}", p.name, crate::procs::tail(&p.output(), 30));
        }
        let rx = tel.port(0).context("port 0 counters")?.ipackets;
        let tx = tel.port(1).context("port 1 counters")?.opackets;
        let t = t0.elapsed().as_secs_f64();
        if !matches!(samples.last(), Some(l) if rx <= l.rx) {
            last_progress = t;
        }
        samples.push(Sample { t, rx, tx });
        if created_at.is_none() && rx >= s.first_pass {
            created_at = Some(t);
        }
        if let (true, None, Some(tc)) = (is_rvsd, &snap_a, created_at) {
            if t >= tc + s.warmup {
                snap_a = crate::ctl::snap(&env.rvsadm, &socket).map(|x| (t0.elapsed().as_secs_f64(), x));
            }
        }
        if let (Some(data), Some(tc), None) = (&s.profile, created_at, &rec) {
            if t >= tc + s.warmup {
                let log = data.with_extension("log");
                rec = Some(crate::profile::start(&env.reg, p.pid(), s.window * 0.9, data, &log));
            }
        }
        let done = match (s.finite_total, created_at) {
            (Some(total), _) => rx >= total || (rx > 0 && t - last_progress > 1.0),
            (None, Some(tc)) => t >= tc + s.warmup + s.window,
            (None, None) => false,
        };
        if done {
            break;
        }
        if t > limit {
            bail!("no result after {limit:.0} s (rx {rx} of a {} first pass)", s.first_pass);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let rss = p.rss();
    let snap_b = if is_rvsd { crate::ctl::snap(&env.rvsadm, &socket) } else { None };
    let t_b = t0.elapsed().as_secs_f64();
    let profile = match rec.flatten() {
        Some(r) => crate::profile::finish(r, &env.reg, 15),
        None => Vec::new(),
    };
    drop(tel);
    let (code, out) = p.stop(Duration::from_secs(20));
    if code != Some(0) && matches!(s.target, Target::Rvsd(_)) {
        bail!("rvsd exit code {code:?}:\n{}", crate::procs::tail(&out, 30));
    }
    let counters = targets::final_counters(&out);
    let mut o = rates(&samples, s, created_at.unwrap_or(0.0))?;
    o.rss = rss;
    o.counters = counters;
    o.profile = profile;
    if let (Some((ta, a)), Some(b)) = (snap_a, snap_b) {
        o.busy_cpp = crate::ctl::cycles_per_packet(&a, &b);
        o.per_poll = crate::ctl::packets_per_busy_poll(&a, &b);
        let hz = crate::machine::tsc_hz_cached();
        let dt = if s.finite_total.is_some() { t_b } else { t_b - ta };
        o.busy_share = Some((b.busy_cycles - a.busy_cycles) as f64 / (dt * hz * f64::from(s.workers)));
    }
    Ok(o)
}

/// Creation and steady rates from the samples.
fn rates(v: &[Sample], s: &Spec, created: f64) -> Result<Outcome> {
    let mut o = Outcome::default();
    // Creation: samples strictly inside the first pass, when it is long
    // enough to sample (a small pass is over in a fraction of a
    // millisecond, and its first burst waits for ARP and allocations).
    let inside: Vec<&Sample> = v.iter().filter(|x| x.rx > 0 && x.rx <= s.first_pass).collect();
    if let (Some(a), Some(b)) = (inside.first(), inside.last()) {
        if s.first_pass >= 50_000 && b.t - a.t >= 0.02 && b.rx > a.rx {
            o.create_mpps = Some((b.rx - a.rx) as f64 / (b.t - a.t) / 1e6);
        }
    }
    let win: Vec<&Sample> = match s.finite_total {
        Some(total) => {
            let span = total.saturating_sub(s.first_pass);
            let (lo, hi) = (s.first_pass + span / 10, s.first_pass + span * 9 / 10);
            v.iter().filter(|x| x.rx >= lo && x.rx <= hi).collect()
        }
        None => v.iter().filter(|x| x.t >= created + s.warmup).collect(),
    };
    let (Some(a), Some(b)) = (win.first(), win.last()) else { bail!("no samples in the steady window") };
    let dt = b.t - a.t;
    if dt < 0.02 {
        bail!("steady window too short ({dt:.3} s)");
    }
    o.window_secs = dt;
    o.mpps = (b.tx - a.tx) as f64 / dt / 1e6;
    o.rx_mpps = (b.rx - a.rx) as f64 / dt / 1e6;
    Ok(o)
}
