//! Ethernet / IPv4 / TCP / UDP frames written into byte buffers (IPv6
//! in [`crate::frame6`]).
//!
//! The generators need their own writer (not a builder that allocates):
//! `rvs-gen` rewrites received mbufs in place at millions of packets per
//! second, and `rvs-pcapgen` writes millions of frames. Checksums are
//! computed in full here; the data path under test is the one that must
//! get away with incremental updates.

/// Header lengths without options.
pub const ETH_LEN: usize = 14;
pub const IP_LEN: usize = 20;
pub const TCP_LEN: usize = 20;
pub const UDP_LEN: usize = 8;
/// Smallest Ethernet frame without its FCS (64 bytes on the wire).
pub const MIN_FRAME: usize = 60;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

/// TCP flag bits.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

pub type Mac = [u8; 6];
pub const BROADCAST: Mac = [0xff; 6];

/// Who talks to whom (addresses host order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    pub smac: Mac,
    pub dmac: Mac,
    pub src: u32,
    pub sport: u16,
    pub dst: u32,
    pub dport: u16,
}

/// The sequence-space part of a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seg {
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
}

#[inline(always)]
pub fn get16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}

#[inline(always)]
pub fn get32(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

#[inline(always)]
pub(crate) fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_be_bytes());
}

#[inline(always)]
pub(crate) fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_be_bytes());
}

/// Ones' complement sum of `b` (big-endian 16-bit words), not folded.
#[inline]
pub(crate) fn sum(b: &[u8]) -> u32 {
    let mut s = 0u32;
    let mut chunks = b.chunks_exact(2);
    for c in &mut chunks {
        s += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        s += u32::from(*last) << 8;
    }
    s
}

#[inline]
pub(crate) fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// Write the Ethernet and IPv4 headers; returns the L4 offset.
fn eth_ip(b: &mut [u8], e: &Endpoints, proto: u8, l4_len: usize) -> usize {
    b[0..6].copy_from_slice(&e.dmac);
    b[6..12].copy_from_slice(&e.smac);
    put16(b, 12, ETHERTYPE_IPV4);
    let ip = &mut b[ETH_LEN..ETH_LEN + IP_LEN];
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip, 2, (IP_LEN + l4_len) as u16);
    put16(ip, 4, 0);
    put16(ip, 6, 0x4000); // DF: what TCP stacks send
    ip[8] = 64;
    ip[9] = proto;
    put16(ip, 10, 0);
    put32(ip, 12, e.src);
    put32(ip, 16, e.dst);
    let c = fold(sum(ip));
    put16(ip, 10, c);
    ETH_LEN + IP_LEN
}

/// Pseudo-header sum for an L4 checksum.
fn pseudo(e: &Endpoints, proto: u8, l4_len: usize) -> u32 {
    (e.src >> 16) + (e.src & 0xffff) + (e.dst >> 16) + (e.dst & 0xffff) + u32::from(proto) + l4_len as u32
}

/// Write a TCP frame whose payload (`payload_len` bytes, already in place
/// or left as found) follows a 20-byte header. Frames shorter than
/// `pad_to` get Ethernet padding (zeros, outside the IP length). Returns
/// the frame length; `b` must be long enough.
pub fn tcp(b: &mut [u8], e: &Endpoints, s: Seg, payload_len: usize, pad_to: usize) -> usize {
    let l4_len = TCP_LEN + payload_len;
    let l4 = eth_ip(b, e, PROTO_TCP, l4_len);
    let end = tcp_at(b, l4, (e.sport, e.dport), s, payload_len, pseudo(e, PROTO_TCP, l4_len));
    pad(b, end, pad_to)
}

/// Write a UDP frame (see [`tcp`]).
pub fn udp(b: &mut [u8], e: &Endpoints, payload_len: usize, pad_to: usize) -> usize {
    let l4_len = UDP_LEN + payload_len;
    let l4 = eth_ip(b, e, PROTO_UDP, l4_len);
    let end = udp_at(b, l4, (e.sport, e.dport), payload_len, pseudo(e, PROTO_UDP, l4_len));
    pad(b, end, pad_to)
}

