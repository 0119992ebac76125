//! Service traffic state: flow ownership, connection creation and
//! scheduling, persistence templates, FULLNAT local ports, expiry.
//!
//! Times here are ticks of [`crate::conn::HZ`] per second.

use crate::addr::Addr;
use crate::conn::{
    self, flow_hash, Conn, ConnId, ConnKey, ConnTable, InsertError, TemplateKey, TemplateTable, Timeouts, NO_TMPL,
};
use crate::drop::DropReason;
use crate::engine::Engine;
use crate::family::Fam;
use crate::lport::{LocalPorts, Steer};
use crate::packet::PacketBuf;
use crate::sched::PickCtx;
use crate::snapshot::{class, Service, Snapshot};
use parking_lot::Mutex;
use rvs_conf::FwdMethod;
use std::sync::Arc;

/// Conn flag (caller bits): the TOA option was already added (FULLNAT).
pub(crate) const F_TOA_DONE: u16 = 1 << 8;
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
    workers: usize,
    /// IPv4 connections.
    pub conns: ConnTable,
    /// IPv6 connections (a quarter of the IPv4 capacity: see
    /// [`ServicePath::new`]).
    pub conns6: ConnTable<u128>,
    pub(crate) templates: SharedTemplates,
    /// FULLNAT local ports this worker owns (see [`crate::lport`]).
    pub lports: LocalPorts,
    timeouts: (u32, u32, u32),
    rng: u64,
}

impl ServicePath {
    pub fn new(id: usize, workers: usize, capacity: usize, templates: SharedTemplates, now: u64) -> Self {
        ServicePath {
            workers: workers.max(1),
            conns: ConnTable::with_timeouts(capacity, &Timeouts::default(), now),
            conns6: ConnTable::with_timeouts(capacity6(capacity), &Timeouts::default(), now),
            templates,
            lports: LocalPorts::new(id, workers),
            timeouts: (0, 0, 0),
            rng: 0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1),
        }
    }

    /// The same with an IPv6 table of `capacity6` entries instead of
    /// [`capacity6`]'s default (`conn.table_size6`).
    pub fn with_ipv6_capacity(mut self, capacity6: usize, now: u64) -> Self {
        self.conns6 = ConnTable::with_timeouts(capacity6, &Timeouts::default(), now);
        self
    }

    fn rand(&mut self) -> u64 {
        // xorshift64*: cheap, per worker, good enough for twos.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn free_lport<A: Addr>(&mut self, lip: A, port: u16) {
        self.lports.free(lip, port);
    }

    /// Persistence templates held (all workers').
    pub fn templates_len(&self) -> usize {
        self.templates.lock().len()
    }

    /// Workers sharing the flows (the owner function's modulus).
    #[inline(always)]
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Follow the snapshot's `--set` timeouts (cheap when unchanged: once
    /// per burst).
    pub(crate) fn sync_timeouts(&mut self, snap: &Snapshot) {
        let t = (snap.timeouts.tcp, snap.timeouts.tcpfin, snap.timeouts.udp);
        if t != self.timeouts {
            self.timeouts = t;
            let mut to = Timeouts::default();
            to.set_ipvsadm(t.0, t.1, t.2);
            self.conns.set_timeouts(&to);
            self.conns6.set_timeouts(&to);
        }
    }
}

/// The IPv6 table's default capacity for an IPv4 capacity (rvsd takes
/// `conn.table_size6` instead when it is set): IPv6 entries are twice the
/// size, and most deployments carry less IPv6 than IPv4 through a
/// director; a quarter (at least 1024) bounds the memory IPv6 can take.
pub fn capacity6(capacity: usize) -> usize {
    (capacity / 4).max(1024)
}

/// Owner of a packet's flow (see DESIGN: flow ownership).
#[inline(always)]
pub fn owner<A: Fam>(snap: &Snapshot, workers: usize, src: A, sport: u16, dst: A, dport: u16) -> usize {
    if workers <= 1 {
        return 0;
    }
    owner_of_class(A::class_of(snap, dst), workers, src, sport, dst, dport)
}

