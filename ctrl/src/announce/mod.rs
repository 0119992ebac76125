//! Route announcement: the VIPs this director can serve, told to BIRD.
//!
//! A VIP is announced while rvsd runs, is not draining, and at least one
//! service on it has a dest that takes new connections in the table the
//! workers run (health verdicts included: a service whose dests are all
//! down, or quiesced by the operator, withdraws its VIP — unless another
//! service on the same VIP still serves). fwmark services announce the
//! VIPs of their `match` rules.
//!
//! Control computes the set at every publication and hands it to the
//! announcer's thread, which rewrites BIRD's include file and asks BIRD to
//! `configure` only when the set changed, retrying every second while
//! BIRD is unreachable or refuses; nothing on the publishing path waits
//! for BIRD. At shutdown the set is emptied and applied before the data
//! path stops, so the routers move the traffic before packets are lost.
//!
//! When BIRD's BGP sessions ride rvsd's exception path (the usual set-up:
//! the DIP is the session's address), a director whose rvsd dies loses
//! its sessions with it and the routers withdraw its routes after the BGP
//! hold time (or BFD's detection time): no separate liveness link is
//! needed.

pub mod bird;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use rvs_conf::{AnnounceConf, ServiceConf, ServiceKey};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::{info, warn};

/// How long one exchange with BIRD may take.
const BIRD_TIMEOUT: Duration = Duration::from_secs(5);
/// Retry period while BIRD is unreachable or refuses.
const RETRY: Duration = Duration::from_secs(1);

/// The VIPs that `services` (the effective table) can serve.
pub fn servable(services: &[ServiceConf]) -> BTreeSet<IpAddr> {
    let mut v = BTreeSet::new();
    for s in services.iter().filter(|s| s.dests.iter().any(|d| d.weight > 0)) {
        match s.key {
            ServiceKey::Inet { addr, .. } => {
                v.insert(addr);
            }
            ServiceKey::Fwmark(_) => v.extend(s.matches.iter().map(|m| m.vip)),
        }
    }
    v
}

enum Msg {
    Set(BTreeSet<IpAddr>),
    /// Withdraw everything, answer whether BIRD took it, and end.
    Stop(Sender<bool>),
}

/// The announcer's thread; see the module documentation.
pub struct Announcer {
    tx: Sender<Msg>,
    join: Option<JoinHandle<()>>,
    /// What BIRD last took (for metrics).
    applied: Arc<Mutex<BTreeSet<IpAddr>>>,
}

impl Announcer {
    pub fn start(conf: AnnounceConf) -> std::io::Result<Announcer> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let applied = Arc::new(Mutex::new(BTreeSet::new()));
        let shown = applied.clone();
        let join = std::thread::Builder::new().name("announce".into()).spawn(move || run(&conf, &rx, &shown))?;
        Ok(Announcer { tx, join: Some(join), applied })
    }

    /// The VIPs BIRD announces now, as far as rvsd knows.
    pub fn announced(&self) -> BTreeSet<IpAddr> {
        self.applied.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The set to announce from now on (applied in the background).
    pub fn set(&self, vips: BTreeSet<IpAddr>) {
        let _ = self.tx.send(Msg::Set(vips));
    }

    /// Withdraw every route, waiting up to `timeout` for BIRD to take it;
    /// true if it did.
    pub fn stop(mut self, timeout: Duration) -> bool {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let _ = self.tx.send(Msg::Stop(tx));
        let done = rx.recv_timeout(timeout).unwrap_or(false);
        if let Some(j) = self.join.take() {
            if done {
                let _ = j.join();
            }
        }
        done
    }
}

struct State<'a> {
    conf: &'a AnnounceConf,
    shown: &'a Mutex<BTreeSet<IpAddr>>,
    /// What BIRD was last told successfully (`None`: nothing yet).
    applied: Option<BTreeSet<IpAddr>>,
    last_error: Option<String>,
}

impl State<'_> {
    fn apply(&mut self, want: &BTreeSet<IpAddr>) -> bool {
        if self.applied.as_ref() == Some(want) {
            return true;
        }
        let r = bird::write_include(&self.conf.bird_include, &bird::include_text(want))
            .map_err(|e| format!("writing {}: {e}", self.conf.bird_include.display()))
            .and_then(|_| bird::configure(&self.conf.bird_socket, BIRD_TIMEOUT));
        match r {
            Ok(_) => {
                let before = self.applied.take().unwrap_or_default();
                for a in want.difference(&before) {
                    info!("announce: {a} announced");
                }
                for a in before.difference(want) {
                    info!("announce: {a} withdrawn");
                }
                if want.is_empty() && before.is_empty() {
                    info!("announce: BIRD reached, no VIP to announce");
                }
                self.applied = Some(want.clone());
                *self.shown.lock().unwrap_or_else(|e| e.into_inner()) = want.clone();
                self.last_error = None;
                true
            }
            Err(e) => {
                if self.last_error.as_ref() != Some(&e) {
                    warn!("announce: {e} (retrying every {} s)", RETRY.as_secs());
                    self.last_error = Some(e);
                }
                false
            }
        }
    }
}

fn run(conf: &AnnounceConf, rx: &Receiver<Msg>, shown: &Mutex<BTreeSet<IpAddr>>) {
    let mut st = State { conf, shown, applied: None, last_error: None };
    let mut want: Option<BTreeSet<IpAddr>> = None;
    let mut pending = false;
    loop {
        let first =
            if pending { rx.recv_timeout(RETRY) } else { rx.recv().map_err(|_| RecvTimeoutError::Disconnected) };
        let mut msgs = match first {
            Ok(m) => vec![m],
            Err(RecvTimeoutError::Timeout) => Vec::new(),
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // Only the newest set matters.
        msgs.extend(rx.try_iter());
        for m in msgs {
            match m {
                Msg::Set(v) => want = Some(v),
                Msg::Stop(done) => {
                    let _ = done.send(st.apply(&BTreeSet::new()));
                    return;
                }
            }
        }
        if let Some(w) = &want {
            pending = !st.apply(w);
        }
    }
}