/// The TCP header at `l4` (ports, `s`, a 20-byte header, window 65535)
/// and its checksum over the header, the payload behind it and
/// `pseudo_sum` (the IP family's pseudo-header, not folded). Shared by
/// IPv4 and IPv6 ([`crate::frame6`]): only the pseudo-header differs.
/// Returns where the segment ends.
pub(crate) fn tcp_at(b: &mut [u8], l4: usize, ports: (u16, u16), s: Seg, payload_len: usize, pseudo_sum: u32) -> usize {
    let l4_len = TCP_LEN + payload_len;
    let t = &mut b[l4..l4 + TCP_LEN];
    put16(t, 0, ports.0);
    put16(t, 2, ports.1);
    put32(t, 4, s.seq);
    put32(t, 8, s.ack);
    t[12] = (TCP_LEN as u8 / 4) << 4;
    t[13] = s.flags;
    put16(t, 14, 65535);
    put16(t, 16, 0);
    put16(t, 18, 0);
    let c = fold(pseudo_sum + sum(&b[l4..l4 + l4_len]));
    put16(b, l4 + 16, c);
    l4 + l4_len
}

/// The UDP header at `l4` and its checksum (see [`tcp_at`]). Returns
/// where the datagram ends.
pub(crate) fn udp_at(b: &mut [u8], l4: usize, ports: (u16, u16), payload_len: usize, pseudo_sum: u32) -> usize {
    let l4_len = UDP_LEN + payload_len;
    put16(b, l4, ports.0);
    put16(b, l4 + 2, ports.1);
    put16(b, l4 + 4, l4_len as u16);
    put16(b, l4 + 6, 0);
    let c = match fold(pseudo_sum + sum(&b[l4..l4 + l4_len])) {
        0 => 0xffff, // 0 means "no checksum" in UDP (and is forbidden over IPv6)
        c => c,
    };
    put16(b, l4 + 6, c);
    l4 + l4_len
}

/// Zero Ethernet padding from `len` up to `pad_to`; the frame's length.
pub(crate) fn pad(b: &mut [u8], len: usize, pad_to: usize) -> usize {
    if len < pad_to {
        b[len..pad_to].fill(0);
        pad_to
    } else {
        len
    }
}

/// An ARP frame (request or reply) from `sha`/`spa`.
pub fn arp(b: &mut [u8], op: u16, dmac: Mac, sha: Mac, spa: u32, tha: Mac, tpa: u32) -> usize {
    b[0..6].copy_from_slice(&dmac);
    b[6..12].copy_from_slice(&sha);
    put16(b, 12, ETHERTYPE_ARP);
    put16(b, 14, 1);
    put16(b, 16, ETHERTYPE_IPV4);
    b[18] = 6;
    b[19] = 4;
    put16(b, 20, op);
    b[22..28].copy_from_slice(&sha);
    put32(b, 28, spa);
    b[32..38].copy_from_slice(&tha);
    put32(b, 38, tpa);
    pad(b, 42, MIN_FRAME)
}

pub const ARP_REQUEST: u16 = 1;
pub const ARP_REPLY: u16 = 2;

/// What the generator needs to know of a received IPv4 TCP frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpView {
    pub ep: Endpoints,
    pub seg: Seg,
    /// Payload bytes (after any TCP options).
    pub payload_len: usize,
}

/// Parse an Ethernet + IPv4 (any IHL) + TCP (any data offset) frame.
pub fn parse_tcp(b: &[u8]) -> Option<TcpView> {
    if b.len() < ETH_LEN + IP_LEN || get16(b, 12) != ETHERTYPE_IPV4 {
        return None;
    }
    let ihl = usize::from(b[ETH_LEN] & 0x0f) * 4;
    let total = usize::from(get16(b, ETH_LEN + 2));
    if b[ETH_LEN + 9] != PROTO_TCP || ihl < IP_LEN || total < ihl + TCP_LEN || b.len() < ETH_LEN + total {
        return None;
    }
    let l4 = ETH_LEN + ihl;
    let doff = usize::from(b[l4 + 12] >> 4) * 4;
    if doff < TCP_LEN || total < ihl + doff {
        return None;
    }
    let mut smac = [0u8; 6];
    let mut dmac = [0u8; 6];
    dmac.copy_from_slice(&b[0..6]);
    smac.copy_from_slice(&b[6..12]);
    Some(TcpView {
        ep: Endpoints {
            smac,
            dmac,
            src: get32(b, ETH_LEN + 12),
            sport: get16(b, l4),
            dst: get32(b, ETH_LEN + 16),
            dport: get16(b, l4 + 2),
        },
        seg: Seg { seq: get32(b, l4 + 4), ack: get32(b, l4 + 8), flags: b[l4 + 13] },
        payload_len: total - ihl - doff,
    })
}

