//! ICMPv6 message view (RFC 4443) with neighbour discovery (RFC 4861).

use super::ipv6::{self, Addr6, NH_ICMPV6};
use super::{rd16, rd32, wr16, DropReason, Field};
use crate::packet::csum;
use crate::packet::eth::Mac;

mod field {
    use super::Field;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const ECHO_ID: Field = 4..6;
    pub const ECHO_SEQ: Field = 6..8;
    /// Packet too big: the next hop's MTU.
    pub const MTU: Field = 4..8;
    /// Parameter problem: the offending octet's offset.
    pub const POINTER: Field = 4..8;
    /// Neighbour advertisement: R, S, O.
    pub const NA_FLAGS: usize = 4;
    /// Neighbour solicitation/advertisement, redirect.
    pub const ND_TARGET: Field = 8..24;
    pub const DATA: usize = 8;
}

/// Fields of a neighbour discovery option, from its start.
mod opt {
    pub const TYPE: usize = 0;
    /// In 8-byte units, type and length included; 0 is invalid.
    pub const LEN: usize = 1;
    pub const DATA: usize = 2;
}

pub const HDR_LEN: usize = field::DATA;
pub const DEST_UNREACH: u8 = 1;
pub const PACKET_TOO_BIG: u8 = 2;
pub const TIME_EXCEEDED: u8 = 3;
pub const PARAM_PROBLEM: u8 = 4;
pub const ECHO_REQUEST: u8 = 128;
pub const ECHO_REPLY: u8 = 129;
pub const ROUTER_SOLICIT: u8 = 133;
pub const ROUTER_ADVERT: u8 = 134;
pub const NEIGHBOR_SOLICIT: u8 = 135;
pub const NEIGHBOR_ADVERT: u8 = 136;
pub const REDIRECT: u8 = 137;
pub const OPT_SOURCE_LLADDR: u8 = 1;
pub const OPT_TARGET_LLADDR: u8 = 2;
pub const NA_ROUTER: u8 = 0x80;
pub const NA_SOLICITED: u8 = 0x40;
pub const NA_OVERRIDE: u8 = 0x20;
/// Options a neighbour discovery message may carry before we refuse it:
/// NS/NA carry one, an RA a few prefixes; more is a walk to nowhere.
pub const MAX_ND_OPTS: usize = 16;

/// Where a neighbour discovery message's options start (its fixed part's
/// length), or None for other types.
fn nd_options_at(ty: u8) -> Option<usize> {
    match ty {
        ROUTER_SOLICIT => Some(8),
        ROUTER_ADVERT => Some(16),
        NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT => Some(field::ND_TARGET.end),
        REDIRECT => Some(40),
        _ => None,
    }
}

/// Options of non-zero length, each within `o`, at most [`MAX_ND_OPTS`].
fn check_nd_options(mut o: &[u8]) -> Result<(), DropReason> {
    for _ in 0..MAX_ND_OPTS {
        if o.is_empty() {
            return Ok(());
        }
        let len = o.get(opt::LEN).map_or(0, |l| *l as usize * 8);
        if len == 0 || len > o.len() {
            return Err(DropReason::Icmp6BadNdOpt);
        }
        o = &o[len..];
    }
    if o.is_empty() {
        Ok(())
    } else {
        Err(DropReason::Icmp6BadNdOpt)
    }
}

/// An ICMPv6 message (the upper-layer bytes of an IPv6 packet), checked
/// to hold its 8-byte header; a neighbour discovery message also its
/// fixed part and well-formed options.
///
/// The checksum covers the IPv6 pseudo-header, so checking and fixing it
/// take the addresses. RFC 4861's other checks (hop limit 255, code 0,
/// target not multicast) are the caller's: they need the IPv6 header.
#[derive(Debug, Clone, Copy)]
pub struct Icmpv6<T> {
    buf: T,
}

/// One neighbour discovery option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdOption<'a> {
    pub kind: u8,
    /// After the type and length bytes.
    pub data: &'a [u8],
}

