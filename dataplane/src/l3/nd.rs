//! Neighbour discovery for IPv6 over Ethernet (RFC 4861), and ICMPv6 echo
//! for our addresses: what ARP and ICMP echo are to IPv4.
//!
//! Sans-IO like [`crate::packet::arp`]: [`parse`] validates a received
//! neighbour solicitation or advertisement into a plain value (or names
//! the [`DropReason`]), and the builders write whole frames into a
//! [`PacketBuf`]: the reply to a solicitation over the solicitation's own
//! buffer (as ARP replies are), a solicitation or an unsolicited
//! advertisement into a fresh one. What is ours, what to learn and where
//! to send stays with the engine; the rules that keep the neighbour table
//! honest are here, each with the reason it exists.
//!
//! Addresses are host-order `u128` like the rest of the IPv6 data path
//! ([`crate::addr::Addr`]); the wire views read and write network order.

use crate::drop::DropReason;
use crate::packet::eth::{self, Mac};
use crate::packet::PacketBuf;
use crate::wire::icmpv6::{self, Icmpv6, NA_OVERRIDE, NA_ROUTER, NA_SOLICITED, NEIGHBOR_ADVERT, NEIGHBOR_SOLICIT};
use crate::wire::ipv6::{self, Ipv6, NH_ICMPV6};
use crate::wire::Ethernet;

/// The hop limit every neighbour discovery message is sent with and must
/// arrive with (RFC 4861 7.1): a router decrements it, so 255 on receipt
/// proves the sender is on this link. Without the check anyone on the
/// Internet could poison the neighbour table from afar.
pub const HOP_LIMIT: u8 = 255;
/// Hop limit of the echo replies we originate (Linux's default too).
pub const ECHO_HOP_LIMIT: u8 = 64;
/// ff02::1, all nodes on the link: where advertisements go when there is
/// no unicast address to answer (DAD) or nobody asked (unsolicited).
pub const ALL_NODES: u128 = 0xff02_0000_0000_0000_0000_0000_0000_0001;
/// ff02::1:ff00:0/104 (RFC 4291 2.7.1).
const SOLICITED_NODE_PREFIX: u128 = 0xff02_0000_0000_0000_0000_0001_ff00_0000;
/// The low 24 bits a solicited-node address keeps of the unicast one.
const SOLICITED_NODE_LOW: u128 = 0xff_ffff;

/// Fields of an NS or NA with one link-layer address option, as we build
/// them (RFC 4861 4.3, 4.4, 4.6.1); the view reads them back.
mod field {
    use crate::wire::Field;
    pub const TYPE: usize = 0;
    /// NA: R, S, O in the top bits; the rest of the word is reserved.
    pub const FLAGS: usize = 4;
    pub const TARGET: Field = 8..24;
    pub const OPT_TYPE: usize = 24;
    /// In 8-byte units: an Ethernet address option is one (RFC 2464 8).
    pub const OPT_LEN: usize = 25;
    pub const OPT_MAC: Field = 26..32;
}

/// Where an IPv6 header starts in the frames we build (untagged).
const L3: usize = eth::HDR_LEN;
/// The IPv6 version nibble: the one header field the [`Ipv6`] view cannot
/// write, since its gate requires it to be there already.
const VERSION_6: u8 = 6 << 4;
/// Length of an NS or NA with one Ethernet link-layer address option.
pub const ND_LEN: usize = field::OPT_MAC.end;
/// Frame length of the NS and NA we build: Ethernet + IPv6 + [`ND_LEN`]
/// (86 bytes, above Ethernet's 60-byte minimum).
pub const FRAME_LEN: usize = L3 + ipv6::HDR_LEN + ND_LEN;

/// A group address (ff00::/8). No neighbour has one, and none sends from
/// one (RFC 4291 2.7).
#[inline]
pub fn is_multicast(a: u128) -> bool {
    a >> 120 == 0xff
}

