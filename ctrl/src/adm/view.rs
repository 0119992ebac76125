//! What rvsd reports for a listing: the configuration plus runtime
//! counters, in one serializable snapshot.
//!
//! rvsd fills these in (summing the per-worker counters) and sends them to
//! rvsadm, which renders them with [`crate::adm::format`]; `--json` prints
//! them as they are.

use rvs_conf::{DestConf, Proto, ServiceConf};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The whole table, as `-L` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableView {
    /// Connection table size, printed in the `(size=N)` header.
    pub size: u32,
    pub services: Vec<ServiceView>,
}

/// One service with its counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceView {
    /// In the YAML file's spelling on the wire (see [`crate::adm::wire`]).
    #[serde(with = "crate::adm::wire::service")]
    pub conf: ServiceConf,
    pub stats: Stats,
    pub rate: Rates,
    pub dests: Vec<DestView>,
    /// Whether the service has its quorum; only for services that are
    /// health checked or have a sorry server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_up: Option<bool>,
    /// Dests a failed check took out of the table
    /// (`inhibit_on_failure: false`); `-L` does not show them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<DestView>,
}

/// One real server with its counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestView {
    /// The real server; `port` is already resolved (never the "0 = service
    /// port" shorthand of the YAML file, except for fwmark services where
    /// 0 is a real value).
    pub conf: DestConf,
    /// `ActiveConn`: connections in ESTABLISHED state.
    pub active: u32,
    /// `InActConn`: every other connection.
    pub inactive: u32,
    /// `PersistConn`: persistence templates pointing at this server.
    pub persist: u32,
    pub stats: Stats,
    pub rate: Rates,
    /// Its health check's verdict, when it is checked or is the sorry
    /// server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthView>,
}

/// A real server's health (`--health`, `--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthView {
    /// `up`, `down`, or `sorry` for a sorry server (not checked).
    pub state: String,
    /// The kind of check (`http`, `tcp` ...).
    pub check: String,
    /// The last failure, kept after recovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
    /// Seconds in this state.
    pub since_secs: u64,
    pub checks: u64,
    pub failures: u64,
    pub transitions: u64,
    /// Results in a row that disagree with `state` (towards `fall` or `rise`).
    pub pending: u32,
}

impl HealthView {
    /// The `--health` column: `up`, `down:timeout`, `sorry`.
    pub fn column(&self) -> String {
        match (self.state.as_str(), &self.last_failure) {
            ("down", Some(f)) => format!("down:{}", f.replace(' ', "_")),
            (s, _) => s.to_string(),
        }
    }
}

/// Totals since start or the last `-Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
}

/// Rate estimates, per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rates {
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// One connection entry, as `-c` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnView {
    /// `None` for a persistence template, which IPVS prints as `IP`.
    pub proto: Option<Proto>,
    /// Seconds until the entry expires.
    pub expire_secs: u32,
    /// The IPVS state name: `ESTABLISHED`, `SYN_RECV`, `FIN_WAIT`,
    /// `TIME_WAIT`, `CLOSE`, `CLOSE_WAIT`, `LAST_ACK`, `LISTEN`,
    /// `SYNACK`, `UDP`, `NONE` (templates) ...
    pub state: String,
    pub caddr: IpAddr,
    pub cport: u16,
    pub vaddr: IpAddr,
    pub vport: u16,
    pub daddr: IpAddr,
    pub dport: u16,
}

/// Connection timeouts in seconds (`--timeout`, `--set`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcpfin: u32,
    pub udp: u32,
}

impl TableView {
    /// A view of a bare model: every counter zero, dest ports resolved.
    /// Handy for `--dry-run` output and tests.
    pub fn from_model(size: u32, services: &[ServiceConf]) -> Self {
        TableView { size, services: services.iter().map(ServiceView::from_conf).collect() }
    }
}

impl ServiceView {
    /// A view of one service with zero counters, dest ports resolved.
    pub fn from_conf(conf: &ServiceConf) -> Self {
        ServiceView {
            dests: conf
                .dests
                .iter()
                .map(|d| {
                    let mut d2 = d.clone();
                    d2.port = conf.dest_port(d);
                    DestView::new(d2)
                })
                .collect(),
            conf: conf.clone(),
            stats: Stats::default(),
            rate: Rates::default(),
            quorum_up: None,
            removed: Vec::new(),
        }
    }
}

