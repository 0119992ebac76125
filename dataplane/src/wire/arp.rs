//! ARP view for IPv4 over Ethernet (RFC 826): the only ARP we speak.

use super::ethernet::mac;
use super::{rd16, rd32, wr16, wr32, DropReason, Field};
use crate::packet::eth::{Mac, TYPE_IPV4};

mod field {
    use super::Field;
    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;
    pub const SHA: Field = 8..14;
    pub const SPA: Field = 14..18;
    pub const THA: Field = 18..24;
    pub const TPA: Field = 24..28;
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const LEN: usize = field::TPA.end;
pub const OP_REQUEST: u16 = 1;
pub const OP_REPLY: u16 = 2;
const HTYPE_ETHERNET: u16 = 1;

/// An ARP packet (the Ethernet payload), checked to be Ethernet/IPv4:
/// hardware type 1, protocol type 0x0800, address lengths 6 and 4, and
/// at least 28 bytes (the minimum frame's padding after them is allowed).
#[derive(Debug, Clone, Copy)]
pub struct Arp<T> {
    buf: T,
}

/// The fields of an ARP packet, to write one ([`ArpRepr::emit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    pub op: u16,
    pub sha: Mac,
    pub spa: u32,
    pub tha: Mac,
    pub tpa: u32,
}

impl<T: AsRef<[u8]>> Arp<T> {
    pub fn new_checked(buf: T) -> Result<Self, DropReason> {
        let b = buf.as_ref();
        if b.len() < LEN
            || rd16(b, field::HTYPE) != HTYPE_ETHERNET
            || rd16(b, field::PTYPE) != TYPE_IPV4
            || b[field::HLEN] != 6
            || b[field::PLEN] != 4
        {
            return Err(DropReason::ArpMalformed);
        }
        Ok(Arp { buf })
    }

    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    pub fn op(&self) -> u16 {
        rd16(self.b(), field::OPER)
    }

    /// Sender hardware address.
    pub fn sha(&self) -> Mac {
        mac(self.b(), field::SHA)
    }

    /// Sender protocol (IPv4) address.
    pub fn spa(&self) -> u32 {
        rd32(self.b(), field::SPA)
    }

    /// Target hardware address (zero in a request).
    pub fn tha(&self) -> Mac {
        mac(self.b(), field::THA)
    }

    /// Target protocol address: who is asked for.
    pub fn tpa(&self) -> u32 {
        rd32(self.b(), field::TPA)
    }

    pub fn repr(&self) -> ArpRepr {
        ArpRepr { op: self.op(), sha: self.sha(), spa: self.spa(), tha: self.tha(), tpa: self.tpa() }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Arp<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buf.as_mut()
    }

    pub fn set_op(&mut self, op: u16) {
        wr16(self.m(), field::OPER, op);
    }

    pub fn set_sha(&mut self, m: Mac) {
        self.m()[field::SHA].copy_from_slice(&m);
    }

    pub fn set_spa(&mut self, a: u32) {
        wr32(self.m(), field::SPA, a);
    }

    pub fn set_tha(&mut self, m: Mac) {
        self.m()[field::THA].copy_from_slice(&m);
    }

    pub fn set_tpa(&mut self, a: u32) {
        wr32(self.m(), field::TPA, a);
    }

    /// Turn a request into its reply in place: we (`our_mac`, at the
    /// address asked for) answer the sender. The Ethernet header is the
    /// caller's (destination: the old sender, [`ArpRepr::tha`] after).
    pub fn make_reply(&mut self, our_mac: Mac) {
        let (sha, spa, tpa) = (self.sha(), self.spa(), self.tpa());
        self.set_op(OP_REPLY);
        self.set_tha(sha);
        self.set_tpa(spa);
        self.set_sha(our_mac);
        self.set_spa(tpa);
    }
}

