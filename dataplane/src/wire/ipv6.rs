//! IPv6 header view (RFC 8200) and its extension-header walk.

use super::{rd16, rd32, wr16, wr32, DropReason, Field};
use crate::packet::csum;

mod field {
    use super::Field;
    /// Version (4 bits), traffic class (8), flow label (20).
    pub const VER_TC_FL: Field = 0..4;
    pub const PAYLOAD_LEN: Field = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Field = 8..24;
    pub const DST: Field = 24..40;
}

/// Fields of an extension header, from its start.
mod ext {
    use super::Field;
    pub const NEXT_HEADER: usize = 0;
    /// Length in 8-byte units, not counting the first 8 (not in a fragment header).
    pub const LEN: usize = 1;
    /// Fragment offset (13 bits, 8-byte units), 2 reserved bits, M.
    pub const FRAG_OFF_M: Field = 2..4;
    pub const FRAG_IDENT: Field = 4..8;
    pub const FRAG_LEN: usize = FRAG_IDENT.end;
}

/// The fixed header's length.
pub const HDR_LEN: usize = field::DST.end;
pub const NH_HOP_BY_HOP: u8 = 0;
pub const NH_TCP: u8 = 6;
pub const NH_UDP: u8 = 17;
pub const NH_ROUTING: u8 = 43;
pub const NH_FRAGMENT: u8 = 44;
pub const NH_ICMPV6: u8 = 58;
pub const NH_NONE: u8 = 59;
pub const NH_DEST_OPTS: u8 = 60;
/// Extension headers [`Ipv6::upper_layer`] walks before it gives up: a
/// real chain has at most 4 or 5 (RFC 8200 4.1 order), a longer one is
/// made to burn cycles or hide the upper layer from filters (RFC 7112).
pub const MAX_EXT: usize = 8;

/// An IPv6 address, in network order.
pub type Addr6 = [u8; 16];

fn check_header(b: &[u8]) -> Result<(), DropReason> {
    if b.len() < HDR_LEN {
        return Err(DropReason::Ip6Truncated);
    }
    if b[0] >> 4 != 6 {
        return Err(DropReason::Ip6BadVersion);
    }
    Ok(())
}

/// The sum of the IPv6 pseudo-header (RFC 8200 8.1) for an upper-layer
/// packet of `len` bytes, unfolded: the `init` of [`csum::sum`] over that
/// packet, for TCP, UDP and ICMPv6 alike.
pub fn pseudo_sum(src: &Addr6, dst: &Addr6, next_header: u8, len: usize) -> u32 {
    let l = (len as u32).to_be_bytes();
    let tail = [l[0], l[1], l[2], l[3], 0, 0, 0, next_header];
    csum::sum(&tail, csum::sum(dst, csum::sum(src, 0)))
}

/// The checksum field value for an upper-layer packet over IPv6 (`data`
/// with its checksum field zeroed).
pub fn upper_checksum(src: &Addr6, dst: &Addr6, next_header: u8, data: &[u8]) -> u16 {
    !csum::fold(csum::sum(data, pseudo_sum(src, dst, next_header, data.len())))
}

/// A fragment header's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frag {
    /// Offset of this fragment's data in 8-byte units.
    pub offset: u16,
    /// More fragments follow.
    pub more: bool,
    pub ident: u32,
}

impl Frag {
    /// The first fragment: the one holding the upper-layer header.
    pub fn is_first(&self) -> bool {
        self.offset == 0
    }

    /// Offset 0 and no more fragments: a whole packet in a fragment
    /// header, processed as unfragmented (RFC 6946).
    pub fn is_atomic(&self) -> bool {
        self.offset == 0 && !self.more
    }
}

/// Where the extension headers end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer {
    /// The upper-layer protocol (TCP, UDP, ICMPv6, NH_NONE, or one we do
    /// not walk, such as AH or ESP). In a later fragment, the first header
    /// of the fragmentable part, whose bytes are not here.
    pub proto: u8,
    /// Where it starts, from the start of [`Ipv6::payload`] (at most its
    /// length).
    pub offset: usize,
    /// The fragment header, if the chain had one.
    pub frag: Option<Frag>,
}

