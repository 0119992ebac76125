//! Proxy Protocol (HAProxy's `proxy-protocol.txt`, v1 and v2) for
//! FULLNAT TCP: the client's address and the VIP at the start of the
//! client → server byte stream, for real servers that read a PROXY
//! header (nginx `proxy_protocol`, HAProxy `accept-proxy`) instead of a
//! TOA option.
//!
//! Where the header goes, as DPVS does it: into the first segment the
//! client sends after its SYN — the handshake's final ACK, or its first
//! data segment if that comes first — as payload in front of the
//! client's own bytes. The final ACK is the usual carrier (then it
//! becomes a segment with data), so server-first protocols (SMTP, FTP)
//! get their header too without waiting for the client to speak.
//!
//! From the SYN on, the director shifts the two sequence spaces apart by
//! the header's length `H`, with the client's first data sequence number
//! `base` (ISN + 1) kept in the connection entry
//! ([`crate::conn::Conn::seq_base`]):
//! * client → server: every segment but the SYN gets `seq + H`, except
//!   the one starting at `base` while the server has not yet
//!   acknowledged the header: that is the carrier (or a retransmission
//!   of it) and gets the header (again) in front of its data, its
//!   sequence number unchanged. The same bytes at the same place each
//!   time, so the server's TCP discards duplicates as usual;
//! * server → client: the acknowledgment number and each SACK block edge
//!   `x` become `x - H`; an edge inside the header (`base <= x < base +
//!   H`, the server has part of it) becomes `base`, so the client never
//!   sees an acknowledgment of bytes it did not send.
//!
//! Checksums are updated incrementally (RFC 1624): a segment that arrived
//! with a bad checksum leaves with one as bad.
//!
//! MTU: a carrier that would exceed the egress MTU with the header in
//! front loses the tail of its data instead (as much as needed; FIN
//! cleared when data was cut, since it followed that data). The server
//! acknowledges what arrived; the client, seeing a partial
//! acknowledgment, sends the tail again (as a plain shifted segment).
//! Nothing is dropped and no ICMP is needed. Only a header that cannot
//! fit even in an empty segment (an MTU below ~200 bytes) drops the
//! packet, counted as `proxy_no_room`, as does a buffer that cannot grow.
//!
//! TOA: a connection with Proxy Protocol gets no TOA option (the header
//! says more, and its readers need no kernel module).
//!
//! TCP Fast Open: data in the client's SYN is removed (the SYN goes on
//! without it); the client sends it again after the handshake, where the
//! header goes in front of it.
//!
//! A connection whose SYN the director did not see cannot be shifted (no
//! `base`): it goes on without a header.

use super::L4At;
use crate::addr::Addr;
use crate::conn::Conn;
use crate::drop::DropReason;
use crate::packet::csum;
use crate::packet::ipv4::PROTO_TCP;
use crate::packet::l4::{TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
use crate::packet::PacketBuf;
use crate::wire::ipv6::HDR_LEN as IP6_HDR;
use crate::wire::{Ipv4, Ipv6, L4};
use rvs_conf::ProxyProtocol;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};

/// Conn flags (caller bits 8..16 of [`crate::conn::table::flags`]; 8 is
/// TOA's, 9 NAT64's). The connection's service asked for a header.
pub const F_PP: u16 = 1 << 10;
/// ... a v2 (binary) one; v1 (text) without.
pub const F_PP_V2: u16 = 1 << 11;
/// The SYN was seen: `seq_base` and `seq_delta` hold, and every later
/// segment is shifted (see the module doc).
pub const F_PP_SEQ: u16 = 1 << 12;
/// The header was sent at least once.
pub const F_PP_SENT: u16 = 1 << 13;
/// The server acknowledged the whole header: never insert it again.
pub const F_PP_ACKED: u16 = 1 << 14;

/// Longest header: v1 says 107 bytes at most (`PROXY UNKNOWN` with two
/// full IPv6 addresses); v2 with IPv6 and no TLVs is 52.
pub const MAX_LEN: usize = 108;
/// v2's signature.
pub const V2_SIG: [u8; 12] = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/// The conn flags a new FULLNAT connection of a service gets.
pub fn conn_flags(p: ProxyProtocol) -> u16 {
    match p {
        ProxyProtocol::Off => 0,
        ProxyProtocol::V1 => F_PP,
        ProxyProtocol::V2 => F_PP | F_PP_V2,
    }
}

