//! ICMPv4 message view (RFC 792, RFC 1191 for the next-hop MTU).

use super::{rd16, wr16, DropReason, Field};
use crate::packet::csum;

mod field {
    use super::Field;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    /// Echo request/reply (and the other queries).
    pub const ECHO_ID: Field = 4..6;
    pub const ECHO_SEQ: Field = 6..8;
    /// Destination unreachable, code 4 (RFC 1191).
    pub const NEXT_HOP_MTU: Field = 6..8;
    /// Parameter problem.
    pub const POINTER: usize = 4;
    pub const DATA: usize = 8;
}

/// Header length: type, code, checksum and the 4 type-specific bytes.
pub const HDR_LEN: usize = field::DATA;
pub const ECHO_REPLY: u8 = 0;
pub const DEST_UNREACH: u8 = 3;
pub const SOURCE_QUENCH: u8 = 4;
pub const REDIRECT: u8 = 5;
pub const ECHO_REQUEST: u8 = 8;
pub const TIME_EXCEEDED: u8 = 11;
pub const PARAM_PROBLEM: u8 = 12;
/// Code of DEST_UNREACH: fragmentation needed and DF set.
pub const CODE_FRAG_NEEDED: u8 = 4;

/// An ICMP message (the IPv4 payload), checked to hold its 8-byte header.
#[derive(Debug, Clone, Copy)]
pub struct Icmp<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> Icmp<T> {
    /// At least 8 bytes. The checksum is checked separately
    /// ([`Icmp::checksum_ok`]).
    pub fn new_checked(buf: T) -> Result<Self, DropReason> {
        if buf.as_ref().len() < HDR_LEN {
            return Err(DropReason::IcmpTruncated);
        }
        Ok(Icmp { buf })
    }

    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    pub fn msg_type(&self) -> u8 {
        self.b()[field::TYPE]
    }

    pub fn code(&self) -> u8 {
        self.b()[field::CODE]
    }

    pub fn checksum(&self) -> u16 {
        rd16(self.b(), field::CHECKSUM)
    }

    /// An error message, which quotes the packet it is about (and which
    /// must never be answered with another error: RFC 1122 3.2.2).
    pub fn is_error(&self) -> bool {
        matches!(self.msg_type(), DEST_UNREACH | SOURCE_QUENCH | REDIRECT | TIME_EXCEEDED | PARAM_PROBLEM)
    }

    pub fn is_echo(&self) -> bool {
        matches!(self.msg_type(), ECHO_REQUEST | ECHO_REPLY)
    }

    /// Identifier of a query (bytes 4-5; meaningful for echo).
    pub fn echo_id(&self) -> u16 {
        rd16(self.b(), field::ECHO_ID)
    }

    pub fn echo_seq(&self) -> u16 {
        rd16(self.b(), field::ECHO_SEQ)
    }

    /// The MTU of the next hop in a fragmentation-needed message (0 from
    /// a pre-RFC 1191 router).
    pub fn next_hop_mtu(&self) -> Option<u16> {
        (self.msg_type() == DEST_UNREACH && self.code() == CODE_FRAG_NEEDED)
            .then(|| rd16(self.b(), field::NEXT_HOP_MTU))
    }

    /// The octet a parameter problem points at.
    pub fn pointer(&self) -> Option<u8> {
        (self.msg_type() == PARAM_PROBLEM).then(|| self.b()[field::POINTER])
    }

    /// What follows the header: echo data, or the quoted packet.
    pub fn data(&self) -> &[u8] {
        &self.b()[field::DATA..]
    }

    /// The packet an error quotes (its IPv4 header and at least 8 bytes of
    /// it, per RFC 792; read it with [`super::Ipv4::new_checked_quoted`]).
    pub fn quoted(&self) -> Option<&[u8]> {
        self.is_error().then(|| self.data())
    }

    /// The whole message.
    pub fn message(&self) -> &[u8] {
        self.b()
    }

    pub fn checksum_ok(&self) -> bool {
        csum::fold(csum::sum(self.b(), 0)) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmp<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buf.as_mut()
    }

    fn update16(&mut self, f: Field, new: u16) {
        let old = rd16(self.b(), f.clone());
        wr16(self.m(), f, new);
        let c = csum::update16(self.checksum(), old, new);
        wr16(self.m(), field::CHECKSUM, c);
    }

    pub fn set_type(&mut self, t: u8) {
        let w = u16::from_be_bytes([t, self.code()]);
        self.update16(field::TYPE..field::CODE + 1, w);
    }

    pub fn set_code(&mut self, c: u8) {
        let w = u16::from_be_bytes([self.msg_type(), c]);
        self.update16(field::TYPE..field::CODE + 1, w);
    }

    /// Replace a query's identifier (ICMP's "port" under NAT).
    pub fn set_echo_id(&mut self, id: u16) {
        self.update16(field::ECHO_ID, id);
    }

    pub fn set_echo_seq(&mut self, seq: u16) {
        self.update16(field::ECHO_SEQ, seq);
    }

    /// Bytes 6..8 of an error we build: the next-hop MTU of frag-needed
    /// (RFC 1191), unused (0) in the others.
    pub fn set_next_hop_mtu(&mut self, mtu: u16) {
        self.update16(field::NEXT_HOP_MTU, mtu);
    }