impl UpperLayer {
    /// The upper-layer header is in this packet: no fragment header, or
    /// the first fragment.
    pub fn has_header(&self) -> bool {
        !matches!(self.frag, Some(f) if !f.is_first())
    }
}

/// An IPv6 packet: the buffer starts at the IPv6 header and holds at
/// least 40 + payload length bytes (Ethernet padding after them allowed).
/// Jumbograms (payload length 0 with a hop-by-hop jumbo option) are not
/// supported: their payload is taken to be empty.
#[derive(Debug, Clone, Copy)]
pub struct Ipv6<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ipv6<T> {
    /// Version 6, 40 bytes, and the payload length within the buffer.
    pub fn new_checked(buf: T) -> Result<Self, DropReason> {
        check_header(buf.as_ref())?;
        if HDR_LEN + rd16(buf.as_ref(), field::PAYLOAD_LEN) as usize > buf.as_ref().len() {
            return Err(DropReason::Ip6BadLen);
        }
        Ok(Ipv6 { buf })
    }

    /// The header of a packet quoted in an ICMPv6 error: version 6 and 40
    /// bytes, but the quote may end before the payload length says
    /// ([`Ipv6::packet`] and [`Ipv6::payload`] stop at the buffer's end).
    pub fn new_checked_quoted(buf: T) -> Result<Self, DropReason> {
        check_header(buf.as_ref())?;
        Ok(Ipv6 { buf })
    }

    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    fn end(&self) -> usize {
        (HDR_LEN + self.payload_len()).min(self.b().len())
    }

    pub fn traffic_class(&self) -> u8 {
        (rd32(self.b(), field::VER_TC_FL) >> 20) as u8
    }

    pub fn flow_label(&self) -> u32 {
        rd32(self.b(), field::VER_TC_FL) & 0xf_ffff
    }

    /// Length of what follows the fixed header (extension headers included).
    pub fn payload_len(&self) -> usize {
        rd16(self.b(), field::PAYLOAD_LEN) as usize
    }

    /// The first header after the fixed one.
    pub fn next_header(&self) -> u8 {
        self.b()[field::NEXT_HEADER]
    }

    pub fn hop_limit(&self) -> u8 {
        self.b()[field::HOP_LIMIT]
    }

    pub fn src(&self) -> Addr6 {
        std::array::from_fn(|i| self.b()[field::SRC.start + i])
    }

    pub fn dst(&self) -> Addr6 {
        std::array::from_fn(|i| self.b()[field::DST.start + i])
    }

    pub fn header(&self) -> &[u8] {
        &self.b()[..HDR_LEN]
    }

    /// The packet up to its payload length (without Ethernet padding).
    pub fn packet(&self) -> &[u8] {
        &self.b()[..self.end()]
    }

    /// Extension headers and upper layer, up to the payload length.
    pub fn payload(&self) -> &[u8] {
        &self.b()[HDR_LEN..self.end()]
    }

