//! Service traffic: flow ownership, connection lookup and creation,
//! scheduling, and the hand-off to a forwarding mode.
//!
//! Times here are ticks of [`crate::conn::HZ`] per second.

use crate::conn::{
    self, flow_hash, Conn, ConnId, ConnKey, ConnTable, Dir, InsertError, TemplateKey, TemplateTable, Timeouts, NO_TMPL,
};
use crate::drop::DropReason;
use crate::engine::{Engine, Io, NextHop};
use crate::l3::neigh::NeighSnapshot;
use crate::modes::{self, tun::EncapError, L4At};
use crate::packet::{eth, icmp, ipv4, l4, PacketBuf};
use crate::sched::PickCtx;
use crate::snapshot::{class, Service, Snapshot};
use hashbrown::HashMap;
use parking_lot::Mutex;
use rvs_conf::FwdMethod;
use std::collections::VecDeque;
use std::sync::Arc;

/// Conn flag (caller bits): the TOA option was already added (FULLNAT).
const F_TOA_DONE: u16 = 1 << 8;
/// Expired entries handled per tick at most (bounded work per loop).
const EXPIRE_BUDGET: usize = 512;

/// Persistence templates, shared by all workers: a client's connections
/// hash to different workers (by port), yet must find one template. The
/// lock is taken only when a connection of a persistent service is
/// created or ends, never per packet.
pub type SharedTemplates = Arc<Mutex<TemplateTable>>;

/// A template table for `capacity` templates, clock at tick 0 (the
/// workers' shared epoch).
pub fn new_templates(capacity: usize) -> SharedTemplates {
    Arc::new(Mutex::new(TemplateTable::with_clock(capacity, 0)))
}

/// Per-worker state of the service path.
pub struct ServicePath {
    id: usize,
    workers: usize,
    pub conns: ConnTable,
    templates: SharedTemplates,
    /// FULLNAT local ports this worker owns, per LIP (p % workers == id),
    /// free ones in first-in first-out order: a port just released waits
    /// longest before reuse, so the real server's TIME_WAIT on it has
    /// ended (as DPVS's sa_pool does).
    lports: HashMap<u32, VecDeque<u16>>,
    timeouts: (u32, u32, u32),
    rng: u64,
}

impl ServicePath {
    pub fn new(id: usize, workers: usize, capacity: usize, templates: SharedTemplates, now: u64) -> Self {
        ServicePath {
            id,
            workers: workers.max(1),
            conns: ConnTable::with_timeouts(capacity, &Timeouts::default(), now),
            templates,
            lports: HashMap::new(),
            timeouts: (0, 0, 0),
            rng: 0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1),
        }
    }

    fn rand(&mut self) -> u64 {
        // xorshift64*: cheap, per worker, good enough for twos.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn alloc_lport(&mut self, lip: u32) -> Option<u16> {
        let (id, n) = (self.id, self.workers);
        self.lports
            .entry(lip)
            .or_insert_with(|| (1024u32..=65535).filter(|p| *p as usize % n == id).map(|p| p as u16).collect())
            .pop_front()
    }

    fn free_lport(&mut self, lip: u32, port: u16) {
        if let Some(v) = self.lports.get_mut(&lip) {
            v.push_back(port);
        }
    }

    /// Persistence templates held (all workers').
    pub fn templates_len(&self) -> usize {
        self.templates.lock().len()
    }

    fn sync_timeouts(&mut self, snap: &Snapshot) {
        let t = (snap.timeouts.tcp, snap.timeouts.tcpfin, snap.timeouts.udp);
        if t != self.timeouts {
            self.timeouts = t;
            let mut to = Timeouts::default();
            to.set_ipvsadm(t.0, t.1, t.2);
            self.conns.set_timeouts(&to);
        }
    }
}

/// Owner of a packet's flow (see DESIGN: flow ownership).
#[inline(always)]
pub fn owner(snap: &Snapshot, workers: usize, src: u32, sport: u16, dst: u32, dport: u16) -> usize {
    if workers <= 1 {
        return 0;
    }
    owner_of_class(snap.class(dst), workers, src, sport, dst, dport)
}

/// [`owner`] when the destination's class is already known.
#[inline(always)]
fn owner_of_class(cls: u8, workers: usize, src: u32, sport: u16, dst: u32, dport: u16) -> usize {
    if workers <= 1 {
        return 0;
    }
    if cls & class::LIP != 0 {
        dport as usize % workers
    } else if cls & class::VIP != 0 {
        flow_hash(src, sport) as usize % workers
    } else {
        flow_hash(dst, dport) as usize % workers
    }
}

