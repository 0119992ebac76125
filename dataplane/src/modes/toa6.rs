//! TOA for IPv6 clients of FULLNAT: the client's address and port in a
//! TCP option, so a real server with a TOA module can report them to the
//! application (`getpeername`) although the connection comes from a LIP.
//!
//! The option is the one Alibaba's LVS introduced and DPVS sends, which
//! the TOA kernel modules deployed on real servers read: kind 254 (as the
//! IPv4 TOA, [`super::fullnat::TOA_KIND`]), length 20, then the client's
//! port and its 16-byte address, both in network order. The two are told
//! apart by the length alone, so one module reads both families. (Some
//! forks use kind 253 for IPv6; it is not what DPVS or the Alibaba module
//! read.) At 20 bytes it needs room in the TCP header: the handshake's
//! final ACK, where TOA is inserted, usually carries only timestamps (12
//! bytes), leaving 28.

use super::fullnat::{options_end, TCPOPT_NOP, TOA_KIND};
use super::L4At;
use crate::drop::DropReason;
use crate::packet::ipv4::PROTO_TCP;
use crate::packet::PacketBuf;
use crate::wire::ipv6::HDR_LEN;
use crate::wire::l4::{TCP_MAX_HDR, TCP_MIN_HDR};
use crate::wire::{Ipv6, L4};

/// Kind, length, port, IPv6 address.
pub const TOA6_LEN: usize = 20;

