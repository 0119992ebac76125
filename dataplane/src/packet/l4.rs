//! TCP/UDP header access and checksum-preserving rewrites.

use super::{csum, get16, put16};

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

/// Offset of the checksum field inside the L4 header.
#[inline(always)]
pub fn csum_off(proto: u8) -> usize {
    if proto == super::ipv4::PROTO_TCP {
        16
    } else {
        6
    }
}

/// Minimal header length to read ports/flags.
#[inline(always)]
pub fn min_len(proto: u8) -> usize {
    if proto == super::ipv4::PROTO_TCP {
        20
    } else {
        8
    }
}

#[inline(always)]
pub fn sport(b: &[u8], l4: usize) -> u16 {
    get16(b, l4)
}

#[inline(always)]
pub fn dport(b: &[u8], l4: usize) -> u16 {
    get16(b, l4 + 2)
}

#[inline(always)]
pub fn tcp_flags(b: &[u8], l4: usize) -> u8 {
    b[l4 + 13]
}

/// Adjust the L4 checksum for an address change (pseudo-header). UDP's
/// "no checksum" (0) stays 0; a computed 0 is sent as 0xffff (RFC 768).
#[inline(always)]
pub fn fix_addr(b: &mut [u8], l4: usize, proto: u8, old: u32, new: u32) {
    let o = l4 + csum_off(proto);
    let c = get16(b, o);
    if proto == super::ipv4::PROTO_UDP && c == 0 {
        return;
    }
    let mut n = csum::update32(c, old, new);
    if proto == super::ipv4::PROTO_UDP && n == 0 {
        n = 0xffff;
    }
    put16(b, o, n);
}

/// Set a port (`which` = 0 source, 2 destination) and fix the checksum.
#[inline(always)]
pub fn set_port(b: &mut [u8], l4: usize, proto: u8, which: usize, new: u16) {
    let old = get16(b, l4 + which);
    if old == new {
        return;
    }
    put16(b, l4 + which, new);
    let o = l4 + csum_off(proto);
    let c = get16(b, o);
    if proto == super::ipv4::PROTO_UDP && c == 0 {
        return;
    }
    let mut n = csum::update16(c, old, new);
    if proto == super::ipv4::PROTO_UDP && n == 0 {
        n = 0xffff;
    }
    put16(b, o, n);
}
