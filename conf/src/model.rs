//! The configuration model: what the YAML file says and what rvsadm edits.

use crate::family::Netmask;
use crate::proxy_proto::ProxyProtocol;
use crate::sched::{SchedFlags, SchedKind};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

/// The whole file. Unknown keys are errors: a typo must not be ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub dpdk: DpdkConf,
    pub interfaces: Vec<InterfaceConf>,
    #[serde(default)]
    pub workers: WorkersConf,
    #[serde(default)]
    pub routes: Vec<RouteConf>,
    #[serde(default)]
    pub services: Vec<ServiceConf>,
    #[serde(default)]
    pub conn: ConnConf,
    #[serde(default)]
    pub control: ControlConf,
    /// The Prometheus endpoint; off unless configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsConf>,
    /// Log level and format; applied at start (a change needs a restart).
    #[serde(default)]
    pub log: crate::log::LogConf,
    /// Route announcement through BIRD; off unless configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce: Option<crate::announce::AnnounceConf>,
    /// How SIGTERM ends the daemon.
    #[serde(default)]
    pub shutdown: crate::announce::ShutdownConf,
    /// The connection sync daemon; off unless configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<crate::sync::SyncConf>,
}

/// EAL settings. Defaults suit a machine without hugepages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DpdkConf {
    /// EAL core list (`-l`), e.g. "2-5": its first CPU runs Control, the next
    /// `workers.count` the workers. Empty: a `--lcores` map pinning workers to
    /// CPUs 1, 2, ...
    pub lcores: Option<String>,
    /// Memory in MiB (`-m`).
    pub memory_mb: u32,
    /// Run without hugepages (`--no-huge`).
    pub no_huge: bool,
    /// `--file-prefix`; default `rvs-<pid>` so parallel instances never clash.
    pub file_prefix: Option<String>,
    /// Mbufs in the packet pool (one pool, on the main lcore's NUMA node).
    pub mbufs: u32,
    /// Extra EAL arguments, passed verbatim.
    pub extra_args: Vec<String>,
}

