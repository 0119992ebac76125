//! The immutable view of configuration that workers run on.
//!
//! Control builds a new [`Snapshot`] for each committed change and swaps it
//! in atomically; each worker loads the current one once per burst. Nothing
//! in a snapshot changes after publication (runtime counters live behind
//! `Arc`s that outlive snapshots).
//!
//! Both families are indexed: each lookup has an IPv6 twin (`class6`,
//! `lookup6`, `routes6`, ...) over `u128` addresses, built from the same
//! generic tables ([`FamilyIndex`], the class map), and the [`SnapAddr`]
//! trait names the right one for code written once over [`Addr`]. The
//! IPv6 half is in `snapshot/v6.rs`.

pub mod from_conf;
#[cfg(test)]
mod tests;
mod v6;

pub use v6::SnapAddr;

use crate::addr::Addr;
use crate::l3::route::RouteTable;
use crate::packet::eth::Mac;
use crate::sched::{self, Scheduler};
use crate::stats::Counter;
use crate::svc::{Dest, DestRt};
use crossbeam_utils::CachePadded;
use hashbrown::HashMap;
use rvs_conf::{FwdMethod, Proto, ServiceConf, ServiceKey};
use std::net::IpAddr;
use std::sync::Arc;

/// One director interface (a DPDK port).
#[derive(Debug, Clone)]
pub struct Iface {
    pub name: String,
    /// DPDK port id.
    pub port_id: u16,
    pub mac: Mac,
    /// IPv4 addresses with prefix length.
    pub addrs: Vec<(u32, u8)>,
    /// IPv6 addresses with prefix length (host order), link-local ones
    /// included; each adds a connected route to [`Snapshot::routes6`].
    pub addrs6: Vec<(u128, u8)>,
    pub mtu: u16,
    /// The port's RSS (key and RETA read back from the device), so a
    /// worker can tell which rx queue a flow arrives on; `None` when the
    /// port runs without RSS (one queue, or a device rvs cannot predict).
    pub rss: Option<crate::rss::PortRss>,
    /// The exception path's rate limit (packets per second per worker,
    /// burst) when this interface has a kernel interface, else `None`.
    pub kernel: Option<(u32, u32)>,
}

impl Iface {
    /// An address of ours on this interface (for ARP probes, TUN outer
    /// source, ICMP errors): the one whose subnet holds `peer`, else the first.
    pub fn source_for(&self, peer: u32) -> Option<u32> {
        self.addrs
            .iter()
            .find(|(a, l)| {
                let m = if *l == 0 { 0 } else { u32::MAX << (32 - *l as u32) };
                a & m == peer & m
            })
            .or(self.addrs.first())
            .map(|(a, _)| *a)
    }
}

/// Per-worker traffic counters of a service.
#[derive(Debug, Default)]
pub struct SvcCell {
    pub conns: Counter,
    pub in_pkts: Counter,
    pub out_pkts: Counter,
    pub in_bytes: Counter,
    pub out_bytes: Counter,
}

/// Runtime state of a service, carried across snapshots.
#[derive(Debug)]
pub struct SvcRt {
    cells: Box<[CachePadded<SvcCell>]>,
}

impl SvcRt {
    pub fn new(workers: usize) -> Arc<Self> {
        Arc::new(SvcRt { cells: (0..workers.max(1)).map(|_| CachePadded::new(SvcCell::default())).collect() })
    }
    #[inline(always)]
    pub fn cell(&self, worker: usize) -> &SvcCell {
        &self.cells[worker]
    }
    pub fn sum(&self, f: impl Fn(&SvcCell) -> &Counter) -> u64 {
        self.cells.iter().map(|c| f(c).get()).sum()
    }
    pub fn zero(&self) {
        for c in self.cells.iter() {
            for x in [&c.conns, &c.in_pkts, &c.out_pkts, &c.in_bytes, &c.out_bytes] {
                x.reset();
            }
        }
    }
}

/// A service in a snapshot.
#[derive(Debug)]
pub struct Service {
    pub conf: ServiceConf,
    pub dests: Vec<Dest>,
    pub sched: Box<dyn Scheduler>,
    pub rt: Arc<SvcRt>,
    /// FULLNAT local addresses, host order: the IPv4 ones (those of an
    /// IPv4 service, or of an IPv6 one that reaches IPv4 real servers —
    /// NAT64)...
    pub laddrs: Vec<u32>,
    /// ... and the IPv6 ones. The configuration keeps a service's LIPs of
    /// one family, so at most one of the two lists is non-empty.
    pub laddrs6: Vec<u128>,
    /// Persistence netmask of an IPv4 service as a u32.
    pub netmask: u32,
    /// Persistence mask of an IPv6 service (`-M` is a prefix length
    /// there; /128 by default).
    pub netmask6: u128,
}