impl DestView {
    /// A real server with zero counters.
    pub fn new(conf: DestConf) -> Self {
        DestView {
            conf,
            active: 0,
            inactive: 0,
            persist: 0,
            stats: Stats::default(),
            rate: Rates::default(),
            health: None,
        }
    }
}

/// One sync daemon (`-L --daemon`), with what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonView {
    /// `master` or `backup`.
    pub state: String,
    pub interface: String,
    pub syncid: u8,
    pub maxlen: Option<u16>,
    pub group: std::net::Ipv4Addr,
    pub port: u16,
    pub ttl: u8,
    pub peers: Vec<std::net::Ipv4Addr>,
    pub msgs_sent: u64,
    pub conns_sent: u64,
    pub send_errors: u64,
    pub msgs_received: u64,
    pub conns_received: u64,
    pub bad_messages: u64,
    pub other_syncid: u64,
    pub conns_skipped: u64,
}

/// `--workers` (rvs extension): what each worker lcore did, so an
/// operator can see where packets went (and why some were dropped)
/// without stopping the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WorkersView {
    /// The generation Control published last; a worker still running an
    /// older one has not picked up the latest change yet.
    pub generation: u64,
    pub workers: Vec<WorkerView>,
    pub mempool: MempoolView,
    /// DPDK port counters, as last sampled by the main thread.
    pub ports: Vec<PortView>,
}

/// One worker's counters (since start; `-Z` does not touch them).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WorkerView {
    pub id: usize,
    /// Configuration generation this worker runs.
    pub generation: u64,
    pub rx_pkts: u64,
    pub rx_bytes: u64,
    pub tx_pkts: u64,
    pub tx_bytes: u64,
    pub redirect_in: u64,
    pub redirect_out: u64,
    pub arp_replies: u64,
    pub arp_requests: u64,
    /// ARP replies received and consumed by learning.
    pub arp_learned: u64,
    pub icmp_echo: u64,
    /// ICMP errors originated (time exceeded, frag-needed) and those the
    /// rate limit suppressed.
    pub icmp_err_sent: u64,
    pub icmp_err_suppressed: u64,
    /// Fragments sent for packets over the egress MTU without DF.
    pub frags_out: u64,
    /// Exception path: packets passed up to the kernel interfaces, and
    /// packets the kernel sent out through the ports.
    #[serde(default)]
    pub kernel_up: u64,
    #[serde(default)]
    pub kernel_down: u64,
    /// Entries in this worker's connection table now.
    pub conns: u64,
    pub conns_created: u64,
    pub conns_expired: u64,
    pub polls: u64,
    pub idle_polls: u64,
    pub busy_cycles: u64,
    /// Connection sync (`sync:`): entries queued for the daemon and those
    /// a full ring lost (master); received entries installed, refused (no
    /// such service or real server, FULLNAT, table full), and synced
    /// entries promoted by their first packet here (backup).
    #[serde(default)]
    pub sync_queued: u64,
    #[serde(default)]
    pub sync_lost: u64,
    #[serde(default)]
    pub sync_installed: u64,
    #[serde(default)]
    pub sync_refused: u64,
    #[serde(default)]
    pub sync_promoted: u64,
    /// Every drop counter by reason name (zeros included).
    pub drops: std::collections::BTreeMap<String, u64>,
}

/// Packet buffers: free now against the free count at boot. After
/// traffic stops, `free` returns to `baseline` unless mbufs leak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MempoolView {
    pub free: u64,
    pub baseline: u64,
    pub size: u64,
}

/// One DPDK port's counters (`rte_eth_stats`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PortView {
    pub id: u16,
    pub name: String,
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
    /// Link as rvsd's link watch last saw it (a port whose link is down
    /// is not polled), and how many times it changed.
    #[serde(default = "link_up_default")]
    pub link_up: bool,
    #[serde(default)]
    pub link_changes: u64,
}

fn link_up_default() -> bool {
    true
}
