//! NAT64 connections in the engine: how a packet of one reaches its
//! translation ([`crate::modes::nat64`]) and leaves in the other family,
//! and how ICMP errors about one are translated (RFC 7915 4.2, 5.2).
//!
//! A NAT64 connection lives in the IPv6 table (its client and VIP are
//! IPv6), flagged [`flags::NAT64`]. The client's packets find it there as
//! any IPv6 FULLNAT connection's do. The real server's IPv4 replies come
//! to an IPv4 LIP and miss the IPv4 table; [`reply_lookup`] then looks
//! their tuple up widened in the IPv6 table, which is only ever asked on
//! such a miss, so IPv4 traffic of the other services pays nothing.

use crate::addr::Addr;
use crate::conn::table::flags;
use crate::conn::{Conn, ConnId, ConnKey, Dir};
use crate::drop::DropReason;
use crate::egress::IcmpError;
use crate::engine::{Ctx, Engine, Io};
use crate::family::Fam;
use crate::modes::Rewrite;
use crate::modes::{icmp6_err, icmp_err, nat64, proxy_proto as pp, toa6};
use crate::packet::icmp6::{self, Icmp6Error};
use crate::packet::{csum, eth, icmp, ipv4, l4, PacketBuf};
use crate::pipeline::Meta;
use crate::service_path::F_TOA_DONE;
use crate::wire::icmpv6;
use crate::wire::ipv6::HDR_LEN;
use crate::wire::{Ipv4, Ipv6};

/// The IPv6-table entry of an IPv4 packet that missed the IPv4 table:
/// a NAT64 connection's reply side, or None.
#[inline]
pub(crate) fn reply_lookup<P, A: Addr>(e: &Engine<P>, m: &Meta<A>) -> Option<(ConnId, Meta<u128>)> {
    if A::BITS != 32 {
        return None;
    }
    let k = &m.key;
    let key = ConnKey::of(k.proto, k.saddr.widen(), k.sport, k.daddr.widen(), k.dport);
    match e.svc.conns6.lookup(&key)? {
        (cid, Dir::Output) if e.svc.conns6.get(cid).flags & flags::NAT64 != 0 => Some((
            cid,
            Meta { key, at: m.at, total_len: m.total_len, flags: m.flags, df: m.df, cls: m.cls, port: m.port },
        )),
        _ => None,
    }
}

