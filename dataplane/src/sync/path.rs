//! The data path's side of connection synchronisation.
//!
//! A master worker notes its connections as packets move them
//! ([`note`], from `forward::established`): IPVS's rule decides which
//! packet makes a connection worth sending (see [`needed`]), and the
//! worker pushes one [`SyncEvent`] onto its own ring to Control's sync
//! daemon — a copy of a few fields, no allocation; a full ring loses the
//! event and counts `sync_lost`. A backup worker takes the connections
//! the daemon received for flows it owns from its inbox ([`drain`]) and
//! installs or refreshes them ([`install`]), marked [`F_SYNCED`]; the
//! first packet that arrives for such an entry promotes it to an ordinary
//! one ([`promote`]).
//!
//! Installed connections are bound to the service and dest of the
//! worker's own snapshot (by VIP and real-server address), so they count
//! in ActiveConn/InActConn as IPVS backups count them. FULLNAT entries are
//! not installed: their local address belongs to the director that made
//! them (see docs/operations.md).

use super::{SyncConn, CONN_F_DROUTE, CONN_F_FWD_MASK, CONN_F_MASQ, CONN_F_TUNNEL, TCP_S_LAST};
use crate::conn::{self, ConnKey, Dir, State, Transition};
use crate::engine::Engine;
use crate::family::Fam;
use crate::packet::ipv4::{PROTO_SCTP, PROTO_TCP};
use crate::snapshot::Snapshot;
use rvs_conf::FwdMethod;
use std::net::IpAddr;

/// Connection flag (caller-owned bits of `Conn::flags`): installed from a
/// sync message and not seen any packet since.
pub const F_SYNCED: u16 = 1 << 8;

/// Most inbox entries a worker installs per loop iteration.
pub const DRAIN_BUDGET: usize = 256;

/// What a worker sends to, or receives from, the sync daemon: a
/// connection's identity, forwarding, state and lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncEvent {
    pub proto: u8,
    pub fwd: FwdMethod,
    pub state: State,
    pub caddr: IpAddr,
    pub vaddr: IpAddr,
    pub daddr: IpAddr,
    pub laddr: IpAddr,
    pub cport: u16,
    pub vport: u16,
    pub dport: u16,
    pub lport: u16,
    /// The service's fwmark (0 for an address service).
    pub fwmark: u32,
    /// Seconds an idle entry lives in its state (a template: the
    /// persistence timeout).
    pub timeout: u32,
    /// A persistence template (IPVS's `IP_VS_CONN_F_TEMPLATE`): `caddr` is
    /// the masked client, `daddr`:`dport` the dest it sticks to, `cport`
    /// 0, `state` NONE.
    pub template: bool,
}

/// The worker's ends of its two rings to the sync daemon.
#[derive(Default)]
pub struct SyncPort {
    pub out: Option<rtrb::Producer<SyncEvent>>,
    pub inbox: Option<rtrb::Consumer<SyncEvent>>,
}

/// IPVS's choice (`ip_vs_sync_conn_needed`, without a refresh period):
/// TCP connections are synced only in ESTABLISHED, FIN_WAIT, CLOSE,
/// CLOSE_WAIT and TIME_WAIT; entering any of these but ESTABLISHED sends
/// at once; otherwise the `pkts`-th input packet sends when `pkts` is
/// `threshold` modulo `period` (or equals `threshold` with period 0).
/// SCTP likewise, in ESTABLISHED, the three SHUTDOWN states and CLOSED.
pub fn needed(proto: u8, tr: Transition, pkts: u32, threshold: u32, period: u32) -> bool {
    use State as S;
    let synced = match proto {
        PROTO_TCP => Some(matches!(tr.new, S::Established | S::FinWait | S::Close | S::CloseWait | S::TimeWait)),
        PROTO_SCTP => Some(matches!(
            tr.new,
            S::SctpEstablished | S::SctpShutdownSent | S::SctpShutdownReceived | S::SctpShutdownAckSent | S::SctpClosed
        )),
        _ => None,
    };
    if let Some(synced) = synced {
        if !synced {
            return false;
        }
        if tr.new != tr.old && !matches!(tr.new, S::Established | S::SctpEstablished) {
            return true;
        }
    }
    if period > 0 {
        pkts % period == threshold
    } else {
        pkts == threshold
    }
}

