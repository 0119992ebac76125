//! What an rvsadm command line means, as data.
//!
//! [`AdmCommand`] is the message rvsadm sends to rvsd (as JSON), so every
//! value in it is already resolved the way ipvsadm resolves it before it
//! calls the kernel: defaults filled in (scheduler `wlc`, weight 1,
//! gatewaying), the real-server port copied from the service when not
//! given, the persistence netmask in the service's address family. The
//! daemon then needs no knowledge of ipvsadm's defaults.

use crate::adm::view::Timeouts;
use rvs_conf::{DestConf, FwmarkMatch, ProxyProtocol, SchedFlags, SchedKind, ServiceKey};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// One ipvsadm command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AdmCommand {
    /// `-A`: add a virtual service.
    AddService(ServiceOpts),
    /// `-E`: edit a virtual service (IPVS replaces every option, see
    /// [`crate::adm::apply::apply`]).
    EditService(ServiceOpts),
    /// `-D`: delete a virtual service and its real servers.
    DelService(ServiceKey),
    /// `-C`: clear the whole table.
    Clear,
    /// `-a`: add a real server.
    AddDest(DestOpts),
    /// `-e`: edit a real server.
    EditDest(DestOpts),
    /// `-d`: delete a real server.
    DelDest(DestRef),
    /// `-Z [service]`: zero the counters of one or all services.
    Zero(Option<ServiceKey>),
    /// `--set tcp tcpfin udp`: connection timeouts (0 = leave unchanged).
    SetTimeouts(Timeouts),
    /// `-L`/`-l`: list services, connections, timeouts or daemons.
    List(ListOpts),
    /// `-S`: print the table as `-R` input.
    Save(SaveOpts),
    /// `-R`: read commands from stdin and apply them as one transaction.
    Restore(RestoreOpts),
    /// `--start-daemon master|backup` with its daemon options (the
    /// interface is one of rvsd's, by name).
    StartDaemon(rvs_conf::SyncConf),
    /// `--stop-daemon master|backup`.
    StopDaemon(rvs_conf::SyncRole),
    /// `-h`.
    Help,
    /// `-v`.
    Version,
}

impl AdmCommand {
    /// ipvsadm's name of the command (`cmdnames[]`), used in messages.
    pub fn name(&self) -> &'static str {
        match self {
            AdmCommand::AddService(_) => "add-service",
            AdmCommand::EditService(_) => "edit-service",
            AdmCommand::DelService(_) => "delete-service",
            AdmCommand::Clear => "flush",
            AdmCommand::AddDest(_) => "add-server",
            AdmCommand::EditDest(_) => "edit-server",
            AdmCommand::DelDest(_) => "delete-server",
            AdmCommand::Zero(_) => "zero",
            AdmCommand::SetTimeouts(_) => "set",
            AdmCommand::List(_) => "list",
            AdmCommand::Save(_) => "save",
            AdmCommand::Restore(_) => "restore",
            AdmCommand::StartDaemon(_) => "start-daemon",
            AdmCommand::StopDaemon(_) => "stop-daemon",
            AdmCommand::Help => "help",
            AdmCommand::Version => "version",
        }
    }

    /// Whether the command changes daemon state (and so may appear in a
    /// `-R` file). `-Z` and `--set` count: they do not touch the service
    /// model but ipvsadm -R accepts them.
    pub fn is_edit(&self) -> bool {
        matches!(
            self,
            AdmCommand::AddService(_)
                | AdmCommand::EditService(_)
                | AdmCommand::DelService(_)
                | AdmCommand::Clear
                | AdmCommand::AddDest(_)
                | AdmCommand::EditDest(_)
                | AdmCommand::DelDest(_)
                | AdmCommand::Zero(_)
                | AdmCommand::SetTimeouts(_)
        )
    }
}

