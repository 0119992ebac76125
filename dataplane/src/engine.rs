//! One worker's packet processing, sans-IO: the entry of the pipeline.
//!
//! [`Engine::handle_burst`] takes ownership of a burst of received packets
//! and disposes of each through [`Io`]: transmitted, redirected to the
//! worker that owns its flow, queued for ARP resolution, or dropped with a
//! named counter. The stages, in order, never calling back up:
//!
//! 1. **ingress** (here): the Ethernet, IPv4 and TCP/UDP gates through the
//!    checked views, martian sources, flow owner (redirect), TTL. ARP and
//!    ICMP leave the burst here for their own (slow) paths; what remains is
//!    a service-path packet with its [`Meta`].
//! 2. **lookup** ([`crate::pipeline`]): one batched connection lookup for
//!    the whole burst (hashes, then buckets, then entries).
//! 3. **dispatch** ([`crate::pipeline`]): hit → state transition and the
//!    connection's forwarding mode ([`crate::forward`]); miss → service
//!    lookup, scheduler, new connection ([`crate::service_path`]).
//! 4. **egress** ([`crate::egress`]): route, next hop, MTU, transmit.
//!
//! A stage takes one [`Ctx`] (the snapshots, the Io and the time) instead
//! of a long argument list. The DPDK worker loop implements `Io` over
//! mbufs and tx batches; tests implement it over `Vec<u8>`.

use crate::drop::DropReason;
use crate::family::{Fam, Lane};
use crate::l3::neigh::{NeighTable, Neighbours};
use crate::packet::{arp, eth, icmp, ipv4, PacketBuf};
use crate::pipeline::{AnyMeta, Meta, L3};
use crate::redirect::Redirected;
use crate::snapshot::Snapshot;
use crate::stats::WorkerStats;
use crate::wire::Ethernet;
use std::sync::Arc;

pub use crate::egress::{NextHop, TokenBucket};

/// What the engine needs from its surroundings.
pub trait Io<P> {
    /// A fresh, empty packet buffer (for ARP probes, ICMP errors).
    fn alloc(&mut self) -> Option<P>;
    /// Queue for transmission on a DPDK port id.
    fn tx(&mut self, port_id: u16, pkt: P);
    /// Hand to another worker (refused: the packet comes back).
    fn redirect(&mut self, worker: usize, r: Redirected<P>) -> Result<(), Redirected<P>>;
    /// Hand a routed packet whose next hop is unresolved to the neighbour
    /// owner (worker 0).
    fn to_neigh_owner(&mut self, port_idx: u16, nexthop: std::net::IpAddr, pkt: P) -> Result<(), P>;
    /// Pass up to the kernel interface of interface `port_idx` (the
    /// exception path); refused (the packet comes back) when its queue is
    /// full or the interface has none.
    fn to_kernel(&mut self, port_idx: u16, pkt: P) -> Result<(), P> {
        let _ = port_idx;
        Err(pkt)
    }
}

/// What every stage sees of the world for one burst: the snapshots loaded
/// once per burst, the Io, and the time in ticks of [`crate::conn::HZ`].
pub struct Ctx<'a, I> {
    pub snap: &'a Snapshot,
    pub neigh: &'a Neighbours,
    pub io: &'a mut I,
    pub now: u64,
}

/// Worker-local processing state.
pub struct Engine<P> {
    pub id: usize,
    pub stats: Arc<WorkerStats>,
    /// Authoritative neighbour tables: only on worker 0 (ARP, ND).
    pub neigh: Option<NeighTable<P>>,
    pub neigh6: Option<NeighTable<P, u128>>,
    pub svc: crate::service_path::ServicePath,
    /// Rate limit of the ICMP errors this worker originates.
    pub icmp_limit: TokenBucket,
    /// The exception path's rate limit, by interface index (made from the
    /// snapshot's `Iface::kernel` when first needed).
    kernel_limit: Vec<Option<TokenBucket>>,
    /// Per-family burst and next-hop cache.
    pub(crate) v4: Lane<P, u32>,
    pub(crate) v6: Lane<P, u128>,
    /// Worker 0: the snapshot generation and the IPv6 VIPs/LIPs last
    /// announced (see `announce6`).
    pub(crate) announced6: (Option<u64>, Vec<u128>),
    /// Rings to and from Control's sync daemon (none: no sync).
    pub sync: crate::sync::path::SyncPort,
}

impl<P: PacketBuf> Engine<P> {
    pub fn new(id: usize, stats: Arc<WorkerStats>, svc: crate::service_path::ServicePath) -> Self {
        Engine {
            id,
            stats,
            neigh: (id == 0).then(NeighTable::default),
            neigh6: (id == 0).then(NeighTable::default),
            svc,
            icmp_limit: TokenBucket::ICMP,
            kernel_limit: Vec::new(),
            v4: Lane::default(),
            v6: Lane::default(),
            announced6: (None, Vec::new()),
            sync: Default::default(),
        }
    }

