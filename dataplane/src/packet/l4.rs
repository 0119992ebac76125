//! TCP/UDP header access and checksum-preserving rewrites.

use super::{csum, get16, put16};

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

/// Offset of the checksum field inside the L4 header.
#[inline(always)]
pub fn csum_off(proto: u8) -> usize {
    if proto == super::ipv4::PROTO_TCP {
        16
    } else {
        6
    }
}

/// Minimal header length to read ports/flags.
#[inline(always)]
pub fn min_len(proto: u8) -> usize {
    if proto == super::ipv4::PROTO_TCP {
        20
    } else {
        8
    }
}

#[inline(always)]
pub fn sport(b: &[u8], l4: usize) -> u16 {
    get16(b, l4)
}

#[inline(always)]
pub fn dport(b: &[u8], l4: usize) -> u16 {
    get16(b, l4 + 2)
}

#[inline(always)]
pub fn tcp_flags(b: &[u8], l4: usize) -> u8 {
    b[l4 + 13]
}

/// Adjust the L4 checksum for an address change (pseudo-header). UDP's
/// "no checksum" (0) stays 0; a computed 0 is sent as 0xffff (RFC 768).
#[inline(always)]
pub fn fix_addr(b: &mut [u8], l4: usize, proto: u8, old: u32, new: u32) {
    let o = l4 + csum_off(proto);
    let c = get16(b, o);
    if proto == super::ipv4::PROTO_UDP && c == 0 {
        return;
    }
    let mut n = csum::update32(c, old, new);
    if proto == super::ipv4::PROTO_UDP && n == 0 {
        n = 0xffff;
    }
    put16(b, o, n);
}

/// Set a port (`which` = 0 source, 2 destination) and fix the checksum.
#[inline(always)]
pub fn set_port(b: &mut [u8], l4: usize, proto: u8, which: usize, new: u16) {
    let old = get16(b, l4 + which);
    if old == new {
        return;
    }
    put16(b, l4 + which, new);
    let o = l4 + csum_off(proto);
    let c = get16(b, o);
    if proto == super::ipv4::PROTO_UDP && c == 0 {
        return;
    }
    let mut n = csum::update16(c, old, new);
    if proto == super::ipv4::PROTO_UDP && n == 0 {
        n = 0xffff;
    }
    put16(b, o, n);
}

/// What the data path reads of a TCP or UDP header, validated once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L4Hdr {
    pub sport: u16,
    pub dport: u16,
    /// TCP flags (0 for UDP).
    pub flags: u8,
    /// Header length: TCP data offset × 4, or 8 for UDP.
    pub hdr_len: usize,
}

/// Validate the TCP/UDP header at `l4` of a segment of `seg_len` bytes
/// (the IP payload; the buffer holds at least `l4 + seg_len` bytes). After
/// this, every mode may read and rewrite the header and its options
/// without further length checks: TCP's data offset is 5..=15 words and
/// within the segment, UDP's length is at least 8 and within the datagram.
pub fn check(b: &[u8], l4: usize, seg_len: usize, proto: u8) -> Result<L4Hdr, crate::drop::DropReason> {
    use crate::drop::DropReason;
    let seg = b.get(l4..l4 + seg_len).ok_or(DropReason::L4Truncated)?;
    if seg.len() < min_len(proto) {
        return Err(DropReason::L4Truncated);
    }
    let (sport, dport) = (get16(seg, 0), get16(seg, 2));
    if proto == super::ipv4::PROTO_TCP {
        let hdr_len = ((seg[12] >> 4) as usize) * 4;
        if hdr_len < 20 || hdr_len > seg.len() {
            return Err(DropReason::TcpBadDoff);
        }
        Ok(L4Hdr { sport, dport, flags: seg[13], hdr_len })
    } else {
        let ulen = get16(seg, 4) as usize;
        if ulen < 8 || ulen > seg.len() {
            return Err(DropReason::UdpBadLen);
        }
        Ok(L4Hdr { sport, dport, flags: 0, hdr_len: 8 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drop::DropReason;
    use crate::packet::ipv4::{PROTO_TCP, PROTO_UDP};

    fn tcp_hdr(doff: u8) -> Vec<u8> {
        let mut b = vec![0u8; 20];
        put16(&mut b, 0, 1000);
        put16(&mut b, 2, 80);
        b[12] = doff << 4;
        b[13] = TCP_SYN;
        b
    }

    #[test]
    fn tcp_data_offset_must_fit() {
        let b = tcp_hdr(5);
        assert_eq!(check(&b, 0, 20, PROTO_TCP), Ok(L4Hdr { sport: 1000, dport: 80, flags: TCP_SYN, hdr_len: 20 }));
        for doff in (0..5).chain(6..16) {
            assert_eq!(check(&tcp_hdr(doff), 0, 20, PROTO_TCP), Err(DropReason::TcpBadDoff), "doff {doff}");
        }
        let mut long = tcp_hdr(15);
        long.resize(60, 0);
        assert_eq!(check(&long, 0, 60, PROTO_TCP).unwrap().hdr_len, 60);
        assert_eq!(check(&long, 0, 19, PROTO_TCP), Err(DropReason::L4Truncated));
        assert_eq!(check(&long, 0, 61, PROTO_TCP), Err(DropReason::L4Truncated), "segment past the buffer");
    }

    #[test]
    fn udp_length_must_fit() {
        let mut b = vec![0u8; 12];
        for (ulen, ok) in [(0u16, false), (7, false), (8, true), (12, true), (13, false)] {
            put16(&mut b, 4, ulen);
            let r = check(&b, 0, 12, PROTO_UDP);
            assert_eq!(r.is_ok(), ok, "ulen {ulen}");
            if !ok {
                assert_eq!(r, Err(DropReason::UdpBadLen));
            }
        }
        assert_eq!(check(&b, 0, 7, PROTO_UDP), Err(DropReason::L4Truncated));
    }
}
