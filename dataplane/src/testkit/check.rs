//! Checks on frames that do not trust the code under test: parsing is
//! etherparse's, checksums are summed here from the RFC 1071 definition
//! (never with `crate::packet::csum`).

use super::{Origin, Sent, GUE_PORT};
use crate::snapshot::Snapshot;
use etherparse::{NetSlice, SlicedPacket};

const ETH: usize = 14;

/// RFC 1071 one's-complement sum of `b` (odd length padded with zero),
/// added to `acc`, folded to 16 bits.
fn ones_sum(b: &[u8], mut acc: u64) -> u16 {
    let mut it = b.chunks_exact(2);
    for w in &mut it {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = it.remainder() {
        acc += u64::from(*last) << 8;
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The IPv4 packet at the start of `ip` (bytes beyond its total length
/// ignored), if its header is sane: (header length, total length).
fn ip_extent(ip: &[u8]) -> Option<(usize, usize)> {
    let v = *ip.first()?;
    let ihl = usize::from(v & 0x0f) * 4;
    if v >> 4 != 4 || ihl < 20 || ip.len() < ihl {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    (total >= ihl && total <= ip.len()).then_some((ihl, total))
}

/// Whether the TCP, UDP or ICMP checksum of the IPv4 packet `ip` is
/// valid. False for fragments (nothing to check) and other protocols.
pub fn l4_valid_ip(ip: &[u8]) -> bool {
    let Some((ihl, total)) = ip_extent(ip) else { return false };
    let frag = u16::from_be_bytes([ip[6], ip[7]]);
    if frag & 0x3fff != 0 {
        return false;
    }
    let seg = &ip[ihl..total];
    let pseudo = |proto: u8| -> u64 {
        let a = ip[12..20].chunks_exact(2).map(|w| u64::from(u16::from_be_bytes([w[0], w[1]]))).sum::<u64>();
        a + u64::from(proto) + seg.len() as u64
    };
    match ip[9] {
        6 => seg.len() >= 20 && ones_sum(seg, pseudo(6)) == 0xffff,
        17 => seg.len() >= 8 && (seg[6..8] == [0, 0] || ones_sum(seg, pseudo(17)) == 0xffff),
        1 => seg.len() >= 8 && ones_sum(seg, 0) == 0xffff,
        _ => false,
    }
}

/// [`l4_valid_ip`] of an Ethernet frame carrying IPv4, [`l4_valid_ip6`]
/// of one carrying IPv6.
pub fn l4_valid_frame(f: &[u8]) -> bool {
    f.len() > ETH
        && (f[12..14] == [0x08, 0x00] && l4_valid_ip(&f[ETH..]) || f[12..14] == [0x86, 0xdd] && l4_valid_ip6(f))
}

/// Whether the TCP, UDP or ICMPv6 checksum of the IPv6 frame `f` is valid
/// (etherparse's reading of the extension headers). False for fragments
/// and other protocols.
pub fn l4_valid_ip6(f: &[u8]) -> bool {
    let Ok(p) = SlicedPacket::from_ethernet(f) else { return false };
    let Some(NetSlice::Ipv6(ip)) = &p.net else { return false };
    let (s, d) = (ip.header().source(), ip.header().destination());
    if ip.is_payload_fragmented() {
        return false;
    }
    match p.transport {
        Some(etherparse::TransportSlice::Tcp(t)) => t.calc_checksum_ipv6(s, d).is_ok_and(|c| c == t.checksum()),
        Some(etherparse::TransportSlice::Udp(u)) => {
            etherparse::UdpHeader::calc_checksum_ipv6_raw(&u.to_header(), s, d, u.payload())
                .is_ok_and(|c| c == u.checksum() && c != 0)
        }
        Some(etherparse::TransportSlice::Icmpv6(i)) => {
            i.header().icmp_type.calc_checksum(s, d, i.payload()).is_ok_and(|c| c == i.checksum())
        }
        _ => false,
    }
}

/// Whether the engine may take `f`, received on `port`, without sending
/// or counting it: an Ethernet/IPv4 ARP packet that is not a request
/// (a reply is consumed by learning), addressed to us or broadcast.
pub fn is_consumed_arp(f: &[u8], snap: &Snapshot, port: u16) -> bool {
    let Some(ifc) = snap.ifaces.get(usize::from(port)) else { return false };
    if f.len() > ETH && f[12..14] == [0x86, 0xdd] {
        // IPv6's ARP reply: a Neighbour Advertisement the ND parser takes
        // is consumed by learning (ingress6.rs), to us or a group MAC.
        let to_us = f[0] & 1 == 1 || f[..6] == ifc.mac;
        return to_us && matches!(crate::l3::nd::parse(f), Ok(crate::l3::nd::Nd::Advert(_)));
    }
    if f.len() < ETH + 28 || f[12..14] != [0x08, 0x06] {
        return false;
    }
    let to_us = f[0] & 1 == 1 || f[..6] == ifc.mac;
    let a = &f[ETH..];
    let ether_ipv4 = a[0..2] == [0, 1] && a[2..4] == [0x08, 0x00] && a[4] == 6 && a[5] == 4;
    to_us && ether_ipv4 && a[6..8] != [0, 1]
}

/// The packet a tunnel carries, if `ip` (a parsed outer IPv4 packet) is
/// IPIP, GRE (IPv4 payload) or GUE to our GUE port.
fn decap(ip: &[u8]) -> Option<&[u8]> {
    let (ihl, total) = ip_extent(ip)?;
    let p = &ip[ihl..total];
    match ip[9] {
        4 => Some(p),
        47 if p.len() >= 4 && p[2..4] == [0x08, 0x00] => Some(&p[4..]),
        17 if p.len() >= 12 && u16::from_be_bytes([p[2], p[3]]) == GUE_PORT && p[8] >> 6 == 0 && p[9] == 4 => {
            Some(&p[12..])
        }
        _ => None,
    }
}

/// More-fragments set or a non-zero offset.
fn is_fragment(ip: &[u8]) -> bool {
    ip.len() >= 8 && u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0
}

fn ip_header_ok(ip: &[u8], what: &str) -> Result<(), String> {
    let s = etherparse::Ipv4Slice::from_slice(ip).map_err(|e| format!("{what} IPv4 does not parse: {e}"))?;
    let h = s.header().to_header();
    // Summed over the raw header bytes: etherparse's own recomputation
    // drops the reserved flag bit (it has no field for it), so a header
    // carrying that bit would look wrong when it is right.
    let raw = s.header().slice();
    let mut sum: u32 = raw.chunks(2).map(|w| u32::from(w[0]) << 8 | u32::from(*w.get(1).unwrap_or(&0))).sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if sum != 0xffff {
        return Err(format!("{what} IPv4 header checksum {:#06x} is wrong", h.header_checksum));
    }
    if h.time_to_live == 0 {
        return Err(format!("{what} IPv4 TTL is 0"));
    }
    Ok(())
}

/// Everything a transmitted frame must satisfy (see the module docs of
/// [`super`]).
pub fn sent_frame(snap: &Snapshot, s: &Sent) -> Result<(), String> {
    let f = &s.frame.bytes;
    let Some(ifc) = snap.ifaces.iter().find(|i| i.port_id == s.port_id) else {
        return Err(format!("sent on unknown port {}", s.port_id));
    };
    if f.len() < ETH {
        return Err(format!("{} bytes: shorter than an Ethernet header", f.len()));
    }
    if f[6..12] != ifc.mac {
        return Err(format!("source MAC {:02x?} is not port {}'s", &f[6..12], s.port_id));
    }
    let p = SlicedPacket::from_ethernet(f).map_err(|e| format!("does not parse: {e}"))?;
    let ip = match p.net {
        Some(NetSlice::Arp(_)) => return Ok(()),
        Some(NetSlice::Ipv4(_)) => &f[ETH..],
        Some(NetSlice::Ipv6(ref ip6)) => return sent_ipv6(f, ip6, s),
        other => return Err(format!("neither ARP nor IP: {other:?}")),
    };
    ip_header_ok(ip, "outer")?;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if total != ip.len() {
        return Err(format!("IPv4 total length {total} but {} bytes after Ethernet", ip.len()));
    }
    // A fragment (the director fragments what does not fit the egress MTU)
    // carries part of its L4 segment or tunnelled packet: nothing further
    // to check in it.
    if is_fragment(ip) {
        return Ok(());
    }
    let inner = match decap(ip) {
        Some(i) => {
            ip_header_ok(i, "tunnelled")?;
            if ip_extent(i).map(|(_, t)| t) != Some(i.len()) {
                return Err("tunnelled packet length differs from its header's".into());
            }
            i
        }
        None => ip,
    };
    match s.frame.origin {
        Origin::Input { .. } if is_fragment(inner) => Ok(()),
        Origin::Built if ip[9] == 1 && !l4_valid_ip(ip) => Err("ICMP built by the director has a bad checksum".into()),
        Origin::Input { l4_ok: true, seq } if !l4_valid_ip(inner) => {
            Err(format!("L4 checksum valid on input {seq} but not on output"))
        }
        _ => Ok(()),
    }
}

/// [`sent_frame`] for IPv6: the payload length is the frame's, and an L4
/// checksum valid on input (or any built by the director) is valid on
/// output. (A tunnelled IPv6 packet is checked as its outer header.)
fn sent_ipv6(f: &[u8], ip: &etherparse::Ipv6Slice<'_>, s: &Sent) -> Result<(), String> {
    let plen = usize::from(ip.header().payload_length());
    if ETH + 40 + plen != f.len() {
        return Err(format!("IPv6 payload length {plen} but {} bytes after the header", f.len() - ETH - 40));
    }
    let tunnelled = ip.header().next_header() == etherparse::IpNumber::IPV6;
    match s.frame.origin {
        Origin::Built if !l4_valid_ip6(f) => Err("ICMPv6 built by the director has a bad checksum".into()),
        Origin::Input { l4_ok: true, seq } if !tunnelled && !l4_valid_ip6(f) => {
            Err(format!("L4 checksum valid on input {seq} but not on output"))
        }
        _ => Ok(()),
    }
}