    #[inline(always)]
    pub(crate) fn drop_pkt(&self, r: DropReason, pkt: P) {
        self.stats.count_drop(r);
        drop(pkt);
    }

    /// Process one received packet from interface index `port_idx`: a
    /// burst of one.
    pub fn handle(
        &mut self,
        snap: &Snapshot,
        neigh: &Neighbours,
        io: &mut impl Io<P>,
        pkt: P,
        port_idx: u16,
        now: u64,
    ) {
        let mut cx = Ctx { snap, neigh, io, now };
        self.handle_burst(&mut cx, std::iter::once((pkt, port_idx)));
    }

    /// Process a burst of received packets, each with the interface index
    /// it arrived on.
    pub fn handle_burst<I: Io<P>>(&mut self, cx: &mut Ctx<'_, I>, pkts: impl IntoIterator<Item = (P, u16)>) {
        self.handle_redirected(cx, pkts.into_iter().map(|(pkt, port_idx)| Redirected { pkt, port_idx, meta: None }));
    }

    /// Process packets handed over by other workers: those that carry
    /// their [`Meta`] skip ingress (the sender classified them), the others
    /// start from the Ethernet header.
    pub fn handle_redirected<I: Io<P>>(&mut self, cx: &mut Ctx<'_, I>, items: impl IntoIterator<Item = Redirected<P>>) {
        for r in items {
            match r.meta {
                Some(AnyMeta::V4(m)) => self.push::<I, u32>(cx, r.pkt, m),
                Some(AnyMeta::V6(m)) => self.push::<I, u128>(cx, r.pkt, m),
                None => self.ingress(cx, r.pkt, r.port_idx),
            }
        }
        crate::pipeline::run::<P, I, u32>(self, cx);
        crate::pipeline::run::<P, I, u128>(self, cx);
    }

    /// Add a classified packet to its family's burst; run the burst when
    /// it is full.
    #[inline(always)]
    pub(crate) fn push<I: Io<P>, A: Fam>(&mut self, cx: &mut Ctx<'_, I>, pkt: P, m: Meta<A>) {
        let b = &mut A::lane(self).burst;
        b.push(pkt, m);
        if b.is_full() {
            crate::pipeline::run::<P, I, A>(self, cx);
        }
    }

    /// The exception path: a packet for the director that rvsd does not
    /// handle goes up to the kernel interface of the link it came in on,
    /// within that interface's rate limit. Without a kernel interface it
    /// is dropped as `otherwise`, as before there was one.
    pub(crate) fn up_to_kernel<I: Io<P>>(&mut self, cx: &mut Ctx<'_, I>, pkt: P, port_idx: u16, otherwise: DropReason) {
        let i = port_idx as usize;
        let Some((rate, burst)) = cx.snap.ifaces.get(i).and_then(|f| f.kernel) else {
            return self.drop_pkt(otherwise, pkt);
        };
        if self.kernel_limit.len() <= i {
            self.kernel_limit.resize(i + 1, None);
        }
        let bucket = self.kernel_limit[i].get_or_insert_with(|| TokenBucket::new(rate.into(), burst.into()));
        if !bucket.take(cx.now) {
            return self.drop_pkt(DropReason::KernelRateLimit, pkt);
        }
        match cx.io.to_kernel(port_idx, pkt) {
            Ok(()) => self.stats.kernel_up.inc(),
            Err(pkt) => self.drop_pkt(DropReason::KernelFull, pkt),
        }
    }

    pub(crate) fn redirect<I: Io<P>>(&mut self, cx: &mut Ctx<'_, I>, worker: usize, r: Redirected<P>) {
        match cx.io.redirect(worker, r) {
            Ok(()) => self.stats.redirect_out.inc(),
            Err(r) => self.drop_pkt(DropReason::RedirectFull, r.pkt),
        }
    }

