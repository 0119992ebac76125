//! rvsd: boot from YAML, run the workers, serve Control, shut down cleanly.
//!
//! The main thread (EAL's main lcore) boots, then handles signals
//! (SIGHUP reloads), the rate estimator's timer, port sampling and the
//! link watch; the control socket is served by its own threads (see
//! [`crate::ctl`]).
//!
//! Boot hands each worker its [`WorkerQueues`] (one rx and one tx queue
//! token per port, the consumer of its redirect ring); at shutdown they
//! come back, the rings are drained, and only then are the ports closed.

pub mod alerts;
pub mod eal_args;
pub mod kernel_if;
pub mod logging;
pub mod manual;
pub mod metrics_http;
pub mod publish;

use crate::adm::view::PortView;
use crate::ctl::control::{Control, ESTIMATE_EVERY};
use crate::ctl::server::Server;
use arc_swap::ArcSwap;
use clap::Parser;
use crossbeam_queue::ArrayQueue;
use rvs_conf::{Config, SyncRole};
use rvs_dataplane::dump::DumpHook;
use rvs_dataplane::l3::neigh::Neighbours;
use rvs_dataplane::service_path::{self, ServicePath};
use rvs_dataplane::stats::WorkerStats;
use rvs_dataplane::worker::{self, LoopConf, PortLink, Shared, WorkerQueues};
use rvs_ffi::{Eal, Mempool, Port, PortConf, RxQueue, TxQueue};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

/// How often the main thread reads the ports' link state.
const LINK_WATCH_EVERY: Duration = Duration::from_millis(200);

#[derive(Parser, Debug)]
#[command(name = "rvsd", version, about = "rvs director daemon (DPDK userspace IPVS)")]
pub struct Args {
    /// Configuration file (YAML).
    #[arg(short, long, default_value = "/etc/rvs/rvsd.yaml")]
    pub config: PathBuf,
    /// Validate the configuration and exit.
    #[arg(long)]
    pub check: bool,
}

pub fn main() -> i32 {
    let args = Args::parse();
    let cfg = match rvs_conf::load_file(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rvsd: {e}");
            return 1;
        }
    };
    if args.check {
        if let Err(e) = logging::filter(&cfg.log) {
            eprintln!("rvsd: {e}");
            return 1;
        }
        println!(
            "rvsd: {}: configuration OK ({} interfaces, {} services, {} workers, mtu up to {}, mbuf data room {})",
            args.config.display(),
            cfg.interfaces.len(),
            cfg.services.len(),
            cfg.workers.count,
            cfg.max_mtu(),
            cfg.mbuf_data_room()
        );
        return 0;
    }
    if let Err(e) = logging::init(&cfg.log) {
        eprintln!("rvsd: {e}");
        return 1;
    }
    match run(args, cfg) {
        Ok(()) => 0,
        Err(e) => {
            error!("{e}");
            1
        }
    }
}

