//! NAT (`-m`, Masq): DNAT the request to the real server, SNAT the reply
//! back to the VIP. The real server routes replies through the director.

use super::{set_dst, set_dst6, set_src, set_src6, L4At, Rewrite};
use crate::drop::DropReason;

/// Request: CIP:cport → VIP:vport becomes CIP:cport → RIP:rport.
#[inline]
pub fn request(b: &mut [u8], at: L4At, rip: u32, rport: u16) -> Result<(), DropReason> {
    set_dst(b, at, rip, rport)
}

/// Reply: RIP:rport → CIP:cport becomes VIP:vport → CIP:cport.
#[inline]
pub fn reply(b: &mut [u8], at: L4At, vip: u32, vport: u16) -> Result<(), DropReason> {
    set_src(b, at, vip, vport)
}

/// [`request`] over IPv6.
#[inline]
pub fn request6(b: &mut [u8], at: L4At, rip: u128, rport: u16) -> Result<(), DropReason> {
    set_dst6(b, at, rip, rport)
}

/// [`reply`] over IPv6.
#[inline]
pub fn reply6(b: &mut [u8], at: L4At, vip: u128, vport: u16) -> Result<(), DropReason> {
    set_src6(b, at, vip, vport)
}

/// [`request`] for either family.
#[inline]
pub fn request_af<A: Rewrite>(b: &mut [u8], at: L4At, rip: A, rport: u16) -> Result<(), DropReason> {
    A::rewrite(b, at, None, Some((rip, rport)))
}

/// [`reply`] for either family.
#[inline]
pub fn reply_af<A: Rewrite>(b: &mut [u8], at: L4At, vip: A, vport: u16) -> Result<(), DropReason> {
    A::rewrite(b, at, Some((vip, vport)), None)
}

#[cfg(test)]
mod tests {
    use super::super::testpkt::*;
    use super::*;

    #[test]
    fn tcp_both_directions_with_port_mapping() {
        let mut req = tcp([172, 25, 254, 200], 40000, [172, 25, 254, 100], 80, true, b"");
        let a = at(&req);
        request(&mut req, a, u32::from_be_bytes([192, 168, 0, 10]), 8080).unwrap();
        assert_eq!(check(&req), ([172, 25, 254, 200], 40000, [192, 168, 0, 10], 8080));
        let mut rep = tcp([192, 168, 0, 10], 8080, [172, 25, 254, 200], 40000, false, b"hello");
        let a = at(&rep);
        reply(&mut rep, a, u32::from_be_bytes([172, 25, 254, 100]), 80).unwrap();
        assert_eq!(check(&rep), ([172, 25, 254, 100], 80, [172, 25, 254, 200], 40000));
    }

    #[test]
    fn udp_with_payload() {
        let mut req = udp([10, 0, 0, 1], 5353, [10, 0, 0, 100], 53, b"query");
        let a = at(&req);
        request(&mut req, a, u32::from_be_bytes([192, 168, 0, 20]), 5300).unwrap();
        assert_eq!(check(&req), ([10, 0, 0, 1], 5353, [192, 168, 0, 20], 5300));
    }

    #[test]
    fn udp_without_checksum_stays_without() {
        let mut req = udp([10, 0, 0, 1], 1, [10, 0, 0, 100], 2, b"x");
        let a = at(&req);
        req[a.l4 + 6] = 0;
        req[a.l4 + 7] = 0;
        request(&mut req, a, 0x0a000002, 3).unwrap();
        assert_eq!(&req[a.l4 + 6..a.l4 + 8], &[0, 0]);
    }

    mod v6 {
        use super::super::super::testpkt6::*;
        use super::super::*;

        #[test]
        fn tcp_both_directions_with_port_mapping() {
            for ext in [false, true] {
                let mut req = tcp6(CIP, 40000, VIP, 80, true, b"", ext);
                let a = at6(&req);
                request6(&mut req, a, RIP, 8080).unwrap();
                assert_eq!(check6(&req), (CIP, 40000, RIP, 8080));
                let mut rep = tcp6(RIP, 8080, CIP, 40000, false, b"hello", ext);
                let a = at6(&rep);
                reply6(&mut rep, a, VIP, 80).unwrap();
                assert_eq!(check6(&rep), (VIP, 80, CIP, 40000));
            }
        }

        #[test]
        fn udp_both_directions_generic() {
            for ext in [false, true] {
                let mut req = udp6(CIP, 5353, VIP, 53, b"query", ext);
                let a = at6(&req);
                request_af(&mut req, a, RIP, 5300).unwrap();
                assert_eq!(check6(&req), (CIP, 5353, RIP, 5300));
                let mut rep = udp6(RIP, 5300, CIP, 5353, b"answer", ext);
                let a = at6(&rep);
                reply_af(&mut rep, a, VIP, 53).unwrap();
                assert_eq!(check6(&rep), (VIP, 53, CIP, 5353));
            }
        }

        #[test]
        fn udp_without_checksum_is_dropped() {
            let mut req = udp6(CIP, 1, VIP, 2, b"x", false);
            let a = at6(&req);
            req[a.l4 + 6..a.l4 + 8].fill(0);
            assert_eq!(request6(&mut req, a, RIP, 3), Err(DropReason::Udp6ZeroCsum));
        }
    }
}
