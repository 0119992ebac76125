//! IPv6 headers the director builds (a tunnel's outer header, the ICMPv6
//! errors it originates) and the hop-limit decrement of forwarding.
//!
//! Reading and rewriting go through [`crate::wire::Ipv6`]; this writes the
//! one field the view cannot set (the version) and then fills the rest
//! through the view.

use crate::drop::DropReason;
use crate::wire::ipv6::{Addr6, HDR_LEN};
use crate::wire::Ipv6;

/// Version, traffic class and flow label: the first word of the header.
const VER_TC_FL: std::ops::Range<usize> = 0..4;
/// Version 6, traffic class 0, flow label 0.
const VERSION_WORD: u32 = 6 << 28;

/// The default hop limit of what the director originates (Linux's
/// `ip6_default_hoplimit`, 64, as for IPv4's TTL).
pub const DEFAULT_HOP_LIMIT: u8 = 64;

/// An IPv6 header without extension headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub traffic_class: u8,
    /// 20 bits (higher bits are ignored).
    pub flow_label: u32,
    /// What follows the 40 bytes.
    pub payload_len: u16,
    pub next_header: u8,
    pub hop_limit: u8,
    pub src: Addr6,
    pub dst: Addr6,
}

impl Ipv6Repr {
    /// Write the header at the start of `buf`, which must already hold the
    /// payload too (`Ip6Truncated` below 40 bytes, `Ip6BadLen` below 40 +
    /// payload length): the header never claims bytes that are not there.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), DropReason> {
        let h = buf.get_mut(VER_TC_FL).ok_or(DropReason::Ip6Truncated)?;
        h.copy_from_slice(&VERSION_WORD.to_be_bytes());
        let mut ip = Ipv6::new_checked_quoted(buf)?;
        if !ip.set_payload_len(self.payload_len) {
            return Err(DropReason::Ip6BadLen);
        }
        ip.set_traffic_class(self.traffic_class);
        ip.set_flow_label(self.flow_label);
        ip.set_next_header(self.next_header);
        ip.set_hop_limit(self.hop_limit);
        ip.set_src(self.src);
        ip.set_dst(self.dst);
        Ok(())
    }
}

/// Decrement the hop limit of the IPv6 header at `off` (IPv6 has no
/// header checksum to fix). False (nothing changed) when no valid header
/// is there. The caller checked the hop limit is above 1 (else it answers
/// time exceeded).
#[inline(always)]
pub fn dec_hop_limit(b: &mut [u8], off: usize) -> bool {
    match b.get_mut(off..).map(Ipv6::new_checked) {
        Some(Ok(mut ip)) => {
            ip.dec_hop_limit();
            true
        }
        _ => false,
    }
}

/// Whether `a` (network order) is a multicast address (ff00::/8).
#[inline(always)]
pub fn is_multicast(a: &Addr6) -> bool {
    a[0] == 0xff
}

/// Whether `a` is the unspecified address (`::`).
#[inline(always)]
pub fn is_unspecified(a: &Addr6) -> bool {
    *a == [0; 16]
}

/// The fixed header's length, for callers sizing a packet.
pub const MIN_HDR: usize = HDR_LEN;

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::Ipv6HeaderSlice;

    const A: Addr6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const B: Addr6 = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    #[test]
    fn emitted_header_parses_as_written() {
        let mut b = vec![0xeeu8; 40 + 12];
        let r = Ipv6Repr {
            traffic_class: 0xb9,
            flow_label: 0xfabcde,
            payload_len: 12,
            next_header: 41,
            hop_limit: 17,
            src: A,
            dst: B,
        };
        r.emit(&mut b).unwrap();
        let h = Ipv6HeaderSlice::from_slice(&b).unwrap();
        assert_eq!(h.version(), 6);
        assert_eq!((h.traffic_class(), h.flow_label().value()), (0xb9, 0xabcde));
        assert_eq!((h.payload_length(), h.next_header().0, h.hop_limit()), (12, 41, 17));
        assert_eq!((h.source(), h.destination()), (A, B));
        assert_eq!(&b[40..], &[0xee; 12], "payload untouched");
    }

    #[test]
    fn emit_refuses_a_short_buffer() {
        let r =
            Ipv6Repr { traffic_class: 0, flow_label: 0, payload_len: 8, next_header: 6, hop_limit: 1, src: A, dst: B };
        assert_eq!(r.emit(&mut [0u8; 39]), Err(DropReason::Ip6Truncated));
        assert_eq!(r.emit(&mut [0u8; 47]), Err(DropReason::Ip6BadLen));
        assert_eq!(r.emit(&mut [0u8; 48]), Ok(()));
    }

    #[test]
    fn hop_limit_decrements() {
        let mut b = vec![0u8; 14 + 40];
        let r =
            Ipv6Repr { traffic_class: 0, flow_label: 0, payload_len: 0, next_header: 59, hop_limit: 2, src: A, dst: B };
        r.emit(&mut b[14..]).unwrap();
        assert!(dec_hop_limit(&mut b, 14));
        assert_eq!(Ipv6HeaderSlice::from_slice(&b[14..]).unwrap().hop_limit(), 1);
        assert!(!dec_hop_limit(&mut b, 15), "no header there");
        assert!(!dec_hop_limit(&mut b, 100));
    }

    #[test]
    fn address_classes() {
        assert!(is_multicast(&[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
        assert!(!is_multicast(&A));
        assert!(is_unspecified(&[0; 16]) && !is_unspecified(&A));
    }
}
