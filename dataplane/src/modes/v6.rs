//! The IPv6 rewrites every mode shares: addresses and ports through the
//! checked views, the L4 checksum kept valid incrementally over the
//! 128-bit address change (RFC 1624: the pseudo-header is the only place
//! IPv6 addresses are summed; the IPv6 header has no checksum).

use super::L4At;
use crate::drop::DropReason;
use crate::packet::ipv4::PROTO_SCTP;
use crate::wire::ipv6::HDR_LEN;
use crate::wire::{Ipv6, L4};

pub use crate::packet::ipv6::dec_hop_limit;

/// Replace the source address and port.
#[inline(always)]
pub fn set_src6(b: &mut [u8], at: L4At, addr: u128, port: u16) -> Result<(), DropReason> {
    rewrite6(b, at, Some((addr, port)), None)
}

/// Replace the destination address and port.
#[inline(always)]
pub fn set_dst6(b: &mut [u8], at: L4At, addr: u128, port: u16) -> Result<(), DropReason> {
    rewrite6(b, at, None, Some((addr, port)))
}

/// Replace either or both ends of the IPv6 packet at `at.l3` whose TCP or
/// UDP header (`at.proto`, after any extension headers) is at `at.l4`.
///
/// The L4 view is the IPv6 one ([`L4::new_checked6`]): UDP without a
/// checksum is refused (`Udp6ZeroCsum`, RFC 8200 8.1) rather than sent
/// on with a 0 the real server would drop. Should a view refuse the
/// packet it is dropped with the view's reason, never sent half
/// rewritten. An `l4` before the end of the fixed header is
/// `Ip6BadExt`, one past the payload `L4Truncated`.
#[inline(always)]
pub fn rewrite6(b: &mut [u8], at: L4At, src: Option<(u128, u16)>, dst: Option<(u128, u16)>) -> Result<(), DropReason> {
    let mut ip = Ipv6::new_checked(b.get_mut(at.l3..).ok_or(DropReason::Ip6Truncated)?)?;
    let off = at.l4.checked_sub(at.l3 + HDR_LEN).ok_or(DropReason::Ip6BadExt)?;
    let new_src = src.map(|(a, p)| (a.to_be_bytes(), p));
    let new_dst = dst.map(|(a, p)| (a.to_be_bytes(), p));
    if at.proto == PROTO_SCTP {
        // The ports first: the one step that may refuse (a wrong CRC32c).
        // The addresses are not covered by it.
        let upper = ip.payload_mut().get_mut(off..).ok_or(DropReason::L4Truncated)?;
        L4::new_checked6(upper, at.proto)?.set_ports(src.map(|e| e.1), dst.map(|e| e.1))?;
        if let Some((a, _)) = new_src {
            ip.set_src(a);
        }
        if let Some((a, _)) = new_dst {
            ip.set_dst(a);
        }
        return Ok(());
    }
    let old_src = new_src.map(|(a, _)| ip.set_src(a));
    let old_dst = new_dst.map(|(a, _)| ip.set_dst(a));
    let upper = ip.payload_mut().get_mut(off..).ok_or(DropReason::L4Truncated)?;
    let mut l4 = L4::new_checked6(upper, at.proto)?;
    if let (Some(old), Some((a, p))) = (old_src, new_src) {
        l4.fix_addr6(&old, &a);
        l4.set_ports(Some(p), None)?;
    }
    if let (Some(old), Some((a, p))) = (old_dst, new_dst) {
        l4.fix_addr6(&old, &a);
        l4.set_ports(None, Some(p))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testpkt6::*;
    use super::*;
    use crate::packet::{get16, put16};

    #[test]
    fn both_ends_tcp_and_udp_with_and_without_extension_headers() {
        for ext in [false, true] {
            for tcp in [true, false] {
                let mut p =
                    if tcp { tcp6(CIP, 40000, VIP, 80, true, b"", ext) } else { udp6(CIP, 5353, VIP, 53, b"q", ext) };
                let a = at6(&p);
                assert_eq!(a.l4, 14 + 40 + if ext { 8 } else { 0 });
                rewrite6(&mut p, a, Some((LIP, 5001)), Some((RIP, 8080))).unwrap();
                assert_eq!(check6(&p), (LIP, 5001, RIP, 8080), "tcp {tcp} ext {ext}");
                set_src6(&mut p, a, VIP, 80).unwrap();
                assert_eq!(check6(&p), (VIP, 80, RIP, 8080));
                set_dst6(&mut p, a, CIP, 40000).unwrap();
                assert_eq!(check6(&p), (VIP, 80, CIP, 40000));
            }
        }
    }

    #[test]
    fn odd_payloads_and_unchanged_ports() {
        for len in [0, 1, 3, 1000, 1401] {
            let payload = vec![0xa5u8; len];
            let mut p = tcp6(CIP, 1, VIP, 2, false, &payload, true);
            let a = at6(&p);
            rewrite6(&mut p, a, None, Some((RIP, 2))).unwrap();
            assert_eq!(check6(&p), (CIP, 1, RIP, 2));
        }
    }

    #[test]
    fn udp_without_checksum_is_refused() {
        let mut p = udp6(CIP, 1, VIP, 2, b"x", false);
        let a = at6(&p);
        put16(&mut p, a.l4 + 6, 0);
        assert_eq!(set_dst6(&mut p, a, RIP, 3), Err(DropReason::Udp6ZeroCsum));
    }

    #[test]
    fn a_computed_zero_is_sent_as_ffff() {
        // Find a destination that makes the UDP checksum come out 0: RFC
        // 8200 says send 0xffff, as an IPv4 rewrite does.
        let p = udp6(CIP, 1, VIP, 2, b"x", false);
        let a = at6(&p);
        let c = get16(&p, a.l4 + 6);
        // Changing the last word of the destination by d changes the
        // checksum by -d (one's complement): pick d to reach 0xffff
        // (= -0), i.e. from c subtract c (mod 0xffff).
        let old_low = VIP as u16;
        let new_low = crate::packet::csum::fold(old_low as u32 + c as u32);
        let dst = (VIP & !0xffff) | new_low as u128;
        let (o, n) = (VIP.to_be_bytes(), dst.to_be_bytes());
        let raw = crate::packet::csum::update_sum(c, crate::packet::csum::sum(&o, 0), crate::packet::csum::sum(&n, 0));
        assert_eq!(raw, 0, "the update itself comes out 0");
        let mut q = p.clone();
        set_dst6(&mut q, a, dst, 2).unwrap();
        assert_eq!(get16(&q, a.l4 + 6), 0xffff);
        assert_eq!(check6(&q), (CIP, 1, dst, 2));
    }

    #[test]
    fn bad_offsets_and_headers_are_refused() {
        let p = tcp6(CIP, 1, VIP, 2, false, b"", false);
        let a = at6(&p);
        let mut q = p.clone();
        let n = q.len();
        assert_eq!(rewrite6(&mut q, L4At { l4: a.l4 - 1, ..a }, None, Some((RIP, 1))), Err(DropReason::Ip6BadExt));
        assert_eq!(rewrite6(&mut q, L4At { l4: n + 1, ..a }, None, Some((RIP, 1))), Err(DropReason::L4Truncated));
        assert_eq!(rewrite6(&mut q, L4At { l3: n, ..a }, None, None), Err(DropReason::Ip6Truncated));
        assert_eq!(rewrite6(&mut q, L4At { proto: 58, ..a }, None, None), Err(DropReason::L4Unsupported));
        let mut v4 = p.clone();
        v4[14] = 0x45;
        assert_eq!(rewrite6(&mut v4, a, None, None), Err(DropReason::Ip6BadVersion));
    }

    #[test]
    fn hop_limit_decrement() {
        let mut p = tcp6(CIP, 1, VIP, 2, false, b"", false);
        assert_eq!(p[14 + 7], 64);
        assert!(dec_hop_limit(&mut p, 14));
        assert_eq!(p[14 + 7], 63);
        check6(&p);
    }
}
