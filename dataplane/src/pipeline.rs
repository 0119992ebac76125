//! The service-path stages of a burst: classify each TCP/UDP/SCTP packet into
//! its [`Meta`], look the whole burst up in the connection table at once,
//! then dispatch packet by packet to the connection's forwarding mode or
//! to connection creation.
//!
//! The batched lookup ([`ConnTable::lookup_burst`]) overlaps the cache
//! misses of the burst's keys (index buckets, then entries) instead of
//! paying two dependent misses per packet. Dispatch runs in arrival
//! order, so a flow's packets keep their order; since dispatch inserts and
//! removes connections, a lookup result is used only while the table's
//! [`ConnTable::version`] is the one it was computed under (a SYN creating
//! a connection that a later packet of the same burst belongs to, or a
//! reused entry), else the packet is looked up again alone.
//!
//! [`ConnTable::lookup_burst`]: crate::conn::ConnTable::lookup_burst
//! [`ConnTable::version`]: crate::conn::ConnTable::version

use crate::addr::Addr;
use crate::conn::{self, ConnId, ConnKey, Dir, NO_TMPL};
use crate::drop::DropReason;
use crate::egress::IcmpError;
use crate::engine::{Ctx, Engine, Io};
use crate::family::Fam;
use crate::modes::L4At;
use crate::packet::{eth, ipv4, l4, PacketBuf};
use crate::redirect::Redirected;
use crate::service_path::{self, owner_of_class};
use crate::snapshot::class;

/// Packets the lookup stage takes at once (DPDK's usual burst).
pub const BURST: usize = 32;

/// What a family's network-layer gate learnt of a TCP/UDP packet (IPv4
/// header, or IPv6 header and extension headers), for classification.
#[derive(Debug, Clone, Copy)]
pub struct L3<A: Addr> {
    pub src: A,
    pub dst: A,
    /// Offset of the L4 header in the frame, and the L4 protocol.
    pub l4: usize,
    pub proto: u8,
    /// Length of the network packet (IPv4 total length; IPv6 40 + payload
    /// length): the frame is trimmed to it.
    pub len: usize,
    /// TTL / hop limit as received.
    pub ttl: u8,
    /// Must not be fragmented on the way (IPv4 DF; always for IPv6, which
    /// routers never fragment).
    pub df: bool,
    /// A fragment (IPv4 MF or offset; an IPv6 fragment header).
    pub fragment: bool,
}

/// What the ingress stages learnt of a service-path packet, so no later
/// stage parses it again.
#[derive(Debug, Clone, Copy)]
pub struct Meta<A: Addr = u32> {
    /// The packet's 5-tuple as received (the lookup key).
    pub key: ConnKey<A>,
    /// Offsets of the network and L4 headers, and the L4 protocol.
    pub at: L4At,
    /// Length of the network packet (see [`L3::len`]).
    pub total_len: usize,
    /// TCP flags (0 for UDP); for SCTP its chunks' event
    /// ([`crate::conn::sctp::Event`]), see [`l4::L4Hdr::flags`].
    pub flags: u8,
    /// Don't-fragment set.
    pub df: bool,
    /// The destination's address class ([`class`] bits).
    pub cls: u8,
    /// Interface index it arrived on (where the exception path passes
    /// the director's own packets up).
    pub port: u16,
}

/// A [`Meta`] of either family, as a hand-off carries it.
#[derive(Debug, Clone, Copy)]
pub enum AnyMeta {
    V4(Meta<u32>),
    V6(Meta<u128>),
}

/// The service-path packets of one burst and their metadata.
pub struct Burst<P, A: Addr = u32> {
    pkts: Vec<P>,
    metas: Vec<Meta<A>>,
    keys: Vec<ConnKey<A>>,
    hits: [Option<(ConnId, Dir)>; BURST],
}

impl<P, A: Addr> Default for Burst<P, A> {
    fn default() -> Self {
        Burst {
            pkts: Vec::with_capacity(BURST),
            metas: Vec::with_capacity(BURST),
            keys: Vec::with_capacity(BURST),
            hits: [None; BURST],
        }
    }
}

