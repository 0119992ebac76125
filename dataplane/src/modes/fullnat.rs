//! FULLNAT: both ends are translated. Request CIP:cport → VIP:vport
//! becomes LIP:lport → RIP:rport; the reply RIP:rport → LIP:lport becomes
//! VIP:vport → CIP:cport. Real servers need no route to clients. The
//! client address reaches the server in a TCP option (TOA, kind 254).

use super::{rewrite, rewrite6, L4At, Rewrite};
use crate::drop::DropReason;
use crate::packet::ipv4::PROTO_TCP;
use crate::packet::PacketBuf;
use crate::wire::l4::{TCP_MAX_HDR, TCP_MIN_HDR};
use crate::wire::{Ipv4, L4};

/// TOA: kind 254, length 8, client port, client IPv4 address.
pub const TOA_KIND: u8 = 254;
pub const TOA_LEN: usize = 8;

#[inline]
pub fn request(b: &mut [u8], at: L4At, lip: u32, lport: u16, rip: u32, rport: u16) -> Result<(), DropReason> {
    rewrite(b, at, Some((lip, lport)), Some((rip, rport)))
}

#[inline]
pub fn reply(b: &mut [u8], at: L4At, vip: u32, vport: u16, cip: u32, cport: u16) -> Result<(), DropReason> {
    rewrite(b, at, Some((vip, vport)), Some((cip, cport)))
}

/// [`request`] over IPv6: CIP:cport → VIP:vport becomes LIP:lport →
/// RIP:rport, with an IPv6 LIP.
#[inline]
pub fn request6(b: &mut [u8], at: L4At, lip: u128, lport: u16, rip: u128, rport: u16) -> Result<(), DropReason> {
    rewrite6(b, at, Some((lip, lport)), Some((rip, rport)))
}

/// [`reply`] over IPv6.
#[inline]
pub fn reply6(b: &mut [u8], at: L4At, vip: u128, vport: u16, cip: u128, cport: u16) -> Result<(), DropReason> {
    rewrite6(b, at, Some((vip, vport)), Some((cip, cport)))
}

/// [`request`] for either family.
#[inline]
pub fn request_af<A: Rewrite>(
    b: &mut [u8],
    at: L4At,
    lip: A,
    lport: u16,
    rip: A,
    rport: u16,
) -> Result<(), DropReason> {
    A::rewrite(b, at, Some((lip, lport)), Some((rip, rport)))
}

/// [`reply`] for either family.
#[inline]
pub fn reply_af<A: Rewrite>(b: &mut [u8], at: L4At, vip: A, vport: u16, cip: A, cport: u16) -> Result<(), DropReason> {
    A::rewrite(b, at, Some((vip, vport)), Some((cip, cport)))
}

/// Insert a TOA option carrying `cip:cport` into a TCP packet (before the
/// FULLNAT rewrite or after: the option is independent of addresses).
///
/// The TCP header must have been validated ([`crate::packet::l4::check`]:
/// data offset 5..=15 words, within the segment). The options are walked
/// first: an option whose length runs past the header is an error (IPVS
/// does not repair such segments), and an end-of-list is turned into
/// no-ops so the TOA after it is still read. Checksums are updated
/// incrementally, so a segment that arrived with a bad checksum leaves
/// with a bad one.
///
/// `Ok(false)` (packet unchanged): the header has no room for 8 more
/// option bytes or the packet would exceed `mtu`; it is sent without TOA.
pub fn add_toa<P: PacketBuf>(pkt: &mut P, at: L4At, cip: u32, cport: u16, mtu: u16) -> Result<bool, DropReason> {
    let ip = Ipv4::new_checked(pkt.data().get(at.l3..).ok_or(DropReason::IpTruncated)?)?;
    let tcp = L4::new_checked(ip.payload(), PROTO_TCP)?;
    let (ip_total, l4, doff) = (ip.total_len(), at.l3 + ip.hdr_len(), tcp.hdr_len());
    let eol = options_end(tcp.options())?;
    if doff + TOA_LEN > TCP_MAX_HDR || ip_total + TOA_LEN > mtu as usize {
        return Ok(false);
    }
    // The old header's sum (without its checksum) and segment length.
    let (old_sum, old_seg) = (tcp.header_sum(), tcp.segment().len() as u16);

    let old_len = pkt.len();
    if !pkt.set_len(old_len + TOA_LEN) {
        return Ok(false);
    }
    let b = pkt.data_mut();
    let opt_end = l4 + doff;
    b.copy_within(opt_end..old_len, opt_end + TOA_LEN);
    let mut ip = Ipv4::new_checked(&mut b[at.l3..]).map_err(|_| DropReason::IpBadLen)?;
    if !ip.set_total_len((ip_total + TOA_LEN) as u16) {
        return Err(DropReason::IpBadLen);
    }
    // The new header: options with EOL turned into NOPs, then TOA in the
    // 8 bytes the payload moved away from.
    let mut tcp = L4::new_checked(ip.payload_mut(), PROTO_TCP)?;
    if !tcp.set_hdr_len(doff + TOA_LEN) {
        return Err(DropReason::TcpBadDoff);
    }
    let (opts, toa) = tcp.options_mut().split_at_mut(doff - TCP_MIN_HDR);
    if let Some(e) = eol {
        opts[e..].fill(TCPOPT_NOP);
    }
    toa[0] = TOA_KIND;
    toa[1] = TOA_LEN as u8;
    toa[2..4].copy_from_slice(&cport.to_be_bytes());
    toa[4..8].copy_from_slice(&cip.to_be_bytes());
    // Header words and the pseudo-header's TCP length changed; the payload
    // moved by 8 bytes, keeping its 16-bit alignment and so its sum.
    let new_sum = tcp.header_sum();
    tcp.fix_checksum(old_sum, new_sum);
    tcp.fix_pseudo_len(old_seg, old_seg + TOA_LEN as u16);
    Ok(true)
}

