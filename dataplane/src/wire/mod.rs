//! Checked header views: the only way the packet path reads or rewrites a
//! header.
//!
//! Each view wraps a byte buffer (`T: AsRef<[u8]>`, `AsMut` to rewrite)
//! and has one fallible constructor, `new_checked`, that proves the buffer
//! holds everything its accessors touch. After it, no accessor can panic
//! or read past the header: a malformed frame is refused once, at the
//! gate, with the [`DropReason`] that names what is wrong, and no mode
//! ever sees it. Field positions are named constants, never offsets at
//! the call site. Rewrites (addresses, ports, TTL, lengths) are methods
//! that keep checksums valid incrementally (RFC 1624), so a checksum that
//! arrived wrong stays wrong by the same amount.
//!
//! Accessors and rewrites are `#[inline]`: each is a few instructions,
//! called for every packet, and out of line the call and the re-derived
//! bounds checks cost more than the work (callgrind over the replay).
//!
//! Sans-IO: nothing here knows about mbufs or devices (smoltcp's `wire`
//! is the model, see STYLE.md).
//!
//! Views nest: [`Ethernet::payload`] (after an 802.1Q tag if any) is an
//! [`Arp`], [`Ipv4`] or [`Ipv6`]; [`Ipv4::payload`] or
//! [`Ipv6::upper_payload`] (after [`Ipv6::upper_layer`] walked the
//! extension headers) is an [`L4`] (TCP, UDP or SCTP, the last through
//! [`Sctp`]), [`Icmp`] or [`Icmpv6`]; an ICMP
//! error's quote is an `Ipv4`/`Ipv6` from `new_checked_quoted` (and its
//! ports an [`L4Quote`]). Headers the director builds from nothing are
//! written by `emit` ([`Ethernet::emit`], [`Ipv4Repr`], [`ArpRepr`],
//! [`UdpRepr`], [`GreRepr`], [`GueRepr`]). The
//! `fuzz` module drives them all on arbitrary bytes.

pub mod arp;
pub mod ethernet;
pub mod icmp;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod l4;
pub mod l4_quote;
pub mod sctp;
pub mod tunnel;

#[cfg(any(test, feature = "testkit"))]
pub mod fuzz;

pub use crate::drop::DropReason;
pub use arp::{Arp, ArpRepr};
pub use ethernet::Ethernet;
pub use icmp::Icmp;
pub use icmpv6::{Icmpv6, NdOption};
pub use ipv4::{Ipv4, Ipv4Repr};
pub use ipv6::{Addr6, Frag, Ipv6, UpperLayer};
pub use l4::{UdpRepr, L4};
pub use l4_quote::L4Quote;
pub use sctp::Sctp;
pub use tunnel::{GreRepr, GueRepr};

/// A header field: a byte range inside the header.
pub(crate) type Field = std::ops::Range<usize>;

#[inline(always)]
pub(crate) fn rd16(b: &[u8], f: Field) -> u16 {
    u16::from_be_bytes([b[f.start], b[f.start + 1]])
}

#[inline(always)]
pub(crate) fn rd32(b: &[u8], f: Field) -> u32 {
    u32::from_be_bytes([b[f.start], b[f.start + 1], b[f.start + 2], b[f.start + 3]])
}

#[inline(always)]
pub(crate) fn wr16(b: &mut [u8], f: Field, v: u16) {
    b[f].copy_from_slice(&v.to_be_bytes());
}

#[inline(always)]
pub(crate) fn wr32(b: &mut [u8], f: Field, v: u32) {
    b[f].copy_from_slice(&v.to_be_bytes());
}