/// A PROXY header, built on the stack (no allocation on the data path).
#[derive(Clone, Copy)]
pub struct Header {
    buf: [u8; MAX_LEN],
    len: usize,
}

impl Header {
    /// The header saying the connection came from `src` to `dst` (the
    /// client and the VIP). Both IPv4: TCP4; otherwise TCP6, an IPv4 end
    /// written IPv4-mapped. The family is the client's and the VIP's,
    /// not the packet's, so a NAT64 connection (IPv6 client, IPv4
    /// server) tells the server the IPv6 addresses.
    pub fn new(v2: bool, src: (IpAddr, u16), dst: (IpAddr, u16)) -> Header {
        let mut h = Header { buf: [0; MAX_LEN], len: 0 };
        let v4 = match (src.0, dst.0) {
            (IpAddr::V4(s), IpAddr::V4(d)) => Some((s, d)),
            _ => None,
        };
        let six = |a: IpAddr| match a {
            IpAddr::V4(a) => a.to_ipv6_mapped(),
            IpAddr::V6(a) => a,
        };
        if v2 {
            h.put(&V2_SIG);
            // Version 2, PROXY; then AF_INET or AF_INET6 over STREAM.
            match v4 {
                Some((s, d)) => {
                    h.put(&[0x21, 0x11]);
                    h.put(&12u16.to_be_bytes());
                    h.put(&s.octets());
                    h.put(&d.octets());
                }
                None => {
                    h.put(&[0x21, 0x21]);
                    h.put(&36u16.to_be_bytes());
                    h.put(&six(src.0).octets());
                    h.put(&six(dst.0).octets());
                }
            }
            h.put(&src.1.to_be_bytes());
            h.put(&dst.1.to_be_bytes());
        } else {
            // At most 11 + 39 + 1 + 39 + 1 + 5 + 1 + 5 + 2 = 104 bytes:
            // the writes cannot fail.
            let _ = match v4 {
                Some((s, d)) => write!(h, "PROXY TCP4 {s} {d} {} {}\r\n", src.1, dst.1),
                None => {
                    let (s, d): (Ipv6Addr, Ipv6Addr) = (six(src.0), six(dst.0));
                    write!(h, "PROXY TCP6 {s} {d} {} {}\r\n", src.1, dst.1)
                }
            };
        }
        h
    }

    /// The header of connection `c` (client and VIP ends, its version).
    pub fn of<A: Addr>(c: &Conn<A>) -> Header {
        Header::new(c.flags & F_PP_V2 != 0, (c.caddr.to_ip(), c.cport), (c.vaddr.to_ip(), c.vport))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn put(&mut self, b: &[u8]) {
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }
}

impl std::fmt::Write for Header {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.len + s.len() > MAX_LEN {
            return Err(std::fmt::Error);
        }
        self.put(s.as_bytes());
        Ok(())
    }
}

/// `a` is at or after `b` in sequence space (RFC 9293's modular order).
#[inline]
fn seq_ge(a: u32, b: u32) -> bool {
    a.wrapping_sub(b) as i32 >= 0
}

/// A server-side sequence number (acknowledgment, SACK edge) of the
/// client's stream, as the client numbers it: see the module doc.
#[inline]
pub fn to_client(x: u32, base: u32, delta: u32) -> u32 {
    if seq_ge(x, base.wrapping_add(delta)) {
        x.wrapping_sub(delta)
    } else if seq_ge(x, base) {
        base
    } else {
        x
    }
}

/// Where the IP packet at `at.l3` ends in the frame, and its length (a
/// frame may carry Ethernet padding after it).
fn ip_bounds(b: &[u8], at: L4At) -> Result<(usize, usize), DropReason> {
    let ip = b.get(at.l3..).ok_or(DropReason::IpTruncated)?;
    let n = match ip.first().map(|v| v >> 4) {
        Some(4) => Ipv4::new_checked(ip)?.total_len(),
        Some(6) => IP6_HDR + Ipv6::new_checked(ip)?.payload_len(),
        _ => return Err(DropReason::IpBadVersion),
    };
    Ok((at.l3 + n, n))
}