/// Find the snapshot indices (service, dest) of a connection, cheaply when
/// the snapshot is the one the connection was created or last seen under.
fn resolve(snap: &Snapshot, c: &mut Conn) -> Option<(usize, usize)> {
    if c.user == snap.generation {
        return Some((c.svc as usize, c.dest as usize));
    }
    let si = snap.services.lookup(c.proto, c.vaddr, c.vport)? as usize;
    let s = &snap.services.list[si];
    let di = s
        .dests
        .iter()
        .position(|d| d.addr == std::net::IpAddr::V4(c.daddr.into()) && (d.port == c.dport || d.port == 0))?;
    c.svc = si as u32;
    c.dest = di as u32;
    c.user = snap.generation;
    Some((si, di))
}

#[allow(clippy::too_many_arguments)]
pub fn handle<P: PacketBuf>(
    e: &mut Engine<P>,
    snap: &Snapshot,
    neigh: &NeighSnapshot,
    io: &mut impl Io<P>,
    pkt: P,
    info: &ipv4::Ipv4Info,
    _port_idx: u16,
    now: u64,
) {
    let l4o = eth::HDR_LEN + info.hdr_len;
    let proto = info.proto;
    let cls = snap.class(info.dst);
    let ours = cls != 0;
    if info.fragment {
        let r = if ours { DropReason::IpFragment } else { DropReason::IpNotForUs };
        return e.drop_pkt(r, pkt);
    }
    // The one gate before any mode touches the L4 header.
    let hdr = match l4::check(pkt.data(), l4o, info.total_len - info.hdr_len, proto) {
        Ok(h) => h,
        Err(r) => return e.drop_pkt(r, pkt),
    };
    let (sport, dport, flags) = (hdr.sport, hdr.dport, hdr.flags);
    let workers = e.svc.workers;
    let own = owner_of_class(cls, workers, info.src, sport, info.dst, dport);
    if own != e.id {
        return e.redirect(io, own, pkt);
    }
    if info.ttl <= 1 {
        // Everything on this path is forwarded: a router answers
        // time-exceeded (RFC 1812 §5.3.1) and drops.
        let orig = &pkt.data()[eth::HDR_LEN..];
        e.send_icmp_error(snap, neigh, io, orig, icmp::TIME_EXCEEDED, 0, 0, now);
        return e.drop_pkt(DropReason::IpTtlExceeded, pkt);
    }
    e.svc.sync_timeouts(snap);
    let key = ConnKey::new(proto, info.src, sport, info.dst, dport);
    let at = L4At { l3: eth::HDR_LEN, l4: l4o, proto };
    if let Some((cid, dir)) = e.svc.conns.lookup(&key) {
        let c = e.svc.conns.get(cid);
        let input_only = c.flags & conn::table::flags::NO_OUTPUT != 0;
        let reuse = dir == Dir::Input
            && conn::state::is_syn(flags)
            && flags & l4::TCP_ACK == 0
            && c.tmpl == NO_TMPL
            && conn::state::syn_reuses_with(c.state, snap.conn_reuse_mode, input_only);
        if !reuse {
            return established(e, snap, neigh, io, pkt, info, at, cid, dir, flags, now);
        }
        // IPVS conn_reuse_mode: a new SYN on a finished entry starts over.
        let old = e.svc.conns.remove(cid);
        settle_removed(e, snap, old);
    }
    if cls & class::VIP == 0 {
        let r = if ours { DropReason::NoService } else { DropReason::IpNotForUs };
        return e.drop_pkt(r, pkt);
    }
    let Some(si) = snap.services.lookup(proto, info.dst, dport) else {
        return e.drop_pkt(DropReason::NoService, pkt);
    };
    if proto == ipv4::PROTO_TCP && (flags & l4::TCP_SYN == 0 || flags & l4::TCP_RST != 0) {
        // IPVS schedules TCP on `syn && !rst` (a SYN+ACK too, for active
        // FTP); anything else is stray.
        return e.drop_pkt(DropReason::ConnNoSyn, pkt);
    }
    match create(e, snap, si as usize, proto, info.src, sport, info.dst, dport, now) {
        Ok(cid) => established(e, snap, neigh, io, pkt, info, at, cid, Dir::Input, flags, now),
        Err(r) => e.drop_pkt(r, pkt),
    }
}

