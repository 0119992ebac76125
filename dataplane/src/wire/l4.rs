//! TCP (RFC 9293), UDP (RFC 768) and SCTP (RFC 9260) header views. The
//! three share what a load balancer touches — ports and a checksum — so
//! one view serves them all, knowing its protocol, over IPv4 or IPv6
//! alike: only the pseudo-header differs ([`L4::fix_addr`] /
//! [`L4::fix_addr6`]). SCTP has none (its CRC32c covers the SCTP packet
//! alone, see [`super::sctp`]): address changes leave it as it is, and
//! [`L4::set_ports`] computes it again when a port changes.

use super::ipv6::{self, Addr6};
use super::sctp::{self, Sctp};
use super::{rd16, wr16, DropReason, Field};
use crate::packet::csum;
use crate::packet::ipv4::{PROTO_SCTP, PROTO_TCP, PROTO_UDP};

/// Also the quoted header's ([`super::L4Quote`]).
pub(super) mod field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const UDP_LEN: Field = 4..6;
    pub const UDP_CHECKSUM: Field = 6..8;
    pub const TCP_SEQ: Field = 4..8;
    pub const TCP_ACK: Field = 8..12;
    pub const TCP_DOFF: usize = 12;
    pub const TCP_FLAGS: usize = 13;
    pub const TCP_CHECKSUM: Field = 16..18;
}

pub const TCP_MIN_HDR: usize = 20;
pub const TCP_MAX_HDR: usize = 60;
pub const UDP_HDR: usize = 8;

/// A UDP header the director builds (GUE's outer UDP), sent without a
/// checksum (0: allowed over IPv4, RFC 768; RFC 6935's rationale for
/// tunnels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRepr {
    pub src_port: u16,
    pub dst_port: u16,
    /// Header and data.
    pub len: u16,
}

impl UdpRepr {
    /// Write the 8-byte header at the start of `buf`. `L4Truncated` when
    /// `buf` cannot hold it.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), DropReason> {
        let h = buf.get_mut(..UDP_HDR).ok_or(DropReason::L4Truncated)?;
        wr16(h, field::SRC_PORT, self.src_port);
        wr16(h, field::DST_PORT, self.dst_port);
        wr16(h, field::UDP_LEN, self.len);
        wr16(h, field::UDP_CHECKSUM, 0);
        Ok(())
    }
}

/// A TCP segment, UDP datagram or SCTP packet: the buffer is the IP
/// payload.
#[derive(Debug, Clone, Copy)]
pub struct L4<T> {
    buf: T,
    proto: u8,
}

impl<T: AsRef<[u8]>> L4<T> {
    /// TCP: at least 20 bytes, data offset 5..=15 words within the
    /// segment. UDP: at least 8 bytes, length field 8..=the datagram.
    /// SCTP: the common header and a first chunk within the packet
    /// ([`Sctp::new_checked`]). Any other protocol is `L4Unsupported`.
    #[inline]
    pub fn new_checked(buf: T, proto: u8) -> Result<Self, DropReason> {
        let b = buf.as_ref();
        match proto {
            PROTO_TCP => {
                if b.len() < TCP_MIN_HDR {
                    return Err(DropReason::L4Truncated);
                }
                let doff = ((b[field::TCP_DOFF] >> 4) as usize) * 4;
                if doff < TCP_MIN_HDR || doff > b.len() {
                    return Err(DropReason::TcpBadDoff);
                }
            }
            PROTO_UDP => {
                if b.len() < UDP_HDR {
                    return Err(DropReason::L4Truncated);
                }
                let ulen = rd16(b, field::UDP_LEN) as usize;
                if ulen < UDP_HDR || ulen > b.len() {
                    return Err(DropReason::UdpBadLen);
                }
            }
            PROTO_SCTP => {
                Sctp::new_checked(b)?;
            }
            _ => return Err(DropReason::L4Unsupported),
        }
        Ok(L4 { buf, proto })
    }

    /// The same over IPv6 (the upper-layer bytes of [`super::Ipv6`]),
    /// where UDP without a checksum (0) is not allowed (RFC 8200 8.1):
    /// `Udp6ZeroCsum`. A view from [`L4::new_checked`] over IPv6 would
    /// leave a zero checksum at 0 through rewrites, which is right for
    /// IPv4 only.
    #[inline]
    pub fn new_checked6(buf: T, proto: u8) -> Result<Self, DropReason> {
        let v = Self::new_checked(buf, proto)?;
        if v.udp_without_checksum() {
            return Err(DropReason::Udp6ZeroCsum);
        }
        Ok(v)
    }