    /// Walk the extension headers (hop-by-hop, routing, destination
    /// options, fragment) to the upper layer, at most [`MAX_EXT`] of them.
    /// A later fragment stops the walk at its fragment header: what
    /// follows is data, not headers. Hop-by-hop other than first, a second
    /// fragment header, or a header cut short is `Ip6BadExt`; a longer
    /// chain `Ip6ExtLimit`.
    pub fn upper_layer(&self) -> Result<UpperLayer, DropReason> {
        let p = self.payload();
        let mut up = UpperLayer { proto: self.next_header(), offset: 0, frag: None };
        for i in 0..=MAX_EXT {
            let len = match up.proto {
                NH_HOP_BY_HOP if i > 0 => return Err(DropReason::Ip6BadExt),
                NH_HOP_BY_HOP | NH_ROUTING | NH_DEST_OPTS => match p.get(up.offset + ext::LEN) {
                    Some(l) => (*l as usize + 1) * 8,
                    None => return Err(DropReason::Ip6BadExt),
                },
                NH_FRAGMENT if up.frag.is_some() => return Err(DropReason::Ip6BadExt),
                NH_FRAGMENT => ext::FRAG_LEN,
                _ => return Ok(up),
            };
            if i == MAX_EXT {
                break;
            }
            let Some(h) = p.get(up.offset..up.offset + len) else { return Err(DropReason::Ip6BadExt) };
            let next = h[ext::NEXT_HEADER];
            if up.proto == NH_FRAGMENT {
                let om = rd16(h, ext::FRAG_OFF_M);
                let f = Frag { offset: om >> 3, more: om & 1 != 0, ident: rd32(h, ext::FRAG_IDENT) };
                up.frag = Some(f);
                if !f.is_first() {
                    return Ok(UpperLayer { proto: next, offset: up.offset + len, frag: up.frag });
                }
            }
            up.proto = next;
            up.offset += len;
        }
        Err(DropReason::Ip6ExtLimit)
    }

    /// The upper-layer bytes (`up` from [`Ipv6::upper_layer`] of this
    /// packet; empty for an offset past the payload).
    pub fn upper_payload(&self, up: &UpperLayer) -> &[u8] {
        self.payload().get(up.offset..).unwrap_or(&[])
    }

    /// The pseudo-header sum for an upper-layer packet of `len` bytes.
    pub fn pseudo_sum(&self, next_header: u8, len: usize) -> u32 {
        pseudo_sum(&self.src(), &self.dst(), next_header, len)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buf.as_mut()
    }

    /// Replace the source address; returns the old one (for the upper
    /// layer's pseudo-header: IPv6 has no header checksum).
    pub fn set_src(&mut self, a: Addr6) -> Addr6 {
        let old = self.src();
        self.m()[field::SRC].copy_from_slice(&a);
        old
    }

    /// Replace the destination address; returns the old one.
    pub fn set_dst(&mut self, a: Addr6) -> Addr6 {
        let old = self.dst();
        self.m()[field::DST].copy_from_slice(&a);
        old
    }

    pub fn set_hop_limit(&mut self, h: u8) {
        self.m()[field::HOP_LIMIT] = h;
    }

    /// Decrement the hop limit (the caller checked it is above 1).
    pub fn dec_hop_limit(&mut self) {
        let h = self.hop_limit().saturating_sub(1);
        self.set_hop_limit(h);
    }

    pub fn set_traffic_class(&mut self, tc: u8) {
        let w = rd32(self.b(), field::VER_TC_FL);
        wr32(self.m(), field::VER_TC_FL, (w & 0xf00f_ffff) | (tc as u32) << 20);
    }

    pub fn set_flow_label(&mut self, fl: u32) {
        let w = rd32(self.b(), field::VER_TC_FL);
        wr32(self.m(), field::VER_TC_FL, (w & 0xfff0_0000) | (fl & 0xf_ffff));
    }

    pub fn set_next_header(&mut self, nh: u8) {
        self.m()[field::NEXT_HEADER] = nh;
    }

    /// Set the payload length. The buffer must already hold 40 + `n`
    /// bytes; the caller resizes it first (or refuses).
    pub fn set_payload_len(&mut self, n: u16) -> bool {
        if HDR_LEN + n as usize > self.b().len() {
            return false;
        }
        wr16(self.m(), field::PAYLOAD_LEN, n);
        true
    }

    /// Extension headers and upper layer, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let t = self.end();
        &mut self.m()[HDR_LEN..t]
    }

    /// The upper-layer bytes, writable (see [`Ipv6::upper_payload`]).
    pub fn upper_payload_mut(&mut self, up: &UpperLayer) -> &mut [u8] {
        self.payload_mut().get_mut(up.offset..).unwrap_or(&mut [])
    }
}

#[cfg(test)]
#[path = "ipv6_tests.rs"]
mod tests;
