//! Control: owner of the configuration, publisher of snapshots.
//!
//! Every committed change (an rvsadm transaction, a SIGHUP reload)
//! becomes a new immutable [`Snapshot`] swapped into `Shared::snap` in one
//! atomic store; workers pick it up at their next burst. Commits are
//! serialized by the model lock, so generations are strictly increasing
//! and each snapshot reuses the counters of the one before it.
//!
//! After the swap Control waits until every worker runs the new
//! generation and only then drops the previous snapshot: the last
//! reference to a snapshot is then always Control's, so freeing a large
//! table never happens on a worker between two bursts.

use crate::adm::{self, view, AdmCommand, AdmError};
use crate::announce::{self, Announcer};
use crate::ctl::estimator::{self, EstKey, Estimator};
use crate::ctl::model::{Model, Plan};
use crate::ctl::proto::{ApplyReport, ConnsView, DrainReport, Reply, ReplyError, Request};
use crate::ctl::server::Handler;
use crate::ctl::{metrics, views, wait};
use crate::daemon::publish;
use crate::health::checker::Checker;
use crate::health::overlay::{self, DestId};
use crate::health::schedule;
use rvs_conf::{Config, ServiceConf, ServiceKey, SyncConf, SyncRole};
use rvs_dataplane::snapshot::{Iface, Snapshot};
use rvs_dataplane::worker::Shared;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// A drain's timeout when neither rvsadm nor `shutdown.drain_timeout`
/// gives one.
const DEFAULT_DRAIN: Duration = Duration::from_secs(60);
/// How long shutdown waits for BIRD to take the withdrawal of the routes.
const WITHDRAW_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a commit waits for the workers before it reports them late.
const SYNC_TIMEOUT: Duration = Duration::from_secs(2);
/// How long `-c` waits for a worker that posts no piece of its table
/// (stopped or stuck); a worker still walking a large table resets it.
const DUMP_TIMEOUT: Duration = Duration::from_secs(1);
/// Most connection entries one `-c` returns.
const MAX_CONNS: usize = 1_000_000;

struct Rates {
    est: Estimator,
    last: Instant,
}

/// See the module documentation.
pub struct Control {
    /// `None` once the daemon shuts down: each request holds the read
    /// lock while it touches workers or DPDK, shutdown takes the write
    /// lock, so no request runs past the end of the data path.
    shared: RwLock<Option<Arc<Shared>>>,
    model: Mutex<Model>,
    ifaces: Vec<Iface>,
    rates: Mutex<Rates>,
    ports: Mutex<Vec<view::PortView>>,
    baseline: u32,
    config_path: PathBuf,
    /// When a configuration was last published (boot counts).
    last_change: Mutex<SystemTime>,
    health: Mutex<Health>,
    checker: Mutex<Option<Checker>>,
    /// Route announcement, when configured.
    announcer: Mutex<Option<Announcer>>,
    /// Set once a drain began: no VIP is announced from then on.
    drain: Mutex<Option<Drain>>,
    /// The sync daemons and the workers' rings to them (`None` only
    /// before boot hands them over).
    sync: Mutex<Option<crate::syncd::Running>>,
}

/// A drain in progress: routes withdrawn at `since`; the daemon exits once
/// no connection is established or `timeout` passed.
#[derive(Debug, Clone, Copy)]
pub struct Drain {
    pub since: Instant,
    pub timeout: Duration,
}