/// Send a packet of the NAT64 connection `c` (already through its state
/// transition and counters) translated to the other family: a request
/// (IPv6, from the client) to the IPv4 real server, a reply (IPv4) to the
/// client. Too big for the next link: an error to the sender in its own
/// family, with the MTU it should use.
pub(crate) fn xmit<P: PacketBuf, I: Io<P>, A: Fam>(
    e: &mut Engine<P>,
    cx: &mut Ctx<'_, I>,
    mut pkt: P,
    m: &Meta<A>,
    (cid, dir): (ConnId, Dir),
    c: &Conn<A>,
) {
    let (cip, vip) = (c.caddr.widen(), c.vaddr.widen());
    let (Some(lip), Some(rip)) = (nat64::v4_of(c.laddr.widen()), nat64::v4_of(c.daddr.widen())) else {
        return e.drop_pkt(DropReason::NoDest, pkt);
    };
    let at = m.at;
    let ip_hdr = at.l4 - at.l3;
    if dir == Dir::Output {
        let hop = e.hop(cx, cip);
        let mtu = hop.map_or_else(|| e.mtu_to(cx, cip), |h| h.mtu) as usize;
        if m.total_len - ip_hdr + HDR_LEN > mtu {
            // IPv6 routers do not fragment: a DF sender learns the MTU
            // (less the header difference); anything else is dropped.
            if m.df {
                let fits = mtu.saturating_sub(nat64::GROWTH) as u16;
                e.send_icmp_error::<I, u32>(cx, &pkt.data()[eth::HDR_LEN..], IcmpError::TooBig(fits));
            }
            return e.drop_pkt(DropReason::TooBig, pkt);
        }
        let _ = u32::dec_ttl(pkt.data_mut(), at.l3);
        if c.flags & pp::F_PP_SEQ != 0 {
            // Proxy Protocol: acknowledgments back into the client's numbering.
            if let Err(r) = pp::on_reply(pkt.data_mut(), at, A::conns_mut(&mut e.svc).get_mut(cid)) {
                return e.drop_pkt(r, pkt);
            }
        }
        if let Err(r) = nat64::to_v6(&mut pkt, at, (vip, c.vport), (cip, c.cport)) {
            return e.drop_pkt(r, pkt);
        }
        return match hop {
            Some(h) => e.emit_hop(cx, pkt, &h),
            None => e.route_out(cx, pkt, cip),
        };
    }
    let hop = e.hop(cx, rip);
    let mtu = hop.map_or_else(|| e.mtu_to(cx, rip), |h| h.mtu) as usize;
    if m.total_len - ip_hdr + ipv4::MIN_HDR > mtu {
        let fits = (mtu + ip_hdr - ipv4::MIN_HDR).max(icmp6::MIN_MTU) as u16;
        e.send_icmp_error::<I, u128>(cx, &pkt.data()[eth::HDR_LEN..], IcmpError::TooBig(fits));
        return e.drop_pkt(DropReason::TooBig, pkt);
    }
    let _ = u128::dec_ttl(pkt.data_mut(), at.l3);
    // What the IPv6 packet may take for the IPv4 one to fit.
    let room = (mtu + ip_hdr - ipv4::MIN_HDR) as u16;
    if c.flags & pp::F_PP != 0 {
        // Proxy Protocol (a TCP6 header: the client and VIP are IPv6),
        // inserted before translation like TOA.
        if let Err(r) = pp::on_request(&mut pkt, at, A::conns_mut(&mut e.svc).get_mut(cid), room) {
            return e.drop_pkt(r, pkt);
        }
    } else if at.proto == ipv4::PROTO_TCP
        && c.flags & F_TOA_DONE == 0
        && m.flags & l4::TCP_ACK != 0
        && m.flags & l4::TCP_SYN == 0
    {
        // The IPv6 client's address for the IPv4 real server: the 20-byte
        // TOA, added before translation (the segment moves as it is),
        // within what the IPv4 packet may take.
        match toa6::add_toa6(&mut pkt, at, cip, c.cport, room) {
            Ok(true) => A::conns_mut(&mut e.svc).get_mut(cid).flags |= F_TOA_DONE,
            Ok(false) => {}
            Err(r) => return e.drop_pkt(r, pkt),
        }
    }
    if let Err(r) = nat64::to_v4(&mut pkt, at, (lip, c.lport), (rip, c.dport)) {
        return e.drop_pkt(r, pkt);
    }
    match hop {
        Some(h) => e.emit_hop(cx, pkt, &h),
        None => e.route_out(cx, pkt, rip),
    }
}

/// RFC 7915 4.2: an ICMPv4 error's type and code as ICMPv6's (with the
/// MTU of a frag-needed grown by the header difference); None for what
/// does not translate (source quench, redirects, ...), which is dropped.
fn error_to_v6(ty: u8, code: u8, mtu: u16) -> Option<Icmp6Error> {
    let unreach = |code| Some(Icmp6Error { ty: icmpv6::DEST_UNREACH, code, param: 0 });
    match (ty, code) {
        (icmp::DEST_UNREACH, icmp::CODE_FRAG_NEEDED) => {
            // A router that sent no MTU (RFC 1191's old ones): IPv6's minimum.
            let mtu = if mtu == 0 { icmp6::MIN_MTU as u32 } else { u32::from(mtu) + nat64::GROWTH as u32 };
            Some(Icmp6Error::packet_too_big(mtu.max(icmp6::MIN_MTU as u32)))
        }
        (icmp::DEST_UNREACH, 2) => {
            Some(Icmp6Error { ty: icmpv6::PARAM_PROBLEM, code: icmp6::CODE_UNKNOWN_NEXT_HEADER, param: 6 })
        }
        (icmp::DEST_UNREACH, 3) => unreach(icmp6::CODE_PORT_UNREACH),
        (icmp::DEST_UNREACH, 9 | 10 | 13 | 15) => unreach(icmp6::CODE_ADMIN_PROHIBITED),
        (icmp::DEST_UNREACH, 0 | 1 | 5..=8 | 11 | 12) => unreach(icmp6::CODE_NO_ROUTE),
        (icmp::TIME_EXCEEDED, c @ 0..=1) => Some(Icmp6Error { ty: icmpv6::TIME_EXCEEDED, code: c, param: 0 }),
        _ => None,
    }
}