/// The solicited-node multicast address of `addr` (ff02::1:ffXX:XXXX,
/// RFC 4291 2.7.1): where a solicitation for `addr` is sent, so only the
/// few hosts whose addresses end in the same 24 bits see it instead of
/// the whole link (the broadcast ARP uses).
#[inline]
pub fn solicited_node(addr: u128) -> u128 {
    SOLICITED_NODE_PREFIX | (addr & SOLICITED_NODE_LOW)
}

/// `addr` is a solicited-node multicast address (of some unicast one).
#[inline]
pub fn is_solicited_node(addr: u128) -> bool {
    addr & !SOLICITED_NODE_LOW == SOLICITED_NODE_PREFIX
}

/// The Ethernet address an IPv6 multicast address is sent to:
/// 33:33 and its low 32 bits (RFC 2464 7).
#[inline]
pub fn multicast_mac(addr: u128) -> Mac {
    let l = (addr as u32).to_be_bytes();
    [0x33, 0x33, l[0], l[1], l[2], l[3]]
}

/// A valid neighbour solicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Solicit {
    /// The sender; 0 (::) for duplicate address detection (RFC 4862),
    /// whose sender has no address yet.
    pub src: u128,
    /// Where it was sent: a solicited-node address (resolution) or the
    /// target itself (a unicast reachability probe).
    pub dst: u128,
    /// The address asked for.
    pub target: u128,
    /// The source link-layer address option: the sender's MAC (never
    /// present with source ::).
    pub src_mac: Option<Mac>,
    /// The frame's Ethernet source, where a unicast answer goes when the
    /// solicitation carries no link-layer option (allowed in a unicast
    /// probe, whose sender knows we know it).
    pub eth_src: Mac,
}

impl Solicit {
    /// Duplicate address detection: the sender wants `target` for itself.
    pub fn is_dad(&self) -> bool {
        self.src == 0
    }

    /// What the table learns when the solicitation is for us (RFC 4861
    /// 7.2.3): the sender's address and MAC, overriding what it knew.
    /// Nothing from DAD (no address) or without the option.
    pub fn sender(&self) -> Option<(u128, Mac)> {
        if self.is_dad() {
            return None;
        }
        self.src_mac.map(|m| (self.src, m))
    }
}

/// A valid neighbour advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    pub src: u128,
    pub dst: u128,
    /// The address the advertisement is about.
    pub target: u128,
    /// R: the sender is a router (we do not route by it: static routes).
    pub router: bool,
    /// S: an answer to a solicitation (never to a group address).
    pub solicited: bool,
    /// O: replace a cached MAC (see [`crate::l3::neigh::NeighTable::learn_advert`]).
    pub override_: bool,
    /// The target link-layer address option: the target's MAC. Without
    /// it there is nothing to learn on Ethernet.
    pub target_mac: Option<Mac>,
}

/// A received neighbour discovery message we act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nd {
    Solicit(Solicit),
    Advert(Advert),
}

impl Nd {
    /// The address the message is about.
    pub fn target(&self) -> u128 {
        match self {
            Nd::Solicit(s) => s.target,
            Nd::Advert(a) => a.target,
        }
    }
}