/// An ARP frame's (op, sender MAC, sender IP, target IP).
pub fn parse_arp(b: &[u8]) -> Option<(u16, Mac, u32, u32)> {
    if b.len() < 42 || get16(b, 12) != ETHERTYPE_ARP {
        return None;
    }
    let mut sha = [0u8; 6];
    sha.copy_from_slice(&b[22..28]);
    Some((get16(b, 20), sha, get32(b, 28), get32(b, 38)))
}

/// `a.b.c.d` of a host-order address.
pub fn ip_str(a: u32) -> String {
    std::net::Ipv4Addr::from(a).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    fn ep() -> Endpoints {
        Endpoints {
            smac: [2, 0, 0, 0, 0, 1],
            dmac: [2, 0, 0, 0, 0, 2],
            src: 0x0a01_0001,
            sport: 40000,
            dst: 0xac19_fe64,
            dport: 80,
        }
    }

    /// Checksums as an independent parser computes them.
    fn verify(b: &[u8]) -> (usize, u8) {
        let p = SlicedPacket::from_ethernet(b).expect("parse");
        let Some(NetSlice::Ipv4(ip)) = &p.net else { panic!("not ipv4") };
        let h = ip.header().to_header();
        assert_eq!(h.header_checksum, h.calc_header_checksum());
        match p.transport.expect("l4") {
            TransportSlice::Tcp(t) => {
                assert_eq!(t.checksum(), t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap());
                (t.payload().len(), t.to_header().syn as u8)
            }
            TransportSlice::Udp(u) => {
                assert_eq!(u.checksum(), u.to_header().calc_checksum_ipv4(&h, u.payload()).unwrap());
                (u.payload().len(), 0)
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn tcp_syn_is_padded_and_valid() {
        let mut b = [0xaau8; 128];
        let n = tcp(&mut b, &ep(), Seg { seq: 7, ack: 0, flags: tcp_flags::SYN }, 0, MIN_FRAME);
        assert_eq!(n, 60);
        assert_eq!(verify(&b[..n]), (0, 1));
        let v = parse_tcp(&b[..n]).unwrap();
        assert_eq!(v.ep, ep());
        assert_eq!(v.seg, Seg { seq: 7, ack: 0, flags: tcp_flags::SYN });
        assert_eq!(v.payload_len, 0);
    }

    #[test]
    fn tcp_and_udp_with_odd_payloads() {
        for len in [1usize, 6, 17, 100] {
            let mut b = [0x5au8; 256];
            let n = tcp(&mut b, &ep(), Seg { seq: 1, ack: 2, flags: tcp_flags::ACK | tcp_flags::PSH }, len, MIN_FRAME);
            assert_eq!(verify(&b[..n]).0, len);
            assert_eq!(parse_tcp(&b[..n]).unwrap().payload_len, len);
            let n = udp(&mut b, &ep(), len, MIN_FRAME);
            assert_eq!(verify(&b[..n]).0, len);
        }
    }

    #[test]
    fn arp_round_trip() {
        let mut b = [0u8; 64];
        let n = arp(&mut b, ARP_REQUEST, BROADCAST, [2, 0, 0, 0, 0, 9], 0xc0a8_000a, [0; 6], 0xc0a8_0064);
        assert_eq!(n, 60);
        assert_eq!(parse_arp(&b[..n]), Some((ARP_REQUEST, [2, 0, 0, 0, 0, 9], 0xc0a8_000a, 0xc0a8_0064)));
    }
}