fn run(args: Args, cfg: Config) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone())
        .map_err(|e| format!("signal handler: {e}"))?;
    // SIGTERM drains first when `shutdown.drain_timeout` says so (see
    // `main_loop`).
    let term = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, term.clone())
        .map_err(|e| format!("signal handler: {e}"))?;
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone())
        .map_err(|e| format!("signal handler: {e}"))?;
    let eal_args = eal_args::build(&cfg, std::process::id());
    info!("EAL {}", eal_args.join(" "));
    Eal::log_to_tracing().map_err(|e| e.to_string())?;
    let eal = Eal::init(&eal_args).map_err(|e| e.to_string())?;
    let workers = cfg.workers.count as usize;
    let lcores = rvs_ffi::worker_lcores();
    if lcores.len() < workers {
        return Err(format!("{} workers configured but EAL has {} worker lcores", workers, lcores.len()));
    }
    // One pool for every port, its mbufs sized for the largest MTU (the
    // same sizing `--check` validated against dpdk.memory_mb).
    let room = u16::try_from(cfg.mbuf_data_room()).map_err(|_| "mbuf data room beyond 64 KiB".to_string())?;
    let pool = Mempool::with_data_room("rvs_pkt", cfg.dpdk.mbufs, 256, room).map_err(|e| e.to_string())?;
    let mut ports = Vec::new();
    // Queue tokens by port, then handed out one per worker.
    let mut rxq: Vec<std::vec::IntoIter<RxQueue>> = Vec::new();
    let mut txq: Vec<std::vec::IntoIter<TxQueue>> = Vec::new();
    // RSS on every port that can, with rvs's key (see rss::DEFAULT_KEY).
    let mut rss = Vec::new();
    for i in &cfg.interfaces {
        let mut p = Port::by_name(eal_args::port_name(&i.device))?;
        let pc = PortConf {
            rx_queues: workers as u16,
            tx_queues: workers as u16,
            mtu: i.mtu,
            rss_key: Some(rvs_dataplane::rss::DEFAULT_KEY),
            ..Default::default()
        };
        let q = p.configure_and_start(&pc, &pool).map_err(|e| format!("interface {}: {e}", i.name))?;
        rxq.push(q.rx.into_iter());
        txq.push(q.tx.into_iter());
        let rss_note = match &q.rss {
            Ok(r) => format!("rss on (reta {})", r.reta.len()),
            Err(why) => format!("rss off ({why})"),
        };
        rss.push(q.rss.ok().map(|r| rvs_dataplane::rss::PortRss::new(&r.key, r.reta)));
        info!(
            "interface {} = port {} ({}) mac {} mtu {} driver {} {}",
            i.name,
            p.id(),
            i.device,
            rvs_dataplane::packet::eth::fmt_mac(&p.mac()),
            i.mtu,
            p.driver_name(),
            rss_note
        );
        ports.push(p);
    }
    let port_ids: Vec<u16> = ports.iter().map(Port::id).collect();
    let macs: Vec<[u8; 6]> = ports.iter().map(Port::mac).collect();
    let mut ifaces = publish::ifaces(&cfg, &port_ids, &macs);
    for (f, r) in ifaces.iter_mut().zip(rss) {
        f.rss = r;
    }
    // The exception path: a kernel interface per link that asks for one.
    let mut kernel_ports = Vec::new();
    let mut kq: Vec<Option<(std::vec::IntoIter<RxQueue>, std::vec::IntoIter<TxQueue>)>> = Vec::new();
    for (i, c) in cfg.interfaces.iter().enumerate() {
        let Some(k) = &c.kernel else {
            kq.push(None);
            continue;
        };
        let kp = kernel_if::create(&cfg, i, &macs[i], workers as u16, &pool)?;
        kq.push(Some((kp.queues.rx.into_iter(), kp.queues.tx.into_iter())));
        ifaces[i].kernel = Some((k.rate, k.burst));
        kernel_ports.push(kp.port);
    }
    // Before any check, a dest that starts down (`alpha`) is already down.
    let first = crate::health::overlay::apply(&cfg.services, &Default::default(), &Default::default());
    let snap = publish::build(1, &cfg, &first.services, ifaces.clone(), None);

    // One SPSC ring per ordered pair of workers, 1024 packets each.
    let mesh = rvs_dataplane::redirect::mesh::<rvs_ffi::Mbuf>(workers, 1024);
    // The sync daemons' rings exist from boot, so that `rvsadm
    // --start-daemon` can start one at any time; with no master running
    // the workers note nothing (the snapshot says so), and an empty inbox
    // costs a worker one look per poll, not per packet.
    let (sync_rings, sync_ports) = crate::syncd::rings(workers);
    let mut queues = Vec::with_capacity(workers);
    for ((outbox, inbox), sync) in mesh.into_iter().zip(sync_ports) {
        let rx = rxq.iter_mut().map(|it| it.next()).collect::<Option<Vec<_>>>();
        let tx = txq.iter_mut().map(|it| it.next()).collect::<Option<Vec<_>>>();
        let (Some(rx), Some(tx)) = (rx, tx) else { return Err("a port has fewer queues than workers".into()) };
        let kernel = kq.iter_mut().map(|k| k.as_mut().and_then(|(r, t)| Some((r.next()?, t.next()?)))).collect();
        queues.push(WorkerQueues { rx, tx, kernel, outbox, inbox, sync });
    }
    let nports = ports.len();
    let shared = Arc::new(Shared {
        snap: ArcSwap::from_pointee(snap),
        neigh: ArcSwap::from_pointee(Neighbours::default()),
        neigh_q: ArrayQueue::new(1024),
        stats: (0..workers).map(|_| Arc::new(WorkerStats::default())).collect(),
        pool,
        stop: AtomicBool::new(false),
        epoch_tsc: rvs_ffi::rdtsc(),
        port_ids,
        dump: DumpHook::new(workers),
        links: (0..nports).map(|_| PortLink::default()).collect(),
    });
    // Baseline: what is free once the rx rings are filled.
    std::thread::sleep(Duration::from_millis(50));
    let baseline = shared.pool.avail();
    let lc = LoopConf {
        burst: cfg.workers.burst as usize,
        busy_poll: cfg.workers.busy_poll,
        idle_polls: cfg.workers.idle_polls,
        max_sleep_us: cfg.workers.max_sleep_us,
    };
    // Serve the socket before the workers start, so a failure to bind
    // it stops the boot with nothing to undo.
    let control = Control::new(shared.clone(), cfg.clone(), ifaces, baseline, args.config.clone());
    control.set_ports(port_views(&ports, &shared.links));
    let server = Server::start(Path::new(&cfg.control.socket), control.clone())
        .map_err(|e| format!("control socket {}: {e}", cfg.control.socket))?;
    info!("control socket {}", server.path().display());
    let metrics = match &cfg.metrics {
        Some(m) => {
            let s = metrics_http::MetricsServer::start(m.listen, control.clone())?;
            info!("metrics on http://{}/metrics", s.addr());
            Some(s)
        }
        None => None,
    };
    let templates = service_path::new_templates(cfg.conn.template_size as usize);
    // The links' first state before any worker polls.
    let mut watch = LinkWatch::new(&ports);
    watch.poll(&ports, &shared.links);
    // Each worker parks its queues here when it stops.
    let parked: Arc<Mutex<Vec<WorkerQueues>>> = Arc::new(Mutex::new(Vec::new()));
    let (built_tx, built) = std::sync::mpsc::channel::<usize>();
    for ((w, &lcore), mut q) in lcores.iter().take(workers).enumerate().zip(queues) {
        let sh = shared.clone();
        let parked = parked.clone();
        let (templates, built_tx) = (templates.clone(), built_tx.clone());
        let (table_size, table_size6) = (cfg.conn.table_size as usize, cfg.conn.ipv6_capacity());
        rvs_ffi::launch(lcore, move || {
            // The worker allocates (and so first touches) its own tables,
            // on its own core's memory; all of it at boot, never growing.
            let sp = ServicePath::new(w, workers, table_size, templates, 0).with_ipv6_capacity(table_size6, 0);
            let _ = built_tx.send(w);
            let rc = worker::run(w, sh, lc, sp, &mut q);
            parked.lock().unwrap_or_else(|e| e.into_inner()).push(q);
            rc
        })?;
    }
    // Ready only once every worker holds its tables.
    for _ in 0..workers {
        built.recv().map_err(|_| "a worker stopped before allocating its tables".to_string())?;
    }
    info!(
        "ready: {} workers, {} interfaces, mempool {} free of {} (baseline)",
        workers,
        ports.len(),
        baseline,
        shared.pool.size()
    );
    // Checks start once the workers run, so the first flips are
    // published to a data path that takes them at once. The checker runs
    // even with nothing to check: a reload may add checks.
    control.start_health().map_err(|e| format!("health checker: {e}"))?;
    if cfg.services.iter().any(|s| s.is_checked()) && cfg.interfaces.iter().all(|i| i.kernel.is_none()) {
        warn!("health checks run, but no interface has a kernel interface: they leave by the director's other routes");
    }

    let t = crate::syncd::Timeouts {
        tcp: cfg.conn.tcp_timeout,
        tcpfin: cfg.conn.tcpfin_timeout,
        udp: cfg.conn.udp_timeout,
    };
    control.set_sync(crate::syncd::Running::new(sync_rings, t));
    if let Some(s) = &cfg.sync {
        for role in
            [SyncRole::Master, SyncRole::Backup].into_iter().filter(|r| s.state == *r || s.state == SyncRole::Both)
        {
            control.start_daemon(role, s).map_err(|e| format!("sync daemon: {}", e.message))?;
        }
    }
    if let Some(a) = cfg.announce.clone() {
        control.start_announce(a).map_err(|e| format!("announcer: {e}"))?;
    }

    notify(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status("serving")]);

    main_loop(&Signals { stop: &stop, term: &term, hup: &hup }, &control, &ports, &shared, &mut watch);

    notify(&[sd_notify::NotifyState::Stopping]);
    info!("stopping");
    // Control first: no request may touch the data path once it stops.
    control.shutdown();
    server.stop();
    if let Some(m) = metrics {
        m.stop();
    }
    shared.stop.store(true, Ordering::Relaxed);
    for &lcore in lcores.iter().take(workers) {
        rvs_ffi::wait_lcore(lcore);
    }
    // Drain redirect rings (packets in flight between workers), then let
    // the queue tokens go so the ports can stop.
    let mut parked = std::mem::take(&mut *parked.lock().unwrap_or_else(|e| e.into_inner()));
    if parked.len() != workers {
        warn!("only {} of {workers} workers handed their queues back", parked.len());
    }
    // Every worker has stopped, so worker 0's cells have no other writer
    // now: packets found in flight are counted there.
    for q in parked.iter_mut() {
        for from in 0..q.inbox.sources() {
            q.inbox.pull(from, usize::MAX, |r| {
                shared.stats[0].count_drop(rvs_dataplane::drop::DropReason::Shutdown);
                drop(r);
            });
        }
    }
    drop(parked);
    print_final(&shared, &ports, baseline);
    for p in ports.iter_mut().chain(kernel_ports.iter_mut()) {
        if !p.stop() {
            warn!("port {} still has queues in use: it stops when they are released", p.name());
        }
    }
    drop(ports);
    drop(kernel_ports);
    drop(shared);
    drop(eal);
    Ok(())
}