/// The health checks' verdicts as the last snapshot was built with them.
#[derive(Default)]
struct Health {
    verdicts: HashMap<DestId, bool>,
    quorum: HashMap<ServiceKey, bool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Control {
    /// Control over a running data path whose snapshot has generation
    /// `generation` and was built from `cfg`.
    pub fn new(
        shared: Arc<Shared>,
        cfg: Config,
        ifaces: Vec<Iface>,
        baseline: u32,
        config_path: PathBuf,
    ) -> Arc<Control> {
        let generation = shared.snap.load().generation;
        let quorum = overlay::apply(&cfg.services, &HashMap::new(), &HashMap::new()).quorum;
        Arc::new(Control {
            shared: RwLock::new(Some(shared)),
            model: Mutex::new(Model::new(cfg, generation)),
            ifaces,
            rates: Mutex::new(Rates { est: Estimator::default(), last: Instant::now() }),
            ports: Mutex::new(Vec::new()),
            baseline,
            config_path,
            last_change: Mutex::new(SystemTime::now()),
            health: Mutex::new(Health { verdicts: HashMap::new(), quorum }),
            checker: Mutex::new(None),
            announcer: Mutex::new(None),
            drain: Mutex::new(None),
            sync: Mutex::new(None),
        })
    }

    /// Start checking the dests that ask for it. Each flip of a verdict
    /// republishes the table (see [`Control::health_changed`]).
    pub fn start_health(self: &Arc<Self>) -> std::io::Result<()> {
        let me = Arc::downgrade(self);
        let c = Checker::start(Box::new(move |v| {
            if let Some(c) = me.upgrade() {
                c.health_changed(v);
            }
        }))?;
        c.sync(schedule::jobs(&lock(&self.model).cfg.services));
        *lock(&self.checker) = Some(c);
        Ok(())
    }

    /// Start announcing the VIPs the running table serves.
    pub fn start_announce(&self, conf: rvs_conf::AnnounceConf) -> std::io::Result<()> {
        let a = Announcer::start(conf)?;
        *lock(&self.announcer) = Some(a);
        let _ = self.with_shared(|sh| self.announce(&sh.snap.load()));
        Ok(())
    }

    /// Tell the announcer what `snap` serves (nothing while draining).
    fn announce(&self, snap: &Snapshot) {
        if let Some(a) = lock(&self.announcer).as_ref() {
            let draining = lock(&self.drain).is_some();
            let services: Vec<ServiceConf> = snap.services.list.iter().map(|s| s.conf.clone()).collect();
            a.set(if draining { Default::default() } else { announce::servable(&services) });
        }
    }

    /// The workers' sync rings, for the daemons to come (boot).
    pub fn set_sync(&self, r: crate::syncd::Running) {
        *lock(&self.sync) = Some(r);
    }

    /// Start a sync daemon (`sync:` at boot, `--start-daemon`), then
    /// publish the table again so the workers do their part of it.
    pub fn start_daemon(&self, role: SyncRole, conf: &SyncConf) -> Result<(), ReplyError> {
        self.change_daemons(|r, cfg| r.start(role, conf, cfg))
    }

    /// Stop a sync daemon (`--stop-daemon`).
    pub fn stop_daemon(&self, role: SyncRole) -> Result<(), ReplyError> {
        self.change_daemons(|r, _| r.stop(role))
    }

    fn change_daemons(
        &self,
        f: impl FnOnce(&mut crate::syncd::Running, &Config) -> Result<(), AdmError>,
    ) -> Result<(), ReplyError> {
        self.with_shared(|sh| {
            let mut m = lock(&self.model);
            {
                let mut g = lock(&self.sync);
                let r = g.as_mut().ok_or_else(|| ReplyError::msg("rvsd has no sync rings yet"))?;
                f(r, &m.cfg)?;
            }
            let services = self.effective(&m.cfg.services);
            let g = m.bump();
            let old = self.publish(sh, &m.cfg, g, &services);
            drop(m);
            wait::wait_generation(&sh.stats, g, SYNC_TIMEOUT);
            drop(old);
            Ok(())
        })?
    }

    /// `-L --daemon`: the daemons that run, as ipvsadm lists them.
    fn daemons(&self) -> Vec<view::DaemonView> {
        lock(&self.sync).as_ref().map(|r| r.views()).unwrap_or_default()
    }

    /// Begin a drain (`rvsadm --drain`, SIGTERM with a drain timeout):
    /// withdraw every route, keep serving. A second call keeps the first
    /// one's start and takes the shorter timeout.
    pub fn drain(&self, timeout: Duration) -> Drain {
        let d = {
            let mut g = lock(&self.drain);
            let d = match *g {
                Some(d) => Drain { since: d.since, timeout: d.timeout.min(timeout) },
                None => Drain { since: Instant::now(), timeout },
            };
            *g = Some(d);
            d
        };
        tracing::info!("drain: routes withdrawn; serving established connections for up to {} s", timeout.as_secs());
        let _ = self.with_shared(|sh| self.announce(&sh.snap.load()));
        d
    }

    /// The drain in progress, if any, and whether it is over: no
    /// established connection is left, or its time is up.
    pub fn drain_state(&self) -> Option<(Drain, bool, u64)> {
        let d = (*lock(&self.drain))?;
        let active: u64 = self
            .with_shared(|sh| {
                sh.snap.load().services.list.iter().flat_map(|s| &s.dests).map(|d| u64::from(d.active())).sum()
            })
            .unwrap_or(0);
        Some((d, active == 0 || d.since.elapsed() >= d.timeout, active))
    }

    /// The drain timeout SIGTERM uses now (`shutdown.drain_timeout`).
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(lock(&self.model).cfg.shutdown.drain_timeout))
    }

    /// What the data path runs: the configured services with the health
    /// verdicts laid over them; records the quorum state it leads to.
    fn effective(&self, services: &[ServiceConf]) -> Vec<ServiceConf> {
        let mut h = lock(&self.health);
        let e = overlay::apply(services, &h.verdicts, &h.quorum);
        for q in &e.changes {
            let what = match (q.up, q.sorry) {
                (false, true) => "lost its quorum; the sorry server takes new connections",
                (false, false) => "lost its quorum",
                (true, true) => "has its quorum back; the sorry server hands back",
                (true, false) => "has its quorum back",
            };
            let log = format!("health: service {} {what} (healthy weight {}, quorum {})", q.svc, q.weight, q.quorum);
            if q.up {
                tracing::info!("{log}");
            } else {
                tracing::warn!("{log}");
            }
        }
        h.quorum = e.quorum;
        e.services
    }

    /// The checker's new verdicts: publish a new snapshot if they change
    /// the table. The model is locked as for an rvsadm commit, so the
    /// two never interleave.
    pub fn health_changed(&self, verdicts: HashMap<DestId, bool>) {
        let _ = self.with_shared(|sh| {
            let t0 = Instant::now();
            let mut m = lock(&self.model);
            lock(&self.health).verdicts = verdicts;
            let services = self.effective(&m.cfg.services);
            let prev = sh.snap.load_full();
            if prev.services.list.iter().map(|s| &s.conf).eq(services.iter()) {
                return;
            }
            let g = m.bump();
            let old = self.publish(sh, &m.cfg, g, &services);
            drop(m);
            let w = wait::wait_generation(&sh.stats, g, SYNC_TIMEOUT);
            tracing::info!(
                "health: generation {g} published in {} µs, on all workers: {}",
                t0.elapsed().as_micros(),
                w.reached
            );
            drop(old);
        });
    }

    /// Swap in generation `g` of the table, built from `services` (the
    /// effective ones) over `cfg`'s L3 settings; returns the snapshot it
    /// replaced, for the caller to drop once the workers moved on. The
    /// caller holds the model lock.
    fn publish(&self, sh: &Shared, cfg: &Config, g: u64, services: &[ServiceConf]) -> Arc<Snapshot> {
        let prev = sh.snap.load_full();
        let mut snap = publish::build(g, cfg, services, self.ifaces.clone(), Some(&prev));
        snap.sync = lock(&self.sync).as_ref().map(|r| r.settings()).unwrap_or_default();
        *lock(&self.last_change) = SystemTime::now();
        let snap = Arc::new(snap);
        self.announce(&snap);
        sh.snap.swap(snap)
    }

    fn with_shared<R>(&self, f: impl FnOnce(&Arc<Shared>) -> R) -> Result<R, ReplyError> {
        let g = self.shared.read().unwrap_or_else(|e| e.into_inner());
        g.as_ref().map(f).ok_or_else(|| ReplyError::msg("rvsd is shutting down"))
    }

    /// Refuse further requests and wait for those in flight. After this
    /// Control holds no reference to the data path.
    pub fn shutdown(&self) {
        if let Some(a) = lock(&self.announcer).take() {
            if a.stop(WITHDRAW_TIMEOUT) {
                tracing::info!("announce: every route withdrawn");
            } else {
                tracing::warn!("announce: BIRD did not take the withdrawal within {} s", WITHDRAW_TIMEOUT.as_secs());
            }
        }
        if let Some(c) = lock(&self.checker).take() {
            c.stop();
        }
        if let Some(r) = lock(&self.sync).as_mut() {
            r.stop_all();
        }
        self.shared.write().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// rvsadm commands as one transaction.
    pub fn apply(&self, cmds: &[(usize, AdmCommand)], dry_run: bool) -> Result<ApplyReport, ReplyError> {
        self.with_shared(|sh| {
            let t0 = Instant::now();
            let m = lock(&self.model);
            let plan = m.plan_cmds(cmds)?;
            if dry_run {
                return Ok(report(&plan.cfg, m.generation, cmds.len(), true));
            }
            Ok(self.commit(sh, m, plan, t0, cmds.len()))
        })?
    }

    /// SIGHUP: re-read the file. On any error nothing changes.
    pub fn reload(&self) -> Result<ApplyReport, String> {
        let new = rvs_conf::load_file(&self.config_path).map_err(|e| e.to_string())?;
        self.with_shared(|sh| {
            let t0 = Instant::now();
            let m = lock(&self.model);
            let plan = m.plan_reload(new)?;
            Ok(self.commit(sh, m, plan, t0, 0))
        })
        .map_err(|e| e.message)?
    }

    fn commit(
        &self,
        sh: &Arc<Shared>,
        mut m: MutexGuard<'_, Model>,
        plan: Plan,
        t0: Instant,
        commands: usize,
    ) -> ApplyReport {
        let mut r = report(&plan.cfg, m.generation, commands, false);
        let mut old = None;
        if let Some(g) = m.commit(&plan) {
            let services = self.effective(&m.cfg.services);
            old = Some(self.publish(sh, &m.cfg, g, &services));
            if let Some(c) = lock(&self.checker).as_ref() {
                c.sync(schedule::jobs(&m.cfg.services));
            }
            r.generation = g;
            r.published = true;
        }
        drop(m);
        r.build_us = t0.elapsed().as_micros() as u64;
        if !plan.zero.is_empty() {
            self.zero(&sh.snap.load(), &plan.zero);
        }
        let w = wait::wait_generation(&sh.stats, r.generation, SYNC_TIMEOUT);
        r.synced = w.reached;
        r.workers_min_generation = w.min_generation;
        r.sync_us = w.waited.as_micros() as u64;
        // Every worker has moved on: this is the last reference (or, if a
        // worker is late, it drops its own when it catches up).
        drop(old);
        r
    }

    /// `-Z`: counters and rates of the picked services and their dests.
    fn zero(&self, snap: &Snapshot, keys: &[Option<ServiceKey>]) {
        let picked = |k: &ServiceKey| keys.iter().any(|z| z.is_none() || *z == Some(*k));
        for s in snap.services.list.iter().filter(|s| picked(&s.conf.key)) {
            s.rt.zero();
            for d in &s.dests {
                d.rt.zero();
            }
        }
        lock(&self.rates).est.zero(|k| match k {
            EstKey::Service(s) | EstKey::Dest(s, _, _) => picked(s),
        });
    }

    /// Main thread, every [`estimator::INTERVAL`]: one round of rates.
    pub fn estimate(&self) {
        let _ = self.with_shared(|sh| {
            let samples = views::samples(&sh.snap.load());
            let mut r = lock(&self.rates);
            let elapsed = r.last.elapsed();
            r.last = Instant::now();
            r.est.sample(elapsed, samples);
        });
    }

    /// Main thread: the latest DPDK port counters.
    pub fn set_ports(&self, ports: Vec<view::PortView>) {
        *lock(&self.ports) = ports;
    }

    /// What a Prometheus scrape shows ([`metrics::render`]).
    pub fn metrics_sample(&self) -> Result<metrics::Sample, ReplyError> {
        self.with_shared(|sh| {
            let size = self.size(sh);
            let conn = lock(&self.model).cfg.conn.clone();
            let mut table = views::table(&sh.snap.load(), &lock(&self.rates).est, size);
            self.add_health(&mut table);
            let announced = lock(&self.announcer).as_ref().map(|a| announced(&table, &a.announced()));
            metrics::Sample {
                table,
                workers: self.workers(sh),
                capacity: (u64::from(conn.table_size), conn.ipv6_capacity() as u64),
                last_change: *lock(&self.last_change),
                announced,
                draining: lock(&self.drain).is_some(),
            }
        })
    }

    /// Health verdicts, quorum state and removed dests, for a listing.
    fn add_health(&self, t: &mut view::TableView) {
        let (status, now) = match lock(&self.checker).as_ref() {
            Some(c) => c.status(),
            None => (Vec::new(), 0),
        };
        let services = lock(&self.model).cfg.services.clone();
        let quorum = lock(&self.health).quorum.clone();
        crate::ctl::health_view::decorate(t, &services, &status, now, &quorum);
    }

    fn size(&self, sh: &Shared) -> u32 {
        let per = lock(&self.model).cfg.conn.table_size;
        per.saturating_mul(sh.stats.len() as u32)
    }

    fn conns(&self, sh: &Shared, max: usize) -> ConnsView {
        let max = max.min(MAX_CONNS);
        let mut v = ConnsView::default();
        for (w, d) in sh.dump.collect(max, DUMP_TIMEOUT).into_iter().enumerate() {
            let Some(d) = d else {
                v.missing_workers.push(w);
                continue;
            };
            v.total += d.total;
            let room = max - v.conns.len();
            v.conns.extend(d.conns().take(room).map(|(c, now)| views::conn(c, now)));
            let room = max - v.conns.len();
            v.conns.extend(d.conns6().take(room).map(|(c, now)| views::conn(c, now)));
        }
        v
    }

    fn workers(&self, sh: &Shared) -> view::WorkersView {
        view::WorkersView {
            generation: sh.snap.load().generation,
            workers: sh.stats.iter().enumerate().map(|(i, s)| views::worker(i, s)).collect(),
            mempool: view::MempoolView {
                free: sh.pool.avail() as u64,
                baseline: self.baseline as u64,
                size: sh.pool.size() as u64,
            },
            ports: lock(&self.ports).clone(),
        }
    }
}

