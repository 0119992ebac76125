//! One worker's packet processing, sans-IO.
//!
//! [`Engine::handle`] takes ownership of a received packet and disposes of
//! it through [`Io`]: transmitted, redirected to the worker that owns its
//! flow, queued for ARP resolution, or dropped with a named counter. The
//! DPDK worker loop implements `Io` over mbufs and tx batches; tests
//! implement it over `Vec<u8>`.

use crate::drop::DropReason;
use crate::l3::neigh::{Action, NeighSnapshot, NeighTable};
use crate::packet::{arp, eth, icmp, ipv4, PacketBuf};
use crate::snapshot::Snapshot;
use crate::stats::WorkerStats;
use crate::wire::{Ethernet, Ipv4};
use std::sync::Arc;

/// What the engine needs from its surroundings.
pub trait Io<P> {
    /// A fresh, empty packet buffer (for ARP probes, ICMP errors).
    fn alloc(&mut self) -> Option<P>;
    /// Queue for transmission on a DPDK port id.
    fn tx(&mut self, port_id: u16, pkt: P);
    /// Hand to another worker's redirect ring (full: the packet comes back).
    fn redirect(&mut self, worker: usize, pkt: P) -> Result<(), P>;
    /// Hand a routed packet whose next hop is unresolved to the neighbour
    /// owner (worker 0).
    fn to_neigh_owner(&mut self, port_idx: u16, nexthop: u32, pkt: P) -> Result<(), P>;
}

/// Worker-local processing state. Times passed to it are ticks of
/// [`crate::conn::HZ`] per second.
pub struct Engine<P> {
    pub id: usize,
    pub stats: Arc<WorkerStats>,
    /// Authoritative neighbour table: only on worker 0.
    pub neigh: Option<NeighTable<P>>,
    pub svc: crate::service_path::ServicePath,
    /// Rate limit of the ICMP errors this worker originates.
    pub icmp_limit: TokenBucket,
}

/// A token bucket in ticks of [`crate::conn::HZ`]: `rate` tokens a second,
/// at most `burst` saved. Per worker, so no state is shared.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    rate: u64,
    burst: u64,
    /// Tokens × HZ (so a fraction of a token per tick is kept).
    credit: u64,
    last: u64,
}

impl TokenBucket {
    /// Linux's defaults for the ICMP errors a host sends
    /// (`icmp_msgs_per_sec` 1000, `icmp_msgs_burst` 50).
    pub const ICMP: TokenBucket = TokenBucket::new(1000, 50);

    pub const fn new(rate: u64, burst: u64) -> Self {
        TokenBucket { rate, burst, credit: burst * crate::conn::HZ, last: 0 }
    }

    /// Take one token at tick `now`; false when none is left.
    pub fn take(&mut self, now: u64) -> bool {
        let hz = crate::conn::HZ;
        let elapsed = now.saturating_sub(self.last);
        self.last = self.last.max(now);
        self.credit = (self.credit + elapsed.saturating_mul(self.rate)).min(self.burst * hz);
        if self.credit < hz {
            return false;
        }
        self.credit -= hz;
        true
    }
}

/// Where a packet goes after rewriting: out of `port_idx` to `nexthop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop {
    pub port_idx: u16,
    pub nexthop: u32,
}

impl<P: PacketBuf> Engine<P> {
    pub fn new(id: usize, stats: Arc<WorkerStats>, svc: crate::service_path::ServicePath) -> Self {
        Engine { id, stats, neigh: (id == 0).then(NeighTable::default), svc, icmp_limit: TokenBucket::ICMP }
    }

    #[inline(always)]
    pub(crate) fn drop_pkt(&self, r: DropReason, pkt: P) {
        self.stats.count_drop(r);
        drop(pkt);
    }

    /// Process one received packet from interface index `port_idx`.
    pub fn handle(
        &mut self,
        snap: &Snapshot,
        neigh: &NeighSnapshot,
        io: &mut impl Io<P>,
        pkt: P,
        port_idx: u16,
        now: u64,
    ) {
        let frame = match Ethernet::new_checked(pkt.data()) {
            Ok(f) => f,
            Err(r) => return self.drop_pkt(r, pkt),
        };
        let Some(ifc) = snap.ifaces.get(port_idx as usize) else {
            return self.drop_pkt(DropReason::EthNotForUs, pkt);
        };
        let group = frame.is_group();
        if !group && frame.dst() != ifc.mac {
            return self.drop_pkt(DropReason::EthNotForUs, pkt);
        }
        let ty = frame.ethertype();
        // Only ARP may arrive broadcast: a VIP is a unicast address, and an
        // IPv4 frame to a group MAC was not sent to this director's IP
        // layer. (Other ethertypes are refused below by their own names.)
        if group && ty == eth::TYPE_IPV4 {
            return self.drop_pkt(DropReason::EthMulticast, pkt);
        }
        match ty {
            eth::TYPE_IPV4 => self.ipv4(snap, neigh, io, pkt, port_idx, now),
            eth::TYPE_ARP => {
                if self.neigh.is_none() {
                    // ARP state lives on worker 0.
                    return self.redirect(io, 0, pkt);
                }
                self.arp(snap, io, pkt, port_idx, now)
            }
            eth::TYPE_IPV6 => self.drop_pkt(DropReason::Ipv6Unsupported, pkt),
            _ => self.drop_pkt(DropReason::EthUnknownType, pkt),
        }
    }

