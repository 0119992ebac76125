//! TUN over IPv6: the request, an IPv6 packet CIP → VIP, is wrapped in an
//! outer IPv6 header DIP → RIP (IPv6-in-IPv6, next header 41, RFC 2473)
//! as IPVS's `ip_vs_tunnel_xmit_v6` builds it and the kernel's
//! `ip6_tunnel` on the real server takes it off; GRE (RFC 7676) and GUE
//! carry it where the dest asks for them, as over IPv4 ([`super::tun`]).
//!
//! No tunnel encapsulation limit option (RFC 2473 4.1.1) is inserted:
//! IPVS does not, and the real server's `ip6tnl` does not need one.

use super::tun::EncapError;
use crate::packet::icmp6::MIN_MTU;
use crate::packet::ipv6::Ipv6Repr;
use crate::packet::{eth, PacketBuf};
use crate::wire::ipv6::{self, HDR_LEN, NH_UDP};
use crate::wire::l4::UDP_HDR;
use crate::wire::tunnel::{GRE_LEN, GUE_LEN};
use crate::wire::{Ethernet, GreRepr, GueRepr, Ipv6, UdpRepr};
use rvs_conf::TunType;

/// IPv6 encapsulated in IPv6 (or as GRE's/GUE's payload protocol).
pub const NH_IPV6: u8 = 41;
pub const NH_GRE: u8 = 47;
/// GUE's default port, as over IPv4.
const GUE_PORT: u16 = 6080;
/// UDP's checksum field, which [`crate::wire::L4`] only updates (it keeps
/// a 0 at 0): the outer GUE datagram's is computed whole, here.
const UDP_CHECKSUM: std::ops::Range<usize> = 6..8;

/// Bytes the encapsulation adds.
pub fn overhead6(t: TunType) -> usize {
    match t {
        TunType::Ipip => HDR_LEN,
        TunType::Gre => HDR_LEN + GRE_LEN,
        TunType::Gue => HDR_LEN + UDP_HDR + GUE_LEN,
    }
}

/// Encapsulate the IPv6 packet after the (untagged) Ethernet header for
/// `rip`, from `dip`. `mtu` is the output interface MTU.
///
/// The outer header follows the inner one as IPVS and RFC 6040's normal
/// mode ask: traffic class copied whole (DSCP and ECN, so the real
/// server's decapsulation can propagate congestion marks), hop limit
/// copied (the IPv4 TUN copies the TTL likewise; the inner one was
/// already decremented). The flow label is a hash of the inner flow
/// (addresses, inner flow label, ports), as Linux's auto flow labels and
/// RFC 6438 give tunnels, so ECMP and LAG between director and real
/// server spread flows and keep each on one path; GUE's source port
/// comes from the same hash.
///
/// IPv6 routers never fragment, so any packet that would exceed `mtu` is
/// refused: [`EncapError::TooBig`] with the largest inner packet that fits
/// (never below the IPv6 minimum, 1280, which a source would ignore; as
/// Linux's `ip6_tunnel` clamps it), for the caller's packet too big.
/// `NotIpv4` (the variant predates IPv6) when the frame is not an untagged
/// valid IPv6 packet; `NoHeadroom` when the buffer cannot grow at the
/// front. On error the packet is unchanged.
pub fn encap6<P: PacketBuf>(
    pkt: &mut P,
    t: TunType,
    tun_port: u16,
    dip: u128,
    rip: u128,
    mtu: u16,
) -> Result<(), EncapError> {
    let Ok(frame) = Ethernet::new_checked(pkt.data()) else { return Err(EncapError::NotIpv4) };
    if frame.is_tagged() || frame.ethertype() != eth::TYPE_IPV6 {
        return Err(EncapError::NotIpv4);
    }
    let Ok(inner) = Ipv6::new_checked(frame.payload()) else { return Err(EncapError::NotIpv4) };
    let inner_len = inner.packet().len();
    let extra = overhead6(t);
    if inner_len + extra > mtu as usize {
        let fits = (mtu as usize).saturating_sub(extra).max(MIN_MTU);
        return Err(EncapError::TooBig { mtu: fits as u16 });
    }
    let (tc, hop_limit, entropy) = (inner.traffic_class(), inner.hop_limit(), flow_hash(&inner));
    let (dst, src) = (frame.dst(), frame.src());
    if !pkt.prepend(extra) {
        return Err(EncapError::NoHeadroom);
    }
    let b = pkt.data_mut();
    let Ok(mut frame) = Ethernet::emit(&mut *b, dst, src, eth::TYPE_IPV6) else { return Err(EncapError::NoHeadroom) };
    let next_header = match t {
        TunType::Ipip => NH_IPV6,
        TunType::Gre => NH_GRE,
        TunType::Gue => NH_UDP,
    };
    let (s, d) = (dip.to_be_bytes(), rip.to_be_bytes());
    let outer = Ipv6Repr {
        traffic_class: tc,
        flow_label: entropy,
        payload_len: (inner_len + extra - HDR_LEN) as u16,
        next_header,
        hop_limit,
        src: s,
        dst: d,
    };
    let l3 = frame.payload_mut();
    if outer.emit(l3).is_err() {
        return Err(EncapError::NoHeadroom);
    }
    let after = &mut l3[HDR_LEN..];
    let written = match t {
        TunType::Ipip => Ok(()),
        TunType::Gre => GreRepr { proto: eth::TYPE_IPV6 }.emit(after),
        TunType::Gue => {
            let len = inner_len + UDP_HDR + GUE_LEN;
            let udp = UdpRepr {
                src_port: 0xc000 | (entropy as u16 & 0x3fff),
                dst_port: if tun_port == 0 { GUE_PORT } else { tun_port },
                len: len as u16,
            };
            let w = udp.emit(after).and_then(|()| GueRepr { proto: NH_IPV6 }.emit(&mut after[UDP_HDR..]));
            // Over IPv6 a UDP checksum is required (RFC 8200 8.1; the
            // real server's kernel drops a zero one unless told not to,
            // RFC 6936): one pass over the datagram.
            if let Some(dgram) = after.get_mut(..len) {
                let c = ipv6::upper_checksum(&s, &d, NH_UDP, dgram);
                dgram[UDP_CHECKSUM].copy_from_slice(&(if c == 0 { 0xffff } else { c }).to_be_bytes());
            }
            w
        }
    };
    written.map_err(|_| EncapError::NoHeadroom)
}

/// 20 bits of the inner flow, never 0 (0 means "no flow label").
fn flow_hash(inner: &Ipv6<&[u8]>) -> u32 {
    let (s, d) = (u128::from_be_bytes(inner.src()), u128::from_be_bytes(inner.dst()));
    let ports = inner
        .upper_layer()
        .ok()
        .filter(|up| up.has_header())
        .and_then(|up| inner.upper_payload(&up).first_chunk::<4>().map(|p| u32::from_be_bytes(*p)))
        .unwrap_or(0);
    let x = (s as u64)
        ^ ((s >> 64) as u64).rotate_left(13)
        ^ (d as u64).rotate_left(29)
        ^ ((d >> 64) as u64).rotate_left(43)
        ^ u64::from(ports) << 20
        ^ u64::from(inner.flow_label());
    // Fibonacci hashing: the multiply's top 20 bits depend on all of x.
    ((x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 44) as u32).max(1)
}

#[cfg(test)]
#[path = "tun6_tests.rs"]
mod tests;
