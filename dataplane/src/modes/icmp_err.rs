//! ICMP errors about tracked connections (RFC 1122 §3.2.2; IPVS's
//! `ip_vs_nat_icmp`). An error quotes the offending packet as it looked
//! where the error was raised, so both the outer and the quoted (inner)
//! headers must be translated like the connection's own packets, or the
//! host that gets the error cannot match it to its socket.

use crate::packet::{csum, eth, get16, ipv4, l4, put16};

/// The quoted packet of an ICMP error: offsets and its 4-tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted {
    /// Offset of the ICMP header.
    pub icmp: usize,
    /// Offset of the inner IPv4 header and of its L4 header.
    pub l3: usize,
    pub l4: usize,
    pub proto: u8,
    pub src: u32,
    pub sport: u16,
    pub dst: u32,
    pub dport: u16,
}

/// Parse the quoted TCP/UDP packet of an ICMP error whose outer IPv4
/// header has length `outer_ihl`. None when it is not TCP/UDP or cut
/// before the ports.
pub fn parse(b: &[u8], outer_ihl: usize) -> Option<Quoted> {
    let icmp = eth::HDR_LEN + outer_ihl;
    let l3 = icmp + 8;
    let h = b.get(l3..)?;
    if h.len() < ipv4::MIN_HDR || h[0] >> 4 != 4 {
        return None;
    }
    let ihl = ((h[0] & 0xf) as usize) * 4;
    let proto = h[9];
    if ihl < ipv4::MIN_HDR || !(proto == ipv4::PROTO_TCP || proto == ipv4::PROTO_UDP) || h.len() < ihl + 4 {
        return None;
    }
    Some(Quoted {
        icmp,
        l3,
        l4: l3 + ihl,
        proto,
        src: crate::packet::get32(h, 12),
        sport: get16(h, ihl),
        dst: crate::packet::get32(h, 16),
        dport: get16(h, ihl + 2),
    })
}

/// New values for the four headers' fields; None leaves a field as is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rewrite {
    pub outer_src: Option<u32>,
    pub outer_dst: Option<u32>,
    pub inner_src: Option<(u32, u16)>,
    pub inner_dst: Option<(u32, u16)>,
}

/// Apply `rw`, keeping the outer IP, inner IP, inner L4 (when quoted in
/// full far enough to hold its checksum) and ICMP checksums valid.
pub fn apply(b: &mut [u8], q: &Quoted, rw: &Rewrite) {
    let outer = eth::HDR_LEN;
    if let Some(a) = rw.outer_src {
        ipv4::set_addr(b, outer, 12, a);
    }
    if let Some(a) = rw.outer_dst {
        ipv4::set_addr(b, outer, 16, a);
    }
    let has_csum = b.len() >= q.l4 + l4::csum_off(q.proto) + 2;
    for (field, port_at, new) in [(12, 0, rw.inner_src), (16, 2, rw.inner_dst)] {
        let Some((addr, port)) = new else { continue };
        let old = ipv4::set_addr(b, q.l3, field, addr);
        if has_csum {
            l4::fix_addr(b, q.l4, q.proto, old, addr);
            l4::set_port(b, q.l4, q.proto, port_at, port);
        } else {
            put16(b, q.l4 + port_at, port);
        }
    }
    let end = eth::HDR_LEN + get16(b, outer + 2) as usize;
    put16(b, q.icmp + 2, 0);
    let c = csum::checksum(&b[q.icmp..end.min(b.len())]);
    put16(b, q.icmp + 2, c);
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{Icmpv4Type, PacketBuilder, SlicedPacket, TransportSlice};

    #[test]
    fn port_unreachable_from_rs_becomes_one_from_the_vip() {
        // The RS got CIP:5000 -> RIP:5300 (NAT) and answers port unreachable.
        let mut quoted = Vec::new();
        PacketBuilder::ipv4([172, 25, 254, 200], [192, 168, 0, 10], 63)
            .udp(5000, 5300)
            .write(&mut quoted, b"q")
            .unwrap();
        let mut b = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([192, 168, 0, 10], [172, 25, 254, 200], 64)
            .icmpv4(Icmpv4Type::DestinationUnreachable(etherparse::icmpv4::DestUnreachableHeader::Port))
            .write(&mut b, &quoted)
            .unwrap();
        let q = parse(&b, 20).unwrap();
        assert_eq!((q.src, q.sport, q.dst, q.dport), (0xac19fec8, 5000, 0xc0a8000a, 5300));
        let vip = 0xac19fe64;
        apply(&mut b, &q, &Rewrite { outer_src: Some(vip), inner_dst: Some((vip, 53)), ..Default::default() });
        let p = SlicedPacket::from_ethernet(&b).unwrap();
        let Some(etherparse::NetSlice::Ipv4(ip)) = &p.net else { panic!() };
        let h = ip.header().to_header();
        assert_eq!(h.header_checksum, h.calc_header_checksum());
        assert_eq!(h.source, [172, 25, 254, 100]);
        let Some(TransportSlice::Icmpv4(ic)) = p.transport else { panic!() };
        assert_eq!(ic.checksum(), ic.header().icmp_type.calc_checksum(ic.payload()));
        // The quoted packet is now the client's original request.
        let inner = etherparse::SlicedPacket::from_ip(ic.payload()).unwrap();
        let Some(etherparse::NetSlice::Ipv4(iip)) = &inner.net else { panic!() };
        let ih = iip.header().to_header();
        assert_eq!(ih.header_checksum, ih.calc_header_checksum());
        assert_eq!(ih.destination, [172, 25, 254, 100]);
        let Some(TransportSlice::Udp(u)) = inner.transport else { panic!() };
        assert_eq!(u.destination_port(), 53);
        assert_eq!(u.checksum(), u.to_header().calc_checksum_ipv4(&ih, u.payload()).unwrap());
    }

    #[test]
    fn non_transport_quote_is_ignored() {
        let mut quoted = Vec::new();
        PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 63).icmpv4_echo_request(1, 1).write(&mut quoted, b"").unwrap();
        let mut b = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([2, 2, 2, 2], [1, 1, 1, 1], 64)
            .icmpv4(Icmpv4Type::TimeExceeded(etherparse::icmpv4::TimeExceededCode::TtlExceededInTransit))
            .write(&mut b, &quoted)
            .unwrap();
        assert!(parse(&b, 20).is_none());
    }
}