/// RFC 7915 5.2: an ICMPv6 error's type, code and MTU as ICMPv4's.
fn error_to_v4(e: &Icmp6Error) -> Option<(u8, u8, u16)> {
    match (e.ty, e.code) {
        (icmpv6::PACKET_TOO_BIG, _) => {
            let mtu = e.param.saturating_sub(nat64::GROWTH as u32).min(u32::from(u16::MAX)) as u16;
            Some((icmp::DEST_UNREACH, icmp::CODE_FRAG_NEEDED, mtu))
        }
        (icmpv6::DEST_UNREACH, icmp6::CODE_PORT_UNREACH) => Some((icmp::DEST_UNREACH, 3, 0)),
        (icmpv6::DEST_UNREACH, icmp6::CODE_ADMIN_PROHIBITED) => Some((icmp::DEST_UNREACH, 10, 0)),
        (icmpv6::DEST_UNREACH, 0 | 2 | 3) => Some((icmp::DEST_UNREACH, 1, 0)),
        (icmpv6::TIME_EXCEEDED, c @ 0..=1) => Some((icmp::TIME_EXCEEDED, c, 0)),
        (icmpv6::PARAM_PROBLEM, icmp6::CODE_UNKNOWN_NEXT_HEADER) => Some((icmp::DEST_UNREACH, 2, 0)),
        _ => None,
    }
}

/// What an ICMP error about a NAT64 connection's packet says, in terms of
/// the error received.
pub(crate) struct Quoted<'a> {
    /// The quoted packet's L4 bytes (its first 8 at least).
    pub l4: &'a [u8],
    /// The quoted packet's L4 length as its IP header gave it.
    pub l4_len: usize,
    pub proto: u8,
    pub ttl: u8,
}

/// An ICMPv4 error from the real server's side quoting our request
/// LIP → RIP: the ICMPv6 error the client would have got from the VIP
/// about its own packet CIP → VIP. Built in `out`; its length (0: it does
/// not translate).
pub(crate) fn error_for_client(
    out: &mut [u8],
    c: &Conn<u128>,
    q: &Quoted<'_>,
    (ty, code, mtu): (u8, u8, u16),
) -> usize {
    let Some(err) = error_to_v6(ty, code, mtu) else { return 0 };
    // The client's packet as it was: IPv6 header CIP → VIP, then the
    // quoted L4 bytes with the client's ports.
    let mut orig = [0u8; HDR_LEN + icmp6::MAX_QUOTE];
    let n = q.l4.len().min(icmp6::MAX_QUOTE);
    let repr = crate::packet::ipv6::Ipv6Repr {
        traffic_class: 0,
        flow_label: 0,
        payload_len: q.l4_len as u16,
        next_header: q.proto,
        hop_limit: q.ttl,
        src: c.caddr.to_be_bytes(),
        dst: c.vaddr.to_be_bytes(),
    };
    orig[HDR_LEN..HDR_LEN + n].copy_from_slice(&q.l4[..n]);
    let (Some(lip), Some(rip)) = (nat64::v4_of(c.laddr), nat64::v4_of(c.daddr)) else { return 0 };
    let sums = (addr_sum(&lip.to_be_bytes(), &rip.to_be_bytes()), addr_sum(&repr.src, &repr.dst));
    retarget(&mut orig[HDR_LEN..HDR_LEN + n], q.proto, sums, (c.cport, c.vport));
    // The header must not claim more than the quote holds to be emitted;
    // the length it carries is the original's.
    let quoted = &mut orig[..HDR_LEN + n];
    if emit_quoted6(quoted, &repr).is_none() {
        return 0;
    }
    icmp6::build_error(out, c.vaddr, quoted, err)
}

