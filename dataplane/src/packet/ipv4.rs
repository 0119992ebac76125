//! IPv4 header validation and field access.

use crate::drop::DropReason;
use crate::wire;

pub const MIN_HDR: usize = 20;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_IPIP: u8 = 4;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_SCTP: u8 = 132;
pub const PROTO_GRE: u8 = 47;

/// What the data path needs of a validated IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Info {
    /// Header length in bytes (IHL × 4).
    pub hdr_len: usize,
    pub total_len: usize,
    pub proto: u8,
    pub ttl: u8,
    pub src: u32,
    pub dst: u32,
    /// More-fragments set or a non-zero offset.
    pub fragment: bool,
    pub df: bool,
}

/// Validate the header at `off` as RFC 1812 asks of a router: version,
/// IHL, total length against the frame (the checked view's gate), then the
/// header checksum.
#[inline]
pub fn validate(b: &[u8], off: usize) -> Result<Ipv4Info, DropReason> {
    validate_with(b, off, None)
}

/// [`validate`], with the checksum verdict of the NIC's rx offload when
/// it gave one (`Some`): then the sum is not computed again.
#[inline]
pub fn validate_with(b: &[u8], off: usize, hw_csum: Option<bool>) -> Result<Ipv4Info, DropReason> {
    let ip = wire::Ipv4::new_checked(b.get(off..).ok_or(DropReason::IpTruncated)?)?;
    if !hw_csum.unwrap_or_else(|| ip.checksum_ok()) {
        return Err(DropReason::IpBadCsum);
    }
    Ok(Ipv4Info {
        hdr_len: ip.hdr_len(),
        total_len: ip.total_len(),
        proto: ip.proto(),
        ttl: ip.ttl(),
        src: ip.src(),
        dst: ip.dst(),
        fragment: ip.is_fragment(),
        df: ip.df(),
    })
}

/// A source address no packet may carry (RFC 1812 §5.3.7): "this
/// network" 0/8, loopback 127/8, multicast 224/4, and the reserved 240/4
/// with the limited broadcast 255.255.255.255 in it.
#[inline(always)]
pub fn is_martian_src(a: u32) -> bool {
    let first = (a >> 24) as u8;
    first == 0 || first == 127 || first >= 224
}

/// Recompute the checksum of the `hdr_len`-byte header at `off` from
/// scratch (nothing is validated: tests corrupt headers on purpose).
pub fn set_checksum(b: &mut [u8], off: usize, hdr_len: usize) {
    wire::ipv4::fill_checksum(&mut b[off..off + hdr_len]);
}

/// Decrement TTL of the IPv4 header at `off`, updating the checksum
/// incrementally. False (nothing changed) when no valid header is there.
#[inline(always)]
pub fn dec_ttl(b: &mut [u8], off: usize) -> bool {
    match b.get_mut(off..).map(wire::Ipv4::new_checked) {
        Some(Ok(mut ip)) => {
            ip.dec_ttl();
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Ipv4Repr;

    fn hdr() -> Vec<u8> {
        let mut b = vec![0u8; 28];
        let repr = Ipv4Repr {
            tos: 0,
            total_len: 28,
            ident: 1,
            df: true,
            ttl: 64,
            proto: PROTO_UDP,
            src: 0x0a000001,
            dst: 0x0a000002,
        };
        assert!(repr.emit(&mut b[..]).is_ok());
        b
    }

    #[test]
    fn valid_header_parses() {
        let i = validate(&hdr(), 0).unwrap();
        assert_eq!((i.hdr_len, i.total_len, i.proto, i.ttl), (20, 28, PROTO_UDP, 64));
        assert!(i.df && !i.fragment);
    }

    #[test]
    fn each_defect_has_its_reason() {
        let b = hdr();
        assert_eq!(validate(&b[..19], 0), Err(DropReason::IpTruncated));
        let mut v = b.clone();
        v[0] = 0x65;
        assert_eq!(validate(&v, 0), Err(DropReason::IpBadVersion));
        let mut v = b.clone();
        v[0] = 0x44;
        assert_eq!(validate(&v, 0), Err(DropReason::IpBadIhl));
        let mut v = b.clone();
        v[0] = 0x4f; // 60 bytes > 28
        assert_eq!(validate(&v, 0), Err(DropReason::IpBadIhl));
        let mut v = b.clone();
        crate::packet::put16(&mut v, 2, 100);
        assert_eq!(validate(&v, 0), Err(DropReason::IpBadLen));
        let mut v = b.clone();
        v[10] ^= 1;
        assert_eq!(validate(&v, 0), Err(DropReason::IpBadCsum));
    }

    #[test]
    fn martian_sources() {
        for a in [0x0000_0000, 0x00ff_ffff, 0x7f00_0001, 0xe000_0001, 0xefff_ffff, 0xf000_0001, 0xffff_ffff] {
            assert!(is_martian_src(a), "{a:#x}");
        }
        for a in [0x0100_0000, 0x0a00_0001, 0x7e00_0001, 0x8000_0001, 0xac19_fec8, 0xdfff_ffff] {
            assert!(!is_martian_src(a), "{a:#x}");
        }
    }

    #[test]
    fn ttl_and_addr_updates_keep_checksum_valid() {
        let mut b = hdr();
        dec_ttl(&mut b, 0);
        assert_eq!(validate(&b, 0).unwrap().ttl, 63);
        let old = crate::wire::Ipv4::new_checked(&mut b[..]).unwrap().set_dst(0xc0a80001);
        assert_eq!(old, 0x0a000002);
        assert_eq!(validate(&b, 0).unwrap().dst, 0xc0a80001);
    }
}
