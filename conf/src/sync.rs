//! `sync:`: the connection synchronisation daemon, as IPVS has it.
//!
//! A master sends the connections its workers make to its backups in the
//! kernel's IPVS sync format (version 1, UDP port 8848, multicast group
//! 224.0.0.81, or unicast `peers`); a backup installs what it receives so
//! that flows survive a failover; `both` does the two, which is what
//! directors behind ECMP that back each other up run. The sockets are
//! ordinary kernel sockets on the interface's kernel interface (the
//! exception path), so the interface needs `kernel:`.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// Which daemons run (ipvsadm `--start-daemon master|backup`; `both`
/// is the two at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncRole {
    Master,
    Backup,
    Both,
}

impl SyncRole {
    pub fn master(self) -> bool {
        matches!(self, SyncRole::Master | SyncRole::Both)
    }
    pub fn backup(self) -> bool {
        matches!(self, SyncRole::Backup | SyncRole::Both)
    }
}

/// `sync:` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConf {
    pub state: SyncRole,
    /// The interface (by name) whose kernel interface and first IPv4
    /// address the daemon's sockets use (`--mcast-interface`).
    pub interface: String,
    /// `--syncid`: a master stamps it on its messages; a backup takes only
    /// messages with it (0: any).
    #[serde(default)]
    pub syncid: u8,
    /// `--mcast-group`.
    #[serde(default = "default_group")]
    pub group: Ipv4Addr,
    /// `--mcast-port`.
    #[serde(default = "default_port")]
    pub port: u16,
    /// `--mcast-ttl`.
    #[serde(default = "default_ttl")]
    pub ttl: u8,
    /// `--sync-maxlen`: largest message payload; unset: the interface MTU
    /// less the IP and UDP headers, as the kernel does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxlen: Option<u16>,
    /// Unicast destinations (rvs extension): a master sends to each of
    /// these instead of the group, and a backup does not join the group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<Ipv4Addr>,
    /// IPVS's `sync_threshold`: a connection is sent at its
    /// `threshold`-th input packet and every `period` packets after.
    #[serde(default = "default_threshold")]
    pub threshold: u32,
    #[serde(default = "default_period")]
    pub period: u32,
}

fn default_group() -> Ipv4Addr {
    Ipv4Addr::new(224, 0, 0, 81)
}
fn default_port() -> u16 {
    8848
}
fn default_ttl() -> u8 {
    1
}
fn default_threshold() -> u32 {
    3
}
fn default_period() -> u32 {
    50
}

impl SyncConf {
    /// A daemon on `interface` with IPVS's defaults (what `ipvsadm
    /// --start-daemon` sends when no option is given).
    pub fn new(state: SyncRole, interface: impl Into<String>) -> Self {
        SyncConf {
            state,
            interface: interface.into(),
            syncid: 0,
            group: default_group(),
            port: default_port(),
            ttl: default_ttl(),
            maxlen: None,
            peers: Vec::new(),
            threshold: default_threshold(),
            period: default_period(),
        }
    }

    /// Checks that need the rest of the file: the interface exists, has a
    /// kernel interface and an IPv4 address.
    pub fn check(&self, cfg: &crate::Config) -> Result<(), String> {
        let Some(i) = cfg.interfaces.iter().find(|i| i.name == self.interface) else {
            return Err(format!("sync.interface: unknown interface '{}'", self.interface));
        };
        if i.kernel.is_none() {
            return Err(format!(
                "sync.interface '{}' has no kernel interface (add `kernel: {{}}`): the sync daemon's sockets need one",
                i.name
            ));
        }
        if self.local(cfg).is_none() {
            return Err(format!("sync.interface '{}' has no IPv4 address", i.name));
        }
        if self.peers.is_empty() && !self.group.is_multicast() {
            return Err(format!("sync.group {} is not a multicast address (use peers: for unicast)", self.group));
        }
        if self.period > 0 && self.threshold >= self.period {
            return Err(format!(
                "sync.threshold {} must be below sync.period {} (as IPVS's sync_threshold)",
                self.threshold, self.period
            ));
        }
        if self.port == 0 || self.ttl == 0 {
            return Err("sync.port and sync.ttl must be non-zero".into());
        }
        Ok(())
    }

    /// The daemon's address: the interface's first IPv4 address.
    pub fn local(&self, cfg: &crate::Config) -> Option<Ipv4Addr> {
        let i = cfg.interfaces.iter().find(|i| i.name == self.interface)?;
        i.addresses.iter().find_map(|a| match a.addr() {
            IpAddr::V4(v) => Some(v),
            IpAddr::V6(_) => None,
        })
    }
}