    pub(crate) fn redirect(&mut self, io: &mut impl Io<P>, worker: usize, pkt: P) {
        match io.redirect(worker, pkt) {
            Ok(()) => self.stats.redirect_out.inc(),
            Err(p) => self.drop_pkt(DropReason::RedirectFull, p),
        }
    }

    fn arp(&mut self, snap: &Snapshot, io: &mut impl Io<P>, mut pkt: P, port_idx: u16, now: u64) {
        let a = match arp::parse(pkt.data()) {
            Ok(a) => a,
            Err(r) => return self.drop_pkt(r, pkt),
        };
        let ifc = &snap.ifaces[port_idx as usize];
        let for_us = snap.answers_arp_for(port_idx, a.tpa);
        // Learn the sender when the frame concerns us (RFC 826 merge rule,
        // limited to our own addresses so we do not cache the whole LAN).
        if a.spa != 0 && (for_us || a.op == arp::OP_REPLY) {
            let Some(table) = self.neigh.as_mut() else { return self.drop_pkt(DropReason::ArpNotForUs, pkt) };
            let waiting = table.learn(port_idx, a.spa, a.sha, now / crate::conn::HZ);
            for p in waiting {
                self.emit(snap, io, p, port_idx, a.sha);
            }
        }
        if a.op == arp::OP_REQUEST {
            if !for_us {
                return self.drop_pkt(DropReason::ArpNotForUs, pkt);
            }
            if !pkt.set_len(arp::FRAME_LEN) {
                return self.drop_pkt(DropReason::ArpMalformed, pkt);
            }
            arp::make_reply(pkt.data_mut(), &a, ifc.mac);
            self.stats.arp_replies.inc();
            io.tx(ifc.port_id, pkt);
        } else {
            // Consumed by learning: counted, so rx is accounted for.
            self.stats.arp_learned.inc();
        }
    }