/// Insert a TOA option carrying `cip:cport` into the TCP segment of the
/// IPv6 packet at `at` (before the FULLNAT rewrite or after). As
/// [`super::fullnat::add_toa`]: options are walked first (one that runs
/// past the header is `TcpBadOptions`), an end-of-list becomes no-ops,
/// checksums are updated incrementally (a bad one stays bad), and
/// `Ok(false)` leaves the packet unchanged when the header has no room
/// for 20 more bytes or the packet would exceed `mtu`. The IPv6 payload
/// length grows with the option; extension headers before TCP stay.
pub fn add_toa6<P: PacketBuf>(pkt: &mut P, at: L4At, cip: u128, cport: u16, mtu: u16) -> Result<bool, DropReason> {
    let ip = Ipv6::new_checked(pkt.data().get(at.l3..).ok_or(DropReason::Ip6Truncated)?)?;
    let off = at.l4.checked_sub(at.l3 + HDR_LEN).ok_or(DropReason::Ip6BadExt)?;
    let plen = ip.payload_len();
    let tcp = L4::new_checked6(ip.payload().get(off..).ok_or(DropReason::L4Truncated)?, PROTO_TCP)?;
    let doff = tcp.hdr_len();
    let eol = options_end(tcp.options())?;
    if doff + TOA6_LEN > TCP_MAX_HDR || HDR_LEN + plen + TOA6_LEN > mtu as usize {
        return Ok(false);
    }
    let (old_sum, old_seg) = (tcp.header_sum(), tcp.segment().len() as u16);

    let old_len = pkt.len();
    if !pkt.set_len(old_len + TOA6_LEN) {
        return Ok(false);
    }
    let b = pkt.data_mut();
    let opt_end = at.l4 + doff;
    b.copy_within(opt_end..old_len, opt_end + TOA6_LEN);
    let mut ip = Ipv6::new_checked(&mut b[at.l3..]).map_err(|_| DropReason::Ip6BadLen)?;
    if !ip.set_payload_len((plen + TOA6_LEN) as u16) {
        return Err(DropReason::Ip6BadLen);
    }
    let upper = ip.payload_mut().get_mut(off..).ok_or(DropReason::L4Truncated)?;
    let mut tcp = L4::new_checked(upper, PROTO_TCP)?;
    if !tcp.set_hdr_len(doff + TOA6_LEN) {
        return Err(DropReason::TcpBadDoff);
    }
    let (opts, toa) = tcp.options_mut().split_at_mut(doff - TCP_MIN_HDR);
    if let Some(e) = eol {
        opts[e..].fill(TCPOPT_NOP);
    }
    toa[0] = TOA_KIND;
    toa[1] = TOA6_LEN as u8;
    toa[2..4].copy_from_slice(&cport.to_be_bytes());
    toa[4..20].copy_from_slice(&cip.to_be_bytes());
    // The payload moved by 20 bytes, keeping its 16-bit alignment and so
    // its sum; the header and the pseudo-header's length changed.
    let new_sum = tcp.header_sum();
    tcp.fix_checksum(old_sum, new_sum);
    tcp.fix_pseudo_len(old_seg, old_seg + TOA6_LEN as u16);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::super::fullnat::request6;
    use super::super::testpkt6::*;
    use super::*;
    use etherparse::{IpNumber, PacketBuilder, SlicedPacket, TransportSlice};

    /// A TCP segment over IPv6 with raw options (a multiple of 4 bytes).
    fn with_opts(opts: &[u8], payload: &[u8], ext: bool) -> Vec<u8> {
        let mut b = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ip(ip(CIP, VIP, IpNumber::TCP, ext))
            .tcp(40000, 80, 7, 1000)
            .ack(1)
            .options_raw(opts)
            .unwrap()
            .write(&mut b, payload)
            .unwrap();
        check6(&b);
        b
    }

    fn tcp_opts(p: &[u8]) -> Vec<u8> {
        let s = SlicedPacket::from_ethernet(p).unwrap();
        let Some(TransportSlice::Tcp(t)) = s.transport else { panic!() };
        t.options().to_vec()
    }

    #[test]
    fn toa6_is_inserted_and_checksums_hold() {
        for ext in [false, true] {
            // Timestamps, as on a final ACK.
            let ts = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2];
            let mut p = with_opts(&ts, b"GET / HTTP/1.1\r\n", ext);
            let a = at6(&p);
            assert_eq!(add_toa6(&mut p, a, CIP, 40000, 1500), Ok(true));
            assert_eq!(check6(&p), (CIP, 40000, VIP, 80));
            request6(&mut p, a, LIP, 5001, RIP, 8080).unwrap();
            assert_eq!(check6(&p), (LIP, 5001, RIP, 8080));
            let o = tcp_opts(&p);
            assert_eq!(&o[..12], &ts);
            assert_eq!(&o[12..16], &[254, 20, 0x9c, 0x40]);
            assert_eq!(&o[16..], &CIP.to_be_bytes());
            let s = SlicedPacket::from_ethernet(&p).unwrap();
            let Some(TransportSlice::Tcp(t)) = s.transport else { panic!() };
            assert_eq!(t.payload(), b"GET / HTTP/1.1\r\n");
        }
    }

    #[test]
    fn end_of_list_becomes_nops_before_toa6() {
        let mut p = with_opts(&[2, 4, 5, 0xa0, 0, 0, 0, 0], b"abc", true);
        let a = at6(&p);
        assert_eq!(add_toa6(&mut p, a, 1, 2, 1500), Ok(true));
        check6(&p);
        let mut want = vec![2, 4, 5, 0xa0, 1, 1, 1, 1, 254, 20, 0, 2];
        want.extend_from_slice(&1u128.to_be_bytes());
        assert_eq!(tcp_opts(&p), want);
    }

    #[test]
    fn refused_without_room_or_over_the_mtu() {
        // 24 option bytes: 20 + 24 + 20 > 60.
        let mut p = with_opts(&[1; 24], b"", false);
        let a = at6(&p);
        let before = p.clone();
        assert_eq!(add_toa6(&mut p, a, 1, 1, 1500), Ok(false));
        assert_eq!(p, before);
        // 40 + 20 + 1421 + 20 is one byte too many; 1420 fits exactly.
        let mut p = with_opts(&[], &[0; 1421], false);
        let a = at6(&p);
        let before = p.clone();
        assert_eq!(add_toa6(&mut p, a, 1, 1, 1500), Ok(false));
        assert_eq!(p, before);
        let mut p = with_opts(&[], &[0; 1420], false);
        assert_eq!(add_toa6(&mut p, a, 1, 1, 1500), Ok(true));
        check6(&p);
    }

    #[test]
    fn malformed_options_are_refused() {
        for opts in [&[2u8, 10, 5, 0xb4][..], &[1, 1, 1, 8], &[3, 1, 1, 1]] {
            let mut p = with_opts(opts, b"x", false);
            let a = at6(&p);
            let before = p.clone();
            assert_eq!(add_toa6(&mut p, a, 1, 1, 1500), Err(DropReason::TcpBadOptions));
            assert_eq!(p, before);
        }
        let mut p = with_opts(&[], b"", false);
        let a = at6(&p);
        assert_eq!(add_toa6(&mut p, L4At { l4: a.l4 - 2, ..a }, 1, 1, 1500), Err(DropReason::Ip6BadExt));
        p[a.l4 + 12] = 6 << 4;
        assert_eq!(add_toa6(&mut p, a, 1, 1, 1500), Err(DropReason::TcpBadDoff));
    }

    #[test]
    fn a_bad_checksum_stays_bad() {
        use crate::packet::{csum, get16};
        let diff = |a: u16, b: u16| csum::fold(a as u32 + (!b) as u32);
        let mut good = with_opts(&[1, 1, 1, 1], b"odd", true);
        let mut bad = good.clone();
        let a = at6(&good);
        bad[a.l4 + 16] ^= 0x5a;
        let d_in = diff(get16(&bad, a.l4 + 16), get16(&good, a.l4 + 16));
        assert_eq!(add_toa6(&mut good, a, 7, 7, 1500), Ok(true));
        assert_eq!(add_toa6(&mut bad, a, 7, 7, 1500), Ok(true));
        check6(&good);
        let d_out = diff(get16(&bad, a.l4 + 16), get16(&good, a.l4 + 16));
        assert_eq!(d_out, d_in, "the error travelled unchanged");
    }
}