    #[inline]
    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    /// The bytes the checksum covers: the segment or SCTP packet, or the
    /// datagram up to its length field (without IP payload bytes after
    /// it).
    #[inline]
    pub fn segment(&self) -> &[u8] {
        if self.proto == PROTO_UDP {
            &self.b()[..rd16(self.b(), field::UDP_LEN) as usize]
        } else {
            self.b()
        }
    }

    /// A UDP datagram sent without a checksum (0: allowed over IPv4 only).
    #[inline]
    pub fn udp_without_checksum(&self) -> bool {
        self.proto == PROTO_UDP && self.checksum() == 0
    }

    /// The SCTP view of an SCTP packet (chunk type, verification tag,
    /// CRC32c); `None` for TCP and UDP.
    #[inline]
    pub fn sctp(&self) -> Option<Sctp<&[u8]>> {
        if self.proto == PROTO_SCTP {
            Sctp::new_checked(self.b()).ok()
        } else {
            None
        }
    }

    /// The checksum over the IPv4 pseudo-header is right (UDP without a
    /// checksum passes: RFC 768; SCTP's CRC32c has no pseudo-header).
    #[inline]
    pub fn checksum_ok4(&self, src: u32, dst: u32) -> bool {
        if let Some(s) = self.sctp() {
            return s.crc_ok();
        }
        if self.udp_without_checksum() {
            return true;
        }
        let c = self.segment();
        let pseudo = csum::pseudo_v4(src.to_be_bytes(), dst.to_be_bytes(), self.proto, c.len() as u16);
        csum::fold(csum::sum(c, pseudo)) == 0xffff
    }

    /// The checksum over the IPv6 pseudo-header is right (UDP without a
    /// checksum fails: RFC 8200 8.1; SCTP's CRC32c has no pseudo-header).
    #[inline]
    pub fn checksum_ok6(&self, src: &Addr6, dst: &Addr6) -> bool {
        if let Some(s) = self.sctp() {
            return s.crc_ok();
        }
        if self.udp_without_checksum() {
            return false;
        }
        let c = self.segment();
        csum::fold(csum::sum(c, ipv6::pseudo_sum(src, dst, self.proto, c.len()))) == 0xffff
    }

    #[inline]
    pub fn proto(&self) -> u8 {
        self.proto
    }

    #[inline]
    pub fn is_tcp(&self) -> bool {
        self.proto == PROTO_TCP
    }

    #[inline]
    pub fn is_sctp(&self) -> bool {
        self.proto == PROTO_SCTP
    }

    #[inline]
    pub fn src_port(&self) -> u16 {
        rd16(self.b(), field::SRC_PORT)
    }

    #[inline]
    pub fn dst_port(&self) -> u16 {
        rd16(self.b(), field::DST_PORT)
    }

    /// TCP flags; 0 for UDP and SCTP.
    #[inline]
    pub fn flags(&self) -> u8 {
        if self.is_tcp() {
            self.b()[field::TCP_FLAGS]
        } else {
            0
        }
    }

    /// TCP data offset × 4, UDP's 8, or SCTP's common header (12).
    #[inline]
    pub fn hdr_len(&self) -> usize {
        match self.proto {
            PROTO_TCP => ((self.b()[field::TCP_DOFF] >> 4) as usize) * 4,
            PROTO_SCTP => sctp::COMMON_HDR,
            _ => UDP_HDR,
        }
    }

    /// The 16-bit checksum field (TCP, UDP); empty for SCTP.
    #[inline]
    fn csum_field(&self) -> Field {
        match self.proto {
            PROTO_TCP => field::TCP_CHECKSUM,
            PROTO_SCTP => 0..0,
            _ => field::UDP_CHECKSUM,
        }
    }

    /// TCP's or UDP's checksum; 0 for SCTP (its CRC32c is
    /// [`Sctp::checksum`], through [`L4::sctp`]).
    #[inline]
    pub fn checksum(&self) -> u16 {
        let f = self.csum_field();
        if f.is_empty() {
            0
        } else {
            rd16(self.b(), f)
        }
    }

    /// The whole header, options included.
    #[inline]
    pub fn header(&self) -> &[u8] {
        &self.b()[..self.hdr_len()]
    }