    /// Stage 1 of one packet: the L2/L3/L4 gates. A service-path packet
    /// this worker owns joins its family's burst; everything else is
    /// disposed of here.
    #[inline]
    fn ingress<I: Io<P>>(&mut self, cx: &mut Ctx<'_, I>, pkt: P, port_idx: u16) {
        let frame = match Ethernet::new_checked(pkt.data()) {
            Ok(f) => f,
            Err(r) => return self.drop_pkt(r, pkt),
        };
        let Some(ifc) = cx.snap.ifaces.get(port_idx as usize) else {
            return self.drop_pkt(DropReason::EthNotForUs, pkt);
        };
        let group = frame.is_group();
        if !group && frame.dst() != ifc.mac {
            return self.drop_pkt(DropReason::EthNotForUs, pkt);
        }
        if frame.is_tagged() {
            // 802.1Q: the views read the tag, the data path does not
            // serve VLANs yet (headers are at fixed offsets after 14 bytes).
            return self.drop_pkt(DropReason::EthUnknownType, pkt);
        }
        let ty = frame.ethertype();
        // Only ARP may arrive broadcast: a VIP is a unicast address, and an
        // IPv4 frame to a group MAC was not sent to this director's IP
        // layer. (Other ethertypes are refused below by their own names.)
        if group && ty == eth::TYPE_IPV4 {
            // Except the sync group a backup daemon listens on: its
            // datagrams are for the kernel interface's socket.
            if cx.snap.sync.group.is_some_and(|g| is_sync_datagram(pkt.data(), g)) {
                return self.up_to_kernel(cx, pkt, port_idx, DropReason::EthMulticast);
            }
            return self.drop_pkt(DropReason::EthMulticast, pkt);
        }
        match ty {
            eth::TYPE_IPV4 => self.ipv4(cx, pkt, port_idx),
            eth::TYPE_ARP => {
                if self.neigh.is_none() {
                    // ARP state lives on worker 0.
                    self.redirect(cx, 0, Redirected { pkt, port_idx, meta: None });
                } else {
                    self.arp(cx, pkt, port_idx);
                }
            }
            eth::TYPE_IPV6 => self.ipv6(cx, pkt, port_idx, group),
            _ => self.drop_pkt(DropReason::EthUnknownType, pkt),
        }
    }

