//! SCTP (RFC 9260) common header and first chunk header: what a load
//! balancer reads and rewrites of an SCTP packet.
//!
//! SCTP has no pseudo-header: its checksum is a CRC32c over the SCTP
//! packet alone (RFC 9260 6.8, Appendix A), so rewriting IP addresses
//! leaves it valid, and rewriting a port means computing it again over
//! the whole packet (a CRC has no RFC 1624-style cheap update). The
//! rewrite here first checks the CRC that arrived: the director never
//! turns a corrupted packet into one that looks whole (IPVS recomputes
//! without looking; see docs/sctp.md for the choice). Packets whose
//! ports stay unchanged are not read past the first chunk header.
//!
//! Only the first chunk is looked at (as IPVS does), plus the type of
//! the second when the first is COOKIE ECHO or COOKIE ACK: an ABORT
//! bundled behind them is what the state machine must see.

use super::{rd16, rd32, wr16, DropReason, Field};

pub(super) mod field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const VTAG: Field = 4..8;
    pub const CHECKSUM: Field = 8..12;
    pub const CHUNK_TYPE: usize = 12;
    pub const CHUNK_FLAGS: usize = 13;
    pub const CHUNK_LEN: Field = 14..16;
}

/// The common header.
pub const COMMON_HDR: usize = 12;
/// A chunk's type, flags and length.
pub const CHUNK_HDR: usize = 4;
/// The shortest SCTP packet the data path accepts: the common header
/// and one chunk header (a packet without a chunk carries nothing).
pub const MIN_LEN: usize = COMMON_HDR + CHUNK_HDR;

/// Chunk types (RFC 9260 3.2) the state machine tells apart.
pub mod chunk {
    pub const DATA: u8 = 0;
    pub const INIT: u8 = 1;
    pub const INIT_ACK: u8 = 2;
    pub const SACK: u8 = 3;
    pub const HEARTBEAT: u8 = 4;
    pub const HEARTBEAT_ACK: u8 = 5;
    pub const ABORT: u8 = 6;
    pub const SHUTDOWN: u8 = 7;
    pub const SHUTDOWN_ACK: u8 = 8;
    pub const ERROR: u8 = 9;
    pub const COOKIE_ECHO: u8 = 10;
    pub const COOKIE_ACK: u8 = 11;
    pub const SHUTDOWN_COMPLETE: u8 = 14;
}

/// An SCTP packet: the buffer is the IP payload.
#[derive(Debug, Clone, Copy)]
pub struct Sctp<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> Sctp<T> {
    /// At least the common header and a chunk header (`SctpTruncated`);
    /// the first chunk's length at least its header and within the packet
    /// (`SctpBadChunk`).
    pub fn new_checked(buf: T) -> Result<Self, DropReason> {
        let b = buf.as_ref();
        if b.len() < MIN_LEN {
            return Err(DropReason::SctpTruncated);
        }
        let clen = rd16(b, field::CHUNK_LEN) as usize;
        if clen < CHUNK_HDR || clen > b.len() - COMMON_HDR {
            return Err(DropReason::SctpBadChunk);
        }
        Ok(Sctp { buf })
    }

    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    pub fn src_port(&self) -> u16 {
        rd16(self.b(), field::SRC_PORT)
    }

    pub fn dst_port(&self) -> u16 {
        rd16(self.b(), field::DST_PORT)
    }

    pub fn verification_tag(&self) -> u32 {
        rd32(self.b(), field::VTAG)
    }

    /// The CRC32c as sent: the field holds it least significant byte
    /// first (RFC 9260 Appendix A; what Linux's `cpu_to_le32` stores).
    pub fn checksum(&self) -> u32 {
        let b = self.b();
        let f = field::CHECKSUM;
        u32::from_le_bytes([b[f.start], b[f.start + 1], b[f.start + 2], b[f.start + 3]])
    }

    pub fn chunk_type(&self) -> u8 {
        self.b()[field::CHUNK_TYPE]
    }

    pub fn chunk_flags(&self) -> u8 {
        self.b()[field::CHUNK_FLAGS]
    }

    /// The first chunk's length field (header and value, no padding).
    pub fn chunk_len(&self) -> usize {
        rd16(self.b(), field::CHUNK_LEN) as usize
    }

    /// The type of the chunk after the first (which is padded to a
    /// multiple of 4), when the packet holds one.
    pub fn second_chunk_type(&self) -> Option<u8> {
        let at = COMMON_HDR + self.chunk_len().next_multiple_of(4);
        self.b().get(at).copied()
    }

