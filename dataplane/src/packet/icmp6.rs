//! ICMPv6 errors the director originates (RFC 4443): packet too big for a
//! tunnel that does not fit, time exceeded when the hop limit runs out,
//! destination unreachable, parameter problem.
//!
//! Like [`super::icmp::build_error`] for IPv4, a frame is built into a
//! buffer the caller allocated (Ethernet addresses left blank for the
//! output path); the rate limit is the caller's too (RFC 4443 2.4 f).

use super::eth;
use super::ipv6::{is_multicast, is_unspecified, Ipv6Repr, DEFAULT_HOP_LIMIT};
use crate::wire::icmpv6::{self, DEST_UNREACH, PACKET_TOO_BIG, PARAM_PROBLEM, TIME_EXCEEDED};
use crate::wire::ipv6::{self, NH_ICMPV6};
use crate::wire::{Ethernet, Icmpv6, Ipv6};

/// The IPv6 minimum link MTU (RFC 8200 5): no error we send is larger,
/// so it reaches the source whatever the path (RFC 4443 2.4 c).
pub const MIN_MTU: usize = 1280;
/// Bytes of the offending packet an error quotes at most: all that fits
/// in [`MIN_MTU`] after the IPv6 and ICMPv6 headers.
pub const MAX_QUOTE: usize = MIN_MTU - ipv6::HDR_LEN - icmpv6::HDR_LEN;

/// Destination unreachable codes (RFC 4443 3.1).
pub const CODE_NO_ROUTE: u8 = 0;
pub const CODE_ADMIN_PROHIBITED: u8 = 1;
pub const CODE_BEYOND_SCOPE: u8 = 2;
pub const CODE_ADDR_UNREACH: u8 = 3;
pub const CODE_PORT_UNREACH: u8 = 4;
pub const CODE_SRC_POLICY: u8 = 5;
pub const CODE_REJECT_ROUTE: u8 = 6;
/// Time exceeded codes (RFC 4443 3.3).
pub const CODE_HOP_LIMIT: u8 = 0;
pub const CODE_REASSEMBLY: u8 = 1;
/// Parameter problem codes (RFC 4443 3.4).
pub const CODE_BAD_FIELD: u8 = 0;
pub const CODE_UNKNOWN_NEXT_HEADER: u8 = 1;
pub const CODE_UNKNOWN_OPTION: u8 = 2;

/// The 8-byte header of an error message: type, code, checksum, and the
/// word after them (MTU, pointer, or unused).
mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: std::ops::Range<usize> = 2..4;
    pub const PARAM: std::ops::Range<usize> = 4..8;
}

/// An ICMPv6 error the director originates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmp6Error {
    /// Below 128: an error (RFC 4443 2.1).
    pub ty: u8,
    pub code: u8,
    /// The word after the checksum: the MTU of packet too big, the
    /// pointer of parameter problem, 0 for the others.
    pub param: u32,
}

impl Icmp6Error {
    /// Hop limit exceeded in transit.
    pub const TIME_EXCEEDED: Icmp6Error = Icmp6Error { ty: TIME_EXCEEDED, code: CODE_HOP_LIMIT, param: 0 };

    /// The packet does not fit the next link: `mtu` is the largest packet
    /// the source may send (for a tunnel, the egress MTU less the outer
    /// headers).
    pub fn packet_too_big(mtu: u32) -> Self {
        Icmp6Error { ty: PACKET_TOO_BIG, code: 0, param: mtu }
    }

    pub fn dest_unreach(code: u8) -> Self {
        Icmp6Error { ty: DEST_UNREACH, code, param: 0 }
    }

    /// `pointer`: the offset of the offending octet in the packet.
    pub fn param_problem(code: u8, pointer: u32) -> Self {
        Icmp6Error { ty: PARAM_PROBLEM, code, param: pointer }
    }
}