    fn arp<I: Io<P>>(&mut self, cx: &mut Ctx<'_, I>, mut pkt: P, port_idx: u16) {
        let a = match arp::parse(pkt.data()) {
            Ok(a) => a,
            Err(r) => return self.drop_pkt(r, pkt),
        };
        let ifc = &cx.snap.ifaces[port_idx as usize];
        let for_us = cx.snap.answers_arp_for(port_idx, a.tpa);
        // Learn the sender when the frame concerns us (RFC 826 merge rule,
        // limited to our own addresses so we do not cache the whole LAN).
        if a.spa != 0 && (for_us || a.op == arp::OP_REPLY) {
            let Some(table) = self.neigh.as_mut() else { return self.drop_pkt(DropReason::ArpNotForUs, pkt) };
            let waiting = table.learn(port_idx, a.spa, a.sha, cx.now / crate::conn::HZ);
            for p in waiting {
                self.emit(cx, p, port_idx, a.sha);
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
            cx.io.tx(ifc.port_id, pkt);
        } else {
            // Learnt; the kernel (if this link has one) resolves its own
            // neighbours and learns from the same reply.
            self.stats.arp_learned.inc();
            if a.op == arp::OP_REPLY
                && for_us
                && cx.snap.ifaces.get(port_idx as usize).is_some_and(|i| i.kernel.is_some())
            {
                self.up_to_kernel(cx, pkt, port_idx, DropReason::ArpNotForUs);
            }
        }
    }

    /// The IPv4 gate: header, martian source, padding; then TCP/UDP/SCTP go on
    /// in the burst, ICMP to its own path.
    #[inline]
    fn ipv4<I: Io<P>>(&mut self, cx: &mut Ctx<'_, I>, mut pkt: P, port_idx: u16) {
        let info = match ipv4::validate_with(pkt.data(), eth::HDR_LEN, pkt.rx_ip_csum()) {
            Ok(i) => i,
            Err(r) => return self.drop_pkt(r, pkt),
        };
        if ipv4::is_martian_src(info.src) || cx.snap.class(info.src) != 0 {
            return self.drop_pkt(DropReason::IpMartianSrc, pkt);
        }
        // Drop Ethernet padding so lengths below are the IP lengths.
        let frame_len = eth::HDR_LEN + info.total_len;
        if pkt.len() > frame_len {
            pkt.set_len(frame_len);
        }
        match info.proto {
            ipv4::PROTO_TCP | ipv4::PROTO_UDP | ipv4::PROTO_SCTP => {
                let l3 = L3 {
                    src: info.src,
                    dst: info.dst,
                    l4: eth::HDR_LEN + info.hdr_len,
                    proto: info.proto,
                    len: info.total_len,
                    ttl: info.ttl,
                    df: info.df,
                    fragment: info.fragment,
                };
                crate::pipeline::classify(self, cx, pkt, &l3, port_idx)
            }
            ipv4::PROTO_ICMP => self.icmp(cx, pkt, &info, port_idx),
            _ => {
                let r = if cx.snap.class(info.dst) != 0 { DropReason::L4Unsupported } else { DropReason::IpNotForUs };
                self.drop_pkt(r, pkt)
            }
        }
    }

    fn icmp<I: Io<P>>(&mut self, cx: &mut Ctx<'_, I>, mut pkt: P, info: &ipv4::Ipv4Info, port_idx: u16) {
        let ours = cx.snap.class(info.dst) != 0;
        let l4 = eth::HDR_LEN + info.hdr_len;
        let ty = pkt.data().get(l4).copied();
        if !ours {
            // ICMP errors about a tracked connection (e.g. from a real
            // server to a client) are handled by the service path.
            if ty.is_some_and(icmp::is_error) {
                return crate::forward::icmp_error(self, cx, pkt, info, port_idx);
            }
            return self.drop_pkt(DropReason::IpNotForUs, pkt);
        }
        match ty {
            Some(icmp::ECHO_REQUEST) if !info.fragment => {
                if !icmp::echo_reply_in_place(pkt.data_mut(), eth::HDR_LEN, info) {
                    return self.drop_pkt(DropReason::IcmpUnhandled, pkt);
                }
                self.stats.icmp_echo.inc();
                self.route_out(cx, pkt, info.src);
            }
            Some(t) if icmp::is_error(t) && !quotes_kernel(cx.snap, pkt.data(), l4) => {
                crate::forward::icmp_error(self, cx, pkt, info, port_idx)
            }
            // Echo replies, errors about the kernel's own packets, the
            // rest: the kernel's (health checks ping and connect from it).
            _ => self.up_to_kernel(cx, pkt, port_idx, DropReason::IcmpUnhandled),
        }
    }

    /// Per-tick work of the service path (connection expiry).
    pub fn service_tick(&mut self, snap: &Snapshot, neigh: &Neighbours, io: &mut impl Io<P>, now: u64) {
        let _ = (neigh, io);
        crate::service_path::tick(self, snap, now);
    }

    /// Worker 0: the neighbour tables to publish, when either changed
    /// since `current` (the copy the workers read) was taken.
    pub fn publish_neigh(&mut self, current: &Neighbours) -> Option<Neighbours> {
        let v4 = self.neigh.as_mut().and_then(|t| t.take_snapshot());
        let v6 = self.neigh6.as_mut().and_then(|t| t.take_snapshot());
        if v4.is_none() && v6.is_none() {
            return None;
        }
        Some(Neighbours { v4: v4.unwrap_or_else(|| current.v4.clone()), v6: v6.unwrap_or_else(|| current.v6.clone()) })
    }

    /// Release every packet this worker still holds (waiting for ARP),
    /// each counted as [`DropReason::Shutdown`].
    pub fn shutdown(&mut self) {
        let mut held = self.neigh.as_mut().map(|t| t.drain_pending()).unwrap_or_default();
        held.extend(self.neigh6.as_mut().map(|t| t.drain_pending()).unwrap_or_default());
        for p in held {
            self.stats.count_drop(DropReason::Shutdown);
            drop(p);
        }
    }

    /// Count and free a packet found queued at shutdown (redirect ring,
    /// neighbour queue).
    pub fn drop_at_shutdown(&self, pkt: P) {
        self.drop_pkt(DropReason::Shutdown, pkt);
    }
}

/// Whether an ICMP error at `l4` quotes a packet the director's kernel
/// sent: its source is one of our interface addresses that is neither a
/// VIP nor a LIP (those are the data path's).
fn quotes_kernel(snap: &Snapshot, frame: &[u8], l4: usize) -> bool {
    use crate::snapshot::class;
    let at = l4 + 8 + 12;
    let Some(src) = frame.get(at..at + 4) else { return false };
    let c = snap.class(u32::from_be_bytes([src[0], src[1], src[2], src[3]]));
    c & class::LOCAL != 0 && c & (class::VIP | class::LIP) == 0
}

/// Is `frame` (Ethernet, IPv4) a UDP datagram to the sync `group`:`port`?
/// A checked view: anything short or odd is not.
fn is_sync_datagram(frame: &[u8], (group, port): (u32, u16)) -> bool {
    let Ok(ip) = crate::wire::ipv4::Ipv4::new_checked(&frame[eth::HDR_LEN.min(frame.len())..]) else {
        return false;
    };
    if ip.proto() != crate::packet::ipv4::PROTO_UDP || ip.dst() != group {
        return false;
    }
    let Some(l4) = frame.get(eth::HDR_LEN + ip.hdr_len()..) else { return false };
    l4.len() >= 8 && u16::from_be_bytes([l4[2], l4[3]]) == port
}