/// Set the IP packet's length to `n` (IPv4 total length, checksum kept;
/// IPv6 payload length).
fn set_ip_len(b: &mut [u8], at: L4At, n: usize) -> Result<(), DropReason> {
    let ip = b.get_mut(at.l3..).ok_or(DropReason::IpTruncated)?;
    let ok = match ip.first().map(|v| v >> 4) {
        Some(4) => Ipv4::new_checked(ip)?.set_total_len(n as u16),
        _ => Ipv6::new_checked(ip)?.set_payload_len((n - IP6_HDR) as u16),
    };
    if ok {
        Ok(())
    } else {
        Err(DropReason::IpBadLen)
    }
}

/// A client → server TCP segment of a connection with [`F_PP`], before
/// the FULLNAT rewrite (addresses do not matter here). `c` is the entry
/// in the table: its flags and sequence fields are updated in place.
/// `mtu` is the egress MTU toward the real server.
pub fn on_request<P: PacketBuf, A: Addr>(pkt: &mut P, at: L4At, c: &mut Conn<A>, mtu: u16) -> Result<(), DropReason> {
    if at.proto != PROTO_TCP {
        return Ok(());
    }
    let (ip_end, _) = ip_bounds(pkt.data(), at)?;
    let tcp = L4::new_checked(pkt.data().get(at.l4..ip_end).ok_or(DropReason::L4Truncated)?, PROTO_TCP)?;
    let (flags, seq) = (tcp.flags(), tcp.seq());
    if flags & TCP_SYN != 0 {
        // The client's SYN (or a retransmission: the same ISN) fixes
        // where its stream starts and so where the header goes.
        if c.flags & F_PP_SENT == 0 {
            c.seq_base = seq.wrapping_add(1);
            c.seq_delta = Header::of(c).len as u8;
            c.flags |= F_PP_SEQ;
        }
        // TCP Fast Open data would reach the server before the header:
        // the SYN goes without it, and the client sends it again after
        // the handshake (RFC 7413: data the SYN-ACK does not acknowledge),
        // where it gets the header in front.
        if ip_end > at.l4 + tcp.hdr_len() {
            return rebuild(pkt, at, &[], 0);
        }
        return Ok(());
    }
    if c.flags & F_PP_SEQ == 0 {
        // No SYN seen (an entry picked up mid-stream): nothing to shift.
        c.flags &= !F_PP;
        return Ok(());
    }
    let carrier = seq == c.seq_base && c.flags & F_PP_ACKED == 0;
    if carrier && flags & TCP_RST == 0 {
        return insert(pkt, at, c, mtu);
    }
    // A reset at `base` before any header was sent is exact as it is.
    if carrier && c.flags & F_PP_SENT == 0 {
        return Ok(());
    }
    let b = pkt.data_mut();
    let mut tcp = L4::new_checked(&mut b[at.l4..ip_end], PROTO_TCP)?;
    tcp.set_seq(seq.wrapping_add(c.seq_delta as u32));
    Ok(())
}

/// Put the connection's header in front of the data of the segment that
/// starts the client's stream (see the module doc for the MTU rule).
fn insert<P: PacketBuf, A: Addr>(pkt: &mut P, at: L4At, c: &mut Conn<A>, mtu: u16) -> Result<(), DropReason> {
    let hdr = Header::of(c);
    let h = hdr.as_bytes();
    let (ip_end, ip_len) = ip_bounds(pkt.data(), at)?;
    let tcp = L4::new_checked(&pkt.data()[at.l4..ip_end], PROTO_TCP)?;
    let fixed = ip_len - (ip_end - at.l4 - tcp.hdr_len());
    if fixed + h.len() > mtu as usize {
        return Err(DropReason::ProxyNoRoom);
    }
    rebuild(pkt, at, h, mtu as usize - fixed - h.len())?;
    c.seq_delta = h.len() as u8;
    c.flags |= F_PP_SENT;
    Ok(())
}

