//! The IPv6 gate of ingress, and the director's own IPv6 traffic:
//! Neighbour Discovery (RFC 4861) and echo.
//!
//! The counterpart of the IPv4 gate in [`crate::engine`]: the header and
//! its extension headers are validated once ([`Ipv6::upper_layer`] walks
//! them, bounded); TCP and UDP go on to classification with an [`L3`]
//! like IPv4's, so every later stage is the same code. ND frames are
//! worker 0's, as ARP is: it owns the neighbour tables.

use crate::addr::Addr;
use crate::conn::{ConnKey, Dir};
use crate::drop::DropReason;
use crate::engine::{Ctx, Engine, Io};
use crate::l3::nd::{self, Nd};
use crate::modes::icmp6_err::{self, Rewrite6};
use crate::packet::{eth, ipv4, PacketBuf};
use crate::pipeline::L3;
use crate::redirect::Redirected;
use crate::snapshot::Snapshot;
use crate::wire::Ipv6;
use rvs_conf::{FwdMethod, ServiceKey};

/// ICMPv6 next header, and the message types handled here.
const PROTO_ICMPV6: u8 = 58;
const ECHO_REQUEST: u8 = 128;
const NEIGHBOR_SOLICIT: u8 = 135;
const NEIGHBOR_ADVERT: u8 = 136;

/// What the IPv6 gate read of a packet.
struct Gate {
    l3: L3<u128>,
    /// An atomic fragment header or none (RFC 6946): treated as whole.
    whole: bool,
}

/// A source no packet may come from (RFC 4291): unspecified (only DAD
/// solicitations, handled before this check), loopback, multicast, and
/// the rest of `::/96` (the deprecated IPv4-compatible addresses, which
/// NAT64 entries use for their IPv4 ends: see [`crate::modes::nat64`])
/// and IPv4-mapped `::ffff:0:0/96` (never on the wire, RFC 4291 2.5.5.2).
fn is_martian6(a: u128) -> bool {
    a >> 32 == 0 || a >> 32 == 0xffff || nd::is_multicast(a)
}

impl<P: PacketBuf> Engine<P> {
    /// The IPv6 gate. `group`: the frame was sent to a group MAC, which
    /// only ND may use (solicitations go to solicited-node multicast).
    pub(crate) fn ipv6<I: Io<P>>(&mut self, cx: &mut Ctx<'_, I>, mut pkt: P, port_idx: u16, group: bool) {
        let g = match gate(pkt.data()) {
            Ok(g) => g,
            Err(r) => {
                self.drop_pkt(r, pkt);
                return;
            }
        };
        let l3 = g.l3;
        // Drop Ethernet padding so lengths below are the IP lengths.
        let frame_len = eth::HDR_LEN + l3.len;
        if pkt.len() > frame_len {
            pkt.set_len(frame_len);
        }
        if l3.proto == PROTO_ICMPV6 && g.whole {
            let ty = pkt.data().get(l3.l4).copied();
            if matches!(ty, Some(NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT)) {
                self.nd(cx, pkt, port_idx);
                return;
            }
        }
        if group {
            // Anything else to a group MAC was not sent to this director.
            self.drop_pkt(DropReason::EthMulticast, pkt);
            return;
        }
        if is_martian6(l3.src) || cx.snap.class6(l3.src) != 0 {
            self.drop_pkt(DropReason::IpMartianSrc, pkt);
            return;
        }
        match l3.proto {
            ipv4::PROTO_TCP | ipv4::PROTO_UDP | ipv4::PROTO_SCTP => {
                crate::pipeline::classify(self, cx, pkt, &l3, port_idx)
            }
            PROTO_ICMPV6 => self.icmp6(cx, pkt, &l3, port_idx),
            _ => {
                let r = if cx.snap.class6(l3.dst) != 0 { DropReason::L4Unsupported } else { DropReason::IpNotForUs };
                self.drop_pkt(r, pkt);
            }
        }
    }

    /// ICMPv6 other than ND: errors about tracked connections are
    /// translated ([`Self::icmp6_error`]), echo requests to our addresses
    /// answered.
    fn icmp6<I: Io<P>>(&mut self, cx: &mut Ctx<'_, I>, mut pkt: P, l3: &L3<u128>, port_idx: u16) {
        let ty = pkt.data().get(l3.l4).copied();
        if ty.is_some_and(|t| t < 128) && !l3.fragment {
            return self.icmp6_error(cx, pkt, l3, port_idx);
        }
        if cx.snap.class6(l3.dst) == 0 {
            return self.drop_pkt(DropReason::IpNotForUs, pkt);
        }
        if l3.fragment || pkt.data().get(l3.l4).copied() != Some(ECHO_REQUEST) {
            // Echo replies and the rest to us: the kernel's, if this link
            // has an exception path.
            return self.up_to_kernel(cx, pkt, port_idx, DropReason::Icmp6Unhandled);
        }
        if let Err(r) = nd::echo_reply(&mut pkt, eth::HDR_LEN) {
            return self.drop_pkt(r, pkt);
        }
        self.stats.icmp_echo.inc();
        self.route_out(cx, pkt, l3.src);
    }

