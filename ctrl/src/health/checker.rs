//! The checker thread and its probe threads.
//!
//! One thread owns the [`Schedule`]: it hands due checks to a fixed pool
//! of probe threads over a channel, takes their results back, logs every
//! flip with its reason, and calls `on_change` with the new verdicts
//! whenever they differ from the last ones it reported (after a flip, or
//! after a [`Checker::sync`] that reset a changed check). The workers
//! never see any of this: what they see is the snapshot Control builds
//! from the verdicts.

use super::overlay::DestId;
use super::schedule::{Job, Schedule, Status};
use super::state::Outcome;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Probe threads: checks run at once, each blocking up to its timeout.
pub const PROBE_THREADS: usize = 16;
/// Longest the checker sleeps without looking at its schedule.
const TICK: Duration = Duration::from_millis(500);

enum Msg {
    Sync(Vec<Job>),
    Done(Box<(Job, Outcome)>),
    Stop,
}

/// Called with every new set of verdicts.
pub type OnChange = Box<dyn Fn(HashMap<DestId, bool>) + Send>;

/// See the module documentation.
pub struct Checker {
    tx: Sender<Msg>,
    status: Arc<Mutex<Vec<Status>>>,
    origin: Instant,
    thread: Option<JoinHandle<()>>,
}

impl Checker {
    pub fn start(on_change: OnChange) -> std::io::Result<Checker> {
        let (tx, rx) = crossbeam_channel::unbounded::<Msg>();
        let (job_tx, job_rx) = crossbeam_channel::unbounded::<Job>();
        for i in 0..PROBE_THREADS {
            let (job_rx, tx) = (job_rx.clone(), tx.clone());
            std::thread::Builder::new().name(format!("rvs-probe{i}")).spawn(move || {
                while let Ok(job) = job_rx.recv() {
                    let o = super::probe::run(&job.check, &job.target);
                    if tx.send(Msg::Done(Box::new((job, o)))).is_err() {
                        break;
                    }
                }
            })?;
        }
        let status = Arc::new(Mutex::new(Vec::new()));
        let origin = Instant::now();
        let st = status.clone();
        let thread = std::thread::Builder::new()
            .name("rvs-health".into())
            .spawn(move || run(rx, job_tx, st, origin, on_change))?;
        Ok(Checker { tx, status, origin, thread: Some(thread) })
    }

    /// The checks the configuration asks for now.
    pub fn sync(&self, jobs: Vec<Job>) {
        let _ = self.tx.send(Msg::Sync(jobs));
    }

    /// Every checked dest's state, and the checker clock to read its
    /// `since_ms` against.
    pub fn status(&self) -> (Vec<Status>, u64) {
        let s = self.status.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (s, self.origin.elapsed().as_millis() as u64)
    }

    /// Stop checking. Probes still running end at their timeout and their
    /// results go nowhere.
    pub fn stop(mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(rx: Receiver<Msg>, jobs: Sender<Job>, status: Arc<Mutex<Vec<Status>>>, origin: Instant, on_change: OnChange) {
    let now = || origin.elapsed().as_millis() as u64;
    let mut sched = Schedule::default();
    let mut reported: HashMap<DestId, bool> = HashMap::new();
    loop {
        let t = now();
        for j in sched.due(t) {
            let _ = jobs.send(j);
        }
        let wait = sched.next_due().map_or(TICK, |n| Duration::from_millis(n.saturating_sub(t)).min(TICK));
        match rx.recv_timeout(wait) {
            Ok(Msg::Sync(j)) => {
                let (n, kept) = (j.len(), sched.sync(j, now()));
                tracing::debug!("health: {n} checked dests, {kept} keep their state");
            }
            Ok(Msg::Done(done)) => {
                let (job, o) = *done;
                if let Some(c) = sched.complete(&job, &o, now()) {
                    let (id, kind) = (job.id, job.check.kind.name());
                    let dest = super::dest_name(&id);
                    match c.reason {
                        None => tracing::info!(
                            "health: {} real server {dest} is up after {} good {kind} checks",
                            id.svc,
                            c.run
                        ),
                        Some(r) => {
                            tracing::warn!(
                                "health: {} real server {dest} is down after {} failed {kind} checks: {r}",
                                id.svc,
                                c.run
                            )
                        }
                    }
                }
            }
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        *status.lock().unwrap_or_else(|e| e.into_inner()) = sched.status();
        let v = sched.verdicts();
        if v != reported {
            reported = v.clone();
            on_change(v);
        }
    }
}