impl Service {
    /// Build from configuration. `prev` is this service (same key) in the
    /// previous snapshot, if any: its counters, its dests' runtime state
    /// (matched by address and port) and its scheduler's carried state
    /// (lblc/lblcr tables, rr/wrr positions) are kept, so a reload or an rvsadm edit loses
    /// neither counters nor locality.
    pub fn build(conf: &ServiceConf, workers: usize, prev: Option<&Service>) -> Service {
        let dests: Vec<Dest> = conf
            .dests
            .iter()
            .map(|d| {
                let port = conf.dest_port(d);
                let rt = prev
                    .and_then(|o| o.dests.iter().find(|x| x.addr == d.addr && x.port == port))
                    .map(|x| x.rt.clone())
                    .unwrap_or_else(|| DestRt::new(workers));
                Dest::from_conf(d, port, rt)
            })
            .collect();
        let spec = sched::Spec { kind: conf.scheduler, flags: conf.sched_flags, mhb_c: conf.mhb_c, workers };
        let sched = sched::build_from(prev.map(|p| &*p.sched), &spec, &dests);
        let v4 = |a: &IpAddr| match a {
            IpAddr::V4(a) => Some(u32::from(*a)),
            IpAddr::V6(_) => None,
        };
        Service {
            laddrs: conf.laddrs.iter().filter_map(v4).collect(),
            laddrs6: conf.laddrs.iter().filter_map(|a| u128::from_ip(*a)).collect(),
            netmask: v4(&conf.netmask).unwrap_or(u32::MAX),
            netmask6: if conf.is_ipv6() { u128::prefix_mask(conf.prefix_len_v6()) } else { u128::MAX },
            conf: conf.clone(),
            dests,
            sched,
            rt: prev.map(|p| p.rt.clone()).unwrap_or_else(|| SvcRt::new(workers)),
        }
    }
}

/// Lookup key of a service for a packet: (proto number, VIP, port).
type SvcKey<A> = (u8, A, u16);

/// The maps that find the services of one address family.
#[derive(Debug)]
pub(crate) struct FamilyIndex<A: Addr> {
    /// (proto, vip, vport) → service, for -t/-u services (port 0 = all).
    inet: HashMap<SvcKey<A>, u32>,
    /// (proto, vip, port) → fwmark service; port 0 = every port of the VIP.
    fwmark: HashMap<SvcKey<A>, u32>,
    /// Every VIP (for flow ownership and ARP/ND).
    vips: hashbrown::HashSet<A>,
    /// Every FULLNAT local address → the service list is not needed.
    lips: hashbrown::HashSet<A>,
    /// VIPs of -t/-u services with a NAT or FULLNAT dest, or in a fwmark
    /// service's match list: those whose replies come back through us.
    two_way: hashbrown::HashSet<A>,
}

impl<A: Addr> Default for FamilyIndex<A> {
    fn default() -> Self {
        FamilyIndex {
            inet: HashMap::new(),
            fwmark: HashMap::new(),
            vips: Default::default(),
            lips: Default::default(),
            two_way: Default::default(),
        }
    }
}

impl<A: Addr> FamilyIndex<A> {
    fn add_inet(&mut self, i: u32, s: &Service, proto: u8, vip: A, port: u16) {
        self.inet.insert((proto, vip, port), i);
        self.vips.insert(vip);
        if s.dests.iter().any(|d| !matches!(d.fwd, FwdMethod::Dr | FwdMethod::Tun)) {
            self.two_way.insert(vip);
        }
    }

    fn add_match(&mut self, i: u32, proto: u8, vip: A, ports: &[u16]) {
        self.vips.insert(vip);
        self.two_way.insert(vip);
        if ports.is_empty() {
            self.fwmark.insert((proto, vip, 0), i);
        }
        for p in ports {
            self.fwmark.insert((proto, vip, *p), i);
        }
    }

    /// IPVS order: a fwmark service first, then the exact service, then
    /// the VIP's port-0 (all ports) service.
    #[inline]
    fn lookup(&self, proto: u8, vip: A, port: u16) -> Option<u32> {
        if !self.fwmark.is_empty() {
            if let Some(&i) = self.fwmark.get(&(proto, vip, port)).or_else(|| self.fwmark.get(&(proto, vip, 0))) {
                return Some(i);
            }
        }
        self.inet.get(&(proto, vip, port)).or_else(|| self.inet.get(&(proto, vip, 0))).copied()
    }
}

/// Services and the maps that find them, one index per family.
#[derive(Debug, Default)]
pub struct ServiceTable {
    pub list: Vec<Service>,
    v4: FamilyIndex<u32>,
    v6: FamilyIndex<u128>,
}