/// A synced entry sees its first packet: it is ours from now on.
#[inline]
pub(crate) fn promote<P, A: Fam>(e: &mut Engine<P>, cid: conn::ConnId) {
    let c = A::conns_mut(&mut e.svc).get_mut(cid);
    if c.flags & F_SYNCED != 0 {
        c.flags &= !F_SYNCED;
        e.stats.sync_promoted.inc();
    }
}

/// A master's input packet on `cid` moved it by `tr`: send it if IPVS
/// would.
pub(crate) fn note<P, A: Fam>(e: &mut Engine<P>, snap: &Snapshot, si: usize, cid: conn::ConnId, tr: Transition) {
    if e.sync.out.is_none() {
        return;
    }
    let conns = A::conns_mut(&mut e.svc);
    let timeout = (conns.timeout(tr.new) / conn::HZ) as u32;
    let c = conns.get_mut(cid);
    c.sync_pkts = c.sync_pkts.wrapping_add(1);
    if !needed(c.proto, tr, u32::from(c.sync_pkts), snap.sync.threshold, snap.sync.period) {
        return;
    }
    let fwmark = match snap.services.list[si].conf.key {
        rvs_conf::ServiceKey::Fwmark(m) => m,
        rvs_conf::ServiceKey::Inet { .. } => 0,
    };
    let ev = SyncEvent {
        proto: c.proto,
        fwd: c.fwd,
        state: c.state,
        caddr: c.caddr.to_ip(),
        vaddr: c.vaddr.to_ip(),
        daddr: if c.flags & conn::table::flags::NAT64 != 0 {
            IpAddr::V4(std::net::Ipv4Addr::from(c.daddr.widen() as u32))
        } else {
            c.daddr.to_ip()
        },
        laddr: c.laddr.to_ip(),
        cport: c.cport,
        vport: c.vport,
        dport: c.dport,
        lport: c.lport,
        fwmark,
        timeout,
        template: false,
    };
    let tid = c.tmpl;
    let tmpl = (tid != conn::NO_TMPL).then(|| template_event(e, &ev, tid));
    let Some(out) = e.sync.out.as_mut() else { return };
    // The template first, as IPVS sends a connection's controlling
    // template along with it: a backup has it when the flow arrives.
    for ev in tmpl.into_iter().flatten().chain(std::iter::once(ev)) {
        if out.push(ev).is_ok() {
            e.stats.sync_queued.inc();
        } else {
            e.stats.sync_lost.inc();
        }
    }
}

/// The wire form of the persistence template `tid` of `conn`'s service.
fn template_event<P>(e: &Engine<P>, conn: &SyncEvent, tid: conn::TmplId) -> Option<SyncEvent> {
    let t = *e.svc.templates.lock().get(tid);
    if !t.hashed {
        return None;
    }
    let narrow = |v: u128| match conn.caddr {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::from(v as u32)),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from(v)),
    };
    let (proto, vaddr, vport) = match t.key.svc {
        rvs_conf::ServiceKey::Inet { proto, addr, port } => (proto.number(), addr, port),
        // IPVS's fwmark template: protocol 0, the mark in vaddr.
        rvs_conf::ServiceKey::Fwmark(m) => (0, IpAddr::V4(std::net::Ipv4Addr::from(m)), 0),
    };
    Some(SyncEvent {
        proto,
        state: State::None,
        caddr: narrow(t.key.client),
        vaddr,
        daddr: narrow(t.dest),
        cport: 0,
        vport,
        timeout: (t.timeout / conn::HZ) as u32,
        template: true,
        ..*conn
    })
}

/// Why a received connection was not installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    NoService,
    NoDest,
    FullNat,
    BadState,
    TableFull,
}