    /// TCP options (empty for UDP).
    #[inline]
    pub fn options(&self) -> &[u8] {
        if self.is_tcp() {
            &self.b()[TCP_MIN_HDR..self.hdr_len()]
        } else {
            &[]
        }
    }

    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.hdr_len()..]
    }

    /// TCP sequence number (0 for UDP).
    #[inline]
    pub fn seq(&self) -> u32 {
        self.tcp_word(field::TCP_SEQ)
    }

    /// TCP acknowledgment number (0 for UDP).
    #[inline]
    pub fn ack(&self) -> u32 {
        self.tcp_word(field::TCP_ACK)
    }

    #[inline]
    fn tcp_word(&self, f: Field) -> u32 {
        match self.b().first_chunk::<TCP_MIN_HDR>() {
            Some(h) if self.is_tcp() => {
                u32::from_be_bytes([h[f.start], h[f.start + 1], h[f.start + 2], h[f.start + 3]])
            }
            _ => 0,
        }
    }

    /// Unfolded sum of the header with its checksum field counted as 0:
    /// what [`L4::fix_checksum`] needs before and after a header rewrite.
    #[inline]
    pub fn header_sum(&self) -> u32 {
        let (h, f) = (self.header(), self.csum_field());
        csum::sum(&h[..f.start], csum::sum(&h[f.end..], 0))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> L4<T> {
    #[inline]
    fn m(&mut self) -> &mut [u8] {
        self.buf.as_mut()
    }

    /// Write a new checksum computed by `f` from the old one. UDP's "no
    /// checksum" (0) stays 0, and a computed 0 is sent as 0xffff. SCTP
    /// has no 16-bit checksum and no pseudo-header: nothing to do.
    #[inline]
    fn update_checksum(&mut self, f: impl FnOnce(u16) -> u16) {
        if self.is_sctp() {
            return;
        }
        // The gate proved TCP's 20 bytes or UDP's 8: one length check
        // here, none per field.
        let tcp = self.is_tcp();
        let b = self.m();
        if tcp {
            let Some(h) = b.first_chunk_mut::<TCP_MIN_HDR>() else { return };
            let c = f(rd16(h, field::TCP_CHECKSUM));
            wr16(h, field::TCP_CHECKSUM, c);
        } else {
            let Some(h) = b.first_chunk_mut::<UDP_HDR>() else { return };
            let old = rd16(h, field::UDP_CHECKSUM);
            if old == 0 {
                return;
            }
            let c = f(old);
            wr16(h, field::UDP_CHECKSUM, if c == 0 { 0xffff } else { c });
        }
    }

    /// The IP address `old` in the pseudo-header became `new`.
    #[inline]
    pub fn fix_addr(&mut self, old: u32, new: u32) {
        self.update_checksum(|c| csum::update32(c, old, new));
    }

    /// The IPv6 address `old` in the pseudo-header became `new`: RFC 1624
    /// over its eight 16-bit words at once.
    #[inline]
    pub fn fix_addr6(&mut self, old: &Addr6, new: &Addr6) {
        let (o, n) = (csum::sum(old, 0), csum::sum(new, 0));
        self.update_checksum(|c| csum::update_sum(c, o, n));
    }

    /// Covered bytes changed from summing to `old` to summing to `new`
    /// (unfolded sums at the same 16-bit alignment, e.g. two
    /// [`L4::header_sum`]s around [`L4::options_mut`] and
    /// [`L4::set_hdr_len`]). An error in the checksum survives.
    #[inline]
    pub fn fix_checksum(&mut self, old: u32, new: u32) {
        self.update_checksum(|c| csum::update_sum(c, old, new));
    }

    /// The segment length in the pseudo-header changed (the caller grew
    /// or cut the segment).
    #[inline]
    pub fn fix_pseudo_len(&mut self, old: u16, new: u16) {
        self.update_checksum(|c| csum::update16(c, old, new));
    }

    /// TCP options, writable (empty for UDP). The checksum is the
    /// caller's: [`L4::fix_checksum`].
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let h = self.hdr_len();
        if self.is_tcp() {
            &mut self.m()[TCP_MIN_HDR..h]
        } else {
            &mut []
        }
    }

    /// Set TCP's data offset to `n` bytes, keeping the reserved bits, to
    /// take in option bytes the caller wrote after the header. False
    /// (nothing changed) for UDP, or unless `n` is a multiple of 4 in
    /// 20..=60 within the segment. The checksum is the caller's:
    /// [`L4::fix_checksum`].
    #[inline]
    pub fn set_hdr_len(&mut self, n: usize) -> bool {
        if !self.is_tcp() || !n.is_multiple_of(4) || !(TCP_MIN_HDR..=TCP_MAX_HDR).contains(&n) || n > self.b().len() {
            return false;
        }
        let b = self.m();
        b[field::TCP_DOFF] = (b[field::TCP_DOFF] & 0x0f) | (((n / 4) as u8) << 4);
        true
    }

    /// Set TCP's sequence number, checksum updated (RFC 1624); no-op
    /// for UDP.
    #[inline]
    pub fn set_seq(&mut self, v: u32) {
        self.set_tcp_word(field::TCP_SEQ, v);
    }

    /// Set TCP's acknowledgment number, checksum updated; no-op for UDP.
    #[inline]
    pub fn set_ack(&mut self, v: u32) {
        self.set_tcp_word(field::TCP_ACK, v);
    }

    /// Set TCP's flags byte, checksum updated; no-op for UDP.
    #[inline]
    pub fn set_flags(&mut self, f: u8) {
        if !self.is_tcp() {
            return;
        }
        let Some(h) = self.m().first_chunk_mut::<TCP_MIN_HDR>() else { return };
        let w = field::TCP_DOFF..field::TCP_FLAGS + 1;
        let old = rd16(h, w.clone());
        h[field::TCP_FLAGS] = f;
        let new = rd16(h, w);
        self.update_checksum(|c| csum::update16(c, old, new));
    }

    #[inline]
    fn set_tcp_word(&mut self, f: Field, v: u32) {
        if !self.is_tcp() {
            return;
        }
        let Some(h) = self.m().first_chunk_mut::<TCP_MIN_HDR>() else { return };
        let old = u32::from_be_bytes([h[f.start], h[f.start + 1], h[f.start + 2], h[f.start + 3]]);
        h[f].copy_from_slice(&v.to_be_bytes());
        self.update_checksum(|c| csum::update32(c, old, v));
    }

    /// Replace either port or both, the checksum kept valid: RFC 1624
    /// for TCP and UDP; for SCTP a new CRC32c, which is computed only
    /// when a port really changes and after the CRC that arrived was
    /// found right (else `SctpBadCrc`, nothing changed: see
    /// [`Sctp::set_ports`]). TCP and UDP never fail here.
    #[inline]
    pub fn set_ports(&mut self, src: Option<u16>, dst: Option<u16>) -> Result<(), DropReason> {
        if self.is_sctp() {
            return Sctp::new_checked(self.m())?.set_ports(src, dst).map(drop);
        }
        if let Some(p) = src {
            self.set_port(field::SRC_PORT, p);
        }
        if let Some(p) = dst {
            self.set_port(field::DST_PORT, p);
        }
        Ok(())
    }

    /// A NAT rewrite of TCP or UDP in one checksum update: for each side
    /// given as `(old address, new address, new port)`, the pseudo-header
    /// address changed and the port is set. The checksum is the one
    /// [`L4::fix_addr`] then [`L4::set_ports`] per side give (RFC 1624
    /// sums are associative, and every update leaves the same canonical
    /// form, never 0xffff before UDP's 0 → 0xffff), for one read and
    /// write of the field instead of four. SCTP is the caller's
    /// ([`L4::set_ports`]); here it is left alone.
    #[inline]
    pub fn nat4(&mut self, src: Option<(u32, u32, u16)>, dst: Option<(u32, u32, u16)>) {
        if self.is_sctp() {
            return;
        }
        let Some(h) = self.m().first_chunk_mut::<UDP_HDR>() else { return };
        let mut s = 0u32;
        if let Some((old, new, port)) = src {
            s += addr_delta(old, new) + port_delta(h, field::SRC_PORT, port);
        }
        if let Some((old, new, port)) = dst {
            s += addr_delta(old, new) + port_delta(h, field::DST_PORT, port);
        }
        self.update_checksum(|c| !csum::fold(u32::from(!c) + s));
    }

    /// `f` is a port field (within UDP's 8 bytes).
    #[inline]
    fn set_port(&mut self, f: Field, new: u16) {
        let Some(h) = self.m().first_chunk_mut::<UDP_HDR>() else { return };
        let old = rd16(h, f.clone());
        if old == new {
            return;
        }
        wr16(h, f, new);
        self.update_checksum(|c| csum::update16(c, old, new));
    }
}

/// RFC 1624 terms (unfolded) of a 32-bit field changing `old` → `new`.
#[inline(always)]
fn addr_delta(old: u32, new: u32) -> u32 {
    u32::from(!(old >> 16) as u16) + u32::from(!(old as u16)) + (new >> 16) + (new & 0xffff)
}

/// Set port field `f` of `h` to `port`; the RFC 1624 terms of the change
/// (none when it is the same, as [`L4::set_ports`] skips it).
#[inline(always)]
fn port_delta(h: &mut [u8; UDP_HDR], f: Field, port: u16) -> u32 {
    let was = rd16(h, f.clone());
    if was == port {
        return 0;
    }
    wr16(h, f, port);
    u32::from(!was) + u32::from(port)
}

#[cfg(test)]
#[path = "l4_tests.rs"]
mod tests;