/// Schedule and insert a new connection.
#[allow(clippy::too_many_arguments)]
fn create<P>(
    e: &mut Engine<P>,
    snap: &Snapshot,
    si: usize,
    proto: u8,
    cip: u32,
    cport: u16,
    vip: u32,
    vport: u16,
    now: u64,
) -> Result<ConnId, DropReason> {
    let s: &Service = &snap.services.list[si];
    if e.svc.conns.is_full() {
        return Err(DropReason::ConnTableFull);
    }
    let ctx = PickCtx {
        caddr: std::net::IpAddr::V4(cip.into()),
        cport,
        vaddr: std::net::IpAddr::V4(vip.into()),
        vport,
        rand: e.svc.rand(),
        now: now / conn::HZ,
        worker: e.id,
    };
    let (di, tmpl) = match s.conf.persistent {
        Some(timeout) => persist_pick(e, snap, s, &ctx, cip, now, timeout)?,
        None => (s.sched.pick(&ctx, &s.dests).ok_or(DropReason::NoDest)?, NO_TMPL),
    };
    let d = &s.dests[di];
    let std::net::IpAddr::V4(rip) = d.addr else {
        release_tmpl(e, tmpl);
        return Err(DropReason::NoDest);
    };
    let rip = u32::from(rip);
    let rport = if d.port == 0 { vport } else { d.port };
    let mut c = Conn::new(proto, d.fwd, cip, cport, vip, vport, rip, rport);
    if d.fwd == FwdMethod::FullNat {
        if s.laddrs.is_empty() {
            release_tmpl(e, tmpl);
            return Err(DropReason::LportExhausted);
        }
        let lip = s.laddrs[flow_hash(cip, cport) as usize % s.laddrs.len()];
        let Some(lport) = e.svc.alloc_lport(lip) else {
            release_tmpl(e, tmpl);
            return Err(DropReason::LportExhausted);
        };
        c = c.with_local(lip, lport);
    }
    c.svc = si as u32;
    c.dest = di as u32;
    c.user = snap.generation;
    c.tmpl = tmpl;
    match e.svc.conns.insert(c, now) {
        Ok(cid) => {
            let cell = d.rt.cell(e.id);
            if conn::is_active(c.state) {
                cell.active.inc();
            } else {
                cell.inactive.inc();
            }
            cell.conns.inc();
            s.rt.cell(e.id).conns.inc();
            d.update_overload();
            e.stats.conns_created.inc();
            e.stats.conns.inc();
            Ok(cid)
        }
        Err(err) => {
            if c.fwd == FwdMethod::FullNat {
                e.svc.free_lport(c.laddr, c.lport);
            }
            release_tmpl(e, tmpl);
            Err(match err {
                InsertError::Full => DropReason::ConnTableFull,
                InsertError::Exists => DropReason::ConnExists,
            })
        }
    }
}

fn release_tmpl<P>(e: &mut Engine<P>, tmpl: u32) {
    if tmpl != NO_TMPL {
        e.svc.templates.lock().release(tmpl);
    }
}

/// IPVS persistence: reuse the client network's template when its dest is
/// still usable, else schedule and remember the choice.
#[allow(clippy::too_many_arguments)]
fn persist_pick<P>(
    e: &mut Engine<P>,
    snap: &Snapshot,
    s: &Service,
    ctx: &PickCtx,
    cip: u32,
    now: u64,
    timeout: u32,
) -> Result<(usize, u32), DropReason> {
    let key = TemplateKey { svc: s.conf.key, client: cip & s.netmask };
    let mut t = e.svc.templates.lock();
    if let Some(tid) = t.lookup(&key) {
        let rip = t.get(tid).dest;
        let usable = s.dests.iter().position(|d| {
            d.addr == std::net::IpAddr::V4(rip.into()) && (d.weight > 0 || !snap.expire_quiescent_template)
        });
        match usable {
            Some(di) => {
                t.touch(tid, now);
                t.hold(tid);
                return Ok((di, tid));
            }
            None => t.unhash(tid, now),
        }
    }
    let di = s.sched.pick(ctx, &s.dests).ok_or(DropReason::NoDest)?;
    let std::net::IpAddr::V4(rip) = s.dests[di].addr else { return Err(DropReason::NoDest) };
    match t.insert(key, rip.into(), timeout, now) {
        Ok(tid) => {
            t.hold(tid);
            s.dests[di].rt.persist_inc();
            Ok((di, tid))
        }
        // No room for a template: still serve the client, unpinned.
        Err(_) => Ok((di, NO_TMPL)),
    }
}