impl Default for DpdkConf {
    fn default() -> Self {
        DpdkConf {
            lcores: None,
            memory_mb: 512,
            no_huge: true,
            file_prefix: None,
            mbufs: 16383,
            extra_args: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawInterface")]
pub struct InterfaceConf {
    /// Name used in routes and logs.
    pub name: String,
    /// A vdev string (`net_tap0,iface=rvs0`) or a PCI address (`0000:03:00.0`).
    pub device: String,
    /// Director addresses with prefix length, IPv4 and IPv6; each adds a
    /// connected route.
    #[serde(default)]
    pub addresses: Vec<IpNet>,
    /// L3 MTU of the link, `MIN_MTU..=MAX_MTU` (checked where it is
    /// written, so the error points at the value); at least
    /// [`crate::family::MIN_MTU_V6`] on a link with IPv6 addresses.
    #[serde(default = "default_mtu", deserialize_with = "de_mtu")]
    pub mtu: u16,
    /// The exception path: a kernel interface carrying the director's own
    /// traffic on this link; off unless configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelConf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterface {
    name: String,
    device: String,
    #[serde(default)]
    addresses: Vec<IpNet>,
    #[serde(default = "default_mtu", deserialize_with = "de_mtu")]
    mtu: u16,
    #[serde(default)]
    kernel: Option<KernelConf>,
}

impl TryFrom<RawInterface> for InterfaceConf {
    type Error = String;
    fn try_from(r: RawInterface) -> Result<Self, String> {
        crate::family::check_iface_addrs(&r.addresses, r.mtu)?;
        if let Some(k) = &r.kernel {
            check_ifname(k.ifname.as_deref().unwrap_or(&r.name))?;
            if k.rate == 0 || k.burst == 0 {
                return Err("kernel.rate and kernel.burst must be at least 1".into());
            }
        }
        Ok(InterfaceConf { name: r.name, device: r.device, addresses: r.addresses, mtu: r.mtu, kernel: r.kernel })
    }
}

impl InterfaceConf {
    /// Name of the kernel interface of the exception path, if any.
    pub fn kernel_ifname(&self) -> Option<&str> {
        self.kernel.as_ref().map(|k| k.ifname.as_deref().unwrap_or(&self.name))
    }
}

/// `interfaces[].kernel`: the kernel interface rvsd makes for this link.
/// It carries the link's MAC, addresses and routes; packets to the
/// director that rvsd does not handle itself go up to it, what the kernel
/// sends on it leaves through the port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KernelConf {
    /// Its name in the kernel; default the interface's `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifname: Option<String>,
    /// Packets per second each worker passes up to it, beyond which they
    /// are dropped as `kernel_ratelimit` (an attack on the DIP must not
    /// starve the workers)...
    pub rate: u32,
    /// ...with bursts of up to this many.
    pub burst: u32,
}

impl Default for KernelConf {
    fn default() -> Self {
        KernelConf { ifname: None, rate: 20_000, burst: 2_000 }
    }
}

/// A Linux interface name: 1 to 15 bytes, no `/`, whitespace or `:`.
fn check_ifname(n: &str) -> Result<(), String> {
    if n.is_empty() || n.len() > 15 || n == "." || n == ".." || n.bytes().any(|b| b <= b' ' || b == b'/' || b == b':') {
        return Err(format!(
            "kernel interface name '{n}' is not a Linux interface name (1 to 15 characters, no '/', ':' or spaces); \
             set kernel.ifname"
        ));
    }
    Ok(())
}

fn default_mtu() -> u16 {
    1500
}

/// Smallest MTU accepted (IPv4's minimum datagram every host takes).
pub const MIN_MTU: u16 = 576;
/// Largest MTU accepted: the usual jumbo frame.
pub const MAX_MTU: u16 = 9000;
/// Bytes DPDK keeps in front of each mbuf's frame (`RTE_PKTMBUF_HEADROOM`;
/// rvsd checks the two agree).
pub const MBUF_HEADROOM: u32 = 128;
/// Frame room of DPDK's default mbuf (`RTE_MBUF_DEFAULT_DATAROOM`).
pub const MBUF_DEFAULT_ROOM: u32 = 2048;
/// What an mbuf costs besides its data room: the `rte_mbuf` header and
/// the mempool's per-object header, rounded up.
pub const MBUF_OVERHEAD: u64 = 256;
/// EAL memory kept for everything but the packet pool (rings, queue
/// descriptors, tables DPDK allocates).
pub const EAL_RESERVE_MB: u64 = 64;

/// Largest Ethernet frame of an L3 `mtu`: header, one VLAN tag, CRC.
pub const fn frame_len(mtu: u16) -> u32 {
    mtu as u32 + 14 + 4 + 4
}

fn de_mtu<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let v = u64::deserialize(d)?;
    if !(MIN_MTU as u64..=MAX_MTU as u64).contains(&v) {
        return Err(serde::de::Error::custom(format!(
            "mtu {v} out of range {MIN_MTU}..={MAX_MTU} (jumbo frames up to {MAX_MTU})"
        )));
    }
    Ok(v as u16)
}

/// Which lcores run the data path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkersConf {
    /// Worker count; lcores 1..=count are used (lcore 0 is Control).
    pub count: u16,
    /// Spin without back-off (a dedicated core per worker).
    pub busy_poll: bool,
    /// Empty polls before the worker starts to back off.
    pub idle_polls: u32,
    /// Longest sleep of the back-off, microseconds.
    pub max_sleep_us: u32,
    /// Burst size for rx (at most 64).
    pub burst: u16,
}

impl Default for WorkersConf {
    fn default() -> Self {
        WorkersConf { count: 1, busy_poll: false, idle_polls: 256, max_sleep_us: 200, burst: 32 }
    }
}

/// A static route; the gateway is of the prefix's family (IPv4 and
/// IPv6 routes go to separate tables).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawRoute")]
pub struct RouteConf {
    pub prefix: IpNet,
    #[serde(default)]
    pub via: Option<IpAddr>,
    /// Interface name.
    pub dev: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    prefix: IpNet,
    #[serde(default)]
    via: Option<IpAddr>,
    dev: String,
}

impl TryFrom<RawRoute> for RouteConf {
    type Error = String;
    fn try_from(r: RawRoute) -> Result<Self, String> {
        let route = RouteConf { prefix: r.prefix, via: r.via, dev: r.dev };
        route.check()?;
        Ok(route)
    }
}

