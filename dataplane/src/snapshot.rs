//! The immutable view of configuration that workers run on.
//!
//! Control builds a new [`Snapshot`] for each committed change and swaps it
//! in atomically; each worker loads the current one once per burst. Nothing
//! in a snapshot changes after publication (runtime counters live behind
//! `Arc`s that outlive snapshots).

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
    /// Addresses with prefix length.
    pub addrs: Vec<(u32, u8)>,
    pub mtu: u16,
    /// The port's RSS (key and RETA read back from the device), so a
    /// worker can tell which rx queue a flow arrives on; `None` when the
    /// port runs without RSS (one queue, or a device rvs cannot predict).
    pub rss: Option<crate::rss::PortRss>,
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
    /// FULLNAT local addresses, host order.
    pub laddrs: Vec<u32>,
    /// Persistence netmask as a u32 (IPv4).
    pub netmask: u32,
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
            netmask: v4(&conf.netmask).unwrap_or(u32::MAX),
            conf: conf.clone(),
            dests,
            sched,
            rt: prev.map(|p| p.rt.clone()).unwrap_or_else(|| SvcRt::new(workers)),
        }
    }
}

/// Lookup key of a service for a packet: (proto number, VIP, port).
type SvcKey = (u8, u32, u16);

/// Services and the maps that find them.
#[derive(Debug, Default)]
pub struct ServiceTable {
    pub list: Vec<Service>,
    /// (proto, vip, vport) → service, for -t/-u services (port 0 = all).
    inet: HashMap<SvcKey, u32>,
    /// (proto, vip, port) → fwmark service; port 0 = every port of the VIP.
    fwmark: HashMap<SvcKey, u32>,
    /// Every VIP (for flow ownership and ARP).
    vips: hashbrown::HashSet<u32>,
    /// Every FULLNAT local address → the service list is not needed.
    lips: hashbrown::HashSet<u32>,
    /// VIPs of -t/-u services with a NAT or FULLNAT dest, or in a fwmark
    /// service's match list: those whose replies come back through us.
    two_way: hashbrown::HashSet<u32>,
}

impl ServiceTable {
    pub fn new(list: Vec<Service>) -> Self {
        let mut t = ServiceTable { list, ..Default::default() };
        for (i, s) in t.list.iter().enumerate() {
            match s.conf.key {
                ServiceKey::Inet { proto, addr: IpAddr::V4(a), port } => {
                    t.inet.insert((proto.number(), a.into(), port), i as u32);
                    t.vips.insert(a.into());
                    if s.dests.iter().any(|d| !matches!(d.fwd, FwdMethod::Dr | FwdMethod::Tun)) {
                        t.two_way.insert(a.into());
                    }
                }
                ServiceKey::Inet { .. } => {}
                ServiceKey::Fwmark(_) => {
                    for m in &s.conf.matches {
                        if let IpAddr::V4(a) = m.vip {
                            t.vips.insert(a.into());
                            t.two_way.insert(a.into());
                            if m.ports.is_empty() {
                                t.fwmark.insert((m.proto.number(), a.into(), 0), i as u32);
                            }
                            for p in &m.ports {
                                t.fwmark.insert((m.proto.number(), a.into(), *p), i as u32);
                            }
                        }
                    }
                }
            }
            t.lips.extend(s.laddrs.iter().copied());
        }
        t
    }

    /// IPVS order: a fwmark service first, then the exact service, then
    /// the VIP's port-0 (all ports) service.
    #[inline]
    pub fn lookup(&self, proto: u8, vip: u32, port: u16) -> Option<u32> {
        if !self.fwmark.is_empty() {
            if let Some(&i) = self.fwmark.get(&(proto, vip, port)).or_else(|| self.fwmark.get(&(proto, vip, 0))) {
                return Some(i);
            }
        }
        self.inet.get(&(proto, vip, port)).or_else(|| self.inet.get(&(proto, vip, 0))).copied()
    }

    #[inline]
    pub fn is_vip(&self, a: u32) -> bool {
        self.vips.contains(&a)
    }

    #[inline]
    pub fn is_lip(&self, a: u32) -> bool {
        self.lips.contains(&a)
    }

    pub fn lips(&self) -> impl Iterator<Item = u32> + '_ {
        self.lips.iter().copied()
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
    pub services: ServiceTable,
    /// Addresses of our interfaces → interface index.
    pub local: HashMap<u32, u16>,
    /// Every address the director handles (interface address, VIP, LIP)
    /// → its [`class`] bits: one lookup per packet instead of three.
    classes: HashMap<u32, u8>,
    /// A one-hash Bloom filter over `classes`: most packets carry at least
    /// one address that is not ours (the client's), answered by one bit
    /// test instead of a hash lookup.
    class_filter: Box<[u64; CLASS_FILTER_WORDS]>,
    pub timeouts: TimeoutSet,
    pub conn_reuse_mode: u8,
    pub expire_nodest_conn: bool,
    pub expire_quiescent_template: bool,
}

/// 64-bit words of [`Snapshot`]'s class filter (16 Kibit: a false
/// positive about once in 16,000 addresses per thousand of ours).
const CLASS_FILTER_WORDS: usize = 256;

#[inline(always)]
fn class_bit(addr: u32) -> (usize, u64) {
    let h = addr.wrapping_mul(0x9e37_79b1) >> 18; // 14 bits
    ((h >> 6) as usize, 1u64 << (h & 63))
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
        let mut local = HashMap::new();
        for (i, ifc) in ifaces.iter().enumerate() {
            for &(a, l) in &ifc.addrs {
                routes.add(a, l, i as u16, None);
                local.insert(a, i as u16);
            }
        }
        for &(p, l, port, via) in extra_routes {
            routes.add(p, l, port, via);
        }
        let mut snap = Snapshot {
            generation,
            workers,
            ifaces,
            routes,
            services: ServiceTable::default(),
            classes: local.keys().map(|a| (*a, class::LOCAL)).collect(),
            class_filter: Box::new([0; CLASS_FILTER_WORDS]),
            local,
            timeouts: TimeoutSet { tcp: 900, tcpfin: 120, udp: 300 },
            conn_reuse_mode: 1,
            expire_nodest_conn: false,
            expire_quiescent_template: false,
        };
        snap.fill_class_filter();
        snap
    }

    pub fn with_services(mut self, t: ServiceTable) -> Self {
        for v in t.vips.iter() {
            let one_way = if t.two_way.contains(v) { 0 } else { class::ONE_WAY };
            *self.classes.entry(*v).or_default() |= class::VIP | one_way;
        }
        for l in t.lips.iter() {
            *self.classes.entry(*l).or_default() |= class::LIP;
        }
        self.services = t;
        self.fill_class_filter();
        self
    }

    fn fill_class_filter(&mut self) {
        self.class_filter.fill(0);
        for a in self.classes.keys() {
            let (w, b) = class_bit(*a);
            self.class_filter[w] |= b;
        }
    }

    /// The [`class`] bits of an address (0: not ours).
    #[inline(always)]
    pub fn class(&self, addr: u32) -> u8 {
        let (w, b) = class_bit(addr);
        if self.class_filter[w] & b == 0 {
            return 0;
        }
        self.classes.get(&addr).copied().unwrap_or(0)
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