/// The options of a neighbour discovery message, as checked by
/// [`Icmpv6::new_checked`].
#[derive(Debug, Clone)]
pub struct NdOptions<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for NdOptions<'a> {
    type Item = NdOption<'a>;

    fn next(&mut self) -> Option<NdOption<'a>> {
        let len = self.rest.get(opt::LEN).map_or(0, |l| *l as usize * 8);
        if len == 0 || len > self.rest.len() {
            return None;
        }
        let (o, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(NdOption { kind: o[opt::TYPE], data: &o[opt::DATA..] })
    }
}

impl<T: AsRef<[u8]>> Icmpv6<T> {
    /// At least 8 bytes; for RS, RA, NS, NA and redirect the fixed part
    /// (`Icmp6Truncated`) and options that tile the rest (`Icmp6BadNdOpt`).
    pub fn new_checked(buf: T) -> Result<Self, DropReason> {
        let b = buf.as_ref();
        if b.len() < HDR_LEN {
            return Err(DropReason::Icmp6Truncated);
        }
        if let Some(at) = nd_options_at(b[field::TYPE]) {
            let Some(o) = b.get(at..) else { return Err(DropReason::Icmp6Truncated) };
            check_nd_options(o)?;
        }
        Ok(Icmpv6 { buf })
    }

    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    pub fn msg_type(&self) -> u8 {
        self.b()[field::TYPE]
    }

    pub fn code(&self) -> u8 {
        self.b()[field::CODE]
    }

    pub fn checksum(&self) -> u16 {
        rd16(self.b(), field::CHECKSUM)
    }

    /// Types below 128 are errors (RFC 4443 2.1), which quote a packet and
    /// are never answered with an error.
    pub fn is_error(&self) -> bool {
        self.msg_type() < 128
    }

    pub fn is_echo(&self) -> bool {
        matches!(self.msg_type(), ECHO_REQUEST | ECHO_REPLY)
    }

    pub fn echo_id(&self) -> u16 {
        rd16(self.b(), field::ECHO_ID)
    }

    pub fn echo_seq(&self) -> u16 {
        rd16(self.b(), field::ECHO_SEQ)
    }

    /// The next hop's MTU in a packet-too-big message.
    pub fn mtu(&self) -> Option<u32> {
        (self.msg_type() == PACKET_TOO_BIG).then(|| rd32(self.b(), field::MTU))
    }

    pub fn pointer(&self) -> Option<u32> {
        (self.msg_type() == PARAM_PROBLEM).then(|| rd32(self.b(), field::POINTER))
    }

    /// What follows the 8-byte header.
    pub fn data(&self) -> &[u8] {
        &self.b()[field::DATA..]
    }

    /// The packet an error quotes (read it with
    /// [`super::Ipv6::new_checked_quoted`]).
    pub fn quoted(&self) -> Option<&[u8]> {
        self.is_error().then(|| self.data())
    }

    pub fn message(&self) -> &[u8] {
        self.b()
    }

    /// The address a neighbour solicitation asks for, an advertisement
    /// answers for, or a redirect names as the better first hop.
    pub fn nd_target(&self) -> Option<Addr6> {
        matches!(self.msg_type(), NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT | REDIRECT)
            .then(|| std::array::from_fn(|i| self.b()[field::ND_TARGET.start + i]))
    }

    /// A neighbour advertisement's flags ([`NA_ROUTER`], [`NA_SOLICITED`],
    /// [`NA_OVERRIDE`]).
    pub fn na_flags(&self) -> Option<u8> {
        (self.msg_type() == NEIGHBOR_ADVERT).then(|| self.b()[field::NA_FLAGS] & 0xe0)
    }

