//! The sync daemons that run, and what starting or stopping one means:
//! IPVS's rules (one master and one backup at most, each on its own;
//! "Daemon has already run", "No daemon is running"), rvs's interfaces as
//! the multicast interfaces, and the data path's part (the master's
//! `note` and the backup's group) derived from what runs.

use super::{Daemon, Rings, Timeouts};
use crate::adm::view::DaemonView;
use crate::adm::AdmError;
use rvs_conf::{Config, SyncConf, SyncRole};
use rvs_dataplane::snapshot::SyncSettings;
use std::sync::atomic::{AtomicU64, Ordering};

/// The workers' rings and the daemons on them.
pub struct Running {
    rings: Rings,
    timeouts: Timeouts,
    master: Option<Daemon>,
    backup: Option<Daemon>,
}

impl Running {
    pub fn new(rings: Rings, timeouts: Timeouts) -> Self {
        Running { rings, timeouts, master: None, backup: None }
    }

    fn slot(&mut self, role: SyncRole) -> &mut Option<Daemon> {
        match role {
            SyncRole::Backup => &mut self.backup,
            _ => &mut self.master,
        }
    }

    /// Start `role` (master or backup) with `conf`, over `cfg`'s
    /// interfaces. Refused as IPVS refuses: a second daemon of a role
    /// (EEXIST), an interface rvsd does not have (ENODEV); and what rvs
    /// cannot do (no kernel interface or IPv4 address to bind to) as an
    /// invalid operation that says why.
    pub fn start(&mut self, role: SyncRole, conf: &SyncConf, cfg: &Config) -> Result<(), AdmError> {
        if self.slot(role).is_some() {
            return Err(AdmError::DaemonRunning);
        }
        let Some(iface) = cfg.interfaces.iter().find(|i| i.name == conf.interface) else {
            return Err(AdmError::NoDevice(conf.interface.clone()));
        };
        let conf = SyncConf { state: role, ..conf.clone() };
        conf.check(cfg).map_err(AdmError::Invalid)?;
        let local = conf.local(cfg).expect("checked: the interface has an IPv4 address");
        let d = Daemon::start(role, &conf, local, iface.mtu, &self.rings, self.timeouts)
            .map_err(|e| AdmError::Invalid(format!("sync {role:?} daemon on {}: {e}", conf.interface)))?;
        *self.slot(role) = Some(d);
        Ok(())
    }

    /// Stop `role`'s daemon ("No daemon is running" if there is none).
    pub fn stop(&mut self, role: SyncRole) -> Result<(), AdmError> {
        let d = self.slot(role).take().ok_or(AdmError::NoDaemon)?;
        d.stop();
        Ok(())
    }

    pub fn stop_all(&mut self) {
        for d in [self.master.take(), self.backup.take()].into_iter().flatten() {
            d.stop();
        }
    }

    /// What the workers need to know: note connections while a master
    /// runs; pass a backup's multicast group up to the kernel.
    pub fn settings(&self) -> SyncSettings {
        let mut s = SyncSettings::default();
        if let Some(m) = &self.master {
            s.master = true;
            (s.threshold, s.period) = (m.conf.threshold, m.conf.period);
        }
        if let Some(b) = self.backup.as_ref().filter(|b| b.conf.peers.is_empty()) {
            s.group = Some((u32::from(b.conf.group), b.conf.port));
        }
        s
    }

    /// `-L --daemon`: master first, then backup, as IPVS reports them.
    pub fn views(&self) -> Vec<DaemonView> {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        [("master", &self.master), ("backup", &self.backup)]
            .into_iter()
            .filter_map(|(role, d)| {
                let d = d.as_ref()?;
                let c = &d.counters;
                Some(DaemonView {
                    state: role.to_string(),
                    interface: d.conf.interface.clone(),
                    syncid: d.conf.syncid,
                    maxlen: Some(d.maxlen),
                    group: d.conf.group,
                    port: d.conf.port,
                    ttl: d.conf.ttl,
                    peers: d.conf.peers.clone(),
                    msgs_sent: get(&c.msgs_sent),
                    conns_sent: get(&c.conns_sent),
                    send_errors: get(&c.send_errors),
                    msgs_received: get(&c.msgs_received),
                    conns_received: get(&c.conns_received),
                    bad_messages: get(&c.bad_messages),
                    other_syncid: get(&c.other_syncid),
                    conns_skipped: get(&c.conns_skipped),
                })
            })
            .collect()
    }
}
