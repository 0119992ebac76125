//! A sans-IO director for tests and fuzzers: no DPDK, every frame watched.
//!
//! [`Harness`] builds what rvsd builds from a small lab configuration
//! ([`LAB_YAML`]): two interfaces (client side, server side), a service
//! for every forwarding mode (NAT, DR, TUN, FULLNAT; TCP and UDP), a
//! persistent port-0 service, one [`Engine`] per worker (1 or 2), and an
//! [`Io`] that records every transmitted frame. Redirects are delivered to
//! the owner engine and packets handed to the neighbour owner reach
//! worker 0, as the worker loop does. Neighbours on both sides are
//! learned in advance on worker 0 (other addresses go through ARP).
//!
//! After every input frame, [`Harness::send`] checks what must hold
//! whatever the frame was, and returns the first violation as an error:
//! - every frame is accounted for exactly once: received + built by the
//!   director = transmitted + dropped with a counter + waiting for ARP +
//!   ARP frames consumed by learning (nothing in flight between workers);
//! - every transmitted frame parses with an independent parser
//!   (etherparse), leaves from one of our ports with that port's MAC, and
//!   is ARP or IPv4 with a valid header checksum, TTL ≥ 1 and no bytes
//!   beyond the IP total length;
//! - a frame the director built (ICMP error) has a valid ICMP checksum;
//!   a forwarded frame whose L4 (TCP/UDP/ICMP) checksum was valid on
//!   input still has a valid one on output (inside the tunnel for TUN).
//!   The reverse (a bad checksum stays bad) is not asserted yet.
//! - each worker's `conns` counter equals its table's length.
//!
//! A panic anywhere in the engine is, of course, also a failure: the
//! fuzz targets in `fuzz/` call [`fuzz::frames`] and [`fuzz::flows`],
//! which panic on a violation so libFuzzer records the input.

pub mod check;
pub mod fuzz;

use crate::conn::HZ;
use crate::engine::{Engine, Io};
use crate::l3::neigh::Neighbours;
use crate::packet::eth::Mac;
use crate::packet::PacketBuf;
use crate::redirect::Redirected;
use crate::service_path::{new_templates, ServicePath};
use crate::snapshot::{Iface, Service, ServiceTable, Snapshot};
use crate::stats::WorkerStats;
use std::collections::VecDeque;
use std::sync::Arc;

