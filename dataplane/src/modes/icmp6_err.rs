//! ICMPv6 errors (RFC 4443: destination unreachable, packet too big,
//! time exceeded, parameter problem) that quote a packet of a tracked
//! connection, translated like the connection's own packets: the IPv6
//! counterpart of [`super::icmp_err`].
//!
//! The quoted packet is the one the error is about, so it went the other
//! way: its tuple reversed is the connection's key. Outer and quoted
//! addresses and ports are rewritten; the quoted TCP/UDP checksum is
//! updated incrementally when the quote reaches it, and the ICMPv6
//! checksum (which covers the outer pseudo-header and the whole message,
//! at most 1280 bytes) is computed anew.

use crate::packet::{csum, ipv4};
use crate::wire::ipv6::{upper_checksum, HDR_LEN};
use crate::wire::Ipv6;

/// ICMPv6 next header.
const PROTO_ICMPV6: u8 = 58;
/// The ICMPv6 error header before the quote (type, code, checksum, 4).
const ERR_HDR: usize = 8;

/// The TCP/UDP packet an ICMPv6 error quotes, with offsets in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote6 {
    pub proto: u8,
    pub src: u128,
    pub sport: u16,
    pub dst: u128,
    pub dport: u16,
    /// The quoted IPv6 header, and the quoted L4 header.
    pub(crate) ip: usize,
    pub(crate) l4: usize,
}

/// The quote of the ICMPv6 error message at `icmp` in `frame` (an error
/// type, below 128), if it is a TCP, UDP or SCTP packet whose ports are
/// quoted (an SCTP quote's CRC32c is left as it is, as IPVS does).
pub fn parse6(frame: &[u8], icmp: usize) -> Option<Quote6> {
    if *frame.get(icmp)? >= 128 {
        return None;
    }
    let ip = icmp + ERR_HDR;
    let q = Ipv6::new_checked_quoted(frame.get(ip..)?).ok()?;
    let up = q.upper_layer().ok()?;
    if !up.has_header() || !matches!(up.proto, ipv4::PROTO_TCP | ipv4::PROTO_UDP | ipv4::PROTO_SCTP) {
        return None;
    }
    let l4 = ip + HDR_LEN + up.offset;
    let ports = frame.get(l4..l4 + 4)?;
    Some(Quote6 {
        proto: up.proto,
        src: u128::from_be_bytes(q.src()),
        sport: u16::from_be_bytes([ports[0], ports[1]]),
        dst: u128::from_be_bytes(q.dst()),
        dport: u16::from_be_bytes([ports[2], ports[3]]),
        ip,
        l4,
    })
}

/// What to change; `None` keeps a field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rewrite6 {
    pub outer_src: Option<u128>,
    pub outer_dst: Option<u128>,
    pub inner_src: Option<(u128, u16)>,
    pub inner_dst: Option<(u128, u16)>,
}

/// `csum` after the 16 bytes at `at` change to `new` (RFC 1624, word by word).
fn fix_addr(csum: u16, b: &[u8], at: usize, new: u128) -> u16 {
    let new = new.to_be_bytes();
    (0..8).fold(csum, |c, i| {
        let old = u16::from_be_bytes([b[at + 2 * i], b[at + 2 * i + 1]]);
        csum::update16(c, old, u16::from_be_bytes([new[2 * i], new[2 * i + 1]]))
    })
}

