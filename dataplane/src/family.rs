//! What the pipeline needs to know of an address family, in one trait.
//!
//! The stages after ingress (classify, lookup, dispatch, forward, egress)
//! are written once, generic over [`Fam`], and monomorphised per family:
//! IPv4 code pays nothing for IPv6's existence. Each family has its own
//! connection table, hop cache and burst ([`Lane`]); the snapshot, the
//! schedulers, the counters and the local-port pools are shared.

use crate::addr::Addr;
use crate::conn::ConnTable;
use crate::egress::{HopCache, IcmpError};
use crate::engine::{Ctx, Engine};
use crate::l3::nd;
use crate::l3::neigh::NeighTable;
use crate::modes::Rewrite;
use crate::packet::icmp6::{self, Icmp6Error};
use crate::packet::{arp, eth, icmp, ipv4, PacketBuf};
use crate::pipeline::{AnyMeta, Burst, Meta};
use crate::service_path::ServicePath;
use crate::snapshot::SnapAddr;
use crate::wire::{Ipv4, Ipv6};

/// One family's per-worker pipeline state.
pub struct Lane<P, A: Addr> {
    /// The service-path packets of the burst being processed (kept to
    /// reuse its storage: no allocation per burst).
    pub(crate) burst: Burst<P, A>,
    /// Resolved next hops by destination (see [`crate::egress`]).
    pub(crate) hops: HopCache<A>,
}

impl<P, A: Addr> Default for Lane<P, A> {
    fn default() -> Self {
        Lane { burst: Burst::default(), hops: HopCache::default() }
    }
}

/// An address family as the pipeline sees it. Implemented for `u32`
/// (IPv4) and `u128` (IPv6); what the snapshot knows per family comes
/// from [`SnapAddr`], the packet rewrites from [`Rewrite`].
pub trait Fam: SnapAddr + Rewrite {
    /// The ethertype of this family's frames.
    const ETHERTYPE: u16;

    fn conns(svc: &ServicePath) -> &ConnTable<Self>;
    fn conns_mut(svc: &mut ServicePath) -> &mut ConnTable<Self>;
    fn lane<P>(e: &mut Engine<P>) -> &mut Lane<P, Self>;
    /// Metadata in the form a hand-off to another worker carries.
    fn wrap(m: Meta<Self>) -> AnyMeta;