/// An ICMPv6 error from the client's side quoting our reply VIP → CIP:
/// the ICMPv4 error the real server would have got from the LIP about its
/// packet RIP → LIP. Built in `out`; its length (0: it does not translate).
pub(crate) fn error_for_server(out: &mut [u8], c: &Conn<u128>, q: &Quoted<'_>, err: &Icmp6Error) -> usize {
    let Some((ty, code, mtu)) = error_to_v4(err) else { return 0 };
    let (Some(lip), Some(rip)) = (nat64::v4_of(c.laddr), nat64::v4_of(c.daddr)) else { return 0 };
    let mut orig = [0u8; ipv4::MIN_HDR + icmp::MAX_QUOTE];
    let n = q.l4.len().min(icmp::MAX_QUOTE - ipv4::MIN_HDR);
    let repr = crate::wire::ipv4::Ipv4Repr {
        tos: 0,
        total_len: (ipv4::MIN_HDR + q.l4_len) as u16,
        ident: 0,
        df: true,
        ttl: q.ttl,
        proto: q.proto,
        src: rip,
        dst: lip,
    };
    if repr.emit(&mut orig).is_err() {
        return 0;
    }
    orig[ipv4::MIN_HDR..ipv4::MIN_HDR + n].copy_from_slice(&q.l4[..n]);
    let sums =
        (addr_sum(&c.vaddr.to_be_bytes(), &c.caddr.to_be_bytes()), addr_sum(&rip.to_be_bytes(), &lip.to_be_bytes()));
    retarget(&mut orig[ipv4::MIN_HDR..ipv4::MIN_HDR + n], q.proto, sums, (c.dport, c.lport));
    icmp::build_error(out, lip, &orig[..ipv4::MIN_HDR + n], ty, code, mtu)
}

/// Give the quoted segment `l4` (a prefix of a TCP/UDP/SCTP segment, at least
/// its ports) the ports `ports` and a checksum for the pseudo-header
/// addresses that sum to `new_addrs` instead of `old_addrs`, when the
/// quote reaches the checksum (a UDP checksum of 0 stays 0).
fn retarget(l4: &mut [u8], proto: u8, (old_addrs, new_addrs): (u32, u32), ports: (u16, u16)) {
    let Some(p) = l4.get_mut(..4) else { return };
    let old = csum::sum(p, old_addrs);
    p[..2].copy_from_slice(&ports.0.to_be_bytes());
    p[2..].copy_from_slice(&ports.1.to_be_bytes());
    let new = csum::sum(p, new_addrs);
    if proto == ipv4::PROTO_SCTP {
        // Its CRC32c covers the whole packet, rarely quoted whole: left
        // as it is (as IPVS does).
        return;
    }
    let at = if proto == ipv4::PROTO_TCP { 16 } else { 6 };
    if let Some(c) = l4.get_mut(at..at + 2) {
        let v = u16::from_be_bytes([c[0], c[1]]);
        if v != 0 || proto == ipv4::PROTO_TCP {
            c.copy_from_slice(&csum::update_sum(v, old, new).to_be_bytes());
        }
    }
}

/// The unfolded sum of two addresses, as a pseudo-header holds them.
fn addr_sum(a: &[u8], b: &[u8]) -> u32 {
    csum::sum(b, csum::sum(a, 0))
}

/// Write a quoted IPv6 header whose payload length may exceed what
/// follows it (a quote is a prefix of the packet).
fn emit_quoted6(b: &mut [u8], r: &crate::packet::ipv6::Ipv6Repr) -> Option<()> {
    let h = b.get_mut(..HDR_LEN)?;
    h[0] = 0x60;
    h[1..4].fill(0);
    h[4..6].copy_from_slice(&r.payload_len.to_be_bytes());
    h[6] = r.next_header;
    h[7] = r.hop_limit;
    h[8..24].copy_from_slice(&r.src);
    h[24..40].copy_from_slice(&r.dst);
    Some(())
}

