//! Stable hashing for the hashing schedulers (sh, dh, mh, mhb).
//!
//! The result must be the same in every process and on every director, so
//! that two directors behind one ECMP route send a client to the same real
//! server: no `RandomState`, no per-process seed. The mixer is the
//! SplitMix64 finalizer (Steele, Lea, Flood 2014), a bijection on `u64`
//! with full avalanche, fed one 64-bit word at a time.

use std::net::IpAddr;

/// Seeds of the independent hash functions the schedulers need.
pub const SEED_KEY: u64 = 0x5253_5f4b_4559_0001; // lookup of a client or VIP
pub const SEED_OFFSET: u64 = 0x5253_5f4f_4646_0002; // Maglev permutation offset
pub const SEED_SKIP: u64 = 0x5253_5f53_4b50_0003; // Maglev permutation skip
pub const SEED_PROBE: u64 = 0x5253_5f50_5242_0004; // fallback probe stride

/// The SplitMix64 finalizer.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hash an address and a port (0 when the port is not part of the key).
#[inline]
pub fn hash_addr_port(addr: IpAddr, port: u16, seed: u64) -> u64 {
    let h = match addr {
        IpAddr::V4(a) => mix64(seed ^ u64::from(u32::from(a))),
        IpAddr::V6(a) => {
            let x = u128::from(a);
            // The tag keeps ::a.b.c.d apart from a.b.c.d.
            let h = mix64(seed ^ (x >> 64) as u64 ^ 0x0006_0000_0000_0000);
            mix64(h ^ x as u64)
        }
    };
    mix64(h ^ u64::from(port))
}

/// Map a hash onto `0..n` without division (Lemire's multiply-shift).
#[inline]
pub fn reduce(h: u64, n: usize) -> usize {
    ((u128::from(h) * n as u128) >> 64) as usize
}

/// A small deterministic generator over a seed (twos draws several numbers
/// from the one `PickCtx::rand`).
#[derive(Debug, Clone, Copy)]
pub struct SplitMix(pub u64);

impl SplitMix {
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn stable_values() {
        // Pinned: a change here changes where every sh/dh/mh client goes.
        let a = IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(mix64(0), 0);
        assert_eq!(hash_addr_port(a, 80, SEED_KEY), 0xde95_4186_4211_a0f1);
        let lo = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(hash_addr_port(lo, 80, SEED_KEY), 0xd1fa_dbfe_4de2_fcc1);
        assert_eq!(mix64(1), 0x5692_161d_100b_05e5);
        assert_ne!(hash_addr_port(a, 1, SEED_KEY), hash_addr_port(a, 0, SEED_KEY));
        assert_ne!(hash_addr_port(a, 0, SEED_OFFSET), hash_addr_port(a, 0, SEED_KEY));
        let m = IpAddr::V6(Ipv4Addr::new(192, 168, 0, 1).to_ipv6_compatible());
        assert_ne!(hash_addr_port(m, 0, SEED_KEY), hash_addr_port(a, 0, SEED_KEY));
        let b = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_ne!(hash_addr_port(b, 0, SEED_KEY), hash_addr_port(m, 0, SEED_KEY));
    }

    #[test]
    fn reduce_in_range() {
        for h in [0, 1, u64::MAX, u64::MAX / 2] {
            assert!(reduce(h, 256) < 256);
            assert!(reduce(h, 65537) < 65537);
        }
        assert_eq!(reduce(u64::MAX, 256), 255);
    }
}