impl<P, A: Addr> Burst<P, A> {
    /// A burst without storage, to stand in for the lane's while `run`
    /// holds it: `Vec::new` does not allocate, `Default` would (three
    /// allocations and frees per burst).
    fn placeholder() -> Self {
        Burst { pkts: Vec::new(), metas: Vec::new(), keys: Vec::new(), hits: [None; BURST] }
    }

    #[inline(always)]
    pub fn push(&mut self, pkt: P, m: Meta<A>) {
        self.keys.push(m.key);
        self.metas.push(m);
        self.pkts.push(pkt);
    }

    #[inline(always)]
    pub fn is_full(&self) -> bool {
        self.pkts.len() >= BURST
    }

    pub fn len(&self) -> usize {
        self.pkts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pkts.is_empty()
    }
}

/// Ingress, TCP/UDP/SCTP: fragments, the L4 gate, TTL, flow owner. A packet
/// this worker owns joins its family's burst with its metadata (built in
/// place: returning it through the gates cost a few copies per packet).
#[inline(always)]
pub(crate) fn classify<P: PacketBuf, I: Io<P>, A: Fam>(
    e: &mut Engine<P>,
    cx: &mut Ctx<'_, I>,
    pkt: P,
    info: &L3<A>,
    port_idx: u16,
) {
    let l4o = info.l4;
    let proto = info.proto;
    let cls = A::class_of(cx.snap, info.dst);
    let ours = cls != 0;
    if cls & (class::VIP | class::LIP) == 0 && ours {
        // An interface address only: no connection of ours can be there,
        // it is the director's own traffic (fragments too: the kernel
        // reassembles).
        let r = if info.fragment { DropReason::IpFragment } else { DropReason::NoService };
        return e.up_to_kernel(cx, pkt, port_idx, r);
    }
    if info.fragment {
        let r = if ours { DropReason::IpFragment } else { DropReason::IpNotForUs };
        e.drop_pkt(r, pkt);
        return;
    }
    // The one gate before any mode touches the L4 header.
    let hdr = match l4::check(pkt.data(), l4o, eth::HDR_LEN + info.len - l4o, proto) {
        Ok(h) => h,
        Err(r) => {
            e.drop_pkt(r, pkt);
            return;
        }
    };
    if info.ttl <= 1 {
        // Everything on this path is forwarded: a router answers
        // time-exceeded (RFC 1812 §5.3.1, RFC 4443 §3.3) and drops.
        // (Before the owner check, so what is handed over is complete.)
        e.send_icmp_error::<I, A>(cx, &pkt.data()[eth::HDR_LEN..], IcmpError::TimeExceeded);
        e.drop_pkt(DropReason::IpTtlExceeded, pkt);
        return;
    }
    let m = Meta {
        key: ConnKey::of(proto, info.src, hdr.sport, info.dst, hdr.dport),
        at: L4At { l3: eth::HDR_LEN, l4: l4o, proto },
        total_len: info.len,
        flags: hdr.flags,
        df: info.df,
        cls,
        port: port_idx,
    };
    let rss = cx.snap.ifaces.get(port_idx as usize).is_some_and(|i| i.rss.is_some());
    let own = if cls & class::ONE_WAY != 0 && rss {
        // One direction only, and the NIC keeps each flow on one queue.
        e.id
    } else {
        owner_of_class(cls, e.svc.workers(), info.src, hdr.sport, info.dst, hdr.dport)
    };
    if own != e.id {
        // The owner continues from the lookup with this metadata.
        e.redirect(cx, own, Redirected { pkt, port_idx, meta: Some(A::wrap(m)) });
        return;
    }
    e.push::<I, A>(cx, pkt, m);
}

/// Lookup and dispatch of everything in family `A`'s burst, which is left
/// empty.
pub(crate) fn run<P: PacketBuf, I: Io<P>, A: Fam>(e: &mut Engine<P>, cx: &mut Ctx<'_, I>) {
    if A::lane(e).burst.is_empty() {
        return;
    }
    let mut burst = std::mem::replace(&mut A::lane(e).burst, Burst::placeholder());
    e.svc.sync_timeouts(cx.snap);
    let version = A::conns(&e.svc).version();
    let n = burst.len();
    let Burst { pkts, metas, keys, hits } = &mut burst;
    A::conns(&e.svc).lookup_burst(keys, &mut hits[..n]);
    keys.clear();
    // The metadata is read where it lies (moving each `Meta` out of the
    // vector cost a few copies of it per packet).
    for (i, (pkt, m)) in pkts.drain(..).zip(metas.iter()).enumerate() {
        let t = A::conns(&e.svc);
        let hit = if t.version() == version { hits[i] } else { t.lookup(&m.key) };
        dispatch(e, cx, pkt, m, hit);
    }
    metas.clear();
    A::lane(e).burst = burst;
}

