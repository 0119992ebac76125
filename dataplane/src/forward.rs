//! Forwarding: a packet of a known connection through its state
//! transition, counters and forwarding mode; and ICMP errors that quote a
//! tracked connection's packet.
//!
//! Times here are ticks of [`crate::conn::HZ`] per second.

use crate::conn::{self, ConnId, ConnKey, Dir};
use crate::drop::DropReason;
use crate::egress::{Hop, IcmpError, NextHop};
use crate::engine::{Ctx, Engine, Io};
use crate::family::Fam;
use crate::modes::{self, proxy_proto as pp, tun::EncapError};
use crate::packet::{eth, ipv4, l4, PacketBuf};
use crate::pipeline::Meta;
use crate::redirect::Redirected;
use crate::service_path::{owner, resolve, settle_removed, F_TOA_DONE};
use crate::snapshot::class;
use rvs_conf::FwdMethod;

/// A packet of a known connection: state, counters, rewrite, send.
pub(crate) fn established<P: PacketBuf, I: Io<P>, A: Fam>(
    e: &mut Engine<P>,
    cx: &mut Ctx<'_, I>,
    mut pkt: P,
    m: &Meta<A>,
    cid: ConnId,
    dir: Dir,
) {
    let (snap, now, at, flags) = (cx.snap, cx.now, m.at, m.flags);
    let conns = A::conns_mut(&mut e.svc);
    let tr = conns.on_packet(cid, dir, flags, now);
    let mut c = *conns.get(cid);
    let resolved = resolve(snap, &mut c);
    {
        let m = conns.get_mut(cid);
        m.svc = c.svc;
        m.dest = c.dest;
        m.user = c.user;
    }
    if c.flags & crate::sync::path::F_SYNCED != 0 {
        crate::sync::path::promote::<P, A>(e, cid);
    }
    let bytes = pkt.len() as u64;
    if snap.sync.master && dir != Dir::Output {
        // A one-packet entry leaves the table with its datagram: nothing
        // to sync.
        if let Some((si, _)) = resolved.filter(|&(si, _)| !snap.services.list[si].conf.one_packet) {
            crate::sync::path::note::<P, A>(e, snap, si, cid, tr);
        }
    }
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
            let old = A::conns_mut(&mut e.svc).remove(cid);
            settle_removed(e, snap, old);
            return e.drop_pkt(DropReason::ConnNoDest, pkt);
        }
        None => {}
    }
    if c.flags & conn::table::flags::NAT64 != 0 {
        return crate::nat64::xmit(e, cx, pkt, m, (cid, dir), &c);
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
    // Where the packet goes (the real server, or the client for replies),
    // resolved once for the MTU check and the transmit.
    let to = if dir == Dir::Output { c.caddr } else { c.daddr };
    let hop = e.hop(cx, to);
    if m.df {
        let extra = if c.fwd == FwdMethod::Tun { A::tun_overhead(tt) } else { 0 };
        let mtu = hop.map_or_else(|| e.mtu_to(cx, to), |h| h.mtu);
        let mtu = (mtu as usize).saturating_sub(extra);
        if m.total_len > mtu {
            e.send_icmp_error::<I, A>(cx, &pkt.data()[eth::HDR_LEN..], IcmpError::TooBig(mtu as u16));
            return e.drop_pkt(DropReason::TooBig, pkt);
        }
    }
    // The gate checked the TTL / hop limit is above 1.
    let _ = A::dec_ttl(pkt.data_mut(), at.l3);
    let b = pkt.data_mut();
    let rewritten = match (c.fwd, dir) {
        // NAT reply: RIP:rport → CIP:cport becomes VIP:vport → CIP:cport.
        (FwdMethod::Nat, Dir::Output) => A::rewrite(b, at, Some((c.vaddr, c.vport)), None),
        // NAT request: CIP:cport → VIP:vport becomes CIP:cport → RIP:rport.
        (FwdMethod::Nat, _) => A::rewrite(b, at, None, Some((c.daddr, c.dport))),
        // FULLNAT reply: RIP:rport → LIP:lport becomes VIP:vport → CIP:cport.
        (FwdMethod::FullNat, Dir::Output) => {
            // Proxy Protocol: acknowledgments back into the client's numbering.
            if c.flags & pp::F_PP_SEQ != 0 {
                if let Err(r) = pp::on_reply(pkt.data_mut(), at, A::conns_mut(&mut e.svc).get_mut(cid)) {
                    return e.drop_pkt(r, pkt);
                }
            }
            A::rewrite(pkt.data_mut(), at, Some((c.vaddr, c.vport)), Some((c.caddr, c.cport)))
        }
        (FwdMethod::FullNat, _) => {
            if c.flags & pp::F_PP != 0 {
                // Proxy Protocol (in place of TOA): the header at the
                // start of the stream, sequence numbers shifted after it.
                let mtu = hop.map_or_else(|| e.mtu_to(cx, c.daddr), |h| h.mtu);
                if let Err(r) = pp::on_request(&mut pkt, at, A::conns_mut(&mut e.svc).get_mut(cid), mtu) {
                    return e.drop_pkt(r, pkt);
                }
            } else if at.proto == ipv4::PROTO_TCP
                && c.flags & F_TOA_DONE == 0
                && flags & l4::TCP_ACK != 0
                && flags & l4::TCP_SYN == 0
            {
                // Carry the client address to the real server on the
                // handshake's final ACK (where TOA readers look for it):
                // the IPv4 option, or the 20-byte IPv6 one.
                let mtu = hop.map_or_else(|| e.mtu_to(cx, c.daddr), |h| h.mtu);
                let (cip, cport) = (c.caddr.widen(), c.cport);
                let added = if A::BITS == 32 {
                    modes::fullnat::add_toa(&mut pkt, at, cip as u32, cport, mtu)
                } else {
                    modes::toa6::add_toa6(&mut pkt, at, cip, cport, mtu)
                };
                match added {
                    Ok(true) => A::conns_mut(&mut e.svc).get_mut(cid).flags |= F_TOA_DONE,
                    Ok(false) => {}
                    Err(r) => return e.drop_pkt(r, pkt),
                }
            }
            // FULLNAT request: CIP:cport → VIP:vport becomes LIP:lport → RIP:rport.
            A::rewrite(pkt.data_mut(), at, Some((c.laddr, c.lport)), Some((c.daddr, c.dport)))
        }
        (FwdMethod::Dr | FwdMethod::Tun, _) => Ok(()),
    };
    if let Err(r) = rewritten {
        return e.drop_pkt(r, pkt);
    }
    match c.fwd {
        FwdMethod::Nat | FwdMethod::FullNat => match hop {
            Some(h) => e.emit_hop(cx, pkt, &h),
            None => e.route_out(cx, pkt, to),
        },
        FwdMethod::Dr => match hop.filter(|h| h.direct) {
            Some(h) => e.emit_hop(cx, pkt, &h),
            None => send_dr(e, cx, pkt, c.daddr),
        },
        FwdMethod::Tun => match send_tun(e, cx, pkt, c.daddr, (tt, tp), hop.filter(|_| to == c.daddr)) {
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
pub(crate) fn send_dr<P: PacketBuf, I: Io<P>, A: Fam>(e: &mut Engine<P>, cx: &mut Ctx<'_, I>, pkt: P, rip: A) {
    if let Some(h) = e.hop(cx, rip).filter(|h| h.direct) {
        return e.emit_hop(cx, pkt, &h);
    }
    match A::routes(cx.snap).lookup(rip) {
        Some((port_idx, nh)) if modes::dr::on_link_af(nh, rip) => {
            e.xmit(cx, pkt, NextHop { port_idx, nexthop: modes::dr::nexthop_af(rip) })
        }
        _ => e.drop_pkt(DropReason::NoRoute, pkt),
    }
}

/// TUN: encapsulate DIP → RIP (as the dest's tunnel type and port say)
/// and route; an encapsulation error gives the packet back to the caller.
/// `hop`: the caller's [`Engine::hop`] to `rip` (or None when it has
/// none): when resolved, its interface is the route's, and the
/// encapsulated packet leaves through it without a second lookup.
pub(crate) fn send_tun<P: PacketBuf, I: Io<P>, A: Fam>(
    e: &mut Engine<P>,
    cx: &mut Ctx<'_, I>,
    mut pkt: P,
    rip: A,
    (tt, tp): (rvs_conf::TunType, u16),
    hop: Option<Hop<A>>,
) -> Result<(), (P, EncapError)> {
    let port_idx = match hop {
        Some(h) => h.port_idx,
        None => match A::routes(cx.snap).lookup(rip) {
            Some((port_idx, _)) => port_idx,
            None => {
                e.drop_pkt(DropReason::NoRoute, pkt);
                return Ok(());
            }
        },
    };
    let ifc = &cx.snap.ifaces[port_idx as usize];
    let dip = A::source_for(ifc, rip).unwrap_or_default();
    match A::encap(&mut pkt, tt, tp, dip, rip, ifc.mtu) {
        Ok(()) => {
            match hop {
                Some(h) => e.emit_hop(cx, pkt, &h),
                None => e.route_out(cx, pkt, rip),
            }
            Ok(())
        }
        Err(err) => Err((pkt, err)),
    }
}

/// An ICMP error (unreachable, frag-needed, time-exceeded, ...) that
/// quotes a packet of a tracked connection: translate outer and quoted
/// headers like the connection's packets and send it to the other side.
pub(crate) fn icmp_error<P: PacketBuf, I: Io<P>>(
    e: &mut Engine<P>,
    cx: &mut Ctx<'_, I>,
    mut pkt: P,
    info: &ipv4::Ipv4Info,
    port_idx: u16,
) {
    use modes::icmp_err::{apply, parse, Rewrite};
    let snap = cx.snap;
    let Some(q) = parse(pkt.data(), info.hdr_len) else {
        return e.drop_pkt(DropReason::IcmpUnhandled, pkt);
    };
    // The quoted packet went the other way: look up its reverse. A flow of
    // a one-way VIP on an RSS port lives on the queue the NIC gave its
    // requests (computed here with the port's key and RETA).
    let one_way = snap.class(q.src) & class::ONE_WAY != 0;
    let own = match snap.ifaces.get(port_idx as usize).and_then(|i| i.rss.as_ref()) {
        Some(rss) if one_way && e.svc.workers() > 1 => {
            rss.queue_for_v4(q.dst, q.dport, q.src, q.sport) as usize % e.svc.workers()
        }
        _ => owner(snap, e.svc.workers(), q.dst, q.dport, q.src, q.sport),
    };
    if own != e.id {
        return e.redirect(cx, own, Redirected { pkt, port_idx, meta: None });
    }
    let key = ConnKey::new(q.proto, q.dst, q.dport, q.src, q.sport);
    let Some((cid, dir)) = e.svc.conns.lookup(&key) else {
        // Perhaps about a NAT64 connection's request to its IPv4 server.
        return crate::nat64::icmp_from_server(e, cx, pkt, info.ttl, &q);
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
        return e.route_out(cx, pkt, c.caddr);
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
        FwdMethod::Dr => send_dr(e, cx, pkt, c.daddr),
        FwdMethod::Tun => {
            // The same encapsulation as the connection's own packets.
            let (tt, tp) = resolve(snap, &mut { c })
                .map(|(si, di)| {
                    let d = &snap.services.list[si].dests[di];
                    (d.tun_type, d.tun_port)
                })
                .unwrap_or_default();
            let hop = e.hop(cx, c.daddr);
            if let Err((p, _)) = send_tun(e, cx, pkt, c.daddr, (tt, tp), hop) {
                e.drop_pkt(DropReason::TooBig, p);
            }
        }
        _ => e.route_out(cx, pkt, c.daddr),
    }
}