/// Interface index (and DPDK port id) of the client side.
pub const CLIENT: u16 = 0;
/// Interface index (and DPDK port id) of the server side.
pub const SERVER: u16 = 1;
/// Our MAC on the client side.
pub const CLIENT_MAC: Mac = [2, 0, 0, 0, 0, 0x0c];
/// Our MAC on the server side.
pub const SERVER_MAC: Mac = [2, 0, 0, 0, 0, 0x05];
/// Client-side director address and the client-side gateway (default route).
pub const DIP_CLIENT: [u8; 4] = [172, 25, 254, 1];
pub const GATEWAY: [u8; 4] = [172, 25, 254, 254];
pub const GATEWAY_MAC: Mac = [2, 0, 0, 0, 1, 0xfe];
/// A client on the client subnet, learned in advance.
pub const CIP: [u8; 4] = [172, 25, 254, 200];
pub const CIP_MAC: Mac = [2, 0, 0, 0, 1, 0xc8];
/// Server-side director address (TUN outer source).
pub const DIP: [u8; 4] = [192, 168, 0, 100];
/// Real servers (learned in advance) and the FULLNAT local address.
pub const RS1: [u8; 4] = [192, 168, 0, 10];
pub const RS2: [u8; 4] = [192, 168, 0, 20];
pub const RS1_MAC: Mac = [2, 0, 0, 0, 2, 10];
/// The IPv6 client and real server 1 of the lab (see [`LAB_YAML`]).
pub const CIP6: u128 = 0x2001_0db8_000c_0000_0000_0000_0000_0200;
pub const RS1_6: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0010;
pub const RS2_6: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0020;
/// The IPv6 NAT VIP (TCP 80 → RS:8080, UDP 53 → RS:5353).
pub const VIP6_NAT: u128 = 0x2001_0db8_000c_0000_0000_0000_0000_0101;
/// The IPv6 DR VIP (UDP 53).
pub const VIP6_DR: u128 = 0x2001_0db8_000c_0000_0000_0000_0000_0102;
/// The IPv6 FULLNAT VIP (TCP 80, UDP 53; LIP 2001:db8:1::101).
pub const VIP6_FULLNAT: u128 = 0x2001_0db8_000c_0000_0000_0000_0000_0104;
/// The NAT64 VIP (TCP 80, UDP 53; IPv4 LIP 192.168.0.101 and servers).
pub const VIP6_NAT64: u128 = 0x2001_0db8_000c_0000_0000_0000_0000_0106;
pub const RS2_MAC: Mac = [2, 0, 0, 0, 2, 20];
pub const LIP: [u8; 4] = [192, 168, 0, 101];
/// One VIP per forwarding mode, and the persistent port-0 NAT service.
pub const VIP_NAT: [u8; 4] = [172, 25, 254, 101];
pub const VIP_DR: [u8; 4] = [172, 25, 254, 102];
pub const VIP_TUN: [u8; 4] = [172, 25, 254, 103];
pub const VIP_FULLNAT: [u8; 4] = [172, 25, 254, 104];
pub const VIP_PERSIST: [u8; 4] = [172, 25, 254, 105];
/// TCP services listen on 80, UDP services on 53.
pub const TCP_PORT: u16 = 80;
pub const UDP_PORT: u16 = 53;
/// NAT and FULLNAT map to these real-server ports.
pub const RS_TCP_PORT: u16 = 8080;
pub const RS_UDP_PORT: u16 = 5353;
/// GUE destination port of the TUN UDP service's dests.
pub const GUE_PORT: u16 = 6080;
/// Connection table size per worker (small: fuzz inputs can fill it).
pub const CONN_CAPACITY: usize = 64;

/// The lab's configuration, in the YAML operators write (so it is
/// validated like theirs). Interface devices are never opened.
pub const LAB_YAML: &str = "
interfaces:
  - { name: client, device: net_null0, addresses: [172.25.254.1/24, '2001:db8:c::1/64'] }
  - { name: server, device: net_null1, addresses: [192.168.0.100/24, '2001:db8:1::100/64'] }
conn: { tcp_timeout: 30, tcpfin_timeout: 10, udp_timeout: 20 }
routes:
  - { prefix: 0.0.0.0/0, via: 172.25.254.254, dev: client }