/// Connection table and IPVS-style timeouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnConf {
    /// Capacity of each worker's connection table (IPv4).
    pub table_size: u32,
    /// Capacity of each worker's IPv6 connection table (its entries are
    /// twice the size of IPv4's); unset: a quarter of `table_size`, at
    /// least 1024.
    pub table_size6: Option<u32>,
    /// Capacity of the persistence template table (shared by all
    /// workers). Templates exist per client network and persistent
    /// service, usually far fewer than connections, so it is sized on its
    /// own rather than costing every connection slot.
    pub template_size: u32,
    /// `--set tcp tcpfin udp` in seconds (0 keeps the built-in default).
    pub tcp_timeout: u32,
    pub tcpfin_timeout: u32,
    pub udp_timeout: u32,
    /// IPVS `conn_reuse_mode`: 1 = a SYN on a TIME_WAIT/closed entry reschedules.
    pub conn_reuse_mode: u8,
    /// IPVS `expire_nodest_conn`: drop packets of conns whose dest was deleted.
    pub expire_nodest_conn: bool,
    /// IPVS `expire_quiescent_template`: templates to weight-0 dests expire.
    pub expire_quiescent_template: bool,
    /// IPVS `sloppy_tcp`: a TCP packet with no connection is scheduled
    /// unless it is a RST (not only a SYN), and an ACK starts the entry as
    /// ESTABLISHED. This is what lets a director take over flows that
    /// another one started — after an ECMP change, for a consistent
    /// scheduler such as `mh` — without connection sync.
    pub sloppy_tcp: bool,
}

impl ConnConf {
    /// The IPv6 table's capacity: `table_size6`, else a quarter of
    /// `table_size` (at least 1024).
    pub fn ipv6_capacity(&self) -> usize {
        self.table_size6.map_or((self.table_size as usize / 4).max(1024), |n| n as usize)
    }
}

impl Default for ConnConf {
    fn default() -> Self {
        ConnConf {
            table_size: 1 << 16,
            table_size6: None,
            template_size: 1 << 16,
            tcp_timeout: 900,
            tcpfin_timeout: 120,
            udp_timeout: 300,
            conn_reuse_mode: 1,
            expire_nodest_conn: false,
            expire_quiescent_template: false,
            sloppy_tcp: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConf {
    pub socket: String,
}

impl Default for ControlConf {
    fn default() -> Self {
        ControlConf { socket: "/run/rvs/rvsd.sock".into() }
    }
}

/// `metrics:`: where rvsd serves Prometheus metrics (`GET /metrics`),
/// computed on the control side at each scrape. A change needs a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConf {
    /// Address and port to listen on, e.g. `127.0.0.1:9410`.
    pub listen: std::net::SocketAddr,
}

/// Transport protocol of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    /// SCTP (RFC 9260), IP protocol 132: ipvsadm's `--sctp-service`.
    Sctp,
}

impl Proto {
    pub fn number(self) -> u8 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
            Proto::Sctp => 132,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
            Proto::Sctp => "SCTP",
        }
    }
}

/// How a service is addressed: ipvsadm's `-t`/`-u` (addr:port) or `-f` (mark).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ServiceKey {
    Inet { proto: Proto, addr: IpAddr, port: u16 },
    Fwmark(u32),
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Inet { proto, addr, port } => match addr {
                IpAddr::V4(a) => write!(f, "{} {a}:{port}", proto.name()),
                IpAddr::V6(a) => write!(f, "{} [{a}]:{port}", proto.name()),
            },
            ServiceKey::Fwmark(m) => write!(f, "FWM {m}"),
        }
    }
}

/// Forwarding method of a dest (`-m`, `-g`, `-i`, `--fullnat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FwdMethod {
    #[default]
    Nat,
    Dr,
    Tun,
    FullNat,
}

impl FwdMethod {
    /// The word `ipvsadm -L` prints in the Forward column.
    pub fn ipvs_name(self) -> &'static str {
        match self {
            FwdMethod::Nat => "Masq",
            FwdMethod::Dr => "Route",
            FwdMethod::Tun => "Tunnel",
            FwdMethod::FullNat => "FullNat",
        }
    }
}

