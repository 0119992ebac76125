//! ICMP errors about tracked connections (RFC 1122 §3.2.2; IPVS's
//! `ip_vs_nat_icmp`). An error quotes the offending packet as it looked
//! where the error was raised, so both the outer and the quoted (inner)
//! headers must be translated like the connection's own packets, or the
//! host that gets the error cannot match it to its socket.

use crate::packet::{eth, ipv4};
use crate::wire::{Icmp, Ipv4, L4Quote};

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

/// Parse the quoted TCP/UDP/SCTP packet of an ICMP error whose outer IPv4
/// header has length `outer_ihl`. None when it is none of them or cut
/// before the ports.
pub fn parse(b: &[u8], outer_ihl: usize) -> Option<Quoted> {
    let icmp = eth::HDR_LEN + outer_ihl;
    let l3 = icmp + crate::wire::icmp::HDR_LEN;
    let ip = Ipv4::new_checked_quoted(b.get(l3..)?).ok()?;
    let proto = ip.proto();
    if !matches!(proto, ipv4::PROTO_TCP | ipv4::PROTO_UDP | ipv4::PROTO_SCTP) {
        return None;
    }
    let ports = L4Quote::new_checked(ip.payload(), proto).ok()?;
    Some(Quoted {
        icmp,
        l3,
        l4: l3 + ip.hdr_len(),
        proto,
        src: ip.src(),
        sport: ports.src_port(),
        dst: ip.dst(),
        dport: ports.dst_port()?,
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
/// full far enough to hold its checksum) and ICMP checksums valid. False
/// (the frame may be half rewritten: drop it) when `q` does not describe
/// `b`.
pub fn apply(b: &mut [u8], q: &Quoted, rw: &Rewrite) -> bool {
    let Some(Ok(mut outer)) = b.get_mut(eth::HDR_LEN..).map(Ipv4::new_checked) else { return false };
    if let Some(a) = rw.outer_src {
        outer.set_src(a);
    }
    if let Some(a) = rw.outer_dst {
        outer.set_dst(a);
    }
    let end = eth::HDR_LEN + outer.total_len();
    let Some(quote) = b.get_mut(q.l3..end) else { return false };
    let Ok(mut inner) = Ipv4::new_checked_quoted(quote) else { return false };
    for (end_is_src, new) in [(true, rw.inner_src), (false, rw.inner_dst)] {
        let Some((addr, port)) = new else { continue };
        let old = if end_is_src { inner.set_src(addr) } else { inner.set_dst(addr) };
        let Ok(mut ports) = L4Quote::new_checked(inner.payload_mut(), q.proto) else { return false };
        if end_is_src {
            ports.set_src(old, addr, port);
        } else if !ports.set_dst(old, addr, port) {
            return false;
        }
    }
    let Some(Ok(mut msg)) = b.get_mut(q.icmp..end).map(Icmp::new_checked) else { return false };
    msg.fill_checksum();
    true
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
        assert!(apply(&mut b, &q, &Rewrite { outer_src: Some(vip), inner_dst: Some((vip, 53)), ..Default::default() }));
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
