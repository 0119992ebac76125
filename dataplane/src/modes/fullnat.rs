//! FULLNAT: both ends are translated. Request CIP:cport → VIP:vport
//! becomes LIP:lport → RIP:rport; the reply RIP:rport → LIP:lport becomes
//! VIP:vport → CIP:cport. Real servers need no route to clients. The
//! client address reaches the server in a TCP option (TOA, kind 254).

use super::{set_dst, set_src, L4At};
use crate::packet::{csum, eth, get16, ipv4, put16, put32, PacketBuf};

/// TOA: kind 254, length 8, client port, client IPv4 address.
pub const TOA_KIND: u8 = 254;
pub const TOA_LEN: usize = 8;

#[inline]
pub fn request(b: &mut [u8], at: L4At, lip: u32, lport: u16, rip: u32, rport: u16) {
    set_src(b, at, lip, lport);
    set_dst(b, at, rip, rport);
}

#[inline]
pub fn reply(b: &mut [u8], at: L4At, vip: u32, vport: u16, cip: u32, cport: u16) {
    set_src(b, at, vip, vport);
    set_dst(b, at, cip, cport);
}

/// Insert a TOA option carrying `cip:cport` into a TCP packet (before the
/// FULLNAT rewrite or after: the option is independent of addresses).
/// Returns false (packet unchanged) when the TCP header has no room for
/// 8 more option bytes or the packet would exceed `mtu`.
pub fn add_toa<P: PacketBuf>(pkt: &mut P, at: L4At, cip: u32, cport: u16, mtu: u16) -> bool {
    let b = pkt.data();
    let doff = ((b[at.l4 + 12] >> 4) as usize) * 4;
    let ip_total = get16(b, at.l3 + 2) as usize;
    if doff + TOA_LEN > 60 || ip_total + TOA_LEN > mtu as usize {
        return false;
    }
    let old_len = pkt.len();
    if !pkt.set_len(old_len + TOA_LEN) {
        return false;
    }
    let b = pkt.data_mut();
    let opt_at = at.l4 + doff;
    b.copy_within(opt_at..old_len, opt_at + TOA_LEN);
    b[opt_at] = TOA_KIND;
    b[opt_at + 1] = TOA_LEN as u8;
    put16(b, opt_at + 2, cport);
    put32(b, opt_at + 4, cip);
    b[at.l4 + 12] = (b[at.l4 + 12] & 0x0f) | ((((doff + TOA_LEN) / 4) as u8) << 4);
    let new_total = (ip_total + TOA_LEN) as u16;
    put16(b, at.l3 + 2, new_total);
    let ihl = at.l4 - at.l3;
    ipv4::set_checksum(b, at.l3, ihl);
    // The TCP length changed: recompute the checksum over the segment.
    let end = eth::HDR_LEN + new_total as usize;
    let seg_len = (end - at.l4) as u16;
    put16(b, at.l4 + 16, 0);
    let src: [u8; 4] = b[at.l3 + 12..at.l3 + 16].try_into().unwrap();
    let dst: [u8; 4] = b[at.l3 + 16..at.l3 + 20].try_into().unwrap();
    let s = csum::sum(&b[at.l4..end], csum::pseudo_v4(src, dst, ipv4::PROTO_TCP, seg_len));
    put16(b, at.l4 + 16, !csum::fold(s));
    true
}

#[cfg(test)]
mod tests {
    use super::super::testpkt::*;
    use super::*;
    use etherparse::{SlicedPacket, TcpOptionElement, TransportSlice};

    const LIP: u32 = 0xc0a80065;
    const RIP: u32 = 0xc0a8000a;

    #[test]
    fn both_directions() {
        let mut p = tcp([172, 25, 254, 200], 40000, [172, 25, 254, 100], 80, true, b"");
        let a = at(&p);
        request(&mut p, a, LIP, 5001, RIP, 8080);
        assert_eq!(check(&p), ([192, 168, 0, 101], 5001, [192, 168, 0, 10], 8080));
        let mut r = tcp([192, 168, 0, 10], 8080, [192, 168, 0, 101], 5001, false, b"body");
        let a = at(&r);
        reply(&mut r, a, 0xac19fe64, 80, 0xac19fec8, 40000);
        assert_eq!(check(&r), ([172, 25, 254, 100], 80, [172, 25, 254, 200], 40000));
    }

    #[test]
    fn toa_is_inserted_and_checksums_hold() {
        let mut p = tcp([172, 25, 254, 200], 40000, [172, 25, 254, 100], 80, false, b"GET / HTTP/1.1\r\n");
        let a = at(&p);
        assert!(add_toa(&mut p, a, 0xac19fec8, 40000, 1500));
        request(&mut p, a, LIP, 5001, RIP, 80);
        check(&p);
        let s = SlicedPacket::from_ethernet(&p).unwrap();
        let Some(TransportSlice::Tcp(t)) = s.transport else { panic!() };
        assert_eq!(t.payload(), b"GET / HTTP/1.1\r\n");
        let opts: Vec<_> = t.options_iterator().collect();
        assert!(
            opts.iter().any(|o| matches!(o, Err(etherparse::TcpOptionReadError::UnknownId(254)))
                || matches!(o, Ok(TcpOptionElement::Noop))),
            "{opts:?}"
        );
        let raw = t.options();
        assert_eq!(&raw[..8], &[254, 8, 0x9c, 0x40, 172, 25, 254, 200]);
    }

    #[test]
    fn toa_refused_without_room() {
        let mut p = tcp([1, 1, 1, 1], 1, [2, 2, 2, 2], 2, false, &[0u8; 1460]);
        let a = at(&p);
        let before = p.clone();
        assert!(!add_toa(&mut p, a, 1, 1, 1500));
        assert_eq!(p, before);
    }
}