    /// Turn an echo request into its reply (type 0; the caller swaps the
    /// IPv4 addresses, which ICMP's checksum does not cover).
    pub fn make_echo_reply(&mut self) {
        self.set_type(ECHO_REPLY);
    }

    /// Part of the data changed from bytes summing to `old` to bytes
    /// summing to `new` (unfolded [`csum::sum`]s at the same 16-bit
    /// alignment): a rewrite inside the quoted packet. An error in the
    /// checksum survives.
    pub fn fix_checksum(&mut self, old: u32, new: u32) {
        let c = csum::update_sum(self.checksum(), old, new);
        wr16(self.m(), field::CHECKSUM, c);
    }

    /// Compute the checksum afresh, for a message we build.
    pub fn fill_checksum(&mut self) {
        wr16(self.m(), field::CHECKSUM, 0);
        let c = csum::checksum(self.b());
        wr16(self.m(), field::CHECKSUM, c);
    }

    /// Echo data or the quoted packet, writable (then
    /// [`Icmp::fix_checksum`] or [`Icmp::fill_checksum`]).
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.m()[field::DATA..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{Icmpv4Slice, Icmpv4Type, PacketBuilder};

    fn echo() -> Vec<u8> {
        let mut b = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .icmpv4_echo_request(0x1234, 7)
            .write(&mut b, b"ping!")
            .unwrap();
        b.split_off(20)
    }

    fn frag_needed() -> Vec<u8> {
        let hdr = etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1400 };
        let mut quote = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 2], [10, 0, 0, 9], 64).udp(1, 2).write(&mut quote, &[0; 1472]).unwrap();
        quote.truncate(28);
        let mut b = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 254], [10, 0, 0, 2], 64)
            .icmpv4(Icmpv4Type::DestinationUnreachable(hdr))
            .write(&mut b, &quote)
            .unwrap();
        b.split_off(20)
    }

    #[test]
    fn accessors_match_etherparse() {
        for b in [echo(), frag_needed()] {
            let e = Icmpv4Slice::from_slice(&b).unwrap();
            let v = Icmp::new_checked(&b[..]).unwrap();
            assert_eq!((v.msg_type(), v.code(), v.checksum()), (e.type_u8(), e.code_u8(), e.checksum()));
            assert_eq!(&b[4..8], &e.bytes5to8());
            assert_eq!((v.data(), v.message()), (e.payload(), &b[..]));
            assert!(v.checksum_ok());
            match e.icmp_type() {
                Icmpv4Type::EchoRequest(h) => {
                    assert_eq!((v.echo_id(), v.echo_seq(), v.is_echo(), v.is_error()), (h.id, h.seq, true, false));
                    assert_eq!((v.quoted(), v.next_hop_mtu(), v.pointer()), (None, None, None));
                }
                Icmpv4Type::DestinationUnreachable(_) => {
                    assert_eq!((v.next_hop_mtu(), v.is_error(), v.is_echo()), (Some(1400), true, false));
                    let q = crate::wire::Ipv4::new_checked_quoted(v.quoted().unwrap()).unwrap();
                    assert_eq!((q.dst(), q.proto(), q.payload().len()), (0x0a000009, 17, 8));
                }
                t => panic!("{t:?}"),
            }
        }
        let mut b = echo();
        b[0] = PARAM_PROBLEM;
        b[4] = 9;
        assert_eq!(Icmp::new_checked(&b[..]).unwrap().pointer(), Some(9));
    }

    #[test]
    fn rewrites_keep_the_checksum_and_its_error() {
        for wrong in [0u16, 0x0101] {
            let mut b = echo();
            b[3] = b[3].wrapping_add(wrong as u8);
            let mut v = Icmp::new_checked(&mut b[..]).unwrap();
            v.set_echo_id(0xfedc);
            v.set_echo_seq(9);
            v.make_echo_reply();
            v.set_code(0);
            let old = csum::sum(&v.data()[..4], 0);
            v.data_mut()[..4].copy_from_slice(b"PONG");
            v.fix_checksum(old, csum::sum(b"PONG", 0));
            let e = Icmpv4Slice::from_slice(&b).unwrap();
            let Icmpv4Type::EchoReply(h) = e.icmp_type() else { panic!() };
            assert_eq!((h.id, h.seq, e.payload()), (0xfedc, 9, &b"PONG!"[..]));
            let right = e.header().icmp_type.calc_checksum(e.payload()) == e.checksum();
            assert_eq!(right, wrong == 0);
            assert_eq!(Icmp::new_checked(&b[..]).unwrap().checksum_ok(), wrong == 0);
            Icmp::new_checked(&mut b[..]).unwrap().fill_checksum();
            assert!(Icmp::new_checked(&b[..]).unwrap().checksum_ok());
            let mut v = Icmp::new_checked(&mut b[..]).unwrap();
            v.set_type(DEST_UNREACH);
            v.set_code(CODE_FRAG_NEEDED);
            v.set_next_hop_mtu(1280);
            assert_eq!((v.next_hop_mtu(), v.checksum_ok()), (Some(1280), true));
        }
    }

    #[test]
    fn every_truncation_is_refused() {
        let b = echo();
        for n in 0..HDR_LEN {
            assert_eq!(Icmp::new_checked(&b[..n]).unwrap_err(), DropReason::IcmpTruncated);
        }
        assert!(Icmp::new_checked(&b[..HDR_LEN]).unwrap().data().is_empty());
    }
}