/// Make the segment's payload `head` followed by at most `keep_max`
/// bytes of its data (FIN cleared when data was cut), with lengths and
/// checksums updated.
fn rebuild<P: PacketBuf>(pkt: &mut P, at: L4At, h: &[u8], keep_max: usize) -> Result<(), DropReason> {
    let (ip_end, ip_len) = ip_bounds(pkt.data(), at)?;
    let tcp = L4::new_checked(&pkt.data()[at.l4..ip_end], PROTO_TCP)?;
    let pl = at.l4 + tcp.hdr_len();
    let (data_len, flags) = (ip_end - pl, tcp.flags());
    let fixed = ip_len - data_len;
    let keep = data_len.min(keep_max);
    // The payload starts a multiple of 4 bytes into the segment, before
    // and after: the two sums have the same alignment.
    let old_sum = csum::sum(&pkt.data()[pl..ip_end], 0);
    let old_seg = (ip_end - at.l4) as u16;
    let new_end = pl + h.len() + keep;
    if new_end > pkt.len() && !pkt.set_len(new_end) {
        return Err(DropReason::ProxyNoRoom);
    }
    let b = pkt.data_mut();
    b.copy_within(pl..pl + keep, pl + h.len());
    b[pl..pl + h.len()].copy_from_slice(h);
    set_ip_len(b, at, fixed + h.len() + keep)?;
    // Ethernet padding after the old packet, or the cut tail, goes.
    if new_end < pkt.len() && !pkt.set_len(new_end) {
        return Err(DropReason::ProxyNoRoom);
    }
    let b = pkt.data_mut();
    let new_sum = csum::sum(&b[pl..new_end], 0);
    let mut tcp = L4::new_checked(&mut b[at.l4..new_end], PROTO_TCP)?;
    tcp.fix_checksum(old_sum, new_sum);
    tcp.fix_pseudo_len(old_seg, (new_end - at.l4) as u16);
    if keep < data_len && flags & TCP_FIN != 0 {
        tcp.set_flags(flags & !TCP_FIN);
    }
    Ok(())
}

/// TCP option kinds walked on replies.
const OPT_EOL: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_SACK: u8 = 5;

/// A server → client TCP segment of a connection with [`F_PP_SEQ`],
/// before the FULLNAT rewrite: acknowledgment and SACK edges back into
/// the client's numbering, and [`F_PP_ACKED`] once the server has the
/// whole header. An option list that runs past the header is
/// `TcpBadOptions` (its SACK blocks could not be found).
pub fn on_reply<A: Addr>(b: &mut [u8], at: L4At, c: &mut Conn<A>) -> Result<(), DropReason> {
    if at.proto != PROTO_TCP {
        return Ok(());
    }
    let (ip_end, _) = ip_bounds(b, at)?;
    let mut tcp = L4::new_checked(b.get_mut(at.l4..ip_end).ok_or(DropReason::L4Truncated)?, PROTO_TCP)?;
    if tcp.flags() & TCP_ACK == 0 {
        return Ok(());
    }
    let (base, delta) = (c.seq_base, c.seq_delta as u32);
    let ack = tcp.ack();
    if seq_ge(ack, base.wrapping_add(delta)) {
        c.flags |= F_PP_ACKED;
    }
    let to = to_client(ack, base, delta);
    if to != ack {
        tcp.set_ack(to);
    }
    if tcp.hdr_len() == crate::wire::l4::TCP_MIN_HDR {
        return Ok(());
    }
    let old = csum::sum(tcp.options(), 0);
    let opts = tcp.options_mut();
    let mut i = 0;
    let mut changed = false;
    while let Some(&kind) = opts.get(i) {
        match kind {
            OPT_EOL => break,
            OPT_NOP => i += 1,
            _ => {
                let len = *opts.get(i + 1).ok_or(DropReason::TcpBadOptions)? as usize;
                if len < 2 || i + len > opts.len() {
                    return Err(DropReason::TcpBadOptions);
                }
                if kind == OPT_SACK {
                    for e in opts[i + 2..i + len].chunks_exact_mut(4) {
                        let x = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
                        let y = to_client(x, base, delta);
                        e.copy_from_slice(&y.to_be_bytes());
                        changed |= x != y;
                    }
                }
                i += len;
            }
        }
    }
    if changed {
        let new = csum::sum(tcp.options(), 0);
        tcp.fix_checksum(old, new);
    }
    Ok(())
}

#[cfg(test)]
#[path = "proxy_proto_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "proxy_proto_engine_tests.rs"]
mod engine_tests;