/// Which ports' link state is meaningful, and what was last seen.
///
/// The watch runs on the main thread, the one that owns the [`Port`]s:
/// ethdev's control calls are not meant to be made from several threads
/// at once, a worker must not spend its poll on a syscall-backed link
/// query, and one reader gives each transition one log line. Workers
/// learn the state through [`Shared::links`].
///
/// net_tap is not watched: its link reads the kernel interface by name in
/// rvsd's namespace, which reads "down" forever once the interface moves to
/// another namespace (as the lab does); its peer is the kernel, which
/// cannot vanish from under a poll.
struct LinkWatch {
    watched: Vec<bool>,
}

impl LinkWatch {
    fn new(ports: &[Port]) -> LinkWatch {
        LinkWatch { watched: ports.iter().map(|p| p.driver_name() != "net_tap").collect() }
    }

    /// Read every watched port's link; publish and log changes.
    fn poll(&mut self, ports: &[Port], links: &[PortLink]) {
        for (i, p) in ports.iter().enumerate() {
            if !self.watched[i] {
                continue;
            }
            let up = p.link().up;
            if links[i].set(up) {
                let n = links[i].changes.load(Ordering::Relaxed);
                if up {
                    info!("port {} ({}): link up: polling again ({n} changes)", p.id(), p.name());
                } else {
                    warn!("port {} ({}): link down: not polled until it is back ({n} changes)", p.id(), p.name());
                }
            }
        }
    }
}

