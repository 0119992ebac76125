//! TCP/UDP/SCTP header access: the one L4 gate of the packet path.

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

/// What the data path reads of a TCP, UDP or SCTP header, validated once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L4Hdr {
    pub sport: u16,
    pub dport: u16,
    /// TCP flags (0 for UDP); for SCTP the [`crate::conn::sctp::Event`]
    /// of its deciding chunk, which drives the state machine as TCP's
    /// flags do.
    pub flags: u8,
    /// Header length: TCP data offset × 4, 8 for UDP, 12 for SCTP.
    pub hdr_len: usize,
}

/// Validate the TCP/UDP header at `l4` of a segment of `seg_len` bytes
/// (the IP payload; the buffer holds at least `l4 + seg_len` bytes). After
/// this, every mode may read and rewrite the header and its options
/// without further length checks: TCP's data offset is 5..=15 words and
/// within the segment, UDP's length is at least 8 and within the datagram,
/// SCTP has its common header and a first chunk within the packet.
#[inline]
pub fn check(b: &[u8], l4: usize, seg_len: usize, proto: u8) -> Result<L4Hdr, crate::drop::DropReason> {
    let seg = b.get(l4..l4 + seg_len).ok_or(crate::drop::DropReason::L4Truncated)?;
    let v = crate::wire::L4::new_checked(seg, proto)?;
    let flags = match v.sctp() {
        Some(s) => crate::conn::sctp::Event::of_chunk(s.deciding_chunk()) as u8,
        None => v.flags(),
    };
    Ok(L4Hdr { sport: v.src_port(), dport: v.dst_port(), flags, hdr_len: v.hdr_len() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drop::DropReason;
    use crate::packet::ipv4::{PROTO_TCP, PROTO_UDP};
    use crate::packet::put16;

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
