//! IPv4 header view (RFC 791).

use super::{rd16, rd32, wr16, wr32, DropReason, Field};
use crate::packet::csum;

mod field {
    use super::Field;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LEN: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTO: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC: Field = 12..16;
    pub const DST: Field = 16..20;
}

/// Header length without options.
pub const MIN_HDR: usize = field::DST.end;
const DF: u16 = 0x4000;
const MF: u16 = 0x2000;
const OFFSET: u16 = 0x1fff;

/// The largest header (IHL 15).
pub const MAX_HDR: usize = 60;

/// Compute the checksum of `hdr` (exactly the header's bytes) afresh and
/// write it: for a header we build, re-cut, or (in tests) corrupt on
/// purpose. Nothing is validated.
pub fn fill_checksum(hdr: &mut [u8]) {
    wr16(hdr, field::CHECKSUM, 0);
    let c = csum::checksum(hdr);
    wr16(hdr, field::CHECKSUM, c);
}

/// The fields of a header without options that the director builds (the
/// outer header of a tunnel, an ICMP error's header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub tos: u8,
    pub total_len: u16,
    pub ident: u16,
    pub df: bool,
    pub ttl: u8,
    pub proto: u8,
    pub src: u32,
    pub dst: u32,
}

impl Ipv4Repr {
    /// Write the 20-byte header and its checksum at the start of `buf`;
    /// the payload after it is the caller's. `IpTruncated` when `buf`
    /// cannot hold the header.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), DropReason> {
        let h = buf.get_mut(..MIN_HDR).ok_or(DropReason::IpTruncated)?;
        h[field::VER_IHL] = 0x40 | (MIN_HDR / 4) as u8;
        h[field::TOS] = self.tos;
        wr16(h, field::LEN, self.total_len);
        wr16(h, field::IDENT, self.ident);
        wr16(h, field::FLG_OFF, if self.df { DF } else { 0 });
        h[field::TTL] = self.ttl;
        h[field::PROTO] = self.proto;
        wr32(h, field::SRC, self.src);
        wr32(h, field::DST, self.dst);
        fill_checksum(h);
        Ok(())
    }
}

/// Version 4 and an IHL of 5..=15 words within `b`: the header length.
#[inline(always)]
fn check_header(b: &[u8]) -> Result<usize, DropReason> {
    if b.len() < MIN_HDR {
        return Err(DropReason::IpTruncated);
    }
    if b[field::VER_IHL] >> 4 != 4 {
        return Err(DropReason::IpBadVersion);
    }
    let ihl = ((b[field::VER_IHL] & 0x0f) as usize) * 4;
    if ihl < MIN_HDR || ihl > b.len() {
        return Err(DropReason::IpBadIhl);
    }
    Ok(ihl)
}

/// An IPv4 packet: the buffer starts at the IP header and holds at least
/// `total_len` bytes (Ethernet padding after it is allowed).
#[derive(Debug, Clone, Copy)]
pub struct Ipv4<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ipv4<T> {
    /// Version 4, IHL of 5..=15 words within the buffer, total length
    /// covering the header and within the buffer. The header checksum is
    /// checked separately ([`Ipv4::checksum_ok`]): a router verifies it
    /// on input, a rewrite of a packet we already accepted need not.
    #[inline(always)]
    pub fn new_checked(buf: T) -> Result<Self, DropReason> {
        let ihl = check_header(buf.as_ref())?;
        let total = rd16(buf.as_ref(), field::LEN) as usize;
        if total < ihl || total > buf.as_ref().len() {
            return Err(DropReason::IpBadLen);
        }
        Ok(Ipv4 { buf })
    }

    /// The header of a packet quoted in an ICMP error: version 4 and an
    /// IHL within the buffer, but the quote may end before `total_len`
    /// ([`Ipv4::packet`] and [`Ipv4::payload`] stop at the buffer's end).
    #[inline]
    pub fn new_checked_quoted(buf: T) -> Result<Self, DropReason> {
        check_header(buf.as_ref())?;
        Ok(Ipv4 { buf })
    }

    #[inline]
    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    /// End of the packet's bytes: the total length, or the buffer's end
    /// for a quote cut short.
    #[inline(always)]
    fn end(&self) -> usize {
        self.total_len().clamp(self.hdr_len(), self.b().len())
    }

