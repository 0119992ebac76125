//! The start of a TCP, UDP or SCTP header quoted in an ICMP error: only
//! the ports and the checksum, which is all a NAT rewrites there. (An
//! SCTP quote's CRC32c covers the whole packet, rarely quoted whole: it
//! is left as it is, as IPVS leaves it.)

use super::l4::field;
use super::{rd16, wr16, DropReason, Field};
use crate::packet::csum;
use crate::packet::ipv4::{PROTO_SCTP, PROTO_TCP, PROTO_UDP};

/// The start of a TCP or UDP header quoted in an ICMP error (RFC 792
/// quotes 8 bytes, but a hostile quote may stop anywhere): the source
/// port at least; the destination port and the checksum only when the
/// quote reaches them. Nothing else is read.
#[derive(Debug, Clone, Copy)]
pub struct L4Quote<T> {
    buf: T,
    proto: u8,
}

impl<T: AsRef<[u8]>> L4Quote<T> {
    /// TCP, UDP or SCTP (else `L4Unsupported`), with the source port
    /// (else `L4Truncated`).
    pub fn new_checked(buf: T, proto: u8) -> Result<Self, DropReason> {
        if !matches!(proto, PROTO_TCP | PROTO_UDP | PROTO_SCTP) {
            return Err(DropReason::L4Unsupported);
        }
        if buf.as_ref().len() < field::SRC_PORT.end {
            return Err(DropReason::L4Truncated);
        }
        Ok(L4Quote { buf, proto })
    }

    pub fn src_port(&self) -> u16 {
        rd16(self.buf.as_ref(), field::SRC_PORT)
    }

    /// None when the quote stops before it.
    pub fn dst_port(&self) -> Option<u16> {
        let b = self.buf.as_ref();
        (b.len() >= field::DST_PORT.end).then(|| rd16(b, field::DST_PORT))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> L4Quote<T> {
    /// Replace the source port, after the quoted IP header's source
    /// address went from `old` to `new` (see [`L4Quote::set_dst`]).
    pub fn set_src(&mut self, old: u32, new: u32, port: u16) {
        self.set_end(field::SRC_PORT, old, new, port);
    }

    /// Replace the destination port, after the quoted IP header's
    /// destination address went from `old` to `new`. The quoted checksum,
    /// when the quote reaches it, follows both at once (UDP's 0 stays 0,
    /// a computed 0 is sent as 0xffff). False (nothing changed) when the
    /// quote stops before the port.
    pub fn set_dst(&mut self, old: u32, new: u32, port: u16) -> bool {
        if self.buf.as_ref().len() < field::DST_PORT.end {
            return false;
        }
        self.set_end(field::DST_PORT, old, new, port);
        true
    }

    /// `f` is within the buffer.
    fn set_end(&mut self, f: Field, old: u32, new: u32, port: u16) {
        let udp = self.proto == PROTO_UDP;
        let cf = if udp { field::UDP_CHECKSUM } else { field::TCP_CHECKSUM };
        let sctp = self.proto == PROTO_SCTP;
        let b = self.buf.as_mut();
        let old_port = rd16(b, f.clone());
        wr16(b, f, port);
        if sctp || b.len() < cf.end {
            return;
        }
        let v = rd16(b, cf.clone());
        if udp && v == 0 {
            return;
        }
        let mut c = csum::update16(csum::update32(v, old, new), old_port, port);
        if udp && c == 0 {
            c = 0xffff;
        }
        wr16(b, cf, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    /// A UDP or TCP segment's first `n` bytes, as an ICMP error quotes it.
    fn quote(tcp: bool) -> Vec<u8> {
        let mut b = Vec::new();
        let ip = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64);
        if tcp {
            ip.tcp(4000, 80, 7, 1024).write(&mut b, b"data").unwrap();
        } else {
            ip.udp(5353, 53).write(&mut b, b"data").unwrap();
        }
        b.split_off(20)
    }

    #[test]
    fn ports_and_checksum_follow_a_rewrite() {
        for tcp in [true, false] {
            let proto = if tcp { PROTO_TCP } else { PROTO_UDP };
            let mut full = quote(tcp);
            let mut v = L4Quote::new_checked(&mut full[..], proto).unwrap();
            assert_eq!((v.src_port(), v.dst_port()), if tcp { (4000, Some(80)) } else { (5353, Some(53)) });
            assert!(v.set_dst(0x0a000002, 0xc0a80001, 8080));
            v.set_src(0x0a000001, 0x0a000009, 1);
            // The same rewrite through the full view gives the same bytes.
            let mut want = quote(tcp);
            let mut l4 = crate::wire::L4::new_checked(&mut want[..], proto).unwrap();
            l4.fix_addr(0x0a000002, 0xc0a80001);
            l4.set_ports(None, Some(8080)).unwrap();
            l4.fix_addr(0x0a000001, 0x0a000009);
            l4.set_ports(Some(1), None).unwrap();
            assert_eq!(full, want, "tcp={tcp}");
        }
    }

    #[test]
    fn a_short_quote_is_rewritten_as_far_as_it_goes() {
        let b = quote(true);
        assert_eq!(L4Quote::new_checked(&b[..1], PROTO_TCP).unwrap_err(), DropReason::L4Truncated);
        assert_eq!(L4Quote::new_checked(&b[..], 1).unwrap_err(), DropReason::L4Unsupported);
        let mut short = b[..3].to_vec();
        let mut v = L4Quote::new_checked(&mut short[..], PROTO_TCP).unwrap();
        assert_eq!(v.dst_port(), None);
        assert!(!v.set_dst(1, 2, 3), "no destination port quoted");
        v.set_src(1, 2, 0x1234);
        assert_eq!(short, [0x12, 0x34, b[2]]);
        // Eight bytes: ports, but not TCP's checksum (at 16).
        let mut eight = b[..8].to_vec();
        assert!(L4Quote::new_checked(&mut eight[..], PROTO_TCP).unwrap().set_dst(1, 2, 9));
        assert_eq!(&eight[2..8], &[0, 9, b[4], b[5], b[6], b[7]]);
    }

    #[test]
    fn udp_without_checksum_stays_without() {
        let mut b = quote(false);
        b[6..8].fill(0);
        assert!(L4Quote::new_checked(&mut b[..], PROTO_UDP).unwrap().set_dst(1, 2, 3));
        assert_eq!(&b[6..8], &[0, 0]);
    }
}
