//! The client address plan shared by the pcap generator and `rvs-gen`.
//!
//! Flow `i` is client `(10.1.0.1 + i / 32768, 32768 + i % 32768)`: ports
//! in the ephemeral range, a few hundred client addresses, and an inverse
//! so that `rvs-gen` recovers a conversation's number from any packet of
//! it without a table.

/// First client address, 10.1.0.1.
pub const CLIENT_BASE: u32 = 0x0a01_0001;
const PORTS_PER_ADDR: u32 = 32768;
/// Distinct flows the plan can name (2^24; `rvs-gen` cycles through them).
pub const MAX_FLOWS: u32 = 1 << 24;

/// Client (address, port) of flow `i` (taken modulo [`MAX_FLOWS`]).
#[inline(always)]
pub fn client(i: u32) -> (u32, u16) {
    let i = i % MAX_FLOWS;
    (CLIENT_BASE + i / PORTS_PER_ADDR, (PORTS_PER_ADDR + i % PORTS_PER_ADDR) as u16)
}

/// The IPv6 clients: 2001:db8:ee::/96 with the IPv4 plan's address in
/// the low 32 bits (2001:db8:ee::a01:1 for flow 0), the same ports. The
/// prefix is the engine replay's (dataplane/examples/replay.rs), outside
/// `::/96` and `::ffff:0:0/96`, which rvsd refuses as IPv6 sources.
pub const CLIENT6_PREFIX: u128 = 0x2001_0db8_00ee_u128 << 80;

/// Client (address, port) of IPv6 flow `i` (see [`CLIENT6_PREFIX`]).
#[inline(always)]
pub fn client6(i: u32) -> (u128, u16) {
    let (a, p) = client(i);
    (CLIENT6_PREFIX | u128::from(a), p)
}

/// Inverse of [`client`] for addresses and ports the plan produces.
#[inline(always)]
pub fn index(addr: u32, port: u16) -> Option<u32> {
    let a = addr.checked_sub(CLIENT_BASE)?;
    let p = u32::from(port).checked_sub(PORTS_PER_ADDR)?;
    (a < MAX_FLOWS / PORTS_PER_ADDR).then_some(a * PORTS_PER_ADDR + p)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        for i in [0u32, 1, 32767, 32768, 1_000_000, super::MAX_FLOWS - 1] {
            let (a, p) = super::client(i);
            assert_eq!(super::index(a, p), Some(i));
        }
        assert_eq!(super::index(0x0a00_0001, 40000), None);
        assert_eq!(super::index(super::CLIENT_BASE, 80), None);
        let (a6, p6) = super::client6(32768);
        assert_eq!((a6, p6), (0x2001_0db8_00ee_0000_0000_0000_0a01_0002, 32768));
        assert_eq!(super::index(a6 as u32, p6), Some(32768));
    }
}