/// Undo the accounting of a connection that left the table.
fn settle_removed<P>(e: &mut Engine<P>, snap: &Snapshot, mut c: Conn) {
    if let Some((si, di)) = resolve(snap, &mut c) {
        let d = &snap.services.list[si].dests[di];
        let cell = d.rt.cell(e.id);
        if conn::is_active(c.state) {
            cell.active.dec();
        } else {
            cell.inactive.dec();
        }
        d.update_overload();
    }
    if c.fwd == FwdMethod::FullNat {
        e.svc.free_lport(c.laddr, c.lport);
    }
    release_tmpl(e, c.tmpl);
    e.stats.conns.dec();
}

/// A packet of a known connection: state, counters, rewrite, send.
#[allow(clippy::too_many_arguments)]
fn established<P: PacketBuf>(
    e: &mut Engine<P>,
    snap: &Snapshot,
    neigh: &NeighSnapshot,
    io: &mut impl Io<P>,
    mut pkt: P,
    info: &ipv4::Ipv4Info,
    at: L4At,
    cid: ConnId,
    dir: Dir,
    flags: u8,
    now: u64,
) {
    let tr = e.svc.conns.on_packet(cid, dir, flags, now);
    let mut c = *e.svc.conns.get(cid);
    let resolved = resolve(snap, &mut c);
    {
        let m = e.svc.conns.get_mut(cid);
        m.svc = c.svc;
        m.dest = c.dest;
        m.user = c.user;
    }
    let bytes = pkt.len() as u64;
    match resolved {
        Some((si, di)) => {
            let s = &snap.services.list[si];
            let d = &s.dests[di];
            let (sc, dc) = (s.rt.cell(e.id), d.rt.cell(e.id));
            if dir == Dir::Output {
                sc.out_pkts.inc();
                sc.out_bytes.add(bytes);
                dc.out_pkts.inc();
                dc.out_bytes.add(bytes);
            } else {
                sc.in_pkts.inc();
                sc.in_bytes.add(bytes);
                dc.in_pkts.inc();
                dc.in_bytes.add(bytes);
            }
            match tr.active_delta() {
                1 => {
                    dc.active.inc();
                    dc.inactive.dec();
                }
                -1 => {
                    dc.active.dec();
                    dc.inactive.inc();
                }
                _ => {}
            }
        }
        None if snap.expire_nodest_conn => {
            let old = e.svc.conns.remove(cid);
            settle_removed(e, snap, old);
            return e.drop_pkt(DropReason::ConnNoDest, pkt);
        }
        None => {}
    }
    let (tt, tp) = match (c.fwd, resolved) {
        (FwdMethod::Tun, Some((si, di))) => {
            let d = &snap.services.list[si].dests[di];
            (d.tun_type, d.tun_port)
        }
        _ => Default::default(),
    };
    // A DF packet that will not fit the egress MTU (after TUN's outer
    // headers) is answered with the packet as it arrived, before any
    // rewrite, as IPVS checks before it mangles.
    if info.df {
        let to = if dir == Dir::Output { c.caddr } else { c.daddr };
        let extra = if c.fwd == FwdMethod::Tun { modes::tun::overhead(tt) } else { 0 };
        let mtu = (out_mtu(snap, to) as usize).saturating_sub(extra);
        if info.total_len > mtu {
            let orig = &pkt.data()[eth::HDR_LEN..];
            e.send_icmp_error(snap, neigh, io, orig, icmp::DEST_UNREACH, icmp::CODE_FRAG_NEEDED, mtu as u16, now);
            return e.drop_pkt(DropReason::TooBig, pkt);
        }
    }
    ipv4::dec_ttl(pkt.data_mut(), at.l3);
    let b = pkt.data_mut();
    let rewritten = match (c.fwd, dir) {
        (FwdMethod::Nat, Dir::Output) => modes::nat::reply(b, at, c.vaddr, c.vport).map(|()| c.caddr),
        (FwdMethod::Nat, _) => modes::nat::request(b, at, c.daddr, c.dport).map(|()| c.daddr),
        (FwdMethod::FullNat, Dir::Output) => {
            modes::fullnat::reply(b, at, c.vaddr, c.vport, c.caddr, c.cport).map(|()| c.caddr)
        }
        (FwdMethod::FullNat, _) => {
            if at.proto == ipv4::PROTO_TCP
                && c.flags & F_TOA_DONE == 0
                && flags & l4::TCP_ACK != 0
                && flags & l4::TCP_SYN == 0
            {
                // Carry the client address to the real server on the
                // handshake's final ACK (where TOA readers look for it).
                let mtu = out_mtu(snap, c.daddr);
                match modes::fullnat::add_toa(&mut pkt, at, c.caddr, c.cport, mtu) {
                    Ok(true) => e.svc.conns.get_mut(cid).flags |= F_TOA_DONE,
                    Ok(false) => {}
                    Err(r) => return e.drop_pkt(r, pkt),
                }
            }
            modes::fullnat::request(pkt.data_mut(), at, c.laddr, c.lport, c.daddr, c.dport).map(|()| c.daddr)
        }
        (FwdMethod::Dr | FwdMethod::Tun, _) => Ok(0),
    };
    let to = match rewritten {
        Ok(to) => to,
        Err(r) => return e.drop_pkt(r, pkt),
    };
    match c.fwd {
        FwdMethod::Nat | FwdMethod::FullNat => e.route_out(snap, neigh, io, pkt, to, now),
        FwdMethod::Dr => send_dr(e, snap, neigh, io, pkt, c.daddr, now),
        FwdMethod::Tun => match send_tun(e, snap, neigh, io, pkt, c.daddr, tt, tp, now) {
            Ok(()) => {}
            // Checked above with the same MTU; only a route change between
            // the two lookups could get here.
            Err((pkt, EncapError::TooBig { .. })) => e.drop_pkt(DropReason::TooBig, pkt),
            Err((pkt, EncapError::NoHeadroom)) => e.drop_pkt(DropReason::NoHeadroom, pkt),
            Err((pkt, EncapError::NotIpv4)) => e.drop_pkt(DropReason::IpBadLen, pkt),
        },
    }
}