impl ServiceTable {
    pub fn new(list: Vec<Service>) -> Self {
        let mut t = ServiceTable { list, ..Default::default() };
        for (i, s) in t.list.iter().enumerate() {
            let i = i as u32;
            match s.conf.key {
                ServiceKey::Inet { proto, addr: IpAddr::V4(a), port } => {
                    t.v4.add_inet(i, s, proto.number(), a.into(), port)
                }
                ServiceKey::Inet { proto, addr: IpAddr::V6(a), port } => {
                    t.v6.add_inet(i, s, proto.number(), a.into(), port)
                }
                ServiceKey::Fwmark(_) => {
                    for m in &s.conf.matches {
                        match m.vip {
                            IpAddr::V4(a) => t.v4.add_match(i, m.proto.number(), a.into(), &m.ports),
                            IpAddr::V6(a) => t.v6.add_match(i, m.proto.number(), a.into(), &m.ports),
                        }
                    }
                }
            }
            t.v4.lips.extend(s.laddrs.iter().copied());
            t.v6.lips.extend(s.laddrs6.iter().copied());
        }
        t
    }

    /// The service of an IPv4 packet (an index into `list`).
    #[inline]
    pub fn lookup(&self, proto: u8, vip: u32, port: u16) -> Option<u32> {
        self.v4.lookup(proto, vip, port)
    }

    #[inline]
    pub fn is_vip(&self, a: u32) -> bool {
        self.v4.vips.contains(&a)
    }

    #[inline]
    pub fn is_lip(&self, a: u32) -> bool {
        self.v4.lips.contains(&a)
    }

    pub fn lips(&self) -> impl Iterator<Item = u32> + '_ {
        self.v4.lips.iter().copied()
    }
}

/// What an address is to the director.
pub mod class {
    /// An interface address.
    pub const LOCAL: u8 = 1;
    /// A service's virtual address.
    pub const VIP: u8 = 2;
    /// A FULLNAT local address.
    pub const LIP: u8 = 4;
    /// A VIP whose every service forwards by DR or TUN only: the director
    /// sees one direction of its flows, so on a port with RSS the worker
    /// whose queue received a packet owns it (no redirect).
    pub const ONE_WAY: u8 = 8;
}

/// IPVS-style timeouts in seconds (`--set`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutSet {
    pub tcp: u32,
    pub tcpfin: u32,
    pub udp: u32,
}

/// Everything a worker needs, published as one unit.
#[derive(Debug)]
pub struct Snapshot {
    /// Monotonic generation number of this configuration.
    pub generation: u64,
    pub workers: usize,
    pub ifaces: Vec<Iface>,
    pub routes: RouteTable,
    /// IPv6 routes: connected (from [`Iface::addrs6`]) and static.
    pub routes6: RouteTable<u128>,
    pub services: ServiceTable,
    /// IPv4 addresses of our interfaces → interface index.
    pub local: HashMap<u32, u16>,
    /// IPv6 addresses of our interfaces → (first) interface index. A
    /// link-local address may be on several; see [`Snapshot::answers_nd_for`].
    pub local6: HashMap<u128, u16>,
    /// The [`class`] of every IPv4 address the director handles.
    classes: ClassMap<u32>,
    /// The same for IPv6.
    classes6: ClassMap<u128>,
    pub timeouts: TimeoutSet,
    pub conn_reuse_mode: u8,
    pub expire_nodest_conn: bool,
    pub expire_quiescent_template: bool,
    /// IPVS `sloppy_tcp` (see `ConnConf::sloppy_tcp`).
    pub sloppy_tcp: bool,
    /// Connection sync as the workers see it.
    pub sync: SyncSettings,
}

/// What the workers need of the sync daemon's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncSettings {
    /// A master daemon runs: note connections (`sync::path::note`).
    pub master: bool,
    /// IPVS's `sync_threshold` pair.
    pub threshold: u32,
    pub period: u32,
    /// The multicast group and UDP port a backup listens on: such frames
    /// go up to the kernel interface (they are not for the data path).
    pub group: Option<(u32, u16)>,
}

/// 64-bit words of a class filter (16 Kibit: a false positive about
/// once in 16,000 addresses per thousand of ours).
const CLASS_FILTER_WORDS: usize = 256;

/// An address family's filter bit: 14 bits of a multiplicative hash.
pub(crate) trait ClassBit: Addr {
    fn class_bit(self) -> (usize, u64);
}

impl ClassBit for u32 {
    #[inline(always)]
    fn class_bit(self) -> (usize, u64) {
        let h = self.wrapping_mul(0x9e37_79b1) >> 18; // 14 bits
        ((h >> 6) as usize, 1u64 << (h & 63))
    }
}