/// Every VIP of the table (fwmark services': their `match` VIPs), and
/// whether it is in `on`.
fn announced(t: &view::TableView, on: &std::collections::BTreeSet<std::net::IpAddr>) -> Vec<(std::net::IpAddr, bool)> {
    let mut all = std::collections::BTreeSet::new();
    for s in &t.services {
        match s.conf.key {
            ServiceKey::Inet { addr, .. } => {
                all.insert(addr);
            }
            ServiceKey::Fwmark(_) => all.extend(s.conf.matches.iter().map(|m| m.vip)),
        }
    }
    all.into_iter().map(|v| (v, on.contains(&v))).collect()
}

/// A report of the table a plan leads to.
fn report(cfg: &Config, generation: u64, commands: usize, dry_run: bool) -> ApplyReport {
    ApplyReport {
        generation,
        dry_run,
        commands,
        services: cfg.services.len(),
        dests: cfg.services.iter().map(|s| s.dests.len()).sum(),
        ..ApplyReport::default()
    }
}

impl Handler for Control {
    fn handle(&self, req: Request) -> Result<Reply, ReplyError> {
        match req {
            Request::Apply { cmds, dry_run } => self.apply(&cmds, dry_run).map(Reply::Applied),
            Request::Restore { text, dry_run } => {
                let cmds = adm::parse_restore(&text)?;
                let r = self.apply(&cmds, dry_run)?;
                if r.published {
                    tracing::info!(
                        "restore: {} commands, generation {} ({} services, {} dests), built in {} µs, on all workers {} µs later",
                        r.commands, r.generation, r.services, r.dests, r.build_us, r.sync_us
                    );
                }
                Ok(Reply::Applied(r))
            }
            Request::SetTimeouts(t) => self.apply(&[(0, AdmCommand::SetTimeouts(t))], false).map(Reply::Applied),
            Request::Zero(k) => self.apply(&[(0, AdmCommand::Zero(k))], false).map(Reply::Applied),
            Request::Get => self.with_shared(|sh| {
                let size = self.size(sh);
                let mut t = views::table(&sh.snap.load(), &lock(&self.rates).est, size);
                self.add_health(&mut t);
                Reply::Table(t)
            }),
            Request::Save => self.with_shared(|sh| {
                let size = self.size(sh);
                Reply::Table(view::TableView::from_model(size, &lock(&self.model).cfg.services))
            }),
            Request::Conns { max } => self.with_shared(|sh| Reply::Conns(self.conns(sh, max))),
            Request::Timeouts => Ok(Reply::Timeouts(adm::apply::timeouts_of(&lock(&self.model).cfg.conn))),
            Request::Workers => self.with_shared(|sh| Reply::Workers(self.workers(sh))),
            Request::Daemons => Ok(Reply::Daemons(self.daemons())),
            Request::StartDaemon(c) => self.start_daemon(c.state, &c).map(|()| Reply::Daemons(self.daemons())),
            Request::StopDaemon(r) => self.stop_daemon(r).map(|()| Reply::Daemons(self.daemons())),
            Request::Drain { timeout } => {
                let t = timeout.map_or_else(|| self.drain_timeout(), |s| Duration::from_secs(u64::from(s)));
                self.drain(if t.is_zero() { DEFAULT_DRAIN } else { t });
                let (d, _, established) = self.drain_state().expect("a drain was just started");
                Ok(Reply::Draining(DrainReport {
                    remaining: d.timeout.saturating_sub(d.since.elapsed()).as_secs(),
                    established,
                    announcing: lock(&self.announcer).is_some(),
                }))
            }
        }
    }
}

impl From<String> for ReplyError {
    fn from(m: String) -> Self {
        ReplyError::msg(m)
    }
}

/// Re-exported for the daemon's timer.
pub const ESTIMATE_EVERY: Duration = estimator::INTERVAL;