/// The main lcore's duties while the workers run: signals, the rate
/// estimator's 2-second timer, sampling the ports (their counters are
/// read where the ports are owned) and watching their links.
fn main_loop(sig: &Signals<'_>, control: &Control, ports: &[Port], shared: &Shared, watch: &mut LinkWatch) {
    let mut last_est = Instant::now();
    let mut last_ports = Instant::now();
    let mut last_link = Instant::now();
    let mut last_drops = Instant::now();
    let mut alerts = alerts::DropAlerts::default();
    let mut last_drain = Instant::now();
    while !sig.stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
        if sig.term.swap(false, Ordering::Relaxed) && !begin_drain(control) {
            break;
        }
        if last_drain.elapsed() >= Duration::from_millis(200) {
            last_drain = Instant::now();
            if drained(control) {
                break;
            }
        }
        if sig.hup.swap(false, Ordering::Relaxed) {
            notify(&[sd_notify::NotifyState::Reloading]);
            match control.reload() {
                Ok(r) if r.published => info!(
                    "reload: generation {} ({} services, {} dests), on all workers: {}",
                    r.generation, r.services, r.dests, r.synced
                ),
                Ok(_) => info!("reload: no change"),
                Err(e) => warn!("reload refused, running configuration unchanged: {e}"),
            }
            notify(&[sd_notify::NotifyState::Ready]);
        }
        if last_drops.elapsed() >= Duration::from_secs(1) {
            last_drops = Instant::now();
            for w in alerts.sample(&drop_totals(shared), last_drops) {
                warn!("{w}");
            }
        }
        if last_est.elapsed() >= ESTIMATE_EVERY {
            last_est = Instant::now();
            control.estimate();
        }
        if last_link.elapsed() >= LINK_WATCH_EVERY {
            last_link = Instant::now();
            watch.poll(ports, &shared.links);
        }
        if last_ports.elapsed() >= Duration::from_millis(200) {
            last_ports = Instant::now();
            control.set_ports(port_views(ports, &shared.links));
        }
    }
}

/// The signals the main loop acts on.
struct Signals<'a> {
    /// SIGINT: stop now.
    stop: &'a AtomicBool,
    /// SIGTERM: drain, or stop now (no drain timeout, or a drain already
    /// runs).
    term: &'a AtomicBool,
    /// SIGHUP: reload.
    hup: &'a AtomicBool,
}