impl ClassBit for u128 {
    /// The halves folded (our IPv6 addresses tend to differ in the low
    /// half, clients' in either), then a 64-bit multiplicative hash.
    #[inline(always)]
    fn class_bit(self) -> (usize, u64) {
        let f = (self as u64) ^ ((self >> 64) as u64);
        let h = f.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 50; // 14 bits
        ((h >> 6) as usize, 1u64 << (h & 63))
    }
}

/// Every address of one family the director handles (interface address,
/// VIP, LIP) → its [`class`] bits: one lookup per packet instead of three;
/// with a one-hash Bloom filter in front, because most packets carry at
/// least one address that is not ours (the client's), answered by one bit
/// test instead of a hash lookup.
#[derive(Debug)]
struct ClassMap<A: ClassBit> {
    map: HashMap<A, u8>,
    filter: Box<[u64; CLASS_FILTER_WORDS]>,
}

impl<A: ClassBit> ClassMap<A> {
    fn new(locals: impl Iterator<Item = A>) -> Self {
        let mut c =
            ClassMap { map: locals.map(|a| (a, class::LOCAL)).collect(), filter: Box::new([0; CLASS_FILTER_WORDS]) };
        c.fill_filter();
        c
    }

    /// Add the VIPs and LIPs of one family's services.
    fn add_services(&mut self, t: &FamilyIndex<A>) {
        for v in t.vips.iter() {
            let one_way = if t.two_way.contains(v) { 0 } else { class::ONE_WAY };
            *self.map.entry(*v).or_default() |= class::VIP | one_way;
        }
        for l in t.lips.iter() {
            *self.map.entry(*l).or_default() |= class::LIP;
        }
        self.fill_filter();
    }

    fn fill_filter(&mut self) {
        self.filter.fill(0);
        for a in self.map.keys() {
            let (w, b) = a.class_bit();
            self.filter[w] |= b;
        }
    }

    #[inline(always)]
    fn get(&self, addr: A) -> u8 {
        let (w, b) = addr.class_bit();
        if self.filter[w] & b == 0 {
            return 0;
        }
        self.map.get(&addr).copied().unwrap_or(0)
    }
}

impl Snapshot {
    /// Build the L3 part; services are added by [`Snapshot::with_services`].
    pub fn new(
        generation: u64,
        workers: usize,
        ifaces: Vec<Iface>,
        extra_routes: &[(u32, u8, u16, Option<u32>)],
    ) -> Self {
        let mut routes = RouteTable::default();
        let mut routes6 = RouteTable::default();
        let mut local = HashMap::new();
        let mut local6 = HashMap::new();
        for (i, ifc) in ifaces.iter().enumerate() {
            for &(a, l) in &ifc.addrs {
                routes.add(a, l, i as u16, None);
                local.insert(a, i as u16);
            }
            for &(a, l) in &ifc.addrs6 {
                routes6.add(a, l, i as u16, None);
                local6.entry(a).or_insert(i as u16);
            }
        }
        for &(p, l, port, via) in extra_routes {
            routes.add(p, l, port, via);
        }
        Snapshot {
            generation,
            workers,
            ifaces,
            routes,
            routes6,
            services: ServiceTable::default(),
            classes: ClassMap::new(local.keys().copied()),
            classes6: ClassMap::new(local6.keys().copied()),
            local,
            local6,
            timeouts: TimeoutSet { tcp: 900, tcpfin: 120, udp: 300 },
            conn_reuse_mode: 1,
            expire_nodest_conn: false,
            expire_quiescent_template: false,
            sloppy_tcp: false,
            sync: SyncSettings::default(),
        }
    }

    /// Add the services (both families) and their VIPs' and LIPs' classes.
    pub fn with_services(mut self, t: ServiceTable) -> Self {
        self.classes.add_services(&t.v4);
        self.classes6.add_services(&t.v6);
        self.services = t;
        self
    }

    /// The [`class`] bits of an IPv4 address (0: not ours).
    #[inline(always)]
    pub fn class(&self, addr: u32) -> u8 {
        self.classes.get(addr)
    }

    /// Interface that owns `addr` as a local address or a LIP/VIP it must
    /// answer ARP for (VIPs and LIPs are answered on every interface whose
    /// subnet holds them, or the first interface).
    pub fn answers_arp_for(&self, port_idx: u16, addr: u32) -> bool {
        if let Some(&i) = self.local.get(&addr) {
            return i == port_idx;
        }
        self.services.is_vip(addr) || self.services.is_lip(addr)
    }

    pub fn proto_number(p: Proto) -> u8 {
        p.number()
    }
}