    fn ipv4(
        &mut self,
        snap: &Snapshot,
        neigh: &NeighSnapshot,
        io: &mut impl Io<P>,
        mut pkt: P,
        port_idx: u16,
        now: u64,
    ) {
        let info = match ipv4::validate(pkt.data(), eth::HDR_LEN) {
            Ok(i) => i,
            Err(r) => return self.drop_pkt(r, pkt),
        };
        if ipv4::is_martian_src(info.src) || snap.class(info.src) != 0 {
            return self.drop_pkt(DropReason::IpMartianSrc, pkt);
        }
        // Drop Ethernet padding so lengths below are the IP lengths.
        let frame_len = eth::HDR_LEN + info.total_len;
        if pkt.len() > frame_len {
            pkt.set_len(frame_len);
        }
        match info.proto {
            ipv4::PROTO_TCP | ipv4::PROTO_UDP => {
                crate::service_path::handle(self, snap, neigh, io, pkt, &info, port_idx, now)
            }
            ipv4::PROTO_ICMP => self.icmp(snap, neigh, io, pkt, &info, port_idx, now),
            _ => {
                if snap.class(info.dst) != 0 {
                    self.drop_pkt(DropReason::L4Unsupported, pkt)
                } else {
                    self.drop_pkt(DropReason::IpNotForUs, pkt)
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn icmp(
        &mut self,
        snap: &Snapshot,
        neigh: &NeighSnapshot,
        io: &mut impl Io<P>,
        mut pkt: P,
        info: &ipv4::Ipv4Info,
        port_idx: u16,
        now: u64,
    ) {
        let ours = snap.class(info.dst) != 0;
        let l4 = eth::HDR_LEN + info.hdr_len;
        let ty = pkt.data().get(l4).copied();
        if !ours {
            // ICMP errors about a tracked connection (e.g. from a real
            // server to a client) are handled by the service path.
            if ty.is_some_and(icmp::is_error) {
                return crate::service_path::icmp_error(self, snap, neigh, io, pkt, info, port_idx, now);
            }
            return self.drop_pkt(DropReason::IpNotForUs, pkt);
        }
        match ty {
            Some(icmp::ECHO_REQUEST) if !info.fragment => {
                if !icmp::echo_reply_in_place(pkt.data_mut(), eth::HDR_LEN, info) {
                    return self.drop_pkt(DropReason::IcmpUnhandled, pkt);
                }
                self.stats.icmp_echo.inc();
                self.route_out(snap, neigh, io, pkt, info.src, now);
            }
            Some(t) if icmp::is_error(t) => {
                crate::service_path::icmp_error(self, snap, neigh, io, pkt, info, port_idx, now)
            }
            _ => self.drop_pkt(DropReason::IcmpUnhandled, pkt),
        }
    }

    /// Route an IPv4 packet (Ethernet header present, to be filled) to
    /// `dst` and send it.
    pub fn route_out(
        &mut self,
        snap: &Snapshot,
        neigh: &NeighSnapshot,
        io: &mut impl Io<P>,
        pkt: P,
        dst: u32,
        now: u64,
    ) {
        match snap.routes.lookup(dst) {
            Some((port_idx, nh)) => self.xmit(snap, neigh, io, pkt, NextHop { port_idx, nexthop: nh }, now),
            None => self.drop_pkt(DropReason::NoRoute, pkt),
        }
    }

    /// Resolve the next hop's MAC and transmit, or queue for resolution.
    pub fn xmit(&mut self, snap: &Snapshot, neigh: &NeighSnapshot, io: &mut impl Io<P>, pkt: P, nh: NextHop, now: u64) {
        let mac = match &self.neigh {
            Some(t) => t.get(nh.port_idx, nh.nexthop),
            None => neigh.get(nh.port_idx, nh.nexthop),
        };
        if let Some(mac) = mac {
            return self.emit(snap, io, pkt, nh.port_idx, mac);
        }
        if self.neigh.is_none() {
            if let Err(p) = io.to_neigh_owner(nh.port_idx, nh.nexthop, pkt) {
                self.drop_pkt(DropReason::NeighPendingFull, p);
            } else {
                self.stats.redirect_out.inc();
            }
            return;
        }
        self.resolve_later(snap, io, pkt, nh, now);
    }

    /// Worker 0: queue a packet for an unresolved next hop.
    pub fn resolve_later(&mut self, snap: &Snapshot, io: &mut impl Io<P>, pkt: P, nh: NextHop, now: u64) {
        let Some(table) = self.neigh.as_mut() else {
            // Only worker 0 resolves; a caller elsewhere hands over instead.
            return self.drop_pkt(DropReason::NeighPendingFull, pkt);
        };
        // Resolved meanwhile (a packet handed over by another worker)?
        if let Some(mac) = table.get(nh.port_idx, nh.nexthop) {
            return self.emit(snap, io, pkt, nh.port_idx, mac);
        }
        let (res, action) = table.enqueue(nh.port_idx, nh.nexthop, pkt, now / crate::conn::HZ);
        if let Err(p) = res {
            self.drop_pkt(DropReason::NeighPendingFull, p);
        }
        if let Some(a) = action {
            self.probe(snap, io, a);
        }
    }

    fn emit(&mut self, snap: &Snapshot, io: &mut impl Io<P>, mut pkt: P, port_idx: u16, mac: eth::Mac) {
        let ifc = &snap.ifaces[port_idx as usize];
        let b = pkt.data_mut();
        b[0..6].copy_from_slice(&mac);
        b[6..12].copy_from_slice(&ifc.mac);
        if b.len() <= eth::HDR_LEN + ifc.mtu as usize {
            return io.tx(ifc.port_id, pkt);
        }
        self.fragment_out(io, pkt, ifc.port_id, ifc.mtu);
    }

    /// A frame over the egress MTU. Service traffic with DF was answered
    /// with frag-needed before its rewrite; what still has DF here (or is
    /// not IPv4) cannot be sent. Without DF it is fragmented.
    #[cold]
    fn fragment_out(&mut self, io: &mut impl Io<P>, mut pkt: P, port_id: u16, mtu: u16) {
        let d = pkt.data();
        let ipv4_no_df = Ethernet::new_checked(d)
            .is_ok_and(|f| f.ethertype() == eth::TYPE_IPV4 && Ipv4::new_checked(f.payload()).is_ok_and(|ip| !ip.df()));
        let plan = if ipv4_no_df { crate::packet::frag::Plan::new(d, mtu) } else { None };
        let Some(plan) = plan else {
            return self.drop_pkt(DropReason::TooBig, pkt);
        };
        for i in 1..plan.count() {
            let Some(mut f) = io.alloc() else {
                // The fragments already sent cannot be reassembled: the
                // packet is lost; count it once.
                return self.drop_pkt(DropReason::NoMbuf, pkt);
            };
            if !f.set_len(plan.later_len(i)) {
                drop(f);
                return self.drop_pkt(DropReason::NoMbuf, pkt);
            }
            plan.write_later(pkt.data(), i, f.data_mut());
            self.stats.frags_out.inc();
            io.tx(port_id, f);
        }
        let n = plan.write_first(pkt.data_mut());
        pkt.set_len(n);
        self.stats.frags_out.inc();
        io.tx(port_id, pkt);
    }

    fn probe(&mut self, snap: &Snapshot, io: &mut impl Io<P>, a: Action) {
        let Action::Probe(port_idx, target) = a;
        let Some(ifc) = snap.ifaces.get(port_idx as usize) else { return };
        let Some(src) = ifc.source_for(target) else { return };
        let Some(mut p) = io.alloc() else {
            self.stats.count_drop(DropReason::NoMbuf);
            return;
        };
        if !p.set_len(arp::FRAME_LEN) {
            return self.drop_pkt(DropReason::NoMbuf, p);
        }
        arp::make_request(p.data_mut(), ifc.mac, src, target);
        self.stats.arp_requests.inc();
        io.tx(ifc.port_id, p);
    }

    /// Per-tick work of the service path (connection expiry).
    pub fn service_tick(&mut self, snap: &Snapshot, neigh: &NeighSnapshot, io: &mut impl Io<P>, now: u64) {
        crate::service_path::tick(self, snap, neigh, io, now);
    }

    /// Periodic work (once a second; `now` in ticks): neighbour aging and probes.
    pub fn tick(&mut self, snap: &Snapshot, io: &mut impl Io<P>, now: u64) {
        if let Some(t) = self.neigh.as_mut() {
            let (actions, failed) = t.tick(now / crate::conn::HZ);
            for p in failed {
                self.drop_pkt(DropReason::NeighFailed, p);
            }
            for a in actions {
                self.probe(snap, io, a);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    /// Send an ICMP error about `orig` (IPv4 packet bytes) back to its
    /// source, within the worker's ICMP rate limit. Never about an ICMP
    /// error, a fragment other than the first, or a group address
    /// (RFC 1812 §4.3.2.7).
    pub fn send_icmp_error(
        &mut self,
        snap: &Snapshot,
        neigh: &NeighSnapshot,
        io: &mut impl Io<P>,
        orig: &[u8],
        ty: u8,
        code: u8,
        mtu: u16,
        now: u64,
    ) {
        if !icmp::may_answer(orig) {
            return;
        }
        if !self.icmp_limit.take(now) {
            self.stats.icmp_err_suppressed.inc();
            return;
        }
        let Ok(quoted) = Ipv4::new_checked_quoted(orig) else { return };
        let src_of_orig = quoted.src();
        let Some((port_idx, _)) = snap.routes.lookup(src_of_orig) else { return };
        let Some(from) = snap.ifaces[port_idx as usize].source_for(src_of_orig) else { return };
        let Some(mut p) = io.alloc() else {
            self.stats.count_drop(DropReason::NoMbuf);
            return;
        };
        let need = eth::HDR_LEN + ipv4::MIN_HDR + 8 + orig.len().min(icmp::MAX_QUOTE);
        if !p.set_len(need) {
            return self.drop_pkt(DropReason::NoMbuf, p);
        }
        let n = icmp::build_error(p.data_mut(), from, orig, ty, code, mtu);
        if n == 0 {
            // Nothing to quote: the buffer was never a packet.
            return drop(p);
        }
        p.set_len(n);
        self.stats.icmp_err_sent.inc();
        self.route_out(snap, neigh, io, p, src_of_orig, now);
    }

    /// Release every packet this worker still holds (waiting for ARP),
    /// each counted as [`DropReason::Shutdown`].
    pub fn shutdown(&mut self) {
        if let Some(t) = self.neigh.as_mut() {
            for p in t.drain_pending() {
                self.stats.count_drop(DropReason::Shutdown);
                drop(p);
            }
        }
    }

    /// Count and free a packet found queued at shutdown (redirect ring,
    /// neighbour queue).
    pub fn drop_at_shutdown(&self, pkt: P) {
        self.drop_pkt(DropReason::Shutdown, pkt);
    }
}