/// DR: hand the unchanged packet to the real server's MAC (on-link only).
fn send_dr<P: PacketBuf>(
    e: &mut Engine<P>,
    snap: &Snapshot,
    neigh: &NeighSnapshot,
    io: &mut impl Io<P>,
    pkt: P,
    rip: u32,
    now: u64,
) {
    match snap.routes.lookup(rip) {
        Some((port_idx, nh)) if modes::dr::on_link(nh, rip) => {
            e.xmit(snap, neigh, io, pkt, NextHop { port_idx, nexthop: modes::dr::nexthop(rip) }, now)
        }
        _ => e.drop_pkt(DropReason::NoRoute, pkt),
    }
}

/// TUN: encapsulate DIP → RIP and route; an encapsulation error gives the
/// packet back to the caller (who may answer frag-needed).
#[allow(clippy::too_many_arguments)]
fn send_tun<P: PacketBuf>(
    e: &mut Engine<P>,
    snap: &Snapshot,
    neigh: &NeighSnapshot,
    io: &mut impl Io<P>,
    mut pkt: P,
    rip: u32,
    tt: rvs_conf::TunType,
    tp: u16,
    now: u64,
) -> Result<(), (P, EncapError)> {
    let Some((port_idx, _)) = snap.routes.lookup(rip) else {
        e.drop_pkt(DropReason::NoRoute, pkt);
        return Ok(());
    };
    let ifc = &snap.ifaces[port_idx as usize];
    let dip = ifc.source_for(rip).unwrap_or(0);
    match modes::tun::encap(&mut pkt, tt, tp, dip, rip, ifc.mtu) {
        Ok(()) => {
            e.route_out(snap, neigh, io, pkt, rip, now);
            Ok(())
        }
        Err(err) => Err((pkt, err)),
    }
}

fn out_mtu(snap: &Snapshot, dst: u32) -> u16 {
    snap.routes.lookup(dst).map(|(p, _)| snap.ifaces[p as usize].mtu).unwrap_or(1500)
}