    /// The chunk that decides the state transition: the first, unless it
    /// is a COOKIE ECHO or COOKIE ACK with an ABORT bundled after it
    /// (RFC 9260 6.10: control chunks may precede an ABORT in one packet;
    /// the ABORT is what ends the association).
    pub fn deciding_chunk(&self) -> u8 {
        let t = self.chunk_type();
        if matches!(t, chunk::COOKIE_ECHO | chunk::COOKIE_ACK) && self.second_chunk_type() == Some(chunk::ABORT) {
            chunk::ABORT
        } else {
            t
        }
    }

    /// The CRC32c of the packet as it is now (its checksum field counted
    /// as zeros).
    pub fn compute_crc(&self) -> u32 {
        let b = self.b();
        let c = crc32c::crc32c(&b[..field::CHECKSUM.start]);
        let c = crc32c::crc32c_append(c, &[0; 4]);
        crc32c::crc32c_append(c, &b[field::CHECKSUM.end..])
    }

    /// The checksum field holds the packet's CRC32c.
    pub fn crc_ok(&self) -> bool {
        self.compute_crc() == self.checksum()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Sctp<T> {
    /// Replace either port or both, then write the new CRC32c. Nothing
    /// is read past the first chunk header when no port changes (an
    /// address-only NAT leaves an SCTP packet alone). When one does, the
    /// CRC that arrived is checked first: a wrong one is `SctpBadCrc` and
    /// the packet is left as it was. `Ok(true)` when something changed.
    pub fn set_ports(&mut self, src: Option<u16>, dst: Option<u16>) -> Result<bool, DropReason> {
        let src = src.filter(|&p| p != self.src_port());
        let dst = dst.filter(|&p| p != self.dst_port());
        if src.is_none() && dst.is_none() {
            return Ok(false);
        }
        if !self.crc_ok() {
            return Err(DropReason::SctpBadCrc);
        }
        let b = self.buf.as_mut();
        if let Some(p) = src {
            wr16(b, field::SRC_PORT, p);
        }
        if let Some(p) = dst {
            wr16(b, field::DST_PORT, p);
        }
        self.fill_crc();
        Ok(true)
    }

    /// Write the packet's CRC32c into its checksum field.
    pub fn fill_crc(&mut self) {
        let c = self.compute_crc();
        self.buf.as_mut()[field::CHECKSUM].copy_from_slice(&c.to_le_bytes());
    }
}

#[cfg(test)]
pub(crate) mod build {
    //! Crafted SCTP packets for tests (no SCTP socket in the lab kernel).

    use super::*;

    /// An SCTP packet: common header, then `chunks` (type, flags, value),
    /// each padded to 4 bytes; the CRC32c filled in.
    pub fn packet(sport: u16, dport: u16, vtag: u32, chunks: &[(u8, u8, &[u8])]) -> Vec<u8> {
        let mut b = Vec::with_capacity(64);
        b.extend_from_slice(&sport.to_be_bytes());
        b.extend_from_slice(&dport.to_be_bytes());
        b.extend_from_slice(&vtag.to_be_bytes());
        b.extend_from_slice(&[0; 4]);
        for (ty, fl, v) in chunks {
            b.push(*ty);
            b.push(*fl);
            b.extend_from_slice(&((CHUNK_HDR + v.len()) as u16).to_be_bytes());
            b.extend_from_slice(v);
            b.resize(b.len().next_multiple_of(4), 0);
        }
        let crc = crc32c::crc32c(&b);
        b[8..12].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// The INIT chunk's value: initiate tag, a_rwnd, streams, initial TSN.
    pub fn init_value(itag: u32) -> [u8; 16] {
        let mut v = [0u8; 16];
        v[..4].copy_from_slice(&itag.to_be_bytes());
        v[4..8].copy_from_slice(&65535u32.to_be_bytes());
        v[8..10].copy_from_slice(&10u16.to_be_bytes());
        v[10..12].copy_from_slice(&10u16.to_be_bytes());
        v[12..16].copy_from_slice(&1u32.to_be_bytes());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    #[test]
    fn crc32c_matches_the_rfc_3720_vector_and_sits_little_endian() {
        // RFC 3720 B.4: 32 bytes of zeros have CRC32c 0x8a9136aa, sent
        // as aa 36 91 8a.
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8a91_36aa);
        let mut z = [0u8; 32];
        z[14..16].copy_from_slice(&4u16.to_be_bytes());
        let mut s = Sctp::new_checked(&mut z[..]).unwrap();
        s.fill_crc();
        assert!(s.crc_ok());
    }

    #[test]
    fn an_init_matches_an_independent_encoder_byte_for_byte() {
        // The same INIT as encoded by scapy (its own CRC32c): pins the
        // field's byte order.
        let want = "9c400f1c01020304e4bce00601000014000000070000ffff000a000a00000001";
        let b = packet(40000, 3868, 0x0102_0304, &[(chunk::INIT, 0, &init_value(7))]);
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(hex, want);
        assert_eq!(Sctp::new_checked(&b[..]).unwrap().checksum(), 0x06e0_bce4);
    }

    #[test]
    fn accessors() {
        let b = packet(40000, 3868, 0xdead_beef, &[(chunk::INIT, 0, &init_value(7))]);
        let s = Sctp::new_checked(&b[..]).unwrap();
        assert_eq!((s.src_port(), s.dst_port(), s.verification_tag()), (40000, 3868, 0xdead_beef));
        assert_eq!((s.chunk_type(), s.chunk_flags(), s.chunk_len()), (chunk::INIT, 0, 20));
        assert_eq!((s.second_chunk_type(), s.deciding_chunk()), (None, chunk::INIT));
        assert!(s.crc_ok());
        assert_eq!(
            s.checksum(),
            crc32c::crc32c(&{
                let mut z = b.clone();
                z[8..12].fill(0);
                z
            })
        );
    }

    #[test]
    fn an_abort_behind_a_cookie_decides() {
        for first in [chunk::COOKIE_ECHO, chunk::COOKIE_ACK] {
            // A 5-byte cookie: padded to 8 before the ABORT.
            let b = packet(1, 2, 3, &[(first, 0, &[1, 2, 3, 4, 5]), (chunk::ABORT, 0, &[])]);
            let s = Sctp::new_checked(&b[..]).unwrap();
            assert_eq!((s.second_chunk_type(), s.deciding_chunk()), (Some(chunk::ABORT), chunk::ABORT));
        }
        let b = packet(1, 2, 3, &[(chunk::DATA, 0, &[1]), (chunk::ABORT, 0, &[])]);
        assert_eq!(Sctp::new_checked(&b[..]).unwrap().deciding_chunk(), chunk::DATA, "only after a cookie");
        let b = packet(1, 2, 3, &[(chunk::COOKIE_ACK, 0, &[]), (chunk::SACK, 0, &[0; 12])]);
        assert_eq!(Sctp::new_checked(&b[..]).unwrap().deciding_chunk(), chunk::COOKIE_ACK);
    }

    #[test]
    fn the_gate_names_each_defect() {
        let b = packet(1, 2, 3, &[(chunk::DATA, 0, &[9; 8])]);
        for n in 0..MIN_LEN {
            assert_eq!(Sctp::new_checked(&b[..n]).unwrap_err(), DropReason::SctpTruncated, "{n} bytes");
        }
        // The chunk says 12 bytes; cut the packet to 12 + 11.
        assert_eq!(Sctp::new_checked(&b[..23]).unwrap_err(), DropReason::SctpBadChunk);
        assert!(Sctp::new_checked(&b[..24]).is_ok());
        for clen in [0u16, 1, 3] {
            let mut v = b.clone();
            v[14..16].copy_from_slice(&clen.to_be_bytes());
            assert_eq!(Sctp::new_checked(&v[..]).unwrap_err(), DropReason::SctpBadChunk, "len {clen}");
        }
    }

    #[test]
    fn port_rewrites_keep_the_crc_and_refuse_a_bad_one() {
        let mut b = packet(40000, 3868, 9, &[(chunk::DATA, 3, b"diameter request")]);
        let mut s = Sctp::new_checked(&mut b[..]).unwrap();
        assert_eq!(s.set_ports(Some(40000), Some(3868)), Ok(false), "unchanged ports: untouched");
        assert_eq!(s.set_ports(Some(5001), Some(3869)), Ok(true));
        assert!(s.crc_ok());
        assert_eq!((s.src_port(), s.dst_port()), (5001, 3869));
        assert_eq!(s.set_ports(None, Some(1)), Ok(true));
        assert!(s.crc_ok());
        // A corrupted byte: the rewrite refuses and changes nothing.
        b[20] ^= 1;
        let before = b.clone();
        let mut s = Sctp::new_checked(&mut b[..]).unwrap();
        assert_eq!(s.set_ports(Some(7), None), Err(DropReason::SctpBadCrc));
        assert_eq!(b, before);
        // ... unless no port changes: then nothing is read or written.
        let mut s = Sctp::new_checked(&mut b[..]).unwrap();
        assert_eq!(s.set_ports(Some(5001), None), Ok(false));
        assert_eq!(b, before);
    }
}