impl FromStr for FwdMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "nat" | "masq" | "masquerading" | "m" => FwdMethod::Nat,
            "dr" | "route" | "gatewaying" | "direct" | "g" => FwdMethod::Dr,
            "tun" | "tunnel" | "ipip" | "i" => FwdMethod::Tun,
            "fullnat" | "fnat" => FwdMethod::FullNat,
            _ => return Err(format!("unknown forwarding method '{s}' (valid: nat, dr, tun, fullnat)")),
        })
    }
}

impl<'de> Deserialize<'de> for FwdMethod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Tunnel encapsulation for TUN dests (`--tun-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

/// One real server of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestConf {
    pub addr: IpAddr,
    /// Real-server port; 0 or absent means the service port (DR/TUN must keep it).
    #[serde(default)]
    pub port: u16,
    #[serde(default = "one")]
    pub weight: u32,
    #[serde(default)]
    pub fwd: FwdMethod,
    /// `-x`: connection upper threshold (0 = none).
    #[serde(default)]
    pub upper: u32,
    /// `-y`: connection lower threshold (0 = none).
    #[serde(default)]
    pub lower: u32,
    #[serde(default)]
    pub tun_type: TunType,
    #[serde(default)]
    pub tun_port: u16,
    /// This dest's own health check, replacing the service's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<crate::health::HealthCheck>,
}

fn one() -> u32 {
    1
}

impl DestConf {
    pub fn new(addr: IpAddr, port: u16, fwd: FwdMethod, weight: u32) -> Self {
        DestConf { addr, port, weight, fwd, upper: 0, lower: 0, tun_type: TunType::Ipip, tun_port: 0, health: None }
    }
}

/// The packets a fwmark service takes: in LVS an iptables rule marks them;
/// rvs has no iptables in the data path, so the match is part of the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FwmarkMatch {
    pub proto: Proto,
    pub vip: IpAddr,
    /// Destination ports in the group; empty = every port of the VIP.
    #[serde(default)]
    pub ports: Vec<u16>,
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawService")]
pub struct ServiceConf {
    pub key: ServiceKey,
    pub scheduler: SchedKind,
    pub sched_flags: SchedFlags,
    /// `-p`: persistence timeout in seconds (None = not persistent).
    pub persistent: Option<u32>,
    /// `-M`: persistence netmask (IPv4 mask or IPv6 prefix length).
    pub netmask: IpAddr,
    /// Fwmark services: the packets that carry this mark.
    pub matches: Vec<FwmarkMatch>,
    /// FULLNAT local addresses (LIPs) of this service.
    pub laddrs: Vec<IpAddr>,
    /// Maglev bounded-load factor for `mhb` (load bound = c × mean).
    pub mhb_c: f64,
    /// PROXY header at the start of each connection (FULLNAT TCP only:
    /// [`ServiceConf::check_proxy_protocol`]).
    pub proxy_protocol: ProxyProtocol,
    /// `-o` (IPVS's one-packet scheduling): every UDP datagram is
    /// scheduled by itself and no connection entry is kept
    /// ([`ServiceConf::check_one_packet`]).
    pub one_packet: bool,
    pub dests: Vec<DestConf>,
    /// The health check of every dest without its own.
    pub health: Option<crate::health::HealthCheck>,
    /// Takes the new connections while the service is down (every dest
    /// failed, or the quorum is lost).
    pub sorry_server: Option<crate::health::SorryServer>,
    /// Sum of the weights of the healthy dests below which the service is
    /// down (keepalived `quorum`), and the margin around it before the
    /// state flips (`hysteresis`).
    pub quorum: u32,
    pub hysteresis: u32,
}

impl ServiceConf {
    pub fn new(key: ServiceKey) -> Self {
        ServiceConf {
            key,
            scheduler: SchedKind::Wlc,
            sched_flags: SchedFlags::default(),
            persistent: None,
            netmask: IpAddr::V4(Ipv4Addr::BROADCAST),
            matches: Vec::new(),
            laddrs: Vec::new(),
            mhb_c: 1.25,
            proxy_protocol: ProxyProtocol::Off,
            one_packet: false,
            dests: Vec::new(),
            health: None,
            sorry_server: None,
            quorum: 1,
            hysteresis: 0,
        }
    }

    /// The check that runs for `d`: its own, else the service's; `None`
    /// when neither is set or it is `type: none`.
    pub fn check_of<'a>(&'a self, d: &'a DestConf) -> Option<&'a crate::health::HealthCheck> {
        d.health.as_ref().or(self.health.as_ref()).filter(|c| c.kind != crate::health::CheckKind::None)
    }

    /// Whether any dest of this service is health checked.
    pub fn is_checked(&self) -> bool {
        self.dests.iter().any(|d| self.check_of(d).is_some())
    }

    /// The sorry server as a dest of this service.
    pub fn sorry_dest(&self) -> Option<DestConf> {
        let s = self.sorry_server.as_ref()?;
        let fwd = s.fwd.or(self.dests.first().map(|d| d.fwd)).unwrap_or_default();
        Some(DestConf::new(s.addr, s.port, fwd, 1))
    }

    fn check_health(&self) -> Result<(), String> {
        if self.quorum == 0 {
            return Err("quorum must be at least 1".into());
        }
        if self.hysteresis >= self.quorum {
            return Err(format!("hysteresis {} must be below the quorum {}", self.hysteresis, self.quorum));
        }
        let Some(sorry) = self.sorry_dest() else { return Ok(()) };
        if sorry.addr.is_ipv4() != self.dests_are_ipv4() {
            return Err(format!("sorry_server {} is not of the service's address family", sorry.addr));
        }
        if self.dests.iter().any(|d| d.addr == sorry.addr && self.dest_port(d) == self.dest_port(&sorry)) {
            return Err(format!("sorry_server {} is also a dest of the service", sorry.addr));
        }
        if let (FwdMethod::Dr | FwdMethod::Tun, ServiceKey::Inet { port: sp, .. }) = (sorry.fwd, self.key) {
            if sorry.port != 0 && sorry.port != sp {
                return Err(format!("sorry_server {}: {} cannot map ports", sorry.addr, sorry.fwd.ipvs_name()));
            }
        }
        if sorry.fwd == FwdMethod::FullNat && self.laddrs.is_empty() {
            return Err("sorry_server uses fullnat but the service has no laddrs".into());
        }
        Ok(())
    }

    /// Whether the dests of this service are IPv4 (the sorry server must
    /// be of the same family as the real servers it stands in for).
    fn dests_are_ipv4(&self) -> bool {
        match self.dests.first() {
            Some(d) => d.addr.is_ipv4(),
            None => !self.is_ipv6(),
        }
    }

    /// Real-server port of a dest: 0 means "same as the service port".
    pub fn dest_port(&self, d: &DestConf) -> u16 {
        match (d.port, self.key) {
            (0, ServiceKey::Inet { port, .. }) => port,
            (p, _) => p,
        }
    }

    /// Rules that hold whatever the front end (YAML, rvsadm) was.
    pub fn validate(&self) -> Result<(), String> {
        if let ServiceKey::Inet { port: 0, .. } = self.key {
            if self.persistent.is_none() {
                return Err("a port-0 (all ports) service must be persistent (-p)".into());
            }
        }
        if let ServiceKey::Fwmark(0) = self.key {
            return Err("fwmark must be non-zero".into());
        }
        if !(self.mhb_c.is_finite() && self.mhb_c >= 1.0) {
            return Err(format!("mhb_c must be a number >= 1.0, got {}", self.mhb_c));
        }
        let mut seen = std::collections::HashSet::new();
        for d in &self.dests {
            let port = self.dest_port(d);
            if !seen.insert((d.addr, port)) {
                return Err(format!("dest {}:{} is listed twice", crate::family::bracketed(&d.addr), port));
            }
            if d.weight > i32::MAX as u32 {
                return Err(format!("weight {} of dest {} is out of range", d.weight, d.addr));
            }
            // IPVS refuses l_threshold > u_threshold even when the upper
            // one is 0 (none): a lower threshold needs an upper one.
            if d.lower > d.upper {
                return Err(format!(
                    "dest {}: lower threshold {} is above upper threshold {}{}",
                    d.addr,
                    d.lower,
                    d.upper,
                    if d.upper == 0 { " (none): a lower threshold needs an upper one at least as large" } else { "" }
                ));
            }
            if let (FwdMethod::Dr | FwdMethod::Tun, ServiceKey::Inet { port: sp, .. }) = (d.fwd, self.key) {
                if d.port != 0 && d.port != sp {
                    return Err(format!(
                        "dest {}: {} cannot map ports ({} -> {}); use nat or fullnat",
                        d.addr,
                        d.fwd.ipvs_name(),
                        sp,
                        d.port
                    ));
                }
            }
            if d.fwd == FwdMethod::FullNat && self.laddrs.is_empty() {
                return Err(format!("dest {} uses fullnat but the service has no laddrs (local addresses)", d.addr));
            }
        }
        self.check_proxy_protocol()?;
        self.check_one_packet()?;
        self.check_health()?;
        self.check_families()
    }
}

/// The YAML spelling of a service; converted (and validated) into ServiceConf.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    #[serde(default)]
    proto: Option<Proto>,
    #[serde(default)]
    vip: Option<IpAddr>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    fwmark: Option<u32>,
    #[serde(default, rename = "match")]
    matches: Vec<FwmarkMatch>,
    #[serde(default)]
    scheduler: Option<String>,
    #[serde(default)]
    sched_flags: Option<String>,
    #[serde(default)]
    persistent: Option<u32>,
    #[serde(default)]
    netmask: Option<Netmask>,
    #[serde(default)]
    laddrs: Vec<IpAddr>,
    #[serde(default)]
    mhb_c: Option<f64>,
    #[serde(default)]
    proxy_protocol: ProxyProtocol,
    #[serde(default)]
    one_packet: bool,
    #[serde(default)]
    dests: Vec<DestConf>,
    #[serde(default)]
    health: Option<crate::health::HealthCheck>,
    #[serde(default)]
    sorry_server: Option<crate::health::SorryServer>,
    #[serde(default)]
    quorum: Option<u32>,
    #[serde(default)]
    hysteresis: u32,
}

impl TryFrom<RawService> for ServiceConf {
    type Error = String;
    fn try_from(r: RawService) -> Result<Self, String> {
        let s = ServiceConf::from_raw(r)?;
        s.refuse_unwired_families()?;
        Ok(s)
    }
}

impl ServiceConf {
    /// The service a YAML entry says, validated (the IPv6 gate aside).
    pub(crate) fn from_raw(r: RawService) -> Result<Self, String> {
        let key = match (r.fwmark, r.vip) {
            (Some(_), Some(_)) => return Err("a service has either vip/port or fwmark, not both".into()),
            (Some(m), None) => {
                if r.matches.is_empty() {
                    return Err(format!("fwmark service {m} needs a 'match' list (proto, vip, ports)"));
                }
                ServiceKey::Fwmark(m)
            }
            (None, Some(addr)) => {
                if !r.matches.is_empty() {
                    return Err("'match' belongs to fwmark services only".into());
                }
                ServiceKey::Inet {
                    proto: r.proto.unwrap_or(Proto::Tcp),
                    addr,
                    port: r.port.ok_or("a vip service needs 'port' (0 = all ports, persistent)")?,
                }
            }
            (None, None) => return Err("a service needs 'vip' and 'port', or 'fwmark'".into()),
        };
        let mut s = ServiceConf::new(key);
        if let Some(name) = r.scheduler {
            s.scheduler = name.parse()?;
        }
        if let Some(f) = r.sched_flags {
            s.sched_flags = SchedFlags::parse(&f)?;
        }
        s.persistent = r.persistent;
        // A fwmark service has no address in its key: its family is its
        // netmask's (ipvsadm `-6`), set from its matches when not given.
        if let (ServiceKey::Fwmark(_), Some(m)) = (key, r.matches.first()) {
            if m.vip.is_ipv6() {
                s.netmask = crate::family::V6_FULL_MASK;
            }
        }
        let v6 = s.is_ipv6();
        match r.netmask {
            Some(Netmask::Mask(m)) => s.netmask = m,
            Some(Netmask::Prefix(p)) => s.netmask = Netmask::of_prefix(v6, p)?,
            None => {}
        }
        s.matches = r.matches;
        s.laddrs = r.laddrs;
        if let Some(c) = r.mhb_c {
            s.mhb_c = c;
        }
        s.proxy_protocol = r.proxy_protocol;
        s.one_packet = r.one_packet;
        s.dests = r.dests;
        s.health = r.health;
        s.sorry_server = r.sorry_server;
        s.quorum = r.quorum.unwrap_or(1);
        s.hysteresis = r.hysteresis;
        s.validate()?;
        Ok(s)
    }
}

impl Config {
    /// Largest MTU of any interface.
    pub fn max_mtu(&self) -> u16 {
        self.interfaces.iter().map(|i| i.mtu).max().unwrap_or_else(default_mtu)
    }

    /// Data room (headroom included) of the packet pool's mbufs: one mbuf
    /// holds a whole frame of the largest MTU, so jumbo frames never need
    /// chaining (rvs rewrites packets as one contiguous buffer). DPDK's
    /// default room at standard MTUs; above, the frame rounded up to 1 KiB.
    pub fn mbuf_data_room(&self) -> u32 {
        let frame = frame_len(self.max_mtu());
        MBUF_HEADROOM + MBUF_DEFAULT_ROOM.max(frame.div_ceil(1024) * 1024)
    }

    /// Bytes of the packet pool: `dpdk.mbufs` mbufs of `mbuf_data_room`,
    /// each rounded up to whole 4 KiB pages (without hugepages DPDK keeps
    /// an mbuf from straddling a page it does not need to).
    pub fn pool_bytes(&self) -> u64 {
        let per = (self.mbuf_data_room() as u64 + MBUF_OVERHEAD).div_ceil(4096) * 4096;
        self.dpdk.mbufs as u64 * per
    }

    /// The pool must fit in `dpdk.memory_mb` beside DPDK's other needs:
    /// refused here (`rvsd --check`) rather than by DPDK at boot.
    fn check_pool_memory(&self) -> Result<(), String> {
        let need_mb = self.pool_bytes().div_ceil(1 << 20) + EAL_RESERVE_MB;
        if need_mb > self.dpdk.memory_mb as u64 {
            return Err(format!(
                "dpdk.memory_mb {} is too small for {} mbufs of {} bytes (mtu {}): needs at least {need_mb} \
                 (lower dpdk.mbufs or the mtu, or raise dpdk.memory_mb)",
                self.dpdk.memory_mb,
                self.dpdk.mbufs,
                self.mbuf_data_room(),
                self.max_mtu()
            ));
        }
        Ok(())
    }

    /// Whole-file rules (each service was already checked on its own).
    pub fn validate(&self) -> Result<(), String> {
        if self.interfaces.is_empty() {
            return Err("at least one interface is needed".into());
        }
        let mut names = std::collections::HashSet::new();
        for i in &self.interfaces {
            if !names.insert(i.name.as_str()) {
                return Err(format!("interface '{}' is defined twice", i.name));
            }
            if i.mtu < MIN_MTU || i.mtu > MAX_MTU {
                return Err(format!("interface '{}': mtu {} out of range {MIN_MTU}..={MAX_MTU}", i.name, i.mtu));
            }
        }
        self.check_pool_memory()?;
        for r in &self.routes {
            if !names.contains(r.dev.as_str()) {
                return Err(format!("route {}: unknown interface '{}'", r.prefix, r.dev));
            }
        }
        if self.workers.count == 0 || self.workers.count > 64 {
            return Err(format!("workers.count {} out of range 1..64", self.workers.count));
        }
        if self.workers.burst == 0 || self.workers.burst > 64 {
            return Err(format!("workers.burst {} out of range 1..64", self.workers.burst));
        }
        if self.conn.table_size6 == Some(0) {
            return Err("conn.table_size6 must be at least 1 (leave it unset for a quarter of table_size)".into());
        }
        let mut keys = std::collections::HashSet::new();
        for s in &self.services {
            if !keys.insert(s.key) {
                return Err(format!("service {} is defined twice", s.key));
            }
        }
        if let Some(s) = &self.sync {
            s.check(self)?;
        }
        Ok(())
    }
}