    /// An ICMPv6 error quoting a packet of a tracked connection: outer and
    /// quoted headers translated like the connection's packets, sent to
    /// the other side (the IPv6 counterpart of `forward::icmp_error`).
    fn icmp6_error<I: Io<P>>(&mut self, cx: &mut Ctx<'_, I>, mut pkt: P, l3: &L3<u128>, port_idx: u16) {
        let snap = cx.snap;
        let Some(q) = icmp6_err::parse6(pkt.data(), l3.l4) else {
            return self.drop_pkt(DropReason::Icmp6Unhandled, pkt);
        };
        // The quoted packet went the other way: look up its reverse. A flow
        // of a one-way VIP on an RSS port lives on the queue the NIC gave
        // its requests (as for IPv4 in `forward::icmp_error`).
        let one_way = snap.class6(q.src) & crate::snapshot::class::ONE_WAY != 0;
        let own = match snap.ifaces.get(port_idx as usize).and_then(|i| i.rss.as_ref()) {
            Some(rss) if one_way && self.svc.workers() > 1 => {
                let (c, v) = (q.dst.to_be_bytes(), q.src.to_be_bytes());
                rss.queue_for_v6(&c, q.dport, &v, q.sport) as usize % self.svc.workers()
            }
            _ => crate::service_path::owner(snap, self.svc.workers(), q.dst, q.dport, q.src, q.sport),
        };
        if own != self.id {
            return self.redirect(cx, own, Redirected { pkt, port_idx, meta: None });
        }
        let key = ConnKey::of(q.proto, q.dst, q.dport, q.src, q.sport);
        let Some((cid, dir)) = self.svc.conns6.lookup(&key) else {
            return self.drop_pkt(DropReason::Icmp6Unhandled, pkt);
        };
        if l3.ttl <= 1 {
            return self.drop_pkt(DropReason::IpTtlExceeded, pkt);
        }
        let c = *self.svc.conns6.get(cid);
        if c.flags & crate::conn::table::flags::NAT64 != 0 {
            // About a reply the client got (the only side an IPv6 packet
            // can match); the real server is IPv4.
            if dir != Dir::Input {
                return self.drop_pkt(DropReason::Icmp6Unhandled, pkt);
            }
            return crate::nat64::icmp_from_client(self, cx, pkt, l3.l4, &q, &c);
        }
        let _ = crate::modes::v6::dec_hop_limit(pkt.data_mut(), eth::HDR_LEN);
        let rw = if dir == Dir::Output {
            // From the server side, about a packet we sent to the server:
            // becomes an error from the VIP about the client's request.
            Rewrite6 {
                outer_src: Some(c.vaddr),
                outer_dst: Some(c.caddr),
                inner_src: Some((c.caddr, c.cport)),
                inner_dst: Some((c.vaddr, c.vport)),
            }
        } else {
            // From the client side, about a reply the client got.
            match c.fwd {
                FwdMethod::Nat => {
                    Rewrite6 { outer_dst: Some(c.daddr), inner_src: Some((c.daddr, c.dport)), ..Default::default() }
                }
                FwdMethod::FullNat => Rewrite6 {
                    outer_src: Some(c.laddr),
                    outer_dst: Some(c.daddr),
                    inner_src: Some((c.daddr, c.dport)),
                    inner_dst: Some((c.laddr, c.lport)),
                },
                // DR/TUN: the real server holds the VIP; forward unchanged.
                FwdMethod::Dr | FwdMethod::Tun => Rewrite6::default(),
            }
        };
        if !icmp6_err::apply6(pkt.data_mut(), eth::HDR_LEN, l3.l4, &q, &rw) {
            return self.drop_pkt(DropReason::Icmp6Unhandled, pkt);
        }
        match (dir, c.fwd) {
            (Dir::Output, _) => self.route_out(cx, pkt, c.caddr),
            (_, FwdMethod::Dr) => crate::forward::send_dr(self, cx, pkt, c.daddr),
            (_, FwdMethod::Tun) => {
                let d =
                    crate::service_path::resolve(snap, &mut { c }).map(|(si, di)| &snap.services.list[si].dests[di]);
                let tt = d.map(|d| (d.tun_type, d.tun_port)).unwrap_or_default();
                let hop = self.hop(cx, c.daddr);
                if let Err((p, _)) = crate::forward::send_tun(self, cx, pkt, c.daddr, tt, hop) {
                    self.drop_pkt(DropReason::TooBig, p);
                }
            }
            _ => self.route_out(cx, pkt, c.daddr),
        }
    }