    /// Header length in bytes (IHL × 4).
    #[inline(always)]
    pub fn hdr_len(&self) -> usize {
        ((self.b()[field::VER_IHL] & 0x0f) as usize) * 4
    }

    #[inline]
    pub fn tos(&self) -> u8 {
        self.b()[field::TOS]
    }

    #[inline(always)]
    pub fn total_len(&self) -> usize {
        rd16(self.b(), field::LEN) as usize
    }

    #[inline]
    pub fn ident(&self) -> u16 {
        rd16(self.b(), field::IDENT)
    }

    #[inline]
    pub fn df(&self) -> bool {
        rd16(self.b(), field::FLG_OFF) & DF != 0
    }

    #[inline]
    pub fn mf(&self) -> bool {
        rd16(self.b(), field::FLG_OFF) & MF != 0
    }

    /// Fragment offset in 8-byte units.
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        rd16(self.b(), field::FLG_OFF) & OFFSET
    }

    /// More-fragments set or a non-zero offset.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        rd16(self.b(), field::FLG_OFF) & (MF | OFFSET) != 0
    }

    #[inline]
    pub fn ttl(&self) -> u8 {
        self.b()[field::TTL]
    }

    #[inline]
    pub fn proto(&self) -> u8 {
        self.b()[field::PROTO]
    }

    #[inline]
    pub fn checksum(&self) -> u16 {
        rd16(self.b(), field::CHECKSUM)
    }

    #[inline]
    pub fn src(&self) -> u32 {
        rd32(self.b(), field::SRC)
    }

    #[inline]
    pub fn dst(&self) -> u32 {
        rd32(self.b(), field::DST)
    }

    #[inline]
    pub fn checksum_ok(&self) -> bool {
        csum::fold(csum::sum(self.header(), 0)) == 0xffff
    }

    #[inline]
    pub fn header(&self) -> &[u8] {
        &self.b()[..self.hdr_len()]
    }

    /// The options: the header after its 20 fixed bytes.
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.header()[MIN_HDR..]
    }

    /// The packet up to its total length (without Ethernet padding).
    #[inline]
    pub fn packet(&self) -> &[u8] {
        &self.b()[..self.end()]
    }

    /// The L4 bytes: from the end of the header to the total length.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.hdr_len()..self.end()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4<T> {
    #[inline]
    fn m(&mut self) -> &mut [u8] {
        self.buf.as_mut()
    }

    /// The fixed 20 bytes as an array: one length check (which the gate
    /// already passed), then none per field on the rewrite paths.
    #[inline(always)]
    fn fixed_mut(&mut self) -> Option<&mut [u8; MIN_HDR]> {
        self.m().first_chunk_mut()
    }

    /// `f` is a field of the fixed header.
    #[inline]
    fn update16(&mut self, f: Field, new: u16) {
        let Some(h) = self.fixed_mut() else { return };
        let old = rd16(h, f.clone());
        wr16(h, f, new);
        let c = csum::update16(rd16(h, field::CHECKSUM), old, new);
        wr16(h, field::CHECKSUM, c);
    }

    /// Replace the source address; returns the old one (for the L4
    /// pseudo-header).
    #[inline]
    pub fn set_src(&mut self, a: u32) -> u32 {
        self.set_addr(field::SRC, a)
    }

    /// Replace the destination address; returns the old one.
    #[inline]
    pub fn set_dst(&mut self, a: u32) -> u32 {
        self.set_addr(field::DST, a)
    }

    #[inline(always)]
    fn set_addr(&mut self, f: Field, new: u32) -> u32 {
        let Some(h) = self.fixed_mut() else { return new };
        let old = rd32(h, f.clone());
        wr32(h, f, new);
        let c = csum::update32(rd16(h, field::CHECKSUM), old, new);
        wr16(h, field::CHECKSUM, c);
        old
    }

    /// Decrement the TTL (the caller checked it is above 1).
    #[inline]
    pub fn dec_ttl(&mut self) {
        let ttl = self.ttl().saturating_sub(1);
        self.set_ttl(ttl);
    }

    #[inline]
    pub fn set_ttl(&mut self, ttl: u8) {
        let word = u16::from_be_bytes([ttl, self.proto()]);
        self.update16(field::TTL..field::TTL + 2, word);
    }

    #[inline]
    pub fn set_tos(&mut self, tos: u8) {
        let word = u16::from_be_bytes([self.b()[field::VER_IHL], tos]);
        self.update16(field::VER_IHL..field::TOS + 1, word);
    }

    /// Set MF and the fragment offset (8-byte units), keeping DF.
    #[inline]
    pub fn set_frag(&mut self, mf: bool, offset: u16) {
        let df = rd16(self.b(), field::FLG_OFF) & DF;
        self.update16(field::FLG_OFF, df | if mf { MF } else { 0 } | (offset & OFFSET));
    }

    /// Set the header length (a re-cut header with fewer options). False
    /// (nothing changed) unless `n` is a multiple of 4 in 20..=60 within
    /// the buffer and the total length.
    #[inline]
    pub fn set_hdr_len(&mut self, n: usize) -> bool {
        if !n.is_multiple_of(4) || !(MIN_HDR..=MAX_HDR).contains(&n) || n > self.b().len() || n > self.total_len() {
            return false;
        }
        let ver = self.b()[field::VER_IHL] & 0xf0;
        let word = u16::from_be_bytes([ver | (n / 4) as u8, self.tos()]);
        self.update16(field::VER_IHL..field::TOS + 1, word);
        true
    }

    /// Compute the header checksum afresh, for a header we built or re-cut.
    #[inline]
    pub fn fill_checksum(&mut self) {
        fill_checksum(self.header_mut());
    }

    /// The whole header, writable (for options the caller rewrites).
    #[inline]
    pub fn header_mut(&mut self) -> &mut [u8] {
        let h = self.hdr_len();
        &mut self.m()[..h]
    }

    /// Set the total length field. The buffer must already hold `n`
    /// bytes; the caller resizes it first (or refuses).
    #[inline]
    pub fn set_total_len(&mut self, n: u16) -> bool {
        if (n as usize) < self.hdr_len() || n as usize > self.b().len() {
            return false;
        }
        self.update16(field::LEN, n);
        true
    }

    /// The L4 bytes, writable.
    #[inline(always)]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (h, t) = (self.hdr_len(), self.end());
        &mut self.m()[h..t]
    }

    /// Header and payload at once (a rewrite touches both).
    #[inline]
    pub fn split_mut(&mut self) -> (&mut [u8], &mut [u8]) {
        let (h, t) = (self.hdr_len(), self.end());
        let (hdr, rest) = self.m()[..t].split_at_mut(h);
        (hdr, rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{IpNumber, Ipv4Header};

    fn packet() -> Vec<u8> {
        let mut h = Ipv4Header::new(8, 61, IpNumber::UDP, [10, 0, 0, 1], [192, 168, 0, 9]).unwrap();
        h.dont_fragment = true;
        h.identification = 0xbeef;
        h.dscp = etherparse::IpDscp::try_new(46).unwrap();
        h.ecn = etherparse::IpEcn::try_new(1).unwrap();
        h.header_checksum = h.calc_header_checksum();
        let mut b = h.to_bytes().to_vec();
        b.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 0, 0]); // 2 bytes of padding
        b
    }

    #[test]
    fn accessors_match_etherparse() {
        let b = packet();
        let (h, _) = Ipv4Header::from_slice(&b).unwrap();
        let v = Ipv4::new_checked(&b[..]).unwrap();
        assert_eq!(v.hdr_len(), h.header_len());
        assert_eq!(v.total_len(), h.total_len as usize);
        assert_eq!(v.tos(), (h.dscp.value() << 2) | h.ecn.value());
        assert_eq!((v.ident(), v.df(), v.mf(), v.frag_offset()), (0xbeef, true, false, 0));
        assert_eq!((v.ttl(), v.proto()), (61, 17));
        assert_eq!((v.src(), v.dst()), (u32::from_be_bytes(h.source), u32::from_be_bytes(h.destination)));
        assert_eq!(v.checksum(), h.header_checksum);
        assert!(v.checksum_ok());
        assert_eq!(v.payload(), &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(v.packet().len(), 28);
    }

    #[test]
    fn the_gate_names_each_defect() {
        let b = packet();
        assert_eq!(Ipv4::new_checked(&b[..19]).unwrap_err(), DropReason::IpTruncated);
        let mut v = b.clone();
        v[0] = 0x65;
        assert_eq!(Ipv4::new_checked(&v[..]).unwrap_err(), DropReason::IpBadVersion);
        v[0] = 0x44;
        assert_eq!(Ipv4::new_checked(&v[..]).unwrap_err(), DropReason::IpBadIhl);
        v[0] = 0x4f;
        assert_eq!(Ipv4::new_checked(&v[..]).unwrap_err(), DropReason::IpBadIhl);
        let mut v = b.clone();
        v[3] = 100;
        assert_eq!(Ipv4::new_checked(&v[..]).unwrap_err(), DropReason::IpBadLen);
        v[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(Ipv4::new_checked(&v[..]).unwrap_err(), DropReason::IpBadLen);
        let mut v = b.clone();
        v[10] ^= 1;
        assert!(!Ipv4::new_checked(&v[..]).unwrap().checksum_ok());
    }

    #[test]
    fn rewrites_keep_the_checksum() {
        let mut b = packet();
        let mut v = Ipv4::new_checked(&mut b[..]).unwrap();
        assert_eq!(v.set_src(0x01020304), 0x0a000001);
        assert_eq!(v.set_dst(0x05060708), 0xc0a80009);
        v.dec_ttl();
        v.set_tos(0x03);
        assert!(v.set_total_len(30));
        assert!(!v.set_total_len(31), "past the buffer");
        assert!(!v.set_total_len(19), "shorter than the header");
        let (h, _) = Ipv4Header::from_slice(&b).unwrap();
        assert_eq!(h.header_checksum, h.calc_header_checksum());
        assert_eq!((h.source, h.destination, h.time_to_live, h.total_len), ([1, 2, 3, 4], [5, 6, 7, 8], 60, 30));
        assert_eq!((h.dscp.value(), h.ecn.value()), (0, 3));
    }

    #[test]
    fn emitted_header_matches_etherparse() {
        let r = Ipv4Repr {
            tos: 0xb9,
            total_len: 48,
            ident: 0x1234,
            df: true,
            ttl: 7,
            proto: 4,
            src: 0xc0a80032,
            dst: 0xc0a8000a,
        };
        let mut b = [0xeeu8; 48];
        r.emit(&mut b[..]).unwrap();
        let (h, _) = Ipv4Header::from_slice(&b).unwrap();
        assert_eq!(h.header_checksum, h.calc_header_checksum());
        assert_eq!((h.dscp.value() << 2 | h.ecn.value(), h.total_len, h.identification), (0xb9, 48, 0x1234));
        assert_eq!((h.dont_fragment, h.more_fragments, h.fragment_offset.value()), (true, false, 0));
        assert_eq!(
            (h.time_to_live, h.protocol.0, h.source, h.destination),
            (7, 4, [192, 168, 0, 50], [192, 168, 0, 10])
        );
        assert_eq!(b[20], 0xee, "the payload is the caller's");
        assert_eq!(r.emit(&mut b[..19]), Err(DropReason::IpTruncated));
    }

    #[test]
    fn a_header_is_recut_for_a_fragment() {
        // 8 bytes of options, then cut to 4 of them, offset 185, MF.
        let mut b = packet();
        b.splice(20..20, [0x94, 4, 0, 0, 7, 3, 4, 0]);
        b[0] = 0x47;
        b[2..4].copy_from_slice(&38u16.to_be_bytes());
        fill_checksum(&mut b[..28]);
        let mut v = Ipv4::new_checked(&mut b[..]).unwrap();
        assert!(v.checksum_ok());
        assert_eq!(v.options(), &[0x94, 4, 0, 0, 7, 3, 4, 0]);
        assert!(!v.set_hdr_len(26) && !v.set_hdr_len(16) && !v.set_hdr_len(64), "unaligned, short, long");
        v.set_frag(true, 185);
        assert!(v.checksum_ok(), "kept incrementally");
        assert!(v.set_hdr_len(24));
        assert!(!v.checksum_ok(), "the cut options are no longer summed");
        v.header_mut()[10] ^= 0xff;
        v.fill_checksum();
        let (h, _) = Ipv4Header::from_slice(&b).unwrap();
        assert_eq!(h.header_checksum, h.calc_header_checksum());
        assert_eq!((h.header_len(), h.options.as_slice()), (24, &[0x94, 4, 0, 0][..]));
        assert_eq!((h.dont_fragment, h.more_fragments, h.fragment_offset.value()), (true, true, 185));
    }
}
