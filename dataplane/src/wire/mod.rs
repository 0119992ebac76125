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
//! Sans-IO: nothing here knows about mbufs or devices (smoltcp's `wire`
//! is the model, see STYLE.md).

pub mod ethernet;
pub mod ipv4;
pub mod l4;

pub use crate::drop::DropReason;
pub use ethernet::Ethernet;
pub use ipv4::Ipv4;
pub use l4::L4;

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