services:
  - { vip: 172.25.254.101, port: 80, scheduler: rr, dests: [
      { addr: 192.168.0.10, port: 8080, fwd: nat }, { addr: 192.168.0.20, port: 8080, fwd: nat } ] }
  - { proto: udp, vip: 172.25.254.101, port: 53, scheduler: rr, dests: [
      { addr: 192.168.0.10, port: 5353, fwd: nat }, { addr: 192.168.0.20, port: 5353, fwd: nat } ] }
  - { vip: 172.25.254.102, port: 80, scheduler: rr, dests: [
      { addr: 192.168.0.10, fwd: dr }, { addr: 192.168.0.20, fwd: dr } ] }
  - { proto: udp, vip: 172.25.254.102, port: 53, scheduler: sh, dests: [
      { addr: 192.168.0.10, fwd: dr }, { addr: 192.168.0.20, fwd: dr } ] }
  - { vip: 172.25.254.103, port: 80, scheduler: rr, dests: [
      { addr: 192.168.0.10, fwd: tun }, { addr: 192.168.0.20, fwd: tun, tun_type: gre } ] }
  - { proto: udp, vip: 172.25.254.103, port: 53, scheduler: rr, dests: [
      { addr: 192.168.0.10, fwd: tun, tun_type: gue, tun_port: 6080 },
      { addr: 192.168.0.20, fwd: tun, tun_type: gue, tun_port: 6080 } ] }
  - { vip: 172.25.254.104, port: 80, scheduler: rr, laddrs: [192.168.0.101], dests: [
      { addr: 192.168.0.10, port: 8080, fwd: fullnat }, { addr: 192.168.0.20, port: 8080, fwd: fullnat } ] }
  - { proto: udp, vip: 172.25.254.104, port: 53, scheduler: rr, laddrs: [192.168.0.101], dests: [
      { addr: 192.168.0.10, port: 5353, fwd: fullnat }, { addr: 192.168.0.20, port: 5353, fwd: fullnat } ] }
  - { vip: 172.25.254.105, port: 0, scheduler: wlc, persistent: 60, dests: [
      { addr: 192.168.0.10, fwd: nat }, { addr: 192.168.0.20, fwd: nat } ] }
  - { proto: udp, vip: 172.25.254.105, port: 0, scheduler: wlc, persistent: 60, dests: [
      { addr: 192.168.0.10, fwd: nat }, { addr: 192.168.0.20, fwd: nat } ] }
  - { vip: '2001:db8:c::101', port: 80, scheduler: rr, dests: [
      { addr: '2001:db8:1::10', port: 8080, fwd: nat }, { addr: '2001:db8:1::20', port: 8080, fwd: nat } ] }
  - { proto: udp, vip: '2001:db8:c::101', port: 53, scheduler: rr, dests: [
      { addr: '2001:db8:1::10', port: 5353, fwd: nat }, { addr: '2001:db8:1::20', port: 5353, fwd: nat } ] }
  - { proto: udp, vip: '2001:db8:c::104', port: 53, scheduler: rr, laddrs: ['2001:db8:1::101'], dests: [
      { addr: '2001:db8:1::10', port: 5353, fwd: fullnat }, { addr: '2001:db8:1::20', port: 5353, fwd: fullnat } ] }
  - { proto: udp, vip: '2001:db8:c::102', port: 53, scheduler: rr, dests: [
      { addr: '2001:db8:1::10', fwd: dr }, { addr: '2001:db8:1::20', fwd: dr } ] }
  - { vip: '2001:db8:c::104', port: 80, scheduler: rr, laddrs: ['2001:db8:1::101'], dests: [
      { addr: '2001:db8:1::10', port: 8080, fwd: fullnat }, { addr: '2001:db8:1::20', port: 8080, fwd: fullnat } ] }
  - { vip: '2001:db8:c::106', port: 80, scheduler: rr, laddrs: [192.168.0.101], dests: [
      { addr: 192.168.0.10, port: 8080, fwd: fullnat }, { addr: 192.168.0.20, port: 8080, fwd: fullnat } ] }
  - { proto: udp, vip: '2001:db8:c::106', port: 53, scheduler: rr, laddrs: [192.168.0.101], dests: [
      { addr: 192.168.0.10, port: 5353, fwd: fullnat }, { addr: 192.168.0.20, port: 5353, fwd: fullnat } ] }
";

/// Where a frame came from, carried with it through the engine so that
/// output can be checked against its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Received from outside (`seq`: the harness's input number);
    /// `l4_ok`: its TCP/UDP/ICMP checksum was valid.
    Input { seq: u64, l4_ok: bool },
    /// Built by the director (`Io::alloc`: ARP probe, ICMP error).
    Built,
}

/// The packet buffer the harness runs the engine on.
#[derive(Debug, Clone)]
pub struct Frame {
    pub bytes: Vec<u8>,
    pub origin: Origin,
}