    /// A neighbour discovery message's options (none for other types).
    pub fn nd_options(&self) -> NdOptions<'_> {
        let at = nd_options_at(self.msg_type()).unwrap_or(self.b().len());
        NdOptions { rest: self.b().get(at..).unwrap_or(&[]) }
    }

    fn lladdr(&self, kind: u8) -> Option<Mac> {
        let o = self.nd_options().find(|o| o.kind == kind)?;
        // Ethernet's option is one unit: 6 bytes of address (RFC 2464 8).
        (o.data.len() == 6).then(|| std::array::from_fn(|i| o.data[i]))
    }

    /// The sender's MAC from the source link-layer address option.
    pub fn source_lladdr(&self) -> Option<Mac> {
        self.lladdr(OPT_SOURCE_LLADDR)
    }

    /// The target's MAC from the target link-layer address option.
    pub fn target_lladdr(&self) -> Option<Mac> {
        self.lladdr(OPT_TARGET_LLADDR)
    }

    /// The checksum over the pseudo-header of `src` → `dst` is right.
    pub fn checksum_ok(&self, src: &Addr6, dst: &Addr6) -> bool {
        let b = self.b();
        csum::fold(csum::sum(b, ipv6::pseudo_sum(src, dst, NH_ICMPV6, b.len()))) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buf.as_mut()
    }

    fn update16(&mut self, f: Field, new: u16) {
        let old = rd16(self.b(), f.clone());
        wr16(self.m(), f, new);
        let c = csum::update16(self.checksum(), old, new);
        wr16(self.m(), field::CHECKSUM, c);
    }

    /// Set the type. Changing to or from a neighbour discovery type would
    /// skip the option check: such a message is built, not rewritten.
    pub fn set_type(&mut self, t: u8) -> bool {
        if nd_options_at(t).is_some() != nd_options_at(self.msg_type()).is_some() {
            return false;
        }
        let w = u16::from_be_bytes([t, self.code()]);
        self.update16(field::TYPE..field::CODE + 1, w);
        true
    }

    pub fn set_code(&mut self, c: u8) {
        let w = u16::from_be_bytes([self.msg_type(), c]);
        self.update16(field::TYPE..field::CODE + 1, w);
    }

    pub fn set_echo_id(&mut self, id: u16) {
        self.update16(field::ECHO_ID, id);
    }

    pub fn set_echo_seq(&mut self, seq: u16) {
        self.update16(field::ECHO_SEQ, seq);
    }

    /// Turn an echo request into its reply (type 129). Swapping the IPv6
    /// addresses leaves the pseudo-header's sum as it was.
    pub fn make_echo_reply(&mut self) {
        self.set_type(ECHO_REPLY);
    }

    /// Set a neighbour advertisement's flags; false for other types.
    pub fn set_na_flags(&mut self, flags: u8) -> bool {
        if self.msg_type() != NEIGHBOR_ADVERT {
            return false;
        }
        let f = field::NA_FLAGS;
        let w = u16::from_be_bytes([flags & 0xe0, self.b()[f + 1]]);
        self.update16(f..f + 2, w);
        true
    }

    /// The IPv6 address `old` in the pseudo-header became `new`.
    pub fn fix_addr6(&mut self, old: &Addr6, new: &Addr6) {
        let c = csum::update_sum(self.checksum(), csum::sum(old, 0), csum::sum(new, 0));
        wr16(self.m(), field::CHECKSUM, c);
    }

    /// Data that summed to `old` now sums to `new` (a rewrite inside the
    /// quoted packet, at the same 16-bit alignment).
    pub fn fix_checksum(&mut self, old: u32, new: u32) {
        let c = csum::update_sum(self.checksum(), old, new);
        wr16(self.m(), field::CHECKSUM, c);
    }

    /// Compute the checksum afresh, for a message we build.
    pub fn fill_checksum(&mut self, src: &Addr6, dst: &Addr6) {
        wr16(self.m(), field::CHECKSUM, 0);
        let c = ipv6::upper_checksum(src, dst, NH_ICMPV6, self.b());
        wr16(self.m(), field::CHECKSUM, c);
    }

    /// Echo data or the quoted packet, writable. (The options of a
    /// neighbour discovery message are in it too: keep their lengths.)
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.m()[field::DATA..]
    }
}

#[cfg(test)]
#[path = "icmpv6_tests.rs"]
mod tests;
