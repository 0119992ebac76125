//! Egress: route, next hop, MTU and transmit; and the packets the
//! director originates (ARP probes, ICMP errors).
//!
//! The last stage of the pipeline. Worker 0 owns the authoritative
//! neighbour table; other workers read its published snapshot and hand a
//! packet whose next hop is unresolved to worker 0.
//!
//! Established traffic goes to few destinations (the real servers, the
//! gateway's clients), so each worker keeps a small direct-mapped cache of
//! resolved hops by destination address — egress port, MTU, both MACs —
//! valid while the service snapshot and the neighbour table it was
//! computed from are unchanged. A hit costs one probe instead of a route
//! scan and a neighbour hash lookup; a miss or anything unresolved takes
//! the full path.

use crate::addr::Addr;
use crate::drop::DropReason;
use crate::engine::{Ctx, Engine, Io};
use crate::family::Fam;
use crate::l3::neigh::Action;
use crate::packet::{eth, PacketBuf};
use crate::snapshot::Snapshot;
use crate::wire::{Ethernet, Ipv4};

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
pub struct NextHop<A: Addr = u32> {
    pub port_idx: u16,
    pub nexthop: A,
}

/// A resolved way out to one destination address.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hop<A: Addr> {
    dst: A,
    /// What it was computed from: snapshot (generation and identity) and
    /// neighbour table version.
    generation: u64,
    snap: usize,
    neigh: u64,
    valid: bool,
    /// The destination is on-link (the next hop is the address itself).
    pub direct: bool,
    /// Interface index (into the snapshot's interfaces) and DPDK port.
    pub port_idx: u16,
    pub port_id: u16,
    pub mtu: u16,
    pub mac: eth::Mac,
    pub src_mac: eth::Mac,
}

/// Slots of the hop cache (a power of two).
const HOP_SLOTS: usize = 256;

/// See the module documentation. One per family.
#[derive(Debug)]
pub struct HopCache<A: Addr = u32> {
    slots: Vec<Hop<A>>,
}

impl<A: Addr> Default for HopCache<A> {
    fn default() -> Self {
        HopCache { slots: vec![Hop::default(); HOP_SLOTS] }
    }
}

#[inline(always)]
fn hop_slot<A: Addr>(dst: A) -> usize {
    let [hi, lo] = dst.words();
    let x = (lo ^ hi.rotate_left(29)) as u32;
    (x.wrapping_mul(0x9e37_79b1) >> (32 - HOP_SLOTS.trailing_zeros())) as usize
}

impl<P: PacketBuf> Engine<P> {
    /// The resolved hop to `dst`: from the cache, else by route and
    /// neighbour lookup (and then cached). None when there is no route or
    /// the next hop's MAC is not known yet.
    ///
    /// The cache probe is inlined into the callers; the fill is not (it
    /// runs once per destination and snapshot).
    #[inline(always)]
    pub(crate) fn hop<I, A: Fam>(&mut self, cx: &Ctx<'_, I>, dst: A) -> Option<Hop<A>> {
        let neigh = A::neigh_version(self, cx);
        let (generation, snap) = (cx.snap.generation, cx.snap as *const Snapshot as usize);
        let i = hop_slot(dst);
        let h = &A::lane(self).hops.slots[i];
        if h.valid && h.dst == dst && h.generation == generation && h.snap == snap && h.neigh == neigh {
            return Some(*h);
        }
        self.fill_hop(cx, dst, i, neigh)
    }

    /// [`Engine::hop`] on a cache miss: route and neighbour lookup, then
    /// slot `i` takes the result.
    #[inline(never)]
    fn fill_hop<I, A: Fam>(&mut self, cx: &Ctx<'_, I>, dst: A, i: usize, neigh: u64) -> Option<Hop<A>> {
        let (generation, snap) = (cx.snap.generation, cx.snap as *const Snapshot as usize);
        let (port_idx, nh) = A::routes(cx.snap).lookup(dst)?;
        let mac = A::neigh(self, cx, port_idx, nh)?;
        let ifc = &cx.snap.ifaces[port_idx as usize];
        let h = Hop {
            dst,
            generation,
            snap,
            neigh,
            valid: true,
            direct: nh == dst,
            port_idx,
            port_id: ifc.port_id,
            mtu: ifc.mtu,
            mac,
            src_mac: ifc.mac,
        };
        A::lane(self).hops.slots[i] = h;
        Some(h)
    }