/// Install (or refresh) the connections the daemon queued for this
/// worker, at most [`DRAIN_BUDGET`]; how many it took.
pub fn drain<P>(e: &mut Engine<P>, snap: &Snapshot, now: u64) -> usize {
    for n in 0..DRAIN_BUDGET {
        let Some(ev) = e.sync.inbox.as_mut().and_then(|i| i.pop().ok()) else { return n };
        let r = match ev.caddr {
            _ if ev.template => install_template(e, snap, &ev, now),
            IpAddr::V4(_) => install::<P, u32>(e, snap, &ev, now),
            IpAddr::V6(_) => install::<P, u128>(e, snap, &ev, now),
        };
        match r {
            Ok(()) => e.stats.sync_installed.inc(),
            Err(_) => e.stats.sync_refused.inc(),
        }
    }
    DRAIN_BUDGET
}

/// One received connection into this worker's table of family `A`.
pub fn install<P, A: Fam>(e: &mut Engine<P>, snap: &Snapshot, ev: &SyncEvent, now: u64) -> Result<(), Refused> {
    if ev.fwd == FwdMethod::FullNat {
        return Err(Refused::FullNat);
    }
    let addr = |a: IpAddr| A::from_ip(a).ok_or(Refused::NoService);
    let (caddr, vaddr, daddr) = (addr(ev.caddr)?, addr(ev.vaddr)?, addr(ev.daddr).map_err(|_| Refused::NoDest)?);
    let key = ConnKey::of(ev.proto, caddr, ev.cport, vaddr, ev.vport);
    let si = A::lookup(&snap.services, ev.proto, vaddr, ev.vport).ok_or(Refused::NoService)? as usize;
    let s = &snap.services.list[si];
    let di = s
        .dests
        .iter()
        .position(|d| d.addr == ev.daddr && (d.port == ev.dport || d.port == 0))
        .ok_or(Refused::NoDest)?;
    let d = &s.dests[di];
    let expires = now + u64::from(ev.timeout.max(1)) * conn::HZ;
    let conns = A::conns_mut(&mut e.svc);
    if let Some((cid, Dir::Input)) = conns.lookup(&key) {
        // Known: refresh an entry the daemon made; leave our own alone.
        let c = *conns.get(cid);
        if c.flags & F_SYNCED == 0 {
            return Ok(());
        }
        conns.get_mut(cid).state = ev.state;
        conns.rearm(cid, expires);
        let cell = d.rt.cell(e.id);
        match (conn::is_active(c.state), conn::is_active(ev.state)) {
            (false, true) => {
                cell.inactive.dec();
                cell.active.inc();
            }
            (true, false) => {
                cell.active.dec();
                cell.inactive.inc();
            }
            _ => {}
        }
        return Ok(());
    }
    let mut c = conn::Conn::<A>::new(d.fwd, key, daddr, ev.dport);
    c.state = ev.state;
    c.flags |= F_SYNCED;
    c.svc = si as u32;
    c.dest = di as u32;
    c.user = snap.generation;
    let cid = conns.insert(c, now).map_err(|_| Refused::TableFull)?;
    conns.rearm(cid, expires);
    let cell = d.rt.cell(e.id);
    if conn::is_active(c.state) {
        cell.active.inc();
    } else {
        cell.inactive.inc();
    }
    d.update_overload();
    e.stats.conns.inc();
    Ok(())
}

/// A received persistence template into the shared template table (or
/// its timeout refreshed), so that the client's next connections on this
/// director go to the same dest.
pub fn install_template<P>(e: &mut Engine<P>, snap: &Snapshot, ev: &SyncEvent, now: u64) -> Result<(), Refused> {
    let s = if ev.proto == 0 {
        let m = match ev.vaddr {
            IpAddr::V4(a) => u32::from(a),
            IpAddr::V6(_) => return Err(Refused::NoService),
        };
        snap.services.list.iter().find(|s| s.conf.key == rvs_conf::ServiceKey::Fwmark(m))
    } else {
        let key = rvs_conf::ServiceKey::Inet {
            proto: match ev.proto {
                PROTO_TCP => rvs_conf::Proto::Tcp,
                crate::packet::ipv4::PROTO_UDP => rvs_conf::Proto::Udp,
                PROTO_SCTP => rvs_conf::Proto::Sctp,
                _ => return Err(Refused::NoService),
            },
            addr: ev.vaddr,
            port: ev.vport,
        };
        snap.services.list.iter().find(|s| s.conf.key == key)
    }
    .ok_or(Refused::NoService)?;
    let widen = |a: IpAddr| match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    };
    let dest = widen(ev.daddr);
    let d = s.dests.iter().find(|d| widen(d.addr) == dest).ok_or(Refused::NoDest)?;
    let key = conn::TemplateKey { svc: s.conf.key, client: widen(ev.caddr) };
    let mut t = e.svc.templates.lock();
    match t.lookup(&key) {
        Some(id) => t.touch(id, now),
        None => {
            t.insert(key, dest, ev.timeout, now).map_err(|_| Refused::TableFull)?;
            d.rt.persist_inc();
        }
    }
    Ok(())
}