impl PacketBuf for Frame {
    fn data(&self) -> &[u8] {
        &self.bytes
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
    fn prepend(&mut self, n: usize) -> bool {
        self.bytes.prepend(n)
    }
    fn adj(&mut self, n: usize) -> bool {
        self.bytes.adj(n)
    }
    fn set_len(&mut self, n: usize) -> bool {
        PacketBuf::set_len(&mut self.bytes, n)
    }
}

/// A transmitted frame.
#[derive(Debug, Clone)]
pub struct Sent {
    pub port_id: u16,
    pub frame: Frame,
}

/// Records what the engine does with packets; the harness delivers the
/// queued hand-offs after each call into an engine.
#[derive(Default)]
struct RecIo {
    sent: Vec<Sent>,
    /// (owner worker, packet with its metadata) handed over for its flow.
    redirects: VecDeque<(usize, Redirected<Frame>)>,
    /// (port index, next hop, packet) handed to worker 0 for ARP.
    to_neigh: VecDeque<(u16, std::net::IpAddr, Frame)>,
    /// (interface index, packet) passed up to the kernel.
    up: Vec<(u16, Frame)>,
    built: u64,
}

impl Io<Frame> for RecIo {
    fn alloc(&mut self) -> Option<Frame> {
        self.built += 1;
        Some(Frame { bytes: Vec::new(), origin: Origin::Built })
    }
    fn tx(&mut self, port_id: u16, pkt: Frame) {
        self.sent.push(Sent { port_id, frame: pkt });
    }
    fn redirect(&mut self, worker: usize, r: Redirected<Frame>) -> Result<(), Redirected<Frame>> {
        self.redirects.push_back((worker, r));
        Ok(())
    }
    fn to_neigh_owner(&mut self, port_idx: u16, nexthop: std::net::IpAddr, pkt: Frame) -> Result<(), Frame> {
        self.to_neigh.push_back((port_idx, nexthop, pkt));
        Ok(())
    }
    fn to_kernel(&mut self, port_idx: u16, pkt: Frame) -> Result<(), Frame> {
        self.up.push((port_idx, pkt));
        Ok(())
    }
}

/// What happened to one input frame (or one time step).
#[derive(Debug, Default)]
pub struct Step {
    /// Frames transmitted, in order.
    pub sent: Vec<Sent>,
    /// Redirects between workers that were delivered.
    pub redirects: usize,
    /// Drop counters that moved: (name, increase).
    pub drops: Vec<(&'static str, u64)>,
    /// Frames passed up to the kernel (exception path): (interface, frame).
    pub up: Vec<(u16, Frame)>,
}

/// Redirect hand-offs one frame may take before we call it a loop.
const MAX_HOPS: usize = 4;

/// The director under test. See the module documentation.
pub struct Harness {
    pub snap: Snapshot,
    pub engines: Vec<Engine<Frame>>,
    /// What worker 0 last published of its neighbour table.
    neigh: Neighbours,
    io: RecIo,
    /// Current time in ticks of [`HZ`].
    pub now: u64,
    seq: u64,
    /// Accounting totals since creation.
    received: u64,
    consumed: u64,
    transmitted: u64,
    passed_up: u64,
}

fn v4(a: [u8; 4]) -> u32 {
    u32::from_be_bytes(a)
}

/// Build a snapshot of `cfg` the way Control does, with fixed MACs.
pub fn snapshot_of(cfg: &rvs_conf::Config, generation: u64) -> Snapshot {
    let macs = [CLIENT_MAC, SERVER_MAC];
    let ifaces: Vec<Iface> = cfg
        .interfaces
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (addrs, addrs6) = crate::snapshot::from_conf::iface_addrs(c);
            Iface {
                name: c.name.clone(),
                port_id: i as u16,
                mac: macs.get(i).copied().unwrap_or([2, 0, 0, 0, 0, i as u8]),
                addrs,
                addrs6,
                mtu: c.mtu,
                rss: None,
                kernel: None,
            }
        })
        .collect();
    let (routes, routes6) = crate::snapshot::from_conf::static_routes(cfg);
    let workers = cfg.workers.count as usize;
    let list = cfg.services.iter().map(|s| Service::build(s, workers, None)).collect();
    let mut snap = Snapshot::new(generation, workers, ifaces, &routes)
        .with_routes6(&routes6)
        .with_services(ServiceTable::new(list));
    snap.timeouts.tcp = cfg.conn.tcp_timeout;
    snap.timeouts.tcpfin = cfg.conn.tcpfin_timeout;
    snap.timeouts.udp = cfg.conn.udp_timeout;
    snap.conn_reuse_mode = cfg.conn.conn_reuse_mode;
    snap.sloppy_tcp = cfg.conn.sloppy_tcp;
    snap
}

