//! ARP for IPv4 over Ethernet (RFC 826).

use super::eth::{self, Mac};
use super::{get16, get32, put16, put32};
use crate::drop::DropReason;

pub const LEN: usize = 28;
pub const OP_REQUEST: u16 = 1;
pub const OP_REPLY: u16 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    pub op: u16,
    pub sha: Mac,
    pub spa: u32,
    pub tha: Mac,
    pub tpa: u32,
}

/// Parse the ARP payload after the Ethernet header.
pub fn parse(b: &[u8]) -> Result<Arp, DropReason> {
    let a = b.get(eth::HDR_LEN..eth::HDR_LEN + LEN).ok_or(DropReason::ArpMalformed)?;
    // htype Ethernet, ptype IPv4, hlen 6, plen 4.
    if get16(a, 0) != 1 || get16(a, 2) != eth::TYPE_IPV4 || a[4] != 6 || a[5] != 4 {
        return Err(DropReason::ArpMalformed);
    }
    Ok(Arp {
        op: get16(a, 6),
        sha: std::array::from_fn(|i| a[8 + i]),
        spa: get32(a, 14),
        tha: std::array::from_fn(|i| a[18 + i]),
        tpa: get32(a, 24),
    })
}

/// Write a whole ARP frame (Ethernet + ARP, 42 bytes) into `b`.
pub fn write(b: &mut [u8], eth_dst: Mac, arp: &Arp) {
    eth::write(b, eth_dst, arp.sha, eth::TYPE_ARP);
    let a = &mut b[eth::HDR_LEN..eth::HDR_LEN + LEN];
    put16(a, 0, 1);
    put16(a, 2, eth::TYPE_IPV4);
    a[4] = 6;
    a[5] = 4;
    put16(a, 6, arp.op);
    a[8..14].copy_from_slice(&arp.sha);
    put32(a, 14, arp.spa);
    a[18..24].copy_from_slice(&arp.tha);
    put32(a, 24, arp.tpa);
}

/// Turn a request for `our_ip` into the reply, in place.
pub fn make_reply(b: &mut [u8], req: &Arp, our_mac: Mac) {
    let reply = Arp { op: OP_REPLY, sha: our_mac, spa: req.tpa, tha: req.sha, tpa: req.spa };
    write(b, req.sha, &reply);
}

/// Frame length of an ARP packet (Ethernet minimum without FCS).
pub const FRAME_LEN: usize = 60;

/// Fill `b` (FRAME_LEN bytes) with a broadcast request for `target`.
pub fn make_request(b: &mut [u8], our_mac: Mac, our_ip: u32, target: u32) {
    b.fill(0);
    let req = Arp { op: OP_REQUEST, sha: our_mac, spa: our_ip, tha: [0; 6], tpa: target };
    write(b, eth::BROADCAST, &req);
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{ArpOperation, LinkSlice, SlicedPacket};

    const MAC_A: Mac = [2, 0, 0, 0, 0, 0xa];
    const MAC_US: Mac = [2, 0, 0, 0, 0, 1];

    #[test]
    fn request_becomes_reply() {
        let mut b = vec![0u8; FRAME_LEN];
        make_request(&mut b, MAC_A, 0xac19fec8, 0xac19fe64);
        let req = parse(&b).unwrap();
        assert_eq!(req.op, OP_REQUEST);
        make_reply(&mut b, &req, MAC_US);
        // Check with an independent parser.
        let p = SlicedPacket::from_ethernet(&b).unwrap();
        let Some(LinkSlice::Ethernet2(e)) = p.link else { panic!() };
        assert_eq!(e.destination(), MAC_A);
        assert_eq!(e.source(), MAC_US);
        let Some(etherparse::NetSlice::Arp(a)) = p.net else { panic!("{:?}", p.net) };
        assert_eq!(a.operation(), ArpOperation::REPLY);
        assert_eq!(a.sender_hw_addr(), MAC_US);
        assert_eq!(a.sender_protocol_addr(), [172, 25, 254, 100]);
        assert_eq!(a.target_hw_addr(), MAC_A);
        assert_eq!(a.target_protocol_addr(), [172, 25, 254, 200]);
    }

    #[test]
    fn malformed_is_rejected() {
        let mut b = vec![0u8; FRAME_LEN];
        make_request(&mut b, MAC_A, 1, 2);
        assert_eq!(parse(&b[..30]), Err(DropReason::ArpMalformed));
        b[19] = 16; // plen
        assert_eq!(parse(&b), Err(DropReason::ArpMalformed));
    }
}