impl ArpRepr {
    /// Write an Ethernet/IPv4 ARP packet into the first 28 bytes of `buf`
    /// (the rest, such as the minimum frame's padding, is left alone).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, mut buf: T) -> Result<Arp<T>, DropReason> {
        let b = buf.as_mut();
        if b.len() < LEN {
            return Err(DropReason::ArpMalformed);
        }
        wr16(b, field::HTYPE, HTYPE_ETHERNET);
        wr16(b, field::PTYPE, TYPE_IPV4);
        b[field::HLEN] = 6;
        b[field::PLEN] = 4;
        let mut a = Arp { buf };
        a.set_op(self.op);
        a.set_sha(self.sha);
        a.set_spa(self.spa);
        a.set_tha(self.tha);
        a.set_tpa(self.tpa);
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{ArpHardwareId, ArpOperation, ArpPacket, EtherType};

    fn request() -> Vec<u8> {
        let p = ArpPacket::new(
            ArpHardwareId::ETHERNET,
            EtherType::IPV4,
            ArpOperation::REQUEST,
            &[2, 0, 0, 0, 0, 0xa],
            &[172, 25, 254, 200],
            &[0; 6],
            &[172, 25, 254, 100],
        )
        .unwrap();
        let mut b = p.to_bytes().to_vec();
        b.resize(46, 0); // the minimum frame's padding
        b
    }

    #[test]
    fn accessors_match_etherparse() {
        let b = request();
        let p = ArpPacket::from_slice(&b).unwrap().try_eth_ipv4().unwrap();
        let v = Arp::new_checked(&b[..]).unwrap();
        assert_eq!(v.op(), p.operation.0);
        assert_eq!(
            (v.sha(), v.spa(), v.tha(), v.tpa()),
            (p.sender_mac, u32::from_be_bytes(p.sender_ipv4), p.target_mac, u32::from_be_bytes(p.target_ipv4))
        );
        assert_eq!(v.repr().op, OP_REQUEST);
    }

    #[test]
    fn request_becomes_reply() {
        let mut b = request();
        let mut v = Arp::new_checked(&mut b[..]).unwrap();
        v.make_reply([2, 0, 0, 0, 0, 1]);
        let p = ArpPacket::from_slice(&b).unwrap().try_eth_ipv4().unwrap();
        assert_eq!(p.operation, ArpOperation::REPLY);
        assert_eq!((p.sender_mac, p.sender_ipv4), ([2, 0, 0, 0, 0, 1], [172, 25, 254, 100]));
        assert_eq!((p.target_mac, p.target_ipv4), ([2, 0, 0, 0, 0, 0xa], [172, 25, 254, 200]));
    }

    #[test]
    fn emit_round_trips() {
        let r = ArpRepr { op: OP_REQUEST, sha: [2, 0, 0, 0, 0, 1], spa: 0x0a000001, tha: [0; 6], tpa: 0x0a000002 };
        let mut b = [0xeeu8; 30];
        assert_eq!(r.emit(&mut b[..]).unwrap().repr(), r);
        assert_eq!(&b[28..], &[0xee, 0xee], "bytes past the packet untouched");
        let p = ArpPacket::from_slice(&b).unwrap().try_eth_ipv4().unwrap();
        assert_eq!((p.operation, p.target_ipv4), (ArpOperation::REQUEST, [10, 0, 0, 2]));
        assert_eq!(r.emit(&mut b[..27]).unwrap_err(), DropReason::ArpMalformed);
    }

    #[test]
    fn the_gate_refuses_other_arp_and_short_buffers() {
        let b = request();
        for n in 0..LEN {
            assert_eq!(Arp::new_checked(&b[..n]).unwrap_err(), DropReason::ArpMalformed, "length {n}");
        }
        for (i, v) in [(1, 6), (3, 0xdd), (4, 8), (5, 16)] {
            let mut c = b.clone();
            c[i] = v;
            assert_eq!(Arp::new_checked(&c[..]).unwrap_err(), DropReason::ArpMalformed, "byte {i}");
        }
    }
}
