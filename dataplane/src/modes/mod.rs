//! Forwarding modes, one module each. Every function here rewrites a
//! frame in place (Ethernet header at 0, IPv4 at `l3`) and keeps IP and
//! L4 checksums valid with incremental updates (RFC 1624).

pub mod dr;
pub mod fullnat;
pub mod icmp_err;
pub mod nat;
pub mod tun;

use crate::drop::DropReason;
use crate::wire::{Ipv4, L4};

/// Where the L4 header of a validated IPv4 packet starts, and its proto.
#[derive(Debug, Clone, Copy)]
pub struct L4At {
    pub l3: usize,
    pub l4: usize,
    pub proto: u8,
}

/// Which end of the flow a rewrite changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Src,
    Dst,
}

/// Replace the source address and port.
#[inline(always)]
pub fn set_src(b: &mut [u8], at: L4At, addr: u32, port: u16) -> Result<(), DropReason> {
    rewrite(b, at, End::Src, addr, port)
}

/// Replace the destination address and port.
#[inline(always)]
pub fn set_dst(b: &mut [u8], at: L4At, addr: u32, port: u16) -> Result<(), DropReason> {
    rewrite(b, at, End::Dst, addr, port)
}

/// Both views are checked before anything is written, so a packet is
/// either rewritten whole or left as it was.
#[inline(always)]
fn rewrite(b: &mut [u8], at: L4At, end: End, addr: u32, port: u16) -> Result<(), DropReason> {
    let mut ip = Ipv4::new_checked(b.get_mut(at.l3..).ok_or(DropReason::IpTruncated)?)?;
    L4::new_checked(ip.payload(), at.proto)?;
    let old = match end {
        End::Src => ip.set_src(addr),
        End::Dst => ip.set_dst(addr),
    };
    let mut l4 = L4::new_checked(ip.payload_mut(), at.proto)?;
    l4.fix_addr(old, addr);
    match end {
        End::Src => l4.set_src_port(port),
        End::Dst => l4.set_dst_port(port),
    }
    Ok(())
}

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
