//! Ethernet II header view, with an optional IEEE 802.1Q tag.

use super::{rd16, wr16, DropReason, Field};
use crate::packet::eth::Mac;

mod field {
    use super::Field;
    pub const DST: Field = 0..6;
    pub const SRC: Field = 6..12;
    /// The ethertype, or the tag protocol identifier of a tagged frame.
    pub const TYPE: Field = 12..14;
    /// 802.1Q tag control information: PCP (3 bits), DEI (1), VID (12).
    pub const VLAN_TCI: Field = 14..16;
    /// The ethertype of a tagged frame.
    pub const VLAN_TYPE: Field = 16..18;
}

/// Header length without a VLAN tag.
pub const HDR_LEN: usize = field::TYPE.end;
/// Header length with one 802.1Q tag.
pub const VLAN_HDR_LEN: usize = field::VLAN_TYPE.end;
/// Tag protocol identifier of an 802.1Q tag.
pub const TPID_8021Q: u16 = 0x8100;
const VID_MASK: u16 = 0x0fff;

/// An Ethernet frame, checked to hold at least its header (and its tag
/// when the frame is 802.1Q-tagged).
///
/// One tag only: a frame with an 802.1ad outer tag (0x88a8, QinQ) shows
/// 0x88a8 as its ethertype, which the caller refuses as unknown. Callers
/// find the L3 header at [`Ethernet::header_len`], never at a fixed 14.
#[derive(Debug, Clone, Copy)]
pub struct Ethernet<T> {
    buf: T,
    /// 14 or 18, fixed by the gate: a rewrite of the type field to or
    /// from 0x8100 cannot move the payload under a view that checked it.
    hdr_len: usize,
}

/// A MAC address field: one 6-byte copy (the gate proved it is there),
/// not six indexed loads.
#[inline(always)]
pub(crate) fn mac(b: &[u8], f: Field) -> Mac {
    b[f].try_into().unwrap_or_default()
}

impl<T: AsRef<[u8]>> Ethernet<T> {
    /// At least 14 bytes, or 18 when the type field says 802.1Q.
    #[inline]
    pub fn new_checked(buf: T) -> Result<Self, DropReason> {
        let b = buf.as_ref();
        let tagged = b.len() >= HDR_LEN && rd16(b, field::TYPE) == TPID_8021Q;
        let hdr_len = if tagged { VLAN_HDR_LEN } else { HDR_LEN };
        if b.len() < hdr_len {
            return Err(DropReason::EthTruncated);
        }
        Ok(Ethernet { buf, hdr_len })
    }

    #[inline]
    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    #[inline]
    pub fn dst(&self) -> Mac {
        mac(self.b(), field::DST)
    }

    #[inline]
    pub fn src(&self) -> Mac {
        mac(self.b(), field::SRC)
    }

    /// Carries an 802.1Q tag.
    #[inline]
    pub fn is_tagged(&self) -> bool {
        self.hdr_len == VLAN_HDR_LEN
    }

    /// The whole tag control information (PCP, DEI, VID) of a tagged frame.
    #[inline]
    pub fn vlan_tci(&self) -> Option<u16> {
        self.is_tagged().then(|| rd16(self.b(), field::VLAN_TCI))
    }

    /// The VLAN identifier of a tagged frame (0: priority tag only).
    #[inline]
    pub fn vlan(&self) -> Option<u16> {
        self.vlan_tci().map(|t| t & VID_MASK)
    }

    /// The type of the payload: after the tag when there is one.
    #[inline]
    pub fn ethertype(&self) -> u16 {
        rd16(self.b(), self.type_field())
    }

    #[inline]
    fn type_field(&self) -> Field {
        if self.is_tagged() {
            field::VLAN_TYPE
        } else {
            field::TYPE
        }
    }

    /// 14, or 18 with a tag: where the payload starts.
    #[inline]
    pub fn header_len(&self) -> usize {
        self.hdr_len
    }

    /// Broadcast or multicast destination (the I/G bit).
    #[inline]
    pub fn is_group(&self) -> bool {
        self.b()[field::DST.start] & 1 != 0
    }

    /// What follows the header (and the tag).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ethernet<T> {
    /// Write an untagged header (destination, source, type) at the start
    /// of `buf`, for a frame we build; what follows is left alone.
    /// `EthTruncated` when `buf` cannot hold the header.
    #[inline]
    pub fn emit(mut buf: T, dst: Mac, src: Mac, ethertype: u16) -> Result<Self, DropReason> {
        let b = buf.as_mut();
        if b.len() < HDR_LEN {
            return Err(DropReason::EthTruncated);
        }
        b[field::DST].copy_from_slice(&dst);
        b[field::SRC].copy_from_slice(&src);
        wr16(b, field::TYPE, ethertype);
        Ok(Ethernet { buf, hdr_len: HDR_LEN })
    }

    #[inline]
    pub fn set_dst(&mut self, m: Mac) {
        self.buf.as_mut()[field::DST].copy_from_slice(&m);
    }

    #[inline]
    pub fn set_src(&mut self, m: Mac) {
        self.buf.as_mut()[field::SRC].copy_from_slice(&m);
    }

    /// Set the payload's type (after the tag when there is one; adding or
    /// removing a tag changes the frame's length, which a view cannot:
    /// writing 0x8100 here does not make this view see a tag).
    #[inline]
    pub fn set_ethertype(&mut self, t: u16) {
        let f = self.type_field();
        wr16(self.buf.as_mut(), f, t);
    }

