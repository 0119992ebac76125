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
    }
}