    /// The egress MTU towards `dst` (1500 without a route).
    #[inline]
    pub(crate) fn mtu_to<I, A: Fam>(&mut self, cx: &Ctx<'_, I>, dst: A) -> u16 {
        match self.hop(cx, dst) {
            Some(h) => h.mtu,
            None => A::routes(cx.snap).lookup(dst).map(|(p, _)| cx.snap.ifaces[p as usize].mtu).unwrap_or(1500),
        }
    }

    /// Send through a resolved hop.
    #[inline]
    pub(crate) fn emit_hop<I: Io<P>, A: Addr>(&mut self, cx: &mut Ctx<'_, I>, pkt: P, h: &Hop<A>) {
        self.send_to(cx.io, pkt, (h.mac, h.src_mac), h.port_id, h.mtu);
    }

    /// Address the frame (`macs`: next hop's, ours) and queue it on
    /// `port_id`, fragmenting what exceeds `mtu`.
    #[inline]
    fn send_to(&mut self, io: &mut impl Io<P>, mut pkt: P, macs: (eth::Mac, eth::Mac), port_id: u16, mtu: u16) {
        match Ethernet::new_checked(pkt.data_mut()) {
            Ok(mut f) => {
                f.set_dst(macs.0);
                f.set_src(macs.1);
            }
            Err(r) => return self.drop_pkt(r, pkt),
        }
        if pkt.len() <= eth::HDR_LEN + mtu as usize {
            return io.tx(port_id, pkt);
        }
        self.fragment_out(io, pkt, port_id, mtu);
    }

    /// Route a packet of family `A` (Ethernet header present, to be
    /// filled) to `dst` and send it.
    #[inline]
    pub(crate) fn route_out<I: Io<P>, A: Fam>(&mut self, cx: &mut Ctx<'_, I>, pkt: P, dst: A) {
        if let Some(h) = self.hop(cx, dst) {
            return self.emit_hop(cx, pkt, &h);
        }
        match A::routes(cx.snap).lookup(dst) {
            Some((port_idx, nh)) => self.xmit(cx, pkt, NextHop { port_idx, nexthop: nh }),
            None => self.drop_pkt(DropReason::NoRoute, pkt),
        }
    }

    /// Resolve the next hop's MAC and transmit, or queue for resolution.
    pub(crate) fn xmit<I: Io<P>, A: Fam>(&mut self, cx: &mut Ctx<'_, I>, pkt: P, nh: NextHop<A>) {
        if let Some(mac) = A::neigh(self, cx, nh.port_idx, nh.nexthop) {
            return self.emit(cx, pkt, nh.port_idx, mac);
        }
        if self.neigh.is_none() {
            if let Err(p) = cx.io.to_neigh_owner(nh.port_idx, nh.nexthop.to_ip(), pkt) {
                self.drop_pkt(DropReason::NeighPendingFull, p);
            } else {
                self.stats.redirect_out.inc();
            }
            return;
        }
        self.queue_for_neigh(cx, pkt, nh);
    }

    /// Worker 0: queue a packet handed over by another worker for an
    /// unresolved next hop `nexthop` on `port_idx`.
    pub fn resolve_later(
        &mut self,
        snap: &Snapshot,
        io: &mut impl Io<P>,
        pkt: P,
        (port_idx, nexthop): (u16, std::net::IpAddr),
        now: u64,
    ) {
        let neigh = Default::default();
        let mut cx = Ctx { snap, neigh: &neigh, io, now };
        match nexthop {
            std::net::IpAddr::V4(a) => self.queue_for_neigh(&mut cx, pkt, NextHop { port_idx, nexthop: u32::from(a) }),
            std::net::IpAddr::V6(a) => self.queue_for_neigh(&mut cx, pkt, NextHop { port_idx, nexthop: u128::from(a) }),
        }
    }