pub(super) const TCPOPT_EOL: u8 = 0;
pub(super) const TCPOPT_NOP: u8 = 1;

/// Walk TCP options: `Ok(Some(i))` when an end-of-list sits at `i`,
/// `Ok(None)` when the options fill the header exactly, an error when an
/// option is cut by the end of the header or has a length below 2.
pub(super) fn options_end(opts: &[u8]) -> Result<Option<usize>, DropReason> {
    let mut i = 0;
    while let Some(&kind) = opts.get(i) {
        match kind {
            TCPOPT_EOL => return Ok(Some(i)),
            TCPOPT_NOP => i += 1,
            _ => {
                let len = *opts.get(i + 1).ok_or(DropReason::TcpBadOptions)? as usize;
                if len < 2 || i + len > opts.len() {
                    return Err(DropReason::TcpBadOptions);
                }
                i += len;
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::super::testpkt::*;
    use super::*;
    use crate::packet::{csum, get16, put16};
    use etherparse::{SlicedPacket, TcpOptionElement, TransportSlice};

    const LIP: u32 = 0xc0a80065;
    const RIP: u32 = 0xc0a8000a;

    #[test]
    fn both_directions() {
        let mut p = tcp([172, 25, 254, 200], 40000, [172, 25, 254, 100], 80, true, b"");
        let a = at(&p);
        request(&mut p, a, LIP, 5001, RIP, 8080).unwrap();
        assert_eq!(check(&p), ([192, 168, 0, 101], 5001, [192, 168, 0, 10], 8080));
        let mut r = tcp([192, 168, 0, 10], 8080, [192, 168, 0, 101], 5001, false, b"body");
        let a = at(&r);
        reply(&mut r, a, 0xac19fe64, 80, 0xac19fec8, 40000).unwrap();
        assert_eq!(check(&r), ([172, 25, 254, 100], 80, [172, 25, 254, 200], 40000));
    }

    #[test]
    fn toa_is_inserted_and_checksums_hold() {
        let mut p = tcp([172, 25, 254, 200], 40000, [172, 25, 254, 100], 80, false, b"GET / HTTP/1.1\r\n");
        let a = at(&p);
        assert_eq!(add_toa(&mut p, a, 0xac19fec8, 40000, 1500), Ok(true));
        request(&mut p, a, LIP, 5001, RIP, 80).unwrap();
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
        assert_eq!(add_toa(&mut p, a, 1, 1, 1500), Ok(false));
        assert_eq!(p, before);
    }

    /// A TCP segment with raw option bytes (padded by the caller to a
    /// multiple of 4) and valid checksums.
    fn with_opts(opts: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut p = tcp([172, 25, 254, 200], 40000, [172, 25, 254, 100], 80, false, b"");
        let l4 = 34;
        let doff = 20 + opts.len();
        p.splice(l4 + 20..l4 + 20, opts.iter().copied());
        p.extend_from_slice(payload);
        p[l4 + 12] = ((doff / 4) as u8) << 4;
        let total = (p.len() - 14) as u16;
        put16(&mut p, 16, total);
        crate::packet::ipv4::set_checksum(&mut p, 14, 20);
        put16(&mut p, l4 + 16, 0);
        let seg = (p.len() - l4) as u16;
        let s = csum::sum(&p[l4..], csum::pseudo_v4([172, 25, 254, 200], [172, 25, 254, 100], 6, seg));
        put16(&mut p, l4 + 16, !csum::fold(s));
        check(&p);
        p
    }

    fn tcp_csum_ok(p: &[u8]) -> bool {
        let s = SlicedPacket::from_ethernet(p).unwrap();
        let Some(etherparse::NetSlice::Ipv4(ip)) = &s.net else { panic!() };
        let Some(TransportSlice::Tcp(t)) = s.transport else { panic!() };
        t.checksum() == t.to_header().calc_checksum_ipv4(&ip.header().to_header(), t.payload()).unwrap()
    }

    #[test]
    fn options_running_into_the_payload_are_refused() {
        // MSS option claiming 10 bytes in a 4-byte option area.
        let mut p = with_opts(&[2, 10, 5, 0xb4], b"payload!");
        let a = at(&p);
        let before = p.clone();
        assert_eq!(add_toa(&mut p, a, 1, 1, 1500), Err(DropReason::TcpBadOptions));
        assert_eq!(p, before);
        // A kind without its length byte at the very end.
        let mut p = with_opts(&[1, 1, 1, 8], b"");
        assert_eq!(add_toa(&mut p, a, 1, 1, 1500), Err(DropReason::TcpBadOptions));
        // Length below 2.
        let mut p = with_opts(&[3, 1, 1, 1], b"");
        assert_eq!(add_toa(&mut p, a, 1, 1, 1500), Err(DropReason::TcpBadOptions));
    }

    #[test]
    fn data_offset_past_the_segment_is_refused() {
        for doff in [0u8, 4, 6, 13, 15] {
            let mut p = tcp([1, 1, 1, 1], 1, [2, 2, 2, 2], 2, false, b"");
            p[34 + 12] = doff << 4;
            let a = at(&p);
            let before = p.clone();
            assert_eq!(add_toa(&mut p, a, 1, 1, 1500), Err(DropReason::TcpBadDoff), "doff {doff}");
            assert_eq!(p, before);
        }
    }

    #[test]
    fn end_of_list_becomes_nops_before_toa() {
        // MSS, then EOL and padding.
        let mut p = with_opts(&[2, 4, 5, 0xb4, 0, 0, 0, 0], b"abc");
        let a = at(&p);
        assert_eq!(add_toa(&mut p, a, 0x01020304, 0x0506, 1500), Ok(true));
        check(&p);
        assert_eq!(&p[54..70], &[2, 4, 5, 0xb4, 1, 1, 1, 1, 254, 8, 5, 6, 1, 2, 3, 4]);
        assert_eq!(&p[70..], b"abc");
    }

    #[test]
    fn a_bad_checksum_stays_bad() {
        let diff = |a: u16, b: u16| csum::fold(a as u32 + (!b) as u32);
        for payload in [&b""[..], b"x", b"odd length payload"] {
            let mut good = with_opts(&[1, 1, 1, 1], payload);
            let mut bad = good.clone();
            bad[34 + 16] ^= 0x5a;
            let d_in = diff(get16(&bad, 50), get16(&good, 50));
            let a = at(&good);
            assert_eq!(add_toa(&mut good, a, 7, 7, 1500), Ok(true));
            assert_eq!(add_toa(&mut bad, a, 7, 7, 1500), Ok(true));
            assert!(tcp_csum_ok(&good));
            assert!(!tcp_csum_ok(&bad), "error repaired");
            // The error travelled unchanged.
            assert_eq!(diff(get16(&bad, 50), get16(&good, 50)), d_in);
        }
    }

    mod v6 {
        use super::super::super::testpkt6::*;
        use super::super::*;

        #[test]
        fn tcp_and_udp_both_directions() {
            for ext in [false, true] {
                let mut p = tcp6(CIP, 40000, VIP, 80, true, b"", ext);
                let a = at6(&p);
                request6(&mut p, a, LIP, 5001, RIP, 8080).unwrap();
                assert_eq!(check6(&p), (LIP, 5001, RIP, 8080));
                let mut r = tcp6(RIP, 8080, LIP, 5001, false, b"body", ext);
                let a = at6(&r);
                reply6(&mut r, a, VIP, 80, CIP, 40000).unwrap();
                assert_eq!(check6(&r), (VIP, 80, CIP, 40000));
                let mut p = udp6(CIP, 40000, VIP, 53, b"q", ext);
                let a = at6(&p);
                request_af(&mut p, a, LIP, 5002, RIP, 5300).unwrap();
                assert_eq!(check6(&p), (LIP, 5002, RIP, 5300));
                let mut r = udp6(RIP, 5300, LIP, 5002, b"answer!", ext);
                let a = at6(&r);
                reply_af(&mut r, a, VIP, 53, CIP, 40000).unwrap();
                assert_eq!(check6(&r), (VIP, 53, CIP, 40000));
            }
        }
    }
}