    /// Set the VLAN identifier of a tagged frame, keeping PCP and DEI.
    /// False (nothing changed) for an untagged frame.
    #[inline]
    pub fn set_vlan(&mut self, vid: u16) -> bool {
        let Some(tci) = self.vlan_tci() else { return false };
        wr16(self.buf.as_mut(), field::VLAN_TCI, (tci & !VID_MASK) | (vid & VID_MASK));
        true
    }

    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let h = self.header_len();
        &mut self.buf.as_mut()[h..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{EtherType, Ethernet2Header, LinkExtSlice, LinkSlice, PacketBuilder, SlicedPacket, VlanId};

    #[test]
    fn fields_match_etherparse() {
        let h = Ethernet2Header { source: [1, 2, 3, 4, 5, 6], destination: [0xff; 6], ether_type: EtherType::ARP };
        let mut b = h.to_bytes().to_vec();
        b.extend_from_slice(b"payload");
        let v = Ethernet::new_checked(&b[..]).unwrap();
        assert_eq!((v.src(), v.dst(), v.ethertype()), (h.source, h.destination, 0x0806));
        assert!(v.is_group());
        assert_eq!((v.is_tagged(), v.vlan(), v.vlan_tci(), v.header_len()), (false, None, None, 14));
        assert_eq!(v.payload(), b"payload");
        assert_eq!(Ethernet::new_checked(&b[..13]).unwrap_err(), DropReason::EthTruncated);
        let mut m = Ethernet::new_checked(&mut b[..]).unwrap();
        m.set_dst([2, 0, 0, 0, 0, 1]);
        m.set_src([2, 0, 0, 0, 0, 2]);
        m.set_ethertype(0x0800);
        assert!(!m.set_vlan(5), "untagged");
        let (p, _) = Ethernet2Header::from_slice(&b).unwrap();
        assert_eq!((p.destination, p.source, p.ether_type), ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], EtherType::IPV4));
    }

    fn tagged(vid: u16) -> Vec<u8> {
        let mut b = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 1])
            .single_vlan(VlanId::try_new(vid).unwrap())
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(1, 2)
            .write(&mut b, b"x")
            .unwrap();
        b
    }

    /// (VID, PCP, DEI, inner ethertype, payload) as etherparse reads them.
    fn etherparse_vlan(b: &[u8]) -> (u16, u8, bool, u16, &[u8]) {
        let p = SlicedPacket::from_ethernet(b).unwrap();
        assert!(matches!(p.link, Some(LinkSlice::Ethernet2(_))));
        let Some(LinkExtSlice::Vlan(v)) = p.link_exts.first() else { panic!("{:?}", p.link_exts) };
        let (vid, pcp, dei) =
            (v.vlan_identifier().value(), v.priority_code_point().value(), v.drop_eligible_indicator());
        (vid, pcp, dei, v.ether_type().0, v.payload_slice())
    }

    #[test]
    fn vlan_tag_matches_etherparse() {
        let mut b = tagged(100);
        // PCP 5, DEI 1 around the VID, to see set_vlan keep them.
        b[14] |= 0xb0;
        let v = Ethernet::new_checked(&b[..]).unwrap();
        let (vid, pcp, dei, ty, payload) = etherparse_vlan(&b);
        let tci = v.vlan_tci().unwrap();
        assert_eq!((v.vlan(), (tci >> 13) as u8, tci & 0x1000 != 0), (Some(vid), pcp, dei));
        assert_eq!((vid, pcp, dei), (100, 5, true));
        assert_eq!((v.ethertype(), v.payload()), (ty, payload));
        assert_eq!((v.is_tagged(), v.header_len(), v.payload()[0]), (true, VLAN_HDR_LEN, 0x45));
        let mut m = Ethernet::new_checked(&mut b[..]).unwrap();
        assert!(m.set_vlan(0xfff7));
        m.set_ethertype(0x86dd);
        assert_eq!(m.payload_mut().len(), b.len() - VLAN_HDR_LEN);
        let v = Ethernet::new_checked(&b[..]).unwrap();
        assert_eq!((v.vlan(), v.vlan_tci(), v.ethertype()), (Some(0xff7), Some(0xbff7), 0x86dd));
        assert_eq!(&b[12..14], &[0x81, 0x00], "the TPID is left alone");
    }

    #[test]
    fn every_truncation_is_refused() {
        let b = tagged(7);
        for n in 0..b.len() {
            let r = Ethernet::new_checked(&b[..n]);
            assert_eq!(r.is_ok(), n >= VLAN_HDR_LEN, "length {n}");
        }
    }

    #[test]
    fn emit_writes_an_untagged_header() {
        let mut b = [0xeeu8; 16];
        b[12..14].copy_from_slice(&TPID_8021Q.to_be_bytes());
        let e = Ethernet::emit(&mut b[..], [0xff; 6], [2, 0, 0, 0, 0, 1], 0x0806).unwrap();
        assert_eq!((e.is_tagged(), e.header_len(), e.payload().len()), (false, 14, 2));
        let (p, _) = Ethernet2Header::from_slice(&b).unwrap();
        assert_eq!((p.destination, p.source, p.ether_type), ([0xff; 6], [2, 0, 0, 0, 0, 1], EtherType::ARP));
        assert_eq!(&b[14..], &[0xee, 0xee]);
        assert_eq!(Ethernet::emit(&mut b[..13], [0; 6], [0; 6], 1).unwrap_err(), DropReason::EthTruncated);
    }
}