    fn queue_for_neigh<I: Io<P>, A: Fam>(&mut self, cx: &mut Ctx<'_, I>, pkt: P, nh: NextHop<A>) {
        let Some(table) = A::neigh_table(self) else {
            // Only worker 0 resolves; a caller elsewhere hands over instead.
            return self.drop_pkt(DropReason::NeighPendingFull, pkt);
        };
        // Resolved meanwhile (a packet handed over by another worker)?
        if let Some(mac) = table.get(nh.port_idx, nh.nexthop) {
            return self.emit(cx, pkt, nh.port_idx, mac);
        }
        let (res, action) = table.enqueue(nh.port_idx, nh.nexthop, pkt, cx.now / crate::conn::HZ);
        if let Err(p) = res {
            self.drop_pkt(DropReason::NeighPendingFull, p);
        }
        if let Some(a) = action {
            self.probe(cx.snap, cx.io, a);
        }
    }

    pub(crate) fn emit<I: Io<P>>(&mut self, cx: &mut Ctx<'_, I>, pkt: P, port_idx: u16, mac: eth::Mac) {
        let ifc = &cx.snap.ifaces[port_idx as usize];
        self.send_to(cx.io, pkt, (mac, ifc.mac), ifc.port_id, ifc.mtu);
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

    /// Solicit a neighbour's MAC: an ARP request for IPv4, a Neighbour
    /// Solicitation for IPv6.
    fn probe<A: Fam>(&mut self, snap: &Snapshot, io: &mut impl Io<P>, a: Action<A>) {
        let Action::Probe(port_idx, target) = a;
        let Some(ifc) = snap.ifaces.get(port_idx as usize) else { return };
        let Some(src) = A::source_for(ifc, target) else { return };
        let Some(mut p) = io.alloc() else {
            self.stats.count_drop(DropReason::NoMbuf);
            return;
        };
        if !A::make_probe(&mut p, ifc.mac, src, target) {
            return self.drop_pkt(DropReason::NoMbuf, p);
        }
        self.stats.arp_requests.inc();
        io.tx(ifc.port_id, p);
    }

    /// Periodic work (once a second; `now` in ticks): neighbour aging and probes.
    pub fn tick(&mut self, snap: &Snapshot, io: &mut impl Io<P>, now: u64) {
        self.tick_neigh::<u32>(snap, io, now);
        self.tick_neigh::<u128>(snap, io, now);
        self.announce6(snap, io);
    }

    fn tick_neigh<A: Fam>(&mut self, snap: &Snapshot, io: &mut impl Io<P>, now: u64) {
        if let Some(t) = A::neigh_table(self) {
            let (actions, failed) = t.tick(now / crate::conn::HZ);
            for p in failed {
                self.drop_pkt(DropReason::NeighFailed, p);
            }
            for a in actions {
                self.probe(snap, io, a);
            }
        }
    }

    /// Send an ICMP error about `orig` (the network packet's bytes) back
    /// to its source, within the worker's ICMP rate limit. Never about an
    /// ICMP error, a fragment other than the first, or a group address
    /// (RFC 1812 §4.3.2.7, RFC 4443 §2.4 e).
    pub(crate) fn send_icmp_error<I: Io<P>, A: Fam>(&mut self, cx: &mut Ctx<'_, I>, orig: &[u8], err: IcmpError) {
        let Some(src_of_orig) = A::error_target(orig) else { return };
        if !self.icmp_limit.take(cx.now) {
            self.stats.icmp_err_suppressed.inc();
            return;
        }
        let Some((port_idx, _)) = A::routes(cx.snap).lookup(src_of_orig) else { return };
        let Some(from) = A::source_for(&cx.snap.ifaces[port_idx as usize], src_of_orig) else { return };
        let Some(mut p) = cx.io.alloc() else {
            self.stats.count_drop(DropReason::NoMbuf);
            return;
        };
        if !p.set_len(A::error_len(orig)) {
            return self.drop_pkt(DropReason::NoMbuf, p);
        }
        let n = A::build_error(p.data_mut(), from, orig, err);
        if n == 0 {
            // Nothing to quote: the buffer was never a packet.
            return drop(p);
        }
        p.set_len(n);
        self.stats.icmp_err_sent.inc();
        self.route_out(cx, p, src_of_orig);
    }
}

/// An ICMP error the director originates, in family-neutral terms (each
/// family's [`Fam::build_error`] picks its type and code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpError {
    /// TTL / hop limit exceeded in transit.
    TimeExceeded,
    /// Too big for the next hop's MTU: IPv4 frag-needed, IPv6 packet too
    /// big.
    TooBig(u16),
}