    /// The resolved MAC of next hop `nh` on `port` (worker 0's own table,
    /// else the published copy) and that table's version.
    fn neigh<P, I>(e: &Engine<P>, cx: &Ctx<'_, I>, port: u16, nh: Self) -> Option<eth::Mac>;
    fn neigh_version<P, I>(e: &Engine<P>, cx: &Ctx<'_, I>) -> u64;
    /// Worker 0's authoritative table of this family (None elsewhere).
    fn neigh_table<P>(e: &mut Engine<P>) -> Option<&mut NeighTable<P, Self>>;
    /// Build in `p` a request for `target`'s MAC from `src` (ARP
    /// request, Neighbour Solicitation); false if the buffer cannot hold it.
    fn make_probe<P: PacketBuf>(p: &mut P, mac: eth::Mac, src: Self, target: Self) -> bool;

    /// The source of `orig` (the network header of a packet we received)
    /// when an error about it may be sent (never about an error, a later
    /// fragment or a group address).
    fn error_target(orig: &[u8]) -> Option<Self>;
    /// Build in `b` (sized by [`Fam::error_len`]) an Ethernet frame with
    /// the error `err` about `orig` from `from`; its length, 0 if none.
    fn build_error(b: &mut [u8], from: Self, orig: &[u8], err: IcmpError) -> usize;
    fn error_len(orig: &[u8]) -> usize;
}

impl Fam for u32 {
    const ETHERTYPE: u16 = eth::TYPE_IPV4;

    #[inline(always)]
    fn conns(svc: &ServicePath) -> &ConnTable<u32> {
        &svc.conns
    }

    #[inline(always)]
    fn conns_mut(svc: &mut ServicePath) -> &mut ConnTable<u32> {
        &mut svc.conns
    }

    #[inline(always)]
    fn lane<P>(e: &mut Engine<P>) -> &mut Lane<P, u32> {
        &mut e.v4
    }

    fn wrap(m: Meta<u32>) -> AnyMeta {
        AnyMeta::V4(m)
    }

    #[inline(always)]
    fn neigh<P, I>(e: &Engine<P>, cx: &Ctx<'_, I>, port: u16, nh: u32) -> Option<eth::Mac> {
        match &e.neigh {
            Some(t) => t.get(port, nh),
            None => cx.neigh.v4.get(port, nh),
        }
    }

    #[inline(always)]
    fn neigh_version<P, I>(e: &Engine<P>, cx: &Ctx<'_, I>) -> u64 {
        match &e.neigh {
            Some(t) => t.version(),
            None => cx.neigh.v4.version(),
        }
    }

    fn neigh_table<P>(e: &mut Engine<P>) -> Option<&mut NeighTable<P, u32>> {
        e.neigh.as_mut()
    }

    fn make_probe<P: PacketBuf>(p: &mut P, mac: eth::Mac, src: u32, target: u32) -> bool {
        if !p.set_len(arp::FRAME_LEN) {
            return false;
        }
        arp::make_request(p.data_mut(), mac, src, target);
        true
    }

    fn error_target(orig: &[u8]) -> Option<u32> {
        if !icmp::may_answer(orig) {
            return None;
        }
        Ipv4::new_checked_quoted(orig).ok().map(|q| q.src())
    }

    fn build_error(b: &mut [u8], from: u32, orig: &[u8], err: IcmpError) -> usize {
        let (ty, code, mtu) = match err {
            IcmpError::TimeExceeded => (icmp::TIME_EXCEEDED, 0, 0),
            IcmpError::TooBig(mtu) => (icmp::DEST_UNREACH, icmp::CODE_FRAG_NEEDED, mtu),
        };
        icmp::build_error(b, from, orig, ty, code, mtu)
    }

    fn error_len(orig: &[u8]) -> usize {
        eth::HDR_LEN + ipv4::MIN_HDR + 8 + orig.len().min(icmp::MAX_QUOTE)
    }
}

impl Fam for u128 {
    const ETHERTYPE: u16 = eth::TYPE_IPV6;

    #[inline(always)]
    fn conns(svc: &ServicePath) -> &ConnTable<u128> {
        &svc.conns6
    }

    #[inline(always)]
    fn conns_mut(svc: &mut ServicePath) -> &mut ConnTable<u128> {
        &mut svc.conns6
    }

    #[inline(always)]
    fn lane<P>(e: &mut Engine<P>) -> &mut Lane<P, u128> {
        &mut e.v6
    }

    fn wrap(m: Meta<u128>) -> AnyMeta {
        AnyMeta::V6(m)
    }

    #[inline(always)]
    fn neigh<P, I>(e: &Engine<P>, cx: &Ctx<'_, I>, port: u16, nh: u128) -> Option<eth::Mac> {
        match &e.neigh6 {
            Some(t) => t.get(port, nh),
            None => cx.neigh.v6.get(port, nh),
        }
    }

    #[inline(always)]
    fn neigh_version<P, I>(e: &Engine<P>, cx: &Ctx<'_, I>) -> u64 {
        match &e.neigh6 {
            Some(t) => t.version(),
            None => cx.neigh.v6.version(),
        }
    }

    fn neigh_table<P>(e: &mut Engine<P>) -> Option<&mut NeighTable<P, u128>> {
        e.neigh6.as_mut()
    }

    fn make_probe<P: PacketBuf>(p: &mut P, mac: eth::Mac, src: u128, target: u128) -> bool {
        nd::make_solicit(p, mac, src, target, None)
    }

    fn error_target(orig: &[u8]) -> Option<u128> {
        if !icmp6::may_answer(orig) {
            return None;
        }
        Ipv6::new_checked_quoted(orig).ok().map(|q| u128::from_be_bytes(q.src()))
    }

    fn build_error(b: &mut [u8], from: u128, orig: &[u8], err: IcmpError) -> usize {
        let e = match err {
            IcmpError::TimeExceeded => Icmp6Error::TIME_EXCEEDED,
            IcmpError::TooBig(mtu) => Icmp6Error::packet_too_big(u32::from(mtu)),
        };
        icmp6::build_error(b, from, orig, e)
    }

    fn error_len(orig: &[u8]) -> usize {
        icmp6::error_frame_len(orig)
    }
}