/// [`owner`] when the destination's class is already known.
#[inline(always)]
pub(crate) fn owner_of_class<A: Addr>(cls: u8, workers: usize, src: A, sport: u16, dst: A, dport: u16) -> usize {
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
/// The fast case (one compare) is inlined into every established packet;
/// the search is not.
#[inline(always)]
pub(crate) fn resolve<A: Fam>(snap: &Snapshot, c: &mut Conn<A>) -> Option<(usize, usize)> {
    if c.user == snap.generation {
        return Some((c.svc as usize, c.dest as usize));
    }
    resolve_slow(snap, c)
}

/// [`resolve`] under a snapshot the connection has not been seen under:
/// find its service and dest by address.
#[inline(never)]
fn resolve_slow<A: Fam>(snap: &Snapshot, c: &mut Conn<A>) -> Option<(usize, usize)> {
    let si = A::lookup(&snap.services, c.proto, c.vaddr, c.vport)? as usize;
    let s = &snap.services.list[si];
    // Widened, so a NAT64 entry's IPv4 real server matches its dest.
    let daddr = c.daddr.widen();
    let di = s.dests.iter().position(|d| widen_ip(d.addr) == daddr && (d.port == c.dport || d.port == 0))?;
    c.svc = si as u32;
    c.dest = di as u32;
    c.user = snap.generation;
    Some((si, di))
}

/// Schedule and insert a new connection.
/// `key` is the request's tuple (client → VIP).
pub(crate) fn create<P, A: Fam>(
    e: &mut Engine<P>,
    snap: &Snapshot,
    si: usize,
    key: &ConnKey<A>,
    now: u64,
) -> Result<ConnId, DropReason> {
    let (cip, cport, vip, vport) = (key.saddr, key.sport, key.daddr, key.dport);
    let s: &Service = &snap.services.list[si];
    if A::conns(&e.svc).is_full() {
        return Err(DropReason::ConnTableFull);
    }
    let ctx = PickCtx {
        caddr: cip.to_ip(),
        cport,
        vaddr: vip.to_ip(),
        vport,
        rand: e.svc.rand(),
        now: now / conn::HZ,
        worker: e.id,
    };
    let (di, tmpl) = match s.conf.persistent {
        Some(timeout) => persist_pick(e, snap, s, &ctx, (cip, timeout), now)?,
        None => (s.sched.pick(&ctx, &s.dests).ok_or(DropReason::NoDest)?, NO_TMPL),
    };
    let d = &s.dests[di];
    // A dest of the other family (the configuration refuses those for
    // the modes that keep the family) is not usable for this packet.
    let Some(rip) = dest_addr::<A>(d) else {
        release_tmpl(e, tmpl);
        return Err(DropReason::NoDest);
    };
    let rport = if d.port == 0 { vport } else { d.port };
    let mut c = Conn::new(d.fwd, *key, rip, rport);
    if d.fwd == FwdMethod::FullNat {
        let pick = flow_hash(cip, cport) as usize;
        let local = match u32::from_ip(d.addr) {
            // NAT64: an IPv4 local end, kept widened like the real server.
            Some(rip4) if A::BITS == 128 => {
                c.flags |= conn::table::flags::NAT64;
                alloc_local(e, snap, s, pick, (rip4, rport)).map(|(l, p)| (A::narrow(l.widen()), p))
            }
            _ => alloc_local(e, snap, s, pick, (rip, rport)),
        };
        let Some((lip, lport)) = local else {
            release_tmpl(e, tmpl);
            return Err(DropReason::LportExhausted);
        };
        c = c.with_local(lip, lport);
        c.flags |= crate::modes::proxy_proto::conn_flags(s.conf.proxy_protocol);
    }
    c.svc = si as u32;
    c.dest = di as u32;
    c.user = snap.generation;
    c.tmpl = tmpl;
    match A::conns_mut(&mut e.svc).insert(c, now) {
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

/// A dest's address in the connection table of family `A`: its own
/// family's, or for an IPv4 FULLNAT dest of an IPv6 service (NAT64)
/// zero-extended into the IPv6 table ([`crate::modes::nat64`]).
fn dest_addr<A: Fam>(d: &crate::svc::Dest) -> Option<A> {
    match (A::from_ip(d.addr), d.addr) {
        (Some(a), _) => Some(a),
        (None, std::net::IpAddr::V4(a)) if A::BITS == 128 && d.fwd == FwdMethod::FullNat => {
            Some(A::narrow(u32::from(a).widen()))
        }
        _ => None,
    }
}

/// A FULLNAT local address of family `L` (from the service's pool of that
/// family, `pick` choosing) and a free port on it for a connection to the
/// real server `rip:rport`; None when there is no pool or no free port.
fn alloc_local<P, L: Fam>(
    e: &mut Engine<P>,
    snap: &Snapshot,
    s: &Service,
    pick: usize,
    (rip, rport): (L, u16),
) -> Option<(L, u16)> {
    let laddrs = L::laddrs(s);
    if laddrs.is_empty() {
        return None;
    }
    let lip = laddrs[pick % laddrs.len()];
    // Replies arrive on the port that routes to the real server.
    let steer = L::routes(snap).lookup(rip).and_then(|(i, _)| {
        let rss = snap.ifaces.get(i as usize)?.rss.as_ref()?;
        Some(Steer { iface: i as usize, rss, rip: rip.widen(), rport })
    });
    let lport = e.svc.lports.alloc(lip, steer)?;
    Some((lip, lport))
}

fn release_tmpl<P>(e: &mut Engine<P>, tmpl: u32) {
    if tmpl != NO_TMPL {
        e.svc.templates.lock().release(tmpl);
    }
}

/// IPVS persistence: reuse the client network's template when its dest is
/// still usable, else schedule and remember the choice.
/// `client` is the client address and the service's persistence timeout.
fn persist_pick<P, A: Fam>(
    e: &mut Engine<P>,
    snap: &Snapshot,
    s: &Service,
    ctx: &PickCtx,
    (cip, timeout): (A, u32),
    now: u64,
) -> Result<(usize, u32), DropReason> {
    let key = TemplateKey { svc: s.conf.key, client: (cip & A::netmask(s)).widen() };
    let mut t = e.svc.templates.lock();
    if let Some(tid) = t.lookup(&key) {
        let rip = t.get(tid).dest;
        let usable =
            s.dests.iter().position(|d| widen_ip(d.addr) == rip && (d.weight > 0 || !snap.expire_quiescent_template));
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
    let Some(rip) = dest_addr::<A>(&s.dests[di]) else { return Err(DropReason::NoDest) };
    match t.insert(key, rip.widen(), timeout, now) {
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
pub(crate) fn settle_removed<P, A: Fam>(e: &mut Engine<P>, snap: &Snapshot, mut c: Conn<A>) {
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

/// Per-tick work: expire idle connections (bounded), and on worker 0 the
/// shared persistence templates.
pub fn tick<P: PacketBuf>(e: &mut Engine<P>, snap: &Snapshot, now: u64) {
    expire::<P, u32>(e, snap, now);
    expire::<P, u128>(e, snap, now);
    if e.id == 0 {
        let mut t = e.svc.templates.lock();
        t.expire(now, EXPIRE_BUDGET, |tmpl| persist_gone(snap, &tmpl));
    }
}

/// Expire idle connections of family `A` (bounded work).
fn expire<P, A: Fam>(e: &mut Engine<P>, snap: &Snapshot, now: u64) {
    const BATCH: usize = 64;
    let mut expired: [Conn<A>; BATCH] = [Conn::default(); BATCH];
    let mut budget = EXPIRE_BUDGET;
    while budget > 0 {
        let mut n = 0;
        // At most BATCH entries per call, within what is left of the budget.
        A::conns_mut(&mut e.svc).expire(now, budget.min(BATCH), |c| {
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
}

/// An address widened as [`Addr::widen`] does for its family.
fn widen_ip(a: std::net::IpAddr) -> u128 {
    match a {
        std::net::IpAddr::V4(a) => u32::from(a).widen(),
        std::net::IpAddr::V6(a) => u128::from(a),
    }
}

/// A template left the table: the dest it pinned has one `PersistConn`
/// less (found by the service's identity and the dest's address; a dest
/// deleted meanwhile took its counter with it).
fn persist_gone(snap: &Snapshot, t: &conn::Template) {
    let Some(s) = snap.services.list.iter().find(|s| s.conf.key == t.key.svc) else { return };
    if let Some(d) = s.dests.iter().find(|d| widen_ip(d.addr) == t.dest) {
        d.rt.persist_dec();
    }
}