/// An ICMP error (unreachable, frag-needed, time-exceeded, ...) that
/// quotes a packet of a tracked connection: translate outer and quoted
/// headers like the connection's packets and send it to the other side.
#[allow(clippy::too_many_arguments)]
pub fn icmp_error<P: PacketBuf>(
    e: &mut Engine<P>,
    snap: &Snapshot,
    neigh: &NeighSnapshot,
    io: &mut impl Io<P>,
    mut pkt: P,
    info: &ipv4::Ipv4Info,
    _port_idx: u16,
    now: u64,
) {
    use modes::icmp_err::{apply, parse, Rewrite};
    let Some(q) = parse(pkt.data(), info.hdr_len) else {
        return e.drop_pkt(DropReason::IcmpUnhandled, pkt);
    };
    // The quoted packet went the other way: look up its reverse.
    let own = owner(snap, e.svc.workers, q.dst, q.dport, q.src, q.sport);
    if own != e.id {
        return e.redirect(io, own, pkt);
    }
    let key = ConnKey::new(q.proto, q.dst, q.dport, q.src, q.sport);
    let Some((cid, dir)) = e.svc.conns.lookup(&key) else {
        return e.drop_pkt(DropReason::IcmpUnhandled, pkt);
    };
    if info.ttl <= 1 {
        return e.drop_pkt(DropReason::IpTtlExceeded, pkt);
    }
    let c = *e.svc.conns.get(cid);
    ipv4::dec_ttl(pkt.data_mut(), eth::HDR_LEN);
    if dir == Dir::Output {
        // From the server side, about a packet we sent to the server:
        // becomes an error from the VIP about the client's request.
        let rw = Rewrite {
            outer_src: Some(c.vaddr),
            outer_dst: Some(c.caddr),
            inner_src: Some((c.caddr, c.cport)),
            inner_dst: Some((c.vaddr, c.vport)),
        };
        if !apply(pkt.data_mut(), &q, &rw) {
            return e.drop_pkt(DropReason::IcmpUnhandled, pkt);
        }
        return e.route_out(snap, neigh, io, pkt, c.caddr, now);
    }
    // From the client side, about a reply the client got.
    let rw = match c.fwd {
        FwdMethod::Nat => {
            Rewrite { outer_dst: Some(c.daddr), inner_src: Some((c.daddr, c.dport)), ..Default::default() }
        }
        FwdMethod::FullNat => Rewrite {
            outer_src: Some(c.laddr),
            outer_dst: Some(c.daddr),
            inner_src: Some((c.daddr, c.dport)),
            inner_dst: Some((c.laddr, c.lport)),
        },
        // DR/TUN: the real server holds the VIP; forward unchanged.
        FwdMethod::Dr | FwdMethod::Tun => Rewrite::default(),
    };
    if !apply(pkt.data_mut(), &q, &rw) {
        return e.drop_pkt(DropReason::IcmpUnhandled, pkt);
    }
    match c.fwd {
        FwdMethod::Dr => send_dr(e, snap, neigh, io, pkt, c.daddr, now),
        FwdMethod::Tun => {
            // The same encapsulation as the connection's own packets.
            let (tt, tp) = resolve(snap, &mut { c })
                .map(|(si, di)| {
                    let d = &snap.services.list[si].dests[di];
                    (d.tun_type, d.tun_port)
                })
                .unwrap_or_default();
            if let Err((p, _)) = send_tun(e, snap, neigh, io, pkt, c.daddr, tt, tp, now) {
                e.drop_pkt(DropReason::TooBig, p);
            }
        }
        _ => e.route_out(snap, neigh, io, pkt, c.daddr, now),
    }
}

/// Per-tick work: expire idle connections (bounded), and on worker 0 the
/// shared persistence templates.
pub fn tick<P: PacketBuf>(e: &mut Engine<P>, snap: &Snapshot, _neigh: &NeighSnapshot, _io: &mut impl Io<P>, now: u64) {
    const BATCH: usize = 64;
    let mut expired: [Conn; BATCH] = [Conn::default(); BATCH];
    let mut budget = EXPIRE_BUDGET;
    while budget > 0 {
        let mut n = 0;
        // At most BATCH entries per call, within what is left of the budget.
        e.svc.conns.expire(now, budget.min(BATCH), |c| {
            expired[n] = c;
            n += 1;
        });
        budget = budget.saturating_sub(BATCH);
        for c in &expired[..n] {
            settle_removed(e, snap, *c);
            e.stats.conns_expired.inc();
        }
        if n < BATCH {
            break;
        }
    }
    if e.id == 0 {
        let mut t = e.svc.templates.lock();
        t.expire(now, EXPIRE_BUDGET, |tmpl| persist_gone(snap, &tmpl));
    }
}

/// A template left the table: the dest it pinned has one `PersistConn`
/// less (found by the service's identity and the dest's address; a dest
/// deleted meanwhile took its counter with it).
fn persist_gone(snap: &Snapshot, t: &conn::Template) {
    let Some(s) = snap.services.list.iter().find(|s| s.conf.key == t.key.svc) else { return };
    if let Some(d) = s.dests.iter().find(|d| d.addr == std::net::IpAddr::V4(t.dest.into())) {
        d.rt.persist_dec();
    }
}