/// Validate a frame (Ethernet, IPv6, ICMPv6) holding a neighbour
/// solicitation or advertisement, per RFC 4861 7.1.1 and 7.1.2 (the
/// ICMPv6 view checked the length and options already):
///
/// - Not ICMPv6 NS/NA at all (including a later fragment): `Icmp6Unhandled`.
/// - A fragment header: `NdInvalid`. RFC 6980: fragments could hide the
///   options from filters (RA guard) and a valid NS/NA always fits in
///   one packet.
/// - Hop limit other than 255: `NdHopLimit` (see [`HOP_LIMIT`]).
/// - Shorter than 24 bytes, options of length 0 or past the message:
///   `Icmp6Truncated` / `Icmp6BadNdOpt` (from the view).
/// - Wrong checksum: `Icmp6BadCsum`; the pseudo-header covers the
///   addresses, so a corrupted source cannot be learned.
/// - Code not 0, or a multicast target: `NdInvalid`. No one owns a
///   group address, and an unknown code is a message we do not
///   understand.
/// - A multicast source, or an NA from `::`: `NdInvalid`. Only a DAD
///   solicitation may come from the unspecified address, and no packet
///   from a group address (RFC 4291 2.5.2, 2.7); answering such a
///   source would send to nobody or to everybody.
/// - An NS from `::` not to a solicited-node address, or with a source
///   link-layer option: `NdInvalid`. DAD goes to the solicited-node
///   group; a sender without an address has no mapping to offer, and
///   one that offers a MAC for `::` is lying or broken.
/// - An NA with S set to a group address: `NdInvalid`. A solicited
///   answer goes to the one who asked; S to all nodes would make every
///   host treat the mapping as confirmed reachable.
pub fn parse(frame: &[u8]) -> Result<Nd, DropReason> {
    let eth = Ethernet::new_checked(frame)?;
    if eth.ethertype() != eth::TYPE_IPV6 {
        return Err(DropReason::EthUnknownType);
    }
    let ip = Ipv6::new_checked(eth.payload())?;
    let up = ip.upper_layer()?;
    let msg = ip.upper_payload(&up);
    let ty = msg.first().copied();
    if up.proto != NH_ICMPV6 || !up.has_header() || !matches!(ty, Some(NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT)) {
        return Err(DropReason::Icmp6Unhandled);
    }
    if up.frag.is_some() {
        return Err(DropReason::NdInvalid);
    }
    if ip.hop_limit() != HOP_LIMIT {
        return Err(DropReason::NdHopLimit);
    }
    let m = Icmpv6::new_checked(msg)?;
    let (src6, dst6) = (ip.src(), ip.dst());
    if !m.checksum_ok(&src6, &dst6) {
        return Err(DropReason::Icmp6BadCsum);
    }
    let (src, dst) = (u128::from_be_bytes(src6), u128::from_be_bytes(dst6));
    let target = u128::from_be_bytes(m.nd_target().ok_or(DropReason::Icmp6Unhandled)?);
    if m.code() != 0 || is_multicast(target) || is_multicast(src) {
        return Err(DropReason::NdInvalid);
    }
    if let Some(flags) = m.na_flags() {
        let solicited = flags & NA_SOLICITED != 0;
        if src == 0 || (solicited && is_multicast(dst)) {
            return Err(DropReason::NdInvalid);
        }
        return Ok(Nd::Advert(Advert {
            src,
            dst,
            target,
            router: flags & NA_ROUTER != 0,
            solicited,
            override_: flags & NA_OVERRIDE != 0,
            target_mac: m.target_lladdr(),
        }));
    }
    if src == 0 {
        let has_sllao = m.nd_options().any(|o| o.kind == icmpv6::OPT_SOURCE_LLADDR);
        if !is_solicited_node(dst) || has_sllao {
            return Err(DropReason::NdInvalid);
        }
    }
    Ok(Nd::Solicit(Solicit { src, dst, target, src_mac: m.source_lladdr(), eth_src: eth.src() }))
}

/// An NS or NA frame to build (all of it: nothing of the buffer's old
/// content survives).
struct NdFrame {
    eth_dst: Mac,
    /// Ours: the Ethernet source and the link-layer option's address.
    mac: Mac,
    src: u128,
    dst: u128,
    ty: u8,
    /// NA flags (0 for an NS).
    flags: u8,
    target: u128,
}

