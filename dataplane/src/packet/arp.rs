//! ARP for IPv4 over Ethernet (RFC 826).

use super::eth::{self, Mac};
use crate::drop::DropReason;
use crate::wire::{self, ArpRepr};

pub use crate::wire::arp::{LEN, OP_REPLY, OP_REQUEST};

/// What the data path reads of an ARP packet: [`wire::ArpRepr`].
pub type Arp = ArpRepr;

/// Parse the ARP payload after the (untagged) Ethernet header.
pub fn parse(b: &[u8]) -> Result<Arp, DropReason> {
    let a = b.get(eth::HDR_LEN..).ok_or(DropReason::ArpMalformed)?;
    Ok(wire::Arp::new_checked(a)?.repr())
}

/// Write a whole ARP frame (Ethernet + ARP, 42 bytes) into `b`. False
/// when `b` is too short for it.
pub fn write(b: &mut [u8], eth_dst: Mac, arp: &Arp) -> bool {
    let Ok(mut frame) = wire::Ethernet::emit(b, eth_dst, arp.sha, eth::TYPE_ARP) else { return false };
    arp.emit(frame.payload_mut()).is_ok()
}

/// Turn a request for `our_ip` into the reply, in place. False when `b`
/// is too short for the frame.
pub fn make_reply(b: &mut [u8], req: &Arp, our_mac: Mac) -> bool {
    let reply = Arp { op: OP_REPLY, sha: our_mac, spa: req.tpa, tha: req.sha, tpa: req.spa };
    write(b, req.sha, &reply)
}

/// Frame length of an ARP packet (Ethernet minimum without FCS).
pub const FRAME_LEN: usize = 60;

/// Fill `b` (FRAME_LEN bytes) with a broadcast request for `target`.
/// False when `b` is too short for the frame.
pub fn make_request(b: &mut [u8], our_mac: Mac, our_ip: u32, target: u32) -> bool {
    b.fill(0);
    let req = Arp { op: OP_REQUEST, sha: our_mac, spa: our_ip, tha: [0; 6], tpa: target };
    write(b, eth::BROADCAST, &req)
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
        assert!(make_request(&mut b, MAC_A, 0xac19fec8, 0xac19fe64));
        let req = parse(&b).unwrap();
        assert_eq!(req.op, OP_REQUEST);
        assert!(make_reply(&mut b, &req, MAC_US));
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
        assert!(make_request(&mut b, MAC_A, 1, 2));
        assert_eq!(parse(&b[..30]), Err(DropReason::ArpMalformed));
        assert!(!make_request(&mut b[..41], MAC_A, 1, 2), "no room for the frame");
        b[19] = 16; // plen
        assert_eq!(parse(&b), Err(DropReason::ArpMalformed));
    }
}
