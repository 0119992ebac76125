//! rvs-gen: a DPDK client and real-server emulator for connection-rate
//! benchmarks (the dperf idea, our own code).
//!
//! Two ports, normally `net_memif` links to the director: on the client
//! port it opens conversations to VIP:vport (SYN, request, FIN) and on
//! the server port it answers as every real server at once (SYN-ACK,
//! response + FIN, last ACK), statelessly (see `rvs_benches::convo`). It
//! keeps `--window` conversations in flight; one whose last ACK has not
//! come back after `--timeout-ms` is counted lost and its slot reused.
//! It answers every ARP request on both links, so the same run works
//! through rvsd (NAT, FULLNAT) or through dpdk-testpmd's io forwarding
//! (the baseline "wire").
//!
//! Prints a progress line a second and, at the end, one line
//! `gen-result: {json}` with the steady-state rate (after `--warmup`).

#![forbid(unsafe_code)]

use anyhow::{bail, Context, Result};
use clap::Parser;
use rvs_benches::convo::{self, Action, Conf};
use rvs_benches::frame::{self, Mac};
use rvs_ffi::{Burst, Eal, Mbuf, Mempool, Port, PortConf, TxBatch, TxQueue};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(name = "rvs-gen", about = "DPDK client + real-server emulator (TCP conversations)")]
struct Args {
    /// Client-side device (vdev string), e.g. net_memif0,role=client,socket=/tmp/c.sock
    #[arg(long)]
    client_dev: String,
    /// Server-side device (vdev string).
    #[arg(long)]
    server_dev: String,
    #[arg(long, default_value = "172.25.254.100")]
    vip: Ipv4Addr,
    #[arg(long, default_value_t = 80)]
    vport: u16,
    /// Our address on the client link (the clients' router).
    #[arg(long, default_value = "172.25.254.1")]
    gateway: Ipv4Addr,
    /// The director's address on the server link.
    #[arg(long, default_value = "192.168.0.100")]
    dip: Ipv4Addr,
    /// Real-server addresses we announce by ARP before traffic starts.
    #[arg(long, value_delimiter = ',', default_value = "192.168.0.10,192.168.0.11,192.168.0.12,192.168.0.13")]
    rs: Vec<Ipv4Addr>,
    /// Conversations in flight (a power of two).
    #[arg(long, default_value_t = 2048)]
    window: u32,
    #[arg(long, default_value_t = 16)]
    req_len: usize,
    #[arg(long, default_value_t = 64)]
    resp_len: usize,
    /// Seconds of traffic in all (warm-up included).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds before the measured window starts.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
    /// EAL --lcores value (one lcore: the generator runs on the main lcore).
    #[arg(long, default_value = "0@0")]
    lcores: String,
    #[arg(long, default_value_t = 512)]
    memory_mb: u32,
    #[arg(long, default_value_t = 32767)]
    mbufs: u32,
    #[arg(long)]
    file_prefix: Option<String>,
    /// Seconds to keep the links up after printing the result.
    #[arg(long, default_value_t = 30)]
    hold_secs: u64,
}

/// A conversation slot: which id runs in it and since when (0 = free).
#[derive(Clone, Copy, Default)]
struct Slot {
    id: u32,
    start: u64,
}

#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    started: u64,
    completed: u64,
    lost: u64,
    resets: u64,
    ignored: u64,
    tx_drops: u64,
    latency_cycles: u64,
}

struct Gen {
    conf: Conf,
    slots: Vec<Slot>,
    /// Per-slot generation: conversation id = gen * window + slot.
    gens: Vec<u32>,
    free: Vec<u32>,
    c: Counts,
    tx: [TxBatch; 2],
    txq: Vec<TxQueue>,
}

const CLIENT: usize = 0;
const SERVER: usize = 1;

impl Gen {
    fn send(&mut self, side: usize, m: Mbuf) {
        if self.tx[side].is_full() {
            self.flush(side);
        }
        self.tx[side].push(m);
    }

    fn flush(&mut self, side: usize) {
        let (_, dropped) = self.tx[side].flush(&mut self.txq[side]);
        self.c.tx_drops += dropped as u64;
    }

    fn finish(&mut self, id: u32, now: u64, ok: bool) {
        let s = (id % self.slots.len() as u32) as usize;
        let slot = self.slots[s];
        if slot.start == 0 || slot.id != id {
            return; // a late packet of a conversation already given up
        }
        if ok {
            self.c.completed += 1;
            self.c.latency_cycles += now - slot.start;
        } else {
            self.c.resets += 1;
        }
        self.slots[s].start = 0;
        self.free.push(s as u32);
    }