/// `-A`/`-E` options, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceOpts {
    pub key: ServiceKey,
    /// `-s`; ipvsadm's default is `wlc`.
    pub scheduler: SchedKind,
    /// `-b`.
    pub sched_flags: SchedFlags,
    /// `-p [timeout]`; a bare `-p` means 360 s (libipvs.h's IPVS_SVC_PERSISTENT_TIMEOUT, 6*60).
    pub persistent: Option<u32>,
    /// `-M`: an IPv4 mask for IPv4 services, an IPv6 prefix mask
    /// (`ffff:ffff::` for /32) for IPv6 services and `-f ... -6`. The
    /// default is the full mask of the family. For fwmark services, which
    /// have no address in their key, this is also where `-6` is recorded
    /// (the model has no family field for them).
    pub netmask: IpAddr,
    /// `--laddr` (rvs extension): FULLNAT local addresses. `None` = not
    /// given: `-E` keeps the service's list.
    pub laddrs: Option<Vec<IpAddr>>,
    /// `--match` (rvs extension): the packets a fwmark service takes.
    /// `None` = not given: `-E` keeps the service's list.
    pub matches: Option<Vec<FwmarkMatch>>,
    /// `--mhb-c` (rvs extension): bounded-load factor of `mhb`. `None` =
    /// not given: `-A` uses the model default, `-E` keeps the value.
    pub mhb_c: Option<f64>,
    /// `--proxy-protocol` (rvs extension): the PROXY header of a FULLNAT
    /// TCP service. `None` = not given: `-A` means off, `-E` keeps it.
    #[serde(default)]
    pub proxy_protocol: Option<ProxyProtocol>,
    /// `-s` named a scheduler rvs does not have. Not a command-line error
    /// in ipvsadm: the kernel answers ENOENT, and only after it looked the
    /// service up (so `-A` of an existing service still says "Service
    /// already exists"). `scheduler` is then the default.
    #[serde(default)]
    pub unknown_scheduler: Option<String>,
    /// `-o`: one-packet scheduling (UDP; `ServiceConf::one_packet`).
    #[serde(default)]
    pub ops: bool,
    /// `--pe NAME`: a persistence engine (IPVS has `sip`; rvs none yet).
    #[serde(default)]
    pub pe: Option<String>,
}

/// Tunnel checksum option of a TUN real server (`--tun-nocsum`,
/// `--tun-csum`, `--tun-remcsum`). The configuration model has no field
/// for it, so only the default (no checksum) can be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TunCsum {
    #[default]
    NoCsum,
    Csum,
    RemCsum,
}

/// `-a`/`-e` options, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestOpts {
    pub service: ServiceKey,
    /// The service's family as the command names it (`-6` for a fwmark
    /// service): IPVS keys fwmark services by mark and family.
    #[serde(default)]
    pub svc_v6: bool,
    /// The real server with ipvsadm's defaults applied: weight 1,
    /// gatewaying (`-g`, DR) unless `-m`/`-i`/`--fullnat` is given, and
    /// the port resolved (see [`crate::adm::parse`]).
    pub dest: DestConf,
    pub tun_csum: TunCsum,
}

/// `-d` options: which real server of which service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestRef {
    pub service: ServiceKey,
    /// As in [`DestOpts::svc_v6`].
    #[serde(default)]
    pub svc_v6: bool,
    pub addr: IpAddr,
    /// Resolved like `-a`: the `-r` port, else the service port.
    pub port: u16,
}

/// What `-L` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ListTarget {
    /// The whole table (with the `IP Virtual Server version` header).
    #[default]
    All,
    /// One service (`-L -t addr:port`): no version header, like ipvsadm.
    Service(ServiceKey),
    /// `-c`: the connection entries.
    Connections,
    /// `--timeout`.
    Timeout,
    /// `--daemon`: sync daemons. rvs has none, so this lists nothing,
    /// which is what ipvsadm prints when no daemon runs.
    Daemon,
    /// `--workers` (rvs extension, also without `-L`): per-worker
    /// counters, drops by reason, mempool and port statistics.
    Workers,
}

/// `-L` options. Several display flags may be given together; the
/// formatter applies ipvsadm's precedence (stats > rate > thresholds >
/// persistent-conn > tun-info).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ListOpts {
    pub target: ListTarget,
    /// `-n`. rvsadm never resolves names, so this changes nothing.
    pub numeric: bool,
    pub stats: bool,
    pub rate: bool,
    pub thresholds: bool,
    pub persistent_conn: bool,
    pub tun_info: bool,
    /// `--exact`: no K/M/G scaling.
    pub exact: bool,
    /// `--nosort`: IPVS's dump order (hash buckets, newest first)
    /// instead of ipvsadm's sorted order; see `adm::order`.
    pub nosort: bool,
    /// `--json` (rvs extension).
    pub json: bool,
    /// `--health` (rvs extension): a last column with each real server's
    /// health, and the dests a failed check took out of the table.
    pub health: bool,
}

/// `-S` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SaveOpts {
    /// `-n`. rvsadm never resolves names, so this changes nothing.
    pub numeric: bool,
    /// `--yaml` (rvs extension): the `services:` section of rvsd's file.
    pub yaml: bool,
}

/// `-R` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RestoreOpts {
    /// `--dry-run` (rvs extension): parse and apply to a copy, report,
    /// change nothing.
    pub dry_run: bool,
}