/// SIGTERM: start a drain if `shutdown.drain_timeout` asks for one and
/// none runs yet; false when the daemon should stop at once.
fn begin_drain(control: &Control) -> bool {
    let timeout = control.drain_timeout();
    if timeout.is_zero() || control.drain_state().is_some() {
        return false;
    }
    info!("SIGTERM: draining for up to {} s (a second SIGTERM stops at once)", timeout.as_secs());
    notify(&[sd_notify::NotifyState::Status("draining")]);
    control.drain(timeout);
    true
}

/// Whether a drain in progress is over.
fn drained(control: &Control) -> bool {
    match control.drain_state() {
        Some((d, true, active)) => {
            info!("drain: over after {:.1} s, {active} established connections left", d.since.elapsed().as_secs_f64());
            true
        }
        _ => false,
    }
}

/// Every drop reason's total over all workers (zeros included, so that
/// the first drop of a reason is a rise from a known baseline).
fn drop_totals(shared: &Shared) -> Vec<(&'static str, u64)> {
    use rvs_dataplane::drop::DropReason;
    DropReason::ALL.iter().map(|&r| (r.name(), shared.stats.iter().map(|s| s.drops(r)).sum())).collect()
}

/// Tell systemd (when it started us with `Type=notify`) how we are; a
/// no-op without `$NOTIFY_SOCKET`.
fn notify(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(false, state) {
        warn!("sd_notify: {e}");
    }
}

fn port_views(ports: &[Port], links: &[PortLink]) -> Vec<PortView> {
    ports
        .iter()
        .zip(links)
        .map(|(p, link)| {
            let st = p.stats();
            PortView {
                id: p.id(),
                name: p.name().to_string(),
                ipackets: st.ipackets,
                opackets: st.opackets,
                ibytes: st.ibytes,
                obytes: st.obytes,
                imissed: st.imissed,
                ierrors: st.ierrors,
                oerrors: st.oerrors,
                rx_nombuf: st.rx_nombuf,
                link_up: link.is_up(),
                link_changes: link.changes.load(Ordering::Relaxed),
            }
        })
        .collect()
}

/// The exit report, logged as one event so that it stays one block (and
/// one JSON object) whatever the format.
fn print_final(shared: &Shared, ports: &[Port], baseline: u32) {
    use std::fmt::Write;
    let mut b = String::new();
    for (w, s) in shared.stats.iter().enumerate() {
        let _ = writeln!(
            b,
            "  worker {w}: rx {} tx {} redirect_in {} redirect_out {} arp_replies {} arp_requests {} arp_learned {} icmp_echo {} icmp_err_sent {} frags_out {} kernel_up {} kernel_down {} conns_created {} drops {}",
            s.rx_pkts.get(),
            s.tx_pkts.get(),
            s.redirect_in.get(),
            s.redirect_out.get(),
            s.arp_replies.get(),
            s.arp_requests.get(),
            s.arp_learned.get(),
            s.icmp_echo.get(),
            s.icmp_err_sent.get(),
            s.frags_out.get(),
            s.kernel_up.get(),
            s.kernel_down.get(),
            s.conns_created.get(),
            s.total_drops()
        );
        for (name, v) in s.drop_list() {
            let _ = writeln!(b, "    drop {name}: {v}");
        }
    }
    for (i, p) in ports.iter().enumerate() {
        let st = p.stats();
        let link = &shared.links[i];
        let _ = writeln!(
            b,
            "  port {} ({}): ipackets {} opackets {} imissed {} rx_nombuf {} oerrors {} link {} link_changes {}",
            p.id(),
            p.name(),
            st.ipackets,
            st.opackets,
            st.imissed,
            st.rx_nombuf,
            st.oerrors,
            if link.is_up() { "up" } else { "down" },
            link.changes.load(Ordering::Relaxed)
        );
    }
    let _ = write!(b, "  mempool: free {} baseline {} size {}", shared.pool.avail(), baseline, shared.pool.size());
    info!("final counters\n{b}");
}

#[cfg(test)]
mod tests {
    /// `--check` sizes the pool with conf's copy of DPDK's constants: they
    /// must be DPDK's.
    #[test]
    fn conf_mbuf_sizing_matches_dpdk() {
        assert_eq!(rvs_conf::MBUF_HEADROOM, rvs_ffi::HEADROOM as u32);
        assert_eq!(rvs_conf::MBUF_HEADROOM + rvs_conf::MBUF_DEFAULT_ROOM, rvs_ffi::DEFAULT_DATA_ROOM as u32);
        for mtu in [576, 1500, 9000] {
            assert_eq!(rvs_conf::frame_len(mtu) as usize, rvs_ffi::frame_len(mtu));
        }
    }
}