/// An ICMPv4 error quoting the IPv4 packet `q` went nowhere in the IPv4
/// table: if it is about a NAT64 connection's request (LIP → RIP), send
/// the client its ICMPv6 translation, else drop it.
pub(crate) fn icmp_from_server<P: PacketBuf, I: Io<P>>(
    e: &mut Engine<P>,
    cx: &mut Ctx<'_, I>,
    mut pkt: P,
    ttl: u8,
    q: &icmp_err::Quoted,
) {
    let key = ConnKey::of(q.proto, q.dst.widen(), q.dport, q.src.widen(), q.sport);
    let hit = e
        .svc
        .conns6
        .lookup(&key)
        .filter(|&(cid, dir)| dir == Dir::Output && e.svc.conns6.get(cid).flags & flags::NAT64 != 0);
    let Some((cid, _)) = hit else { return e.drop_pkt(DropReason::IcmpUnhandled, pkt) };
    if ttl <= 1 {
        return e.drop_pkt(DropReason::IpTtlExceeded, pkt);
    }
    let c = *e.svc.conns6.get(cid);
    let b = pkt.data();
    let Ok(inner) = Ipv4::new_checked_quoted(&b[q.l3..]) else {
        return e.drop_pkt(DropReason::IcmpUnhandled, pkt);
    };
    let icmp_hdr = &b[q.icmp..q.icmp + 8];
    let err = (icmp_hdr[0], icmp_hdr[1], u16::from_be_bytes([icmp_hdr[6], icmp_hdr[7]]));
    let quoted = Quoted {
        l4: &b[q.l4..],
        l4_len: inner.total_len().saturating_sub(inner.hdr_len()),
        proto: q.proto,
        ttl: inner.ttl(),
    };
    let mut out = [0u8; eth::HDR_LEN + icmp6::MIN_MTU];
    let n = error_for_client(&mut out, &c, &quoted, err);
    if !replace_frame(&mut pkt, &out[..n]) {
        return e.drop_pkt(DropReason::IcmpUnhandled, pkt);
    }
    e.route_out(cx, pkt, c.caddr);
}

/// An ICMPv6 error from the client's side about a NAT64 connection's
/// reply (`q` quotes VIP → CIP): send the real server its ICMPv4
/// translation.
pub(crate) fn icmp_from_client<P: PacketBuf, I: Io<P>>(
    e: &mut Engine<P>,
    cx: &mut Ctx<'_, I>,
    mut pkt: P,
    icmp: usize,
    q: &icmp6_err::Quote6,
    c: &Conn<u128>,
) {
    let b = pkt.data();
    let (Some(hdr), Ok(inner)) = (b.get(icmp..icmp + 8), Ipv6::new_checked_quoted(&b[q.ip..])) else {
        return e.drop_pkt(DropReason::Icmp6Unhandled, pkt);
    };
    let err = Icmp6Error { ty: hdr[0], code: hdr[1], param: u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]) };
    let quoted = Quoted {
        l4: &b[q.l4..],
        l4_len: (q.ip + HDR_LEN + inner.payload_len()).saturating_sub(q.l4),
        proto: q.proto,
        ttl: inner.hop_limit(),
    };
    let mut out = [0u8; eth::HDR_LEN + ipv4::MIN_HDR + 8 + icmp::MAX_QUOTE];
    let n = error_for_server(&mut out, c, &quoted, &err);
    let Some(rip) = nat64::v4_of(c.daddr) else { return e.drop_pkt(DropReason::Icmp6Unhandled, pkt) };
    if !replace_frame(&mut pkt, &out[..n]) {
        return e.drop_pkt(DropReason::Icmp6Unhandled, pkt);
    }
    e.route_out(cx, pkt, rip);
}

/// The frame of a translated error replaces the received one in its own
/// buffer (no allocation: one error in, one out). False when the buffer
/// cannot hold it.
pub(crate) fn replace_frame<P: PacketBuf>(pkt: &mut P, frame: &[u8]) -> bool {
    if frame.is_empty() || !pkt.set_len(frame.len()) {
        return false;
    }
    pkt.data_mut().copy_from_slice(frame);
    true
}