/// Apply `rw` to the error in `frame` (outer IPv6 header at `l3`, the
/// ICMPv6 message at `icmp`, quote `q` as [`parse6`] found it), keeping
/// the quoted L4 and the ICMPv6 checksums valid. False when the frame
/// does not hold what `q` says (nothing was changed).
pub fn apply6(frame: &mut [u8], l3: usize, icmp: usize, q: &Quote6, rw: &Rewrite6) -> bool {
    let Ok(outer) = Ipv6::new_checked(frame.get(l3..).unwrap_or_default()) else { return false };
    let end = l3 + HDR_LEN + outer.payload_len();
    if end < q.l4 + 4 || icmp + 4 > end {
        return false;
    }
    // The quoted L4 checksum, when the quote holds it: TCP's at 16, UDP's
    // at 6 (0 = none, left alone).
    let ck_at = match q.proto {
        ipv4::PROTO_TCP if q.l4 + 18 <= end => Some(q.l4 + 16),
        ipv4::PROTO_UDP if q.l4 + 8 <= end && frame[q.l4 + 6..q.l4 + 8] != [0, 0] => Some(q.l4 + 6),
        _ => None,
    };
    let mut ck = ck_at.map(|at| u16::from_be_bytes([frame[at], frame[at + 1]]));
    for (addr_at, port_at, v) in [(q.ip + 8, q.l4, rw.inner_src), (q.ip + 24, q.l4 + 2, rw.inner_dst)] {
        let Some((a, p)) = v else { continue };
        let old_port = u16::from_be_bytes([frame[port_at], frame[port_at + 1]]);
        ck = ck.map(|c| csum::update16(fix_addr(c, frame, addr_at, a), old_port, p));
        frame[addr_at..addr_at + 16].copy_from_slice(&a.to_be_bytes());
        frame[port_at..port_at + 2].copy_from_slice(&p.to_be_bytes());
    }
    if let (Some(at), Some(c)) = (ck_at, ck) {
        frame[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }
    if let Some(a) = rw.outer_src {
        frame[l3 + 8..l3 + 24].copy_from_slice(&a.to_be_bytes());
    }
    if let Some(a) = rw.outer_dst {
        frame[l3 + 24..l3 + 40].copy_from_slice(&a.to_be_bytes());
    }
    let (src, dst): ([u8; 16], [u8; 16]) =
        (frame[l3 + 8..l3 + 24].try_into().unwrap_or_default(), frame[l3 + 24..l3 + 40].try_into().unwrap_or_default());
    frame[icmp + 2..icmp + 4].fill(0);
    let c = upper_checksum(&src, &dst, PROTO_ICMPV6, &frame[icmp..end]);
    frame[icmp + 2..icmp + 4].copy_from_slice(&c.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::super::testpkt6::{check6, tcp6, udp6, CIP, LIP, RIP, VIP};
    use super::*;
    use crate::packet::icmp6::{build_error, Icmp6Error};

    /// A packet-too-big from `from` about `orig` (an Ethernet frame).
    fn ptb(from: u128, orig: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 1400];
        let n = build_error(&mut b, from, &orig[14..], Icmp6Error::packet_too_big(1400));
        assert!(n > 0);
        b.truncate(n);
        b
    }

    fn icmp_ok(f: &[u8]) -> bool {
        let ip = Ipv6::new_checked(&f[14..]).unwrap();
        crate::wire::Icmpv6::new_checked(ip.payload()).unwrap().checksum_ok(&ip.src(), &ip.dst())
    }

    #[test]
    fn fullnat_server_side_error_becomes_the_clients() {
        // We sent LIP:5000 → RIP:8080; a router near the server says too big.
        let router = RIP - 9;
        for orig in [tcp6(LIP, 5000, RIP, 8080, false, &[7; 40], false), udp6(LIP, 5000, RIP, 8080, b"x", true)] {
            let mut f = ptb(router, &orig);
            let q = parse6(&f, 54).expect("quote");
            assert_eq!((q.src, q.sport, q.dst, q.dport), (LIP, 5000, RIP, 8080));
            let rw = Rewrite6 {
                outer_src: Some(VIP),
                outer_dst: Some(CIP),
                inner_src: Some((CIP, 40000)),
                inner_dst: Some((VIP, 80)),
            };
            assert!(apply6(&mut f, 14, 54, &q, &rw));
            assert!(icmp_ok(&f), "icmpv6 checksum");
            // The quote is now the client's own packet, checksum and all.
            let mut inner = f[..14].to_vec();
            inner.extend_from_slice(&f[62..]);
            assert_eq!(check6(&inner), (CIP, 40000, VIP, 80));
            let q = parse6(&f, 54).unwrap();
            assert_eq!((q.src, q.sport, q.dst, q.dport), (CIP, 40000, VIP, 80));
        }
    }

    #[test]
    fn not_an_error_or_not_tcp_udp_is_not_parsed() {
        let orig = tcp6(CIP, 1, VIP, 2, true, b"", false);
        let mut f = ptb(RIP, &orig);
        f[54] = 128;
        assert_eq!(parse6(&f, 54), None);
        assert_eq!(parse6(&f[..60], 54), None);
    }
}
