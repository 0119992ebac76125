//! Forwarding modes, one module each. Every function here rewrites a
//! frame in place (Ethernet header at 0, IPv4 or IPv6 at `l3`) and keeps
//! IP and L4 checksums valid with incremental updates (RFC 1624). The
//! IPv4 functions take `u32` addresses, their IPv6 twins (suffix `6`)
//! `u128`; [`Rewrite`] puts both behind one generic name.

pub mod dr;
pub mod family;
pub mod fullnat;
pub mod icmp6_err;
pub mod icmp_err;
pub mod nat;
pub mod nat64;
pub mod proxy_proto;
pub mod toa6;
pub mod tun;
pub mod tun6;
pub mod v6;

pub use family::Rewrite;
pub use v6::{rewrite6, set_dst6, set_src6};

use crate::drop::DropReason;
use crate::packet::ipv4::PROTO_SCTP;
use crate::wire::{Ipv4, L4};

/// Where the L4 header of a validated packet starts, and its proto. For
/// IPv4, `l4` is after the header's options; for IPv6, after the
/// extension headers ([`crate::wire::Ipv6::upper_layer`]) and `proto` is
/// the upper layer's next header.
#[derive(Debug, Clone, Copy)]
pub struct L4At {
    pub l3: usize,
    pub l4: usize,
    pub proto: u8,
}

/// Replace the source address and port.
#[inline(always)]
pub fn set_src(b: &mut [u8], at: L4At, addr: u32, port: u16) -> Result<(), DropReason> {
    rewrite(b, at, Some((addr, port)), None)
}

/// Replace the destination address and port.
#[inline(always)]
pub fn set_dst(b: &mut [u8], at: L4At, addr: u32, port: u16) -> Result<(), DropReason> {
    rewrite(b, at, None, Some((addr, port)))
}

/// Replace either or both ends, through one pair of views. The L4 header
/// was validated at the gate; should these views refuse the packet it is
/// dropped with their reason (never sent half rewritten; an SCTP packet
/// whose ports change is checked before anything is written, see
/// [`L4::set_ports`]).
#[inline(always)]
pub fn rewrite(b: &mut [u8], at: L4At, src: Option<(u32, u16)>, dst: Option<(u32, u16)>) -> Result<(), DropReason> {
    let mut ip = Ipv4::new_checked(b.get_mut(at.l3..).ok_or(DropReason::IpTruncated)?)?;
    if at.proto == PROTO_SCTP {
        // The ports first: the one step that may refuse (a wrong CRC32c).
        // The addresses are not covered by it.
        L4::new_checked(ip.payload_mut(), at.proto)?.set_ports(src.map(|e| e.1), dst.map(|e| e.1))?;
        if let Some((a, _)) = src {
            ip.set_src(a);
        }
        if let Some((a, _)) = dst {
            ip.set_dst(a);
        }
        return Ok(());
    }
    let src = src.map(|(a, p)| (ip.set_src(a), a, p));
    let dst = dst.map(|(a, p)| (ip.set_dst(a), a, p));
    L4::new_checked(ip.payload_mut(), at.proto)?.nat4(src, dst);
    Ok(())
}

#[cfg(test)]
pub(crate) mod testpkt6;

#[cfg(test)]
pub(crate) mod testpkt {
    //! Crafted packets and an independent checker (etherparse).
    use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};

    pub fn tcp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, syn: bool, payload: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        let mut t = PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(src, dst, 64).tcp(sport, dport, 1000, 65535);
        if syn {
            t = t.syn();
        } else {
            t = t.ack(5);
        }
        t.write(&mut b, payload).unwrap();
        b
    }

    pub fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(src, dst, 64).udp(sport, dport).write(&mut b, payload).unwrap();
        b
    }

    /// (src, sport, dst, dport) after verifying every checksum.
    pub fn check(b: &[u8]) -> ([u8; 4], u16, [u8; 4], u16) {
        let p = SlicedPacket::from_ethernet(b).expect("parse");
        let Some(NetSlice::Ipv4(ip)) = &p.net else { panic!("not ipv4") };
        let h = ip.header().to_header();
        assert_eq!(h.header_checksum, h.calc_header_checksum(), "ip checksum");
        match p.transport.expect("l4") {
            TransportSlice::Tcp(t) => {
                let want = t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap();
                assert_eq!(t.checksum(), want, "tcp checksum");
                (h.source, t.source_port(), h.destination, t.destination_port())
            }
            TransportSlice::Udp(u) => {
                let want = u.to_header().calc_checksum_ipv4(&h, u.payload()).unwrap();
                assert_eq!(u.checksum(), want, "udp checksum");
                (h.source, u.source_port(), h.destination, u.destination_port())
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    pub fn at(b: &[u8]) -> super::L4At {
        let info = crate::packet::ipv4::validate(b, 14).unwrap();
        super::L4At { l3: 14, l4: 14 + info.hdr_len, proto: info.proto }
    }
}