/// One packet after the lookup: a known connection goes to its mode, a
/// new one is scheduled first.
#[inline]
fn dispatch<P: PacketBuf, I: Io<P>, A: Fam>(
    e: &mut Engine<P>,
    cx: &mut Ctx<'_, I>,
    pkt: P,
    m: &Meta<A>,
    hit: Option<(ConnId, Dir)>,
) {
    let snap = cx.snap;
    if let Some((cid, dir)) = hit {
        let c = A::conns(&e.svc).get(cid);
        let input_only = c.flags & conn::table::flags::NO_OUTPUT != 0;
        let reuse = dir == Dir::Input
            && conn::state::opens_conn(m.key.proto, m.flags)
            && c.tmpl == NO_TMPL
            && conn::state::syn_reuses_with(c.state, snap.conn_reuse_mode, input_only);
        if !reuse {
            return crate::forward::established(e, cx, pkt, m, cid, dir);
        }
        // IPVS conn_reuse_mode: a new SYN (INIT) on a finished entry
        // starts over.
        let old = A::conns_mut(&mut e.svc).remove(cid);
        service_path::settle_removed(e, snap, old);
    }
    if m.cls & class::LIP != 0 {
        // An IPv4 reply to a LIP that no IPv4 connection has: NAT64's.
        if let Some((cid, m6)) = crate::nat64::reply_lookup(e, m) {
            return crate::forward::established(e, cx, pkt, &m6, cid, Dir::Output);
        }
    }
    let ours = m.cls != 0;
    if m.cls & class::VIP == 0 {
        let r = if ours { DropReason::NoService } else { DropReason::IpNotForUs };
        return e.drop_pkt(r, pkt);
    }
    let k = &m.key;
    let Some(si) = A::lookup(&snap.services, k.proto, k.daddr, k.dport) else {
        // A VIP that is also an interface address (NAT's client side):
        // its other ports are the director's, as with IPVS.
        if m.cls & class::LOCAL != 0 {
            return e.up_to_kernel(cx, pkt, m.port, DropReason::NoService);
        }
        return e.drop_pkt(DropReason::NoService, pkt);
    };
    if k.proto == ipv4::PROTO_TCP && stray_tcp(m.flags, snap.sloppy_tcp) {
        return e.drop_pkt(DropReason::ConnNoSyn, pkt);
    }
    if k.proto == ipv4::PROTO_SCTP && m.flags != conn::sctp::Event::Init as u8 {
        // IPVS schedules an SCTP association on its INIT only (and never
        // on an ABORT, sloppy or not).
        return e.drop_pkt(DropReason::SctpNoInit, pkt);
    }
    match service_path::create(e, snap, si as usize, k, cx.now) {
        Ok(cid) => {
            crate::forward::established(e, cx, pkt, m, cid, Dir::Input);
            if k.proto == ipv4::PROTO_UDP && snap.services.list[si as usize].conf.one_packet {
                // One-packet scheduling (IPVS's -o): the entry served
                // this datagram only; the next one is scheduled afresh.
                let c = A::conns_mut(&mut e.svc).remove(cid);
                service_path::settle_removed(e, snap, c);
            }
        }
        Err(r) => e.drop_pkt(r, pkt),
    }
}

/// A TCP packet that must not start a connection. IPVS schedules on
/// `syn && !rst` (a SYN+ACK too, for active FTP); with `sloppy_tcp` on
/// anything but a RST, so that mid-stream packets of a flow another
/// director started find a dest (the state table then makes an ACK's
/// entry ESTABLISHED).
#[inline(always)]
fn stray_tcp(flags: u8, sloppy: bool) -> bool {
    flags & l4::TCP_RST != 0 || (!sloppy && flags & l4::TCP_SYN == 0)
}
