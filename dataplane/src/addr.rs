//! The two address families as the data path holds them.
//!
//! Addresses are host-order integers: `u32` for IPv4, `u128` for IPv6
//! (`Ipv6Addr::from(u128)` is the same order). Connection keys and
//! entries, routes and neighbours are generic over [`Addr`], so each
//! family gets its own compact tables — an IPv4 connection entry stays one
//! cache line instead of carrying four 16-byte addresses, as VPP and
//! Katran keep separate v4 and v6 tables — while the code over them is
//! written once.

use std::fmt::Debug;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::BitAnd;

/// Which family a packet, key or table belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

/// An address of one family, as the tables store it.
pub trait Addr: Copy + Eq + Ord + Hash + Default + Debug + Send + Sync + BitAnd<Output = Self> + 'static {
    const FAMILY: Family;
    /// Address length in bits (32 or 128): the longest prefix.
    const BITS: u8;

    /// The mask of a `len`-bit prefix (`len` above [`Addr::BITS`] is
    /// taken as the full length).
    fn prefix_mask(len: u8) -> Self;

    /// This family's address of `a`, if it is one.
    fn from_ip(a: IpAddr) -> Option<Self>;

    fn to_ip(self) -> IpAddr;

    /// The address as 64-bit words for hashing: IPv4 fills only the
    /// first (the second is 0), IPv6 gives its high and low halves.
    fn words(self) -> [u64; 2];

    /// Zero-extended to 128 bits (for family-neutral slow-path tables
    /// whose keys also say the family, such as persistence templates).
    fn widen(self) -> u128;

    /// The inverse of [`Addr::widen`] (truncating for IPv4).
    fn narrow(v: u128) -> Self;
}

impl Addr for u32 {
    const FAMILY: Family = Family::V4;
    const BITS: u8 = 32;

    #[inline(always)]
    fn prefix_mask(len: u8) -> u32 {
        match len {
            0 => 0,
            l if l >= 32 => u32::MAX,
            l => u32::MAX << (32 - u32::from(l)),
        }
    }

    fn from_ip(a: IpAddr) -> Option<u32> {
        match a {
            IpAddr::V4(a) => Some(a.into()),
            IpAddr::V6(_) => None,
        }
    }

    fn to_ip(self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(self))
    }

    #[inline(always)]
    fn words(self) -> [u64; 2] {
        [u64::from(self), 0]
    }

    #[inline(always)]
    fn widen(self) -> u128 {
        u128::from(self)
    }

    #[inline(always)]
    fn narrow(v: u128) -> u32 {
        v as u32
    }
}

impl Addr for u128 {
    const FAMILY: Family = Family::V6;
    const BITS: u8 = 128;

    #[inline(always)]
    fn prefix_mask(len: u8) -> u128 {
        match len {
            0 => 0,
            l if l >= 128 => u128::MAX,
            l => u128::MAX << (128 - u32::from(l)),
        }
    }

    fn from_ip(a: IpAddr) -> Option<u128> {
        match a {
            IpAddr::V6(a) => Some(a.into()),
            IpAddr::V4(_) => None,
        }
    }

    fn to_ip(self) -> IpAddr {
        IpAddr::V6(Ipv6Addr::from(self))
    }

    #[inline(always)]
    fn words(self) -> [u64; 2] {
        [(self >> 64) as u64, self as u64]
    }

    #[inline(always)]
    fn widen(self) -> u128 {
        self
    }

    #[inline(always)]
    fn narrow(v: u128) -> u128 {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(u32::prefix_mask(0), 0);
        assert_eq!(u32::prefix_mask(24), 0xffff_ff00);
        assert_eq!(u32::prefix_mask(32), u32::MAX);
        assert_eq!(u32::prefix_mask(40), u32::MAX);
        assert_eq!(u128::prefix_mask(64), u128::MAX << 64);
        assert_eq!(u128::prefix_mask(128), u128::MAX);
        assert_eq!(u128::prefix_mask(1), 1 << 127);
    }

    #[test]
    fn round_trips() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let a = u128::from_ip(v6).unwrap();
        assert_eq!(a.to_ip(), v6);
        assert_eq!(a.words(), [0x2001_0db8_0000_0000, 1]);
        assert_eq!(u32::from_ip(v6), None);
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(u32::from_ip(v4).unwrap().to_ip(), v4);
        assert_eq!(u128::from_ip(v4), None);
    }
}