impl Harness {
    /// The lab director with `workers` workers (1 or 2; more also work).
    pub fn new(workers: usize) -> Harness {
        // Parsed once: fuzzers build a harness per input.
        static LAB: std::sync::OnceLock<rvs_conf::Config> = std::sync::OnceLock::new();
        let mut cfg = LAB
            .get_or_init(|| rvs_conf::load_str("testkit", LAB_YAML).expect("the lab configuration is valid"))
            .clone();
        cfg.workers.count = workers.clamp(1, 64) as u16;
        Harness::with_config(&cfg)
    }

    /// A director for any configuration (interfaces 0 and 1 get
    /// [`CLIENT_MAC`] and [`SERVER_MAC`]).
    pub fn with_config(cfg: &rvs_conf::Config) -> Harness {
        let snap = snapshot_of(cfg, 1);
        let workers = snap.workers.max(1);
        let templates = new_templates(64);
        let engines: Vec<Engine<Frame>> = (0..workers)
            .map(|id| {
                let sp = ServicePath::new(id, workers, CONN_CAPACITY, templates.clone(), 0);
                Engine::new(id, Arc::new(WorkerStats::default()), sp)
            })
            .collect();
        let mut h = Harness {
            snap,
            engines,
            neigh: Neighbours::default(),
            io: RecIo::default(),
            now: 0,
            seq: 0,
            received: 0,
            consumed: 0,
            transmitted: 0,
            passed_up: 0,
        };
        if let Some(t) = h.engines[0].neigh.as_mut() {
            for (port, ip, mac) in
                [(CLIENT, GATEWAY, GATEWAY_MAC), (CLIENT, CIP, CIP_MAC), (SERVER, RS1, RS1_MAC), (SERVER, RS2, RS2_MAC)]
            {
                t.learn(port, v4(ip), mac, 0);
            }
            if let Some(s) = t.take_snapshot() {
                h.neigh.v4 = s;
            }
        }
        // IPv6: the client and RS1 known; RS2 is left to ND.
        if let Some(t) = h.engines[0].neigh6.as_mut() {
            t.learn(CLIENT, CIP6, CIP_MAC, 0);
            t.learn(SERVER, RS1_6, RS1_MAC, 0);
            if let Some(s) = t.take_snapshot() {
                h.neigh.v6 = s;
            }
        }
        h
    }

    pub fn workers(&self) -> usize {
        self.engines.len()
    }

    /// Every drop counter of every worker, summed.
    pub fn total_drops(&self) -> u64 {
        self.engines.iter().map(|e| e.stats.total_drops()).sum()
    }

    fn drop_counts(&self) -> Vec<u64> {
        crate::drop::DropReason::ALL.iter().map(|r| self.engines.iter().map(|e| e.stats.drops(*r)).sum()).collect()
    }

    /// Receive `bytes` on interface `port` (on the worker that polls it:
    /// with RSS any worker may; `worker` picks it, modulo the count).
    /// Returns what happened, or the first invariant that broke.
    pub fn send_on(&mut self, worker: usize, port: u16, bytes: Vec<u8>) -> Result<Step, String> {
        self.seq += 1;
        self.received += 1;
        let l4_ok = check::l4_valid_frame(&bytes);
        let consumed = check::is_consumed_arp(&bytes, &self.snap, port);
        let frame = Frame { bytes, origin: Origin::Input { seq: self.seq, l4_ok } };
        let before = self.drop_counts();
        let w = worker % self.workers();
        let now = self.now;
        let (snap, neigh, io) = (&self.snap, &self.neigh, &mut self.io);
        self.engines[w].handle(snap, neigh, io, frame, port, now);
        let redirects = self.deliver()?;
        // An ARP reply the kernel also gets is passed up, not consumed.
        if consumed && self.io.up.is_empty() {
            self.consumed += 1;
        }
        self.finish(before, redirects)
    }

    /// [`Harness::send_on`] on worker 0.
    pub fn send(&mut self, port: u16, bytes: Vec<u8>) -> Result<Step, String> {
        self.send_on(0, port, bytes)
    }