    /// Handle one received frame on `side`.
    fn on_frame(&mut self, side: usize, mut m: Mbuf, my_mac: Mac, now: u64) {
        if let Some((op, sha, spa, tpa)) = frame::parse_arp(m.data()) {
            if op == frame::ARP_REPLY && side == CLIENT && spa == self.conf.vip {
                self.conf.director_mac = sha;
            }
            if op == frame::ARP_REQUEST && m.set_len(frame::MIN_FRAME) {
                frame::arp(m.data_mut(), frame::ARP_REPLY, sha, my_mac, tpa, sha, spa);
                self.send(side, m);
            }
            return;
        }
        let Some(v) = frame::parse_tcp(m.data()) else {
            self.c.ignored += 1;
            return;
        };
        let a = if side == CLIENT { convo::client(&self.conf, &v) } else { convo::server(&self.conf, &v) };
        match a {
            Action::Reply { ep, seg, payload_len } => {
                if m.set_len(convo::frame_len(payload_len)) {
                    frame::tcp(m.data_mut(), &ep, seg, payload_len, frame::MIN_FRAME);
                    self.send(side, m);
                }
            }
            Action::Done(id) => self.finish(id, now, true),
            Action::Reset(id) => self.finish(id, now, false),
            Action::Ignore => self.c.ignored += 1,
        }
    }

    /// Open new conversations in free slots (at most one burst).
    fn open(&mut self, pool: &Mempool, now: u64) {
        for _ in 0..32 {
            let Some(s) = self.free.pop() else { return };
            let Some(mut m) = pool.alloc() else {
                self.free.push(s);
                return;
            };
            let w = self.slots.len() as u32;
            let id = (self.gens[s as usize].wrapping_mul(w) + s) % rvs_benches::flows::MAX_FLOWS;
            self.gens[s as usize] = self.gens[s as usize].wrapping_add(1);
            let (ep, seg) = convo::syn(&self.conf, id);
            if !m.set_len(convo::frame_len(0)) {
                self.free.push(s);
                return;
            }
            frame::tcp(m.data_mut(), &ep, seg, 0, frame::MIN_FRAME);
            self.slots[s as usize] = Slot { id, start: now.max(1) };
            self.c.started += 1;
            self.send(CLIENT, m);
        }
    }

    /// Give up on conversations older than `limit` cycles.
    fn sweep(&mut self, now: u64, limit: u64) {
        for s in 0..self.slots.len() {
            let st = self.slots[s].start;
            if st != 0 && now.saturating_sub(st) > limit {
                self.slots[s].start = 0;
                self.free.push(s as u32);
                self.c.lost += 1;
            }
        }
    }
}

fn arp_request(pool: &Mempool, smac: Mac, spa: Ipv4Addr, tpa: Ipv4Addr) -> Option<Mbuf> {
    let mut m = pool.alloc()?;
    if !m.set_len(frame::MIN_FRAME) {
        return None;
    }
    frame::arp(m.data_mut(), frame::ARP_REQUEST, frame::BROADCAST, smac, spa.into(), [0; 6], tpa.into());
    Some(m)
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("rvs-gen: {e:#}");
        std::process::exit(1);
    }
}