impl NdFrame {
    /// Write the frame over `pkt` ([`FRAME_LEN`] bytes). False when the
    /// buffer cannot be made that long.
    fn write<P: PacketBuf>(&self, pkt: &mut P) -> bool {
        if !pkt.set_len(FRAME_LEN) {
            return false;
        }
        let b = pkt.data_mut();
        b.fill(0);
        let Ok(mut frame) = Ethernet::emit(&mut b[..], self.eth_dst, self.mac, eth::TYPE_IPV6) else { return false };
        let l3 = frame.payload_mut();
        l3[0] = VERSION_6;
        let Ok(mut ip) = Ipv6::new_checked(l3) else { return false };
        if !ip.set_payload_len(ND_LEN as u16) {
            return false;
        }
        ip.set_next_header(NH_ICMPV6);
        ip.set_hop_limit(HOP_LIMIT);
        let (src, dst) = (self.src.to_be_bytes(), self.dst.to_be_bytes());
        ip.set_src(src);
        ip.set_dst(dst);
        let m = ip.payload_mut();
        m[field::TYPE] = self.ty;
        m[field::FLAGS] = self.flags;
        m[field::TARGET].copy_from_slice(&self.target.to_be_bytes());
        m[field::OPT_TYPE] =
            if self.ty == NEIGHBOR_ADVERT { icmpv6::OPT_TARGET_LLADDR } else { icmpv6::OPT_SOURCE_LLADDR };
        m[field::OPT_LEN] = 1;
        m[field::OPT_MAC].copy_from_slice(&self.mac);
        let Ok(mut msg) = Icmpv6::new_checked(m) else { return false };
        msg.fill_checksum(&src, &dst);
        true
    }
}

/// Turn `pkt`, holding the solicitation `ns` (from [`parse`]) for one of
/// our addresses, into our advertisement, as a host answers (RFC 4861
/// 7.2.4): from the target, with our MAC in the target link-layer
/// option, O set (we own the address: our answer should replace any
/// cached one), R clear (a director does not offer itself as a router),
/// S set unless it answers DAD. The answer goes to the asker (its
/// link-layer option, else the frame's source), or to all nodes when it
/// asked from `::` and so cannot receive unicast. False when `pkt` cannot
/// hold [`FRAME_LEN`] bytes.
pub fn make_advert<P: PacketBuf>(pkt: &mut P, ns: &Solicit, our_mac: Mac) -> bool {
    let (dst, eth_dst, flags) = if ns.is_dad() {
        (ALL_NODES, multicast_mac(ALL_NODES), NA_OVERRIDE)
    } else {
        (ns.src, ns.src_mac.unwrap_or(ns.eth_src), NA_OVERRIDE | NA_SOLICITED)
    };
    let f = NdFrame { eth_dst, mac: our_mac, src: ns.target, dst, ty: NEIGHBOR_ADVERT, flags, target: ns.target };
    f.write(pkt)
}

/// Build into `pkt` a solicitation for `target` from `src` (one of our
/// addresses on the port, never `::`: that is DAD, which a director with
/// configured addresses does not do). To resolve (`known` None) it goes
/// to `target`'s solicited-node group (RFC 4861 7.2.2); to re-confirm a
/// neighbour we know (`known` its MAC) it goes unicast to it, as a probe
/// of reachability does (7.3.3), so the rest of the link is not
/// disturbed. Both carry our MAC, which lets the target answer without
/// resolving us first. False when `src` is `::` or `pkt` cannot hold
/// [`FRAME_LEN`] bytes.
pub fn make_solicit<P: PacketBuf>(pkt: &mut P, our_mac: Mac, src: u128, target: u128, known: Option<Mac>) -> bool {
    if src == 0 {
        return false;
    }
    let (dst, eth_dst) = match known {
        Some(m) => (target, m),
        None => (solicited_node(target), multicast_mac(solicited_node(target))),
    };
    NdFrame { eth_dst, mac: our_mac, src, dst, ty: NEIGHBOR_SOLICIT, flags: 0, target }.write(pkt)
}