    /// Let `ticks` ticks of [`HZ`] pass, running each worker's per-tick
    /// work (connection expiry) and per-second work (neighbour aging,
    /// probes) as the worker loop does. Long waits are taken in steps of
    /// up to 16 s (the loop skips ticks too when a burst takes long).
    pub fn advance(&mut self, ticks: u64) -> Result<Step, String> {
        let before = self.drop_counts();
        let end = self.now + ticks;
        while self.now < end {
            let step = if end - self.now > 4 * HZ { (end - self.now - 4 * HZ).clamp(1, 16 * HZ) } else { 1 };
            let prev_sec = self.now / HZ;
            self.now += step;
            let now = self.now;
            for e in self.engines.iter_mut() {
                let (snap, neigh, io) = (&self.snap, &self.neigh, &mut self.io);
                e.service_tick(snap, neigh, io, now);
                if now / HZ != prev_sec {
                    e.tick(snap, io, now);
                }
            }
            self.publish_neigh();
            self.deliver()?;
        }
        self.finish(before, 0)
    }

    fn publish_neigh(&mut self) {
        if let Some(n) = self.engines[0].publish_neigh(&self.neigh) {
            self.neigh = n;
        }
    }

    /// Deliver redirects and neighbour hand-offs until none are left.
    fn deliver(&mut self) -> Result<usize, String> {
        let mut hops = 0;
        loop {
            self.publish_neigh();
            if let Some((w, f)) = self.io.redirects.pop_front() {
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(format!("redirect loop: {hops} hand-offs for one input"));
                }
                if w >= self.workers() {
                    return Err(format!("redirect to worker {w} of {}", self.workers()));
                }
                self.engines[w].stats.redirect_in.inc();
                let now = self.now;
                let mut cx = crate::engine::Ctx { snap: &self.snap, neigh: &self.neigh, io: &mut self.io, now };
                self.engines[w].handle_redirected(&mut cx, std::iter::once(f));
                continue;
            }
            if let Some((port_idx, nexthop, f)) = self.io.to_neigh.pop_front() {
                let now = self.now;
                let (snap, io) = (&self.snap, &mut self.io);
                self.engines[0].resolve_later(snap, io, f, (port_idx, nexthop), now);
                continue;
            }
            return Ok(hops);
        }
    }

    /// Check the invariants after a step and return what it did.
    fn finish(&mut self, before: Vec<u64>, redirects: usize) -> Result<Step, String> {
        let sent = std::mem::take(&mut self.io.sent);
        self.transmitted += sent.len() as u64;
        let up = std::mem::take(&mut self.io.up);
        self.passed_up += up.len() as u64;
        for s in &sent {
            check::sent_frame(&self.snap, s).map_err(|e| format!("transmitted frame {:02x?}: {e}", s.frame.bytes))?;
        }
        let after = self.drop_counts();
        let drops: Vec<(&'static str, u64)> = crate::drop::DropReason::ALL
            .iter()
            .zip(before.iter().zip(after.iter()))
            .filter(|(_, (b, a))| a != b)
            .map(|(r, (b, a))| (r.name(), a - b))
            .collect();
        let e0 = &self.engines[0];
        let pending = (e0.neigh.as_ref().map_or(0, |t| t.pending_len())
            + e0.neigh6.as_ref().map_or(0, |t| t.pending_len())) as u64;
        let dropped = self.total_drops();
        let got = self.received + self.io.built;
        let gone = self.transmitted + dropped + pending + self.consumed + self.passed_up;
        if got != gone {
            return Err(format!(
                "accounting: received {} + built {} != transmitted {} + dropped {} + waiting for ARP {} + ARP consumed {} + passed up {} \
                 (this step: sent {}, drops {:?})",
                self.received,
                self.io.built,
                self.transmitted,
                dropped,
                pending,
                self.consumed,
                self.passed_up,
                sent.len(),
                drops
            ));
        }
        for e in &self.engines {
            let entries = e.svc.conns.len() + e.svc.conns6.len();
            if e.stats.conns.get() != entries as u64 {
                return Err(format!(
                    "worker {}: conns counter {} but {} entries in its table",
                    e.id,
                    e.stats.conns.get(),
                    entries
                ));
            }
        }
        Ok(Step { sent, redirects, drops, up })
    }
}

#[cfg(test)]
mod tests;