fn run(a: Args) -> Result<()> {
    if !a.window.is_power_of_two() || a.window > 1 << 16 {
        bail!("--window must be a power of two up to 65536");
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    let prefix = a.file_prefix.clone().unwrap_or_else(|| format!("rvs-gen-{}", std::process::id()));
    let mut eal_args: Vec<String> = ["rvs-gen", "--lcores", &a.lcores, "--no-huge", "-m", &a.memory_mb.to_string()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    eal_args.extend(["--file-prefix".into(), prefix, "--no-pci".into()]);
    eal_args.extend(["--vdev".into(), a.client_dev.clone(), "--vdev".into(), a.server_dev.clone()]);
    let eal = Eal::init(&eal_args).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pool = Mempool::new("gen_pkt", a.mbufs, 256).map_err(|e| anyhow::anyhow!(e))?;
    let mut ports = Vec::new();
    let (mut rxq, mut txq) = (Vec::new(), Vec::new());
    for dev in [&a.client_dev, &a.server_dev] {
        let mut p = Port::by_name(dev.split(',').next().unwrap_or(dev)).map_err(|e| anyhow::anyhow!(e))?;
        let q =
            p.configure_and_start(&PortConf::default(), &pool).map_err(|e| anyhow::anyhow!(e)).context(dev.clone())?;
        rxq.extend(q.rx);
        txq.extend(q.tx);
        ports.push(p);
    }
    let macs = [ports[CLIENT].mac(), ports[SERVER].mac()];
    let hz = rvs_ffi::tsc_hz().max(1);
    let t0 = rvs_ffi::rdtsc();
    while !ports.iter().all(|p| p.link().up) {
        if rvs_ffi::rdtsc() - t0 > 15 * hz || stop.load(Ordering::Relaxed) {
            bail!("links not up after 15 s (is the director running with role=server on the same sockets?)");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    println!("gen: links up, client mac {:02x?} server mac {:02x?}", macs[CLIENT], macs[SERVER]);

    let w = a.window as usize;
    let mut g = Gen {
        conf: Conf {
            req_len: a.req_len,
            resp_len: a.resp_len,
            vip: a.vip.into(),
            vport: a.vport,
            client_mac: macs[CLIENT],
            server_mac: macs[SERVER],
            director_mac: [0; 6],
        },
        slots: vec![Slot::default(); w],
        gens: vec![0; w],
        free: (0..a.window).rev().collect(),
        c: Counts::default(),
        tx: [TxBatch::default(), TxBatch::default()],
        txq,
    };
    let mut burst = Burst::default();

    // Resolve the director and let it learn the real servers before the
    // clock starts: ARP requests from each RS to the DIP, and from the
    // gateway to the VIP (whose reply gives us the director's MAC).
    let t0 = rvs_ffi::rdtsc();
    let mut last_probe = 0u64;
    while g.conf.director_mac == [0; 6] {
        let now = rvs_ffi::rdtsc();
        if now - t0 > 10 * hz || stop.load(Ordering::Relaxed) {
            bail!("no ARP reply for the VIP {} on the client link", a.vip);
        }
        if now - last_probe > hz / 10 {
            last_probe = now;
            for rs in &a.rs {
                if let Some(m) = arp_request(&pool, macs[SERVER], *rs, a.dip) {
                    g.send(SERVER, m);
                }
            }
            if let Some(m) = arp_request(&pool, macs[CLIENT], a.gateway, a.vip) {
                g.send(CLIENT, m);
            }
        }
        for side in [CLIENT, SERVER] {
            burst.rx(&mut rxq[side], 32);
            for m in burst.by_ref() {
                g.on_frame(side, m, macs[side], now);
            }
            g.flush(side);
        }
    }
    println!("gen: director mac {:02x?}", g.conf.director_mac);

    let start = rvs_ffi::rdtsc();
    let (warm, end) = ((a.warmup * hz as f64) as u64, (a.duration * hz as f64) as u64);
    let limit = a.timeout_ms * hz / 1000;
    let (mut next_report, mut next_sweep) = (hz, hz / 10);
    let mut at_warm: Option<(u64, Counts)> = None;
    let mut last = (start, Counts::default());
    loop {
        let now = rvs_ffi::rdtsc();
        let t = now - start;
        if t >= end || stop.load(Ordering::Relaxed) {
            break;
        }
        for side in [CLIENT, SERVER] {
            burst.rx(&mut rxq[side], 32);
            for m in burst.by_ref() {
                g.on_frame(side, m, macs[side], now);
            }
        }
        g.open(&pool, now);
        g.flush(CLIENT);
        g.flush(SERVER);
        if t >= next_sweep {
            next_sweep += hz / 10;
            g.sweep(now, limit);
        }
        if at_warm.is_none() && t >= warm {
            at_warm = Some((now, g.c));
        }
        if t >= next_report {
            next_report += hz;
            let dt = (now - last.0) as f64 / hz as f64;
            println!(
                "gen: t={:.1} started={} completed={} cps={:.0} lost={} resets={} inflight={} tx_drops={} ignored={}",
                t as f64 / hz as f64,
                g.c.started,
                g.c.completed,
                (g.c.completed - last.1.completed) as f64 / dt,
                g.c.lost,
                g.c.resets,
                w - g.free.len(),
                g.c.tx_drops,
                g.c.ignored
            );
            last = (now, g.c);
        }
    }
    let now = rvs_ffi::rdtsc();
    let (t_w, c_w) = at_warm.unwrap_or((start, Counts::default()));
    let secs = (now - t_w) as f64 / hz as f64;
    let done = g.c.completed - c_w.completed;
    let result = serde_json::json!({
        "cps": done as f64 / secs.max(1e-9),
        "window_secs": secs,
        "completed_in_window": done,
        "started": g.c.started,
        "completed": g.c.completed,
        "lost": g.c.lost,
        "resets": g.c.resets,
        "tx_drops": g.c.tx_drops,
        "ignored": g.c.ignored,
        "mean_latency_us": if done > 0 {
            (g.c.latency_cycles - c_w.latency_cycles) as f64 / done as f64 / hz as f64 * 1e6
        } else { 0.0 },
        "window": a.window,
        "packets_per_conn": 6,
    });
    println!("gen-result: {result}");
    // Keep the links up until the harness has stopped the device under
    // test (it then ends us by PID): tearing memif down first can crash a
    // peer that is still polling it. Bounded, in case nobody stops us.
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    std::thread::sleep(std::time::Duration::from_secs(a.hold_secs));
    drop(burst);
    drop(g);
    drop(rxq);
    for mut p in ports {
        p.stop();
    }
    drop(pool);
    drop(eal);
    Ok(())
}