/// Build into `pkt` an unsolicited advertisement of `addr` (a VIP or LIP
/// just configured, or moved to this director) to all nodes, O set and S
/// clear (RFC 4861 7.2.6): neighbours that cached another MAC for `addr`
/// (a previous director) switch to ours at once instead of after their
/// entry goes stale. False when `pkt` cannot hold [`FRAME_LEN`] bytes.
pub fn make_unsolicited_advert<P: PacketBuf>(pkt: &mut P, our_mac: Mac, addr: u128) -> bool {
    let f = NdFrame {
        eth_dst: multicast_mac(ALL_NODES),
        mac: our_mac,
        src: addr,
        dst: ALL_NODES,
        ty: NEIGHBOR_ADVERT,
        flags: NA_OVERRIDE,
        target: addr,
    };
    f.write(pkt)
}

/// Turn an ICMPv6 echo request (IPv6 header at `l3`) to one of our
/// addresses into the reply in place (RFC 4443 4.2): addresses swapped,
/// type 129, hop limit [`ECHO_HOP_LIMIT`], data echoed. Extension headers
/// of the request are not echoed back (a routing header's path or a
/// destination option was meant for us, not for the way back): the
/// message moves up behind the fixed header and the packet shrinks,
/// Ethernet padding gone. Swapping the addresses leaves the
/// pseudo-header's sum as it was, so the checksum only follows the type.
/// Ethernet addresses are left to the output path. Refused (nothing
/// changed):
///
/// - not an echo request, or a fragment (we do not reassemble, and half
///   an echo cannot be answered): `Icmp6Unhandled`, as is a request to a
///   group address (we answer for our unicast addresses only, so a ping
///   to all nodes cannot make the director flood the link);
/// - a wrong checksum: `Icmp6BadCsum` (RFC 4443 2.3 discards it);
/// - from `::` or a group address: `IpMartianSrc` (no one to answer).
pub fn echo_reply<P: PacketBuf>(pkt: &mut P, l3: usize) -> Result<(), DropReason> {
    let (at, len) = {
        let ip = Ipv6::new_checked(pkt.data().get(l3..).ok_or(DropReason::Ip6Truncated)?)?;
        let up = ip.upper_layer()?;
        if up.proto != NH_ICMPV6 || up.frag.is_some() {
            return Err(DropReason::Icmp6Unhandled);
        }
        let m = Icmpv6::new_checked(ip.upper_payload(&up))?;
        if m.msg_type() != icmpv6::ECHO_REQUEST || is_multicast(u128::from_be_bytes(ip.dst())) {
            return Err(DropReason::Icmp6Unhandled);
        }
        if !m.checksum_ok(&ip.src(), &ip.dst()) {
            return Err(DropReason::Icmp6BadCsum);
        }
        let src = u128::from_be_bytes(ip.src());
        if src == 0 || is_multicast(src) {
            return Err(DropReason::IpMartianSrc);
        }
        (l3 + ipv6::HDR_LEN + up.offset, m.message().len())
    };
    let Ok(len16) = u16::try_from(len) else { return Err(DropReason::Ip6BadLen) };
    let b = pkt.data_mut();
    let fixed_end = l3 + ipv6::HDR_LEN;
    b.copy_within(at..at + len, fixed_end);
    let Ok(mut ip) = Ipv6::new_checked(&mut b[l3..]) else { return Err(DropReason::Ip6Truncated) };
    ip.set_next_header(NH_ICMPV6);
    ip.set_payload_len(len16);
    let (src, dst) = (ip.src(), ip.dst());
    ip.set_src(dst);
    ip.set_dst(src);
    ip.set_hop_limit(ECHO_HOP_LIMIT);
    let Ok(mut m) = Icmpv6::new_checked(ip.payload_mut()) else { return Err(DropReason::Icmp6Truncated) };
    m.make_echo_reply();
    pkt.set_len(fixed_end + len);
    Ok(())
}

#[cfg(test)]
#[path = "nd_tests.rs"]
mod tests;