    /// Neighbour Solicitation / Advertisement: answer for our addresses,
    /// learn the sender, release what waited for it. On worker 0, which
    /// owns the ND table; other workers hand the frame over.
    fn nd<I: Io<P>>(&mut self, cx: &mut Ctx<'_, I>, mut pkt: P, port_idx: u16) {
        if self.neigh6.is_none() {
            return self.redirect(cx, 0, Redirected { pkt, port_idx, meta: None });
        }
        let msg = match nd::parse(pkt.data()) {
            Ok(m) => m,
            Err(r) => return self.drop_pkt(r, pkt),
        };
        let now = cx.now / crate::conn::HZ;
        let ifc = &cx.snap.ifaces[port_idx as usize];
        let (port_id, mac) = (ifc.port_id, ifc.mac);
        match msg {
            Nd::Solicit(ns) => {
                if !cx.snap.answers_nd_for(port_idx, ns.target) {
                    return self.drop_pkt(DropReason::NdNotForUs, pkt);
                }
                if let Some((ip, lladdr)) = ns.sender() {
                    self.learn6(cx, port_idx, ip, lladdr, now, None);
                }
                if !nd::make_advert(&mut pkt, &ns, mac) {
                    return self.drop_pkt(DropReason::NdInvalid, pkt);
                }
                self.stats.arp_replies.inc();
                cx.io.tx(port_id, pkt);
            }
            Nd::Advert(na) => {
                // Counted as consumed either way, so rx is accounted for.
                if let Some(lladdr) = na.target_mac {
                    self.learn6(cx, port_idx, na.target, lladdr, now, Some(na.override_));
                }
                self.stats.arp_learned.inc();
                if cx.snap.ifaces.get(port_idx as usize).is_some_and(|i| i.kernel.is_some()) {
                    // The kernel resolves its own neighbours too.
                    return self.up_to_kernel(cx, pkt, port_idx, DropReason::NdNotForUs);
                }
                drop(pkt);
            }
        }
    }

    /// Learn `ip` at `lladdr` (from a solicitation's source, or an
    /// advertisement with its override flag) and send what waited for it.
    fn learn6<I: Io<P>>(
        &mut self,
        cx: &mut Ctx<'_, I>,
        port_idx: u16,
        ip: u128,
        lladdr: eth::Mac,
        now: u64,
        advert: Option<bool>,
    ) {
        let Some(t) = self.neigh6.as_mut() else { return };
        let waiting = match advert {
            Some(override_) => t.learn_advert(port_idx, ip, lladdr, override_, now),
            None => t.learn(port_idx, ip, lladdr, now),
        };
        for p in waiting {
            self.emit(cx, p, port_idx, lladdr);
        }
    }
}

impl<P: PacketBuf> Engine<P> {
    /// Worker 0, once a second: announce each IPv6 VIP and LIP of the
    /// snapshot not announced yet with an unsolicited Neighbour
    /// Advertisement (override set, to all nodes, RFC 4861 §7.2.6) on
    /// every port, so that neighbours which cached another owner (a
    /// director this one replaces) move to us at once instead of after
    /// their reachability times out. Counted in `arp_replies`.
    pub(crate) fn announce6(&mut self, snap: &Snapshot, io: &mut impl Io<P>) {
        if self.neigh6.is_none() || self.announced6.0 == Some(snap.generation) {
            return;
        }
        let mut addrs: Vec<u128> = snap
            .services
            .list
            .iter()
            .filter_map(|s| match s.conf.key {
                ServiceKey::Inet { addr, .. } => u128::from_ip(addr),
                ServiceKey::Fwmark(_) => None,
            })
            .chain(snap.services.lips6())
            .collect();
        addrs.sort_unstable();
        addrs.dedup();
        for &a in addrs.iter().filter(|a| self.announced6.1.binary_search(a).is_err()) {
            for ifc in &snap.ifaces {
                let Some(mut p) = io.alloc() else {
                    self.stats.count_drop(DropReason::NoMbuf);
                    continue;
                };
                if !nd::make_unsolicited_advert(&mut p, ifc.mac, a) {
                    self.drop_pkt(DropReason::NoMbuf, p);
                    continue;
                }
                self.stats.arp_replies.inc();
                io.tx(ifc.port_id, p);
            }
        }
        self.announced6 = (Some(snap.generation), addrs);
    }
}

/// Validate the IPv6 header and walk its extension headers.
fn gate(frame: &[u8]) -> Result<Gate, DropReason> {
    let ip = Ipv6::new_checked(frame.get(eth::HDR_LEN..).ok_or(DropReason::Ip6BadLen)?)?;
    let up = ip.upper_layer()?;
    let whole = up.frag.is_none_or(|f| f.is_atomic());
    Ok(Gate {
        l3: L3 {
            src: u128::from_be_bytes(ip.src()),
            dst: u128::from_be_bytes(ip.dst()),
            l4: eth::HDR_LEN + crate::wire::ipv6::HDR_LEN + up.offset,
            proto: up.proto,
            len: crate::wire::ipv6::HDR_LEN + ip.payload_len(),
            ttl: ip.hop_limit(),
            // Routers never fragment IPv6 (RFC 8200 §5).
            df: true,
            fragment: !whole,
        },
        whole,
    })
}