/// May the director send an ICMPv6 error about `orig` (an IPv6 packet
/// from its header on)? Not (RFC 4443 2.4 e) about an ICMPv6 error, nor
/// about a packet to a multicast address (we never forward one: the
/// exceptions for packet too big and parameter problem code 2 do not
/// arise), nor about one whose source is multicast or unspecified (no
/// single node to tell). A link-layer multicast or broadcast destination
/// (e.2) is the caller's to check: the frame is not here.
///
/// As Linux's `is_ineligible`: a chain of extension headers that cannot
/// be walked hides no ICMPv6 error we could see, and a later fragment
/// does not hold the upper-layer header, so both may be answered.
pub fn may_answer(orig: &[u8]) -> bool {
    let Ok(ip) = Ipv6::new_checked_quoted(orig) else { return false };
    let (src, dst) = (ip.src(), ip.dst());
    if is_multicast(&dst) || is_multicast(&src) || is_unspecified(&src) {
        return false;
    }
    let Ok(up) = ip.upper_layer() else { return true };
    if up.proto != NH_ICMPV6 || !up.has_header() {
        return true;
    }
    // An unreadable type is taken as an error's.
    ip.upper_payload(&up).first().is_some_and(|t| *t >= 128)
}

/// The bytes of `orig` an error about it quotes: the packet up to its
/// payload length (no Ethernet padding), at most [`MAX_QUOTE`].
fn quote_len(ip: &Ipv6<&[u8]>) -> usize {
    ip.packet().len().min(MAX_QUOTE)
}

/// The frame length [`build_error`] writes for `orig` (0 when `orig` has
/// no IPv6 header): what the caller allocates.
pub fn error_frame_len(orig: &[u8]) -> usize {
    match Ipv6::new_checked_quoted(orig) {
        Ok(ip) => eth::HDR_LEN + ipv6::HDR_LEN + icmpv6::HDR_LEN + quote_len(&ip),
        Err(_) => 0,
    }
}

/// Build the ICMPv6 error `err` about `orig` (the offending IPv6 packet,
/// from its header on) into `out`: Ethernet (addresses blank, IPv6 type)
/// at 0, IPv6 at 14 from `src` (an address of ours the caller chose) to
/// `orig`'s source, hop limit 64, then the message quoting as much of
/// `orig` as fits in 1280 bytes, with its checksum. Returns the frame
/// length: 0 (nothing built) when [`may_answer`] says no, `err` is not an
/// error type, or `out` is shorter than [`error_frame_len`].
pub fn build_error(out: &mut [u8], src: u128, orig: &[u8], err: Icmp6Error) -> usize {
    if err.ty >= 128 || !may_answer(orig) {
        return 0;
    }
    let Ok(quoted) = Ipv6::new_checked_quoted(orig) else { return 0 };
    let (src, dst) = (src.to_be_bytes(), quoted.src());
    let quote = &quoted.packet()[..quote_len(&quoted)];
    let (l3, l4) = (eth::HDR_LEN, eth::HDR_LEN + ipv6::HDR_LEN);
    let msg_len = icmpv6::HDR_LEN + quote.len();
    let frame = l4 + msg_len;
    let Some(out) = out.get_mut(..frame) else { return 0 };
    let ip = Ipv6Repr {
        traffic_class: 0,
        flow_label: 0,
        payload_len: msg_len as u16,
        next_header: NH_ICMPV6,
        hop_limit: DEFAULT_HOP_LIMIT,
        src,
        dst,
    };
    if Ethernet::emit(&mut *out, [0; 6], [0; 6], eth::TYPE_IPV6).is_err() || ip.emit(&mut out[l3..]).is_err() {
        return 0;
    }
    let h = &mut out[l4..];
    h[field::TYPE] = err.ty;
    h[field::CODE] = err.code;
    h[field::CHECKSUM].fill(0);
    h[field::PARAM].copy_from_slice(&err.param.to_be_bytes());
    let Ok(mut msg) = Icmpv6::new_checked(h) else { return 0 };
    msg.data_mut().copy_from_slice(quote);
    msg.fill_checksum(&src, &dst);
    frame
}

#[cfg(test)]
#[path = "icmp6_tests.rs"]
mod tests;