/// The wire record of an event (what a kernel master would send).
pub fn to_wire(ev: &SyncEvent) -> SyncConn {
    let fwd = match ev.fwd {
        FwdMethod::Nat | FwdMethod::FullNat => CONN_F_MASQ,
        FwdMethod::Dr => CONN_F_DROUTE,
        FwdMethod::Tun => CONN_F_TUNNEL,
    };
    SyncConn {
        proto: ev.proto,
        flags: if ev.template { fwd | super::CONN_F_TEMPLATE } else { fwd },
        // The kernel's numbers: TCP's are ours, SCTP's count from its NONE.
        state: match conn::sctp::index(ev.state) {
            Some(i) => i as u16,
            None if ev.state == State::Udp => 0,
            None => ev.state as u16,
        },
        cport: ev.cport,
        vport: ev.vport,
        dport: ev.dport,
        fwmark: ev.fwmark,
        timeout: ev.timeout,
        caddr: ev.caddr,
        vaddr: ev.vaddr,
        daddr: ev.daddr,
        seq: None,
        pe_name: None,
        pe_data: None,
        local: (ev.fwd == FwdMethod::FullNat && !ev.template).then_some((ev.laddr, ev.lport)),
    }
}

/// A received record as an event to install, or why it cannot be one (a
/// record of a protocol or state we do not keep).
pub fn from_wire(c: &SyncConn, default_timeout: impl Fn(State) -> u32) -> Result<SyncEvent, &'static str> {
    let template = c.flags & super::CONN_F_TEMPLATE != 0;
    let state = match c.proto {
        _ if template => State::None,
        PROTO_TCP if c.state < TCP_S_LAST => State::ALL[c.state as usize],
        PROTO_TCP => return Err("TCP state out of range"),
        crate::packet::ipv4::PROTO_UDP => State::Udp,
        PROTO_SCTP => *conn::sctp::STATES.get(c.state as usize).ok_or("SCTP state out of range")?,
        _ => return Err("protocol"),
    };
    let fwd = match (c.flags & CONN_F_FWD_MASK, c.local) {
        (CONN_F_MASQ, Some(_)) => FwdMethod::FullNat,
        (CONN_F_MASQ, None) => FwdMethod::Nat,
        (CONN_F_DROUTE, _) => FwdMethod::Dr,
        (CONN_F_TUNNEL, _) => FwdMethod::Tun,
        _ => return Err("forwarding method"),
    };
    let unspecified = match c.caddr {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    };
    let (laddr, lport) = c.local.unwrap_or((unspecified, 0));
    Ok(SyncEvent {
        proto: c.proto,
        fwd,
        state,
        caddr: c.caddr,
        vaddr: c.vaddr,
        daddr: c.daddr,
        laddr,
        cport: c.cport,
        vport: c.vport,
        dport: c.dport,
        lport,
        fwmark: c.fwmark,
        timeout: match c.timeout {
            // A template without a timeout (v0): IPVS's default
            // persistence, 6 minutes.
            0 if template => 360,
            0 => default_timeout(state),
            t => t,
        },
        template,
    })
}

/// The worker that owns a received connection: the flow-owner function
/// of the data path for a client → VIP packet (`service_path::owner`).
pub fn owner(workers: usize, ev: &SyncEvent) -> usize {
    if workers <= 1 {
        return 0;
    }
    let h = match ev.caddr {
        IpAddr::V4(a) => conn::flow_hash(u32::from(a), ev.cport),
        IpAddr::V6(a) => conn::flow_hash(u128::from(a), ev.cport),
    };
    h as usize % workers
}
