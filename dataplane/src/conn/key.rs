//! Connection keys and the hashes the data path uses on them.
//!
//! Two different hashes live here, for two different jobs:
//!
//! * [`ConnKey::hash64`] indexes a worker's connection table. It runs on
//!   every packet, so it is a few multiplies and shifts over the key's two
//!   64-bit words instead of SipHash. It takes a per-table random seed so an
//!   attacker who picks client addresses and ports cannot aim all their
//!   flows at one probe chain (the seed never leaves the worker, so it need
//!   not be stable).
//! * [`flow_hash`] decides which worker owns a flow. Every worker, every
//!   process and every restart must agree on it (redirect rings and NIC
//!   steering rules depend on it), so it is unseeded and fixed forever.

use crate::addr::Addr;
use std::hash::{BuildHasher, Hash, Hasher};

/// The 5-tuple of one direction of a flow, as the director sees it on the
/// wire, in either family: `ConnKey` (= `ConnKey<u32>`) for IPv4,
/// `ConnKey<u128>` for IPv6, addresses in host order.
///
/// An IPv4 key is 16 bytes (3 of them padding), so it fits in two machine
/// words and a table of keys packs four to a cache line; an IPv6 key is
/// 48. (Rust's layout orders the fields to minimise padding; the derived
/// ordering follows the declaration: protocol, then addresses, then ports.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct ConnKey<A: Addr = u32> {
    pub proto: u8,
    pub saddr: A,
    pub daddr: A,
    pub sport: u16,
    pub dport: u16,
}

const _: () = assert!(std::mem::size_of::<ConnKey>() == 16);
const _: () = assert!(std::mem::size_of::<ConnKey<u128>>() == 48);

// Odd 64-bit constants with well-spread bits (the fractional part of the
// golden ratio, and splitmix64's multipliers); any such constants work.
const K0: u64 = 0x9E37_79B9_7F4A_7C15;
const K1: u64 = 0xBF58_476D_1CE4_E5B9;
const K2: u64 = 0x94D0_49BB_1331_11EB;

/// 64×64→128-bit multiply, high half xored into the low half: every
/// output bit depends on every bit of both operands (the high half
/// carries the upper input bits down to the low output bits, which a plain
/// 64-bit multiply never does).
#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Multiply-xorshift mix of two words under `seed`: one folded multiply
/// of the two (seeded) words, then one multiply-xorshift round so that
/// low and high output bits alike are well mixed (the index uses the low
/// 32 bits, hashbrown uses the top 7 as tags).
///
/// An operand of zero would make the product ignore the other word; the
/// seed (unknown outside the process) keeps an attacker from aiming at
/// that, and `K1` sets bits in the part of a [`ConnKey`]'s second word that
/// is always zero, so that operand is never zero for a connection key.
#[inline(always)]
pub fn mix2(w0: u64, w1: u64, seed: u64) -> u64 {
    let h = fold_mul(w0 ^ seed ^ K0, w1 ^ K1 ^ (seed.rotate_left(32) & !0xffff_ff00));
    let h = (h ^ (h >> 29)).wrapping_mul(K2);
    h ^ (h >> 32)
}

impl ConnKey {
    /// An IPv4 key (a concrete constructor, so integer literals need no
    /// annotation; [`ConnKey::of`] is the generic one).
    #[inline(always)]
    pub const fn new(proto: u8, saddr: u32, sport: u16, daddr: u32, dport: u16) -> Self {
        ConnKey { proto, saddr, daddr, sport, dport }
    }
}

impl<A: Addr> ConnKey<A> {
    #[inline(always)]
    pub const fn of(proto: u8, saddr: A, sport: u16, daddr: A, dport: u16) -> Self {
        ConnKey { proto, saddr, daddr, sport, dport }
    }

    /// The word of ports and protocol.
    #[inline(always)]
    fn ports_word(&self) -> u64 {
        (u64::from(self.sport) << 48) | (u64::from(self.dport) << 32) | u64::from(self.proto)
    }

    /// The key as the words it hashes as, built from the fields rather
    /// than the memory image, so padding never leaks in: IPv4 packs both
    /// addresses in one word, then ports and protocol (two words); IPv6
    /// gives each address's halves, then ports and protocol (five).
    #[inline(always)]
    pub fn words(&self) -> ([u64; 5], usize) {
        let ([s0, s1], [d0, d1]) = (self.saddr.words(), self.daddr.words());
        if A::BITS == 32 {
            ([(s0 << 32) | d0, self.ports_word(), 0, 0, 0], 2)
        } else {
            ([s0, s1, d0, d1, self.ports_word()], 5)
        }
    }

    /// The table hash of this key under `seed`: one [`mix2`] of the two
    /// words of an IPv4 key; for IPv6 the words are chained through
    /// [`mix2`] (the same fold [`FastHasher`] does, so both agree).
    #[inline(always)]
    pub fn hash64(&self, seed: u64) -> u64 {
        let (w, n) = self.words();
        let mut acc = w[0];
        for &x in &w[1..n] {
            acc = mix2(acc, x, seed);
        }
        acc
    }

    /// The key of the opposite direction (source and destination swapped).
    #[inline(always)]
    pub fn reversed(&self) -> Self {
        ConnKey { proto: self.proto, saddr: self.daddr, daddr: self.saddr, sport: self.dport, dport: self.sport }
    }
}

/// Feeds the key's words to the hasher; with [`FastHasher`] that gives
/// [`ConnKey::hash64`], with any other hasher it is still a correct `Hash`.
impl<A: Addr> Hash for ConnKey<A> {
    #[inline(always)]
    fn hash<H: Hasher>(&self, state: &mut H) {
        let (w, n) = self.words();
        for &x in &w[..n] {
            state.write_u64(x);
        }
    }
}

/// A `Hasher` for small fixed-size keys that hash themselves as a few
/// `u64` writes (such as [`ConnKey`]). Not for strings or slices of
/// attacker-chosen length: `write` falls back to a word-at-a-time fold.
#[derive(Debug, Clone, Copy)]
pub struct FastHasher {
    seed: u64,
    acc: u64,
    n: u32,
}

impl Hasher for FastHasher {
    #[inline(always)]
    fn write_u64(&mut self, x: u64) {
        if self.n == 0 {
            self.acc = x;
        } else {
            // Second (and later) word: fold the pending word in.
            self.acc = mix2(self.acc, x, self.seed);
        }
        self.n += 1;
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }

    #[inline(always)]
    fn finish(&self) -> u64 {
        match self.n {
            // One word, or an empty input: still run it through the mix.
            0 | 1 => mix2(self.acc, 0, self.seed),
            _ => self.acc,
        }
    }
}

/// `BuildHasher` producing [`FastHasher`]s with a fixed seed; two keys
/// hash alike in every map built from the same `BuildFastHasher`.
#[derive(Debug, Clone, Copy)]
pub struct BuildFastHasher {
    seed: u64,
}

impl BuildFastHasher {
    pub const fn with_seed(seed: u64) -> Self {
        BuildFastHasher { seed }
    }

    /// A seed from the standard library's per-process randomness.
    pub fn random() -> Self {
        Self::with_seed(random_seed())
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl Default for BuildFastHasher {
    fn default() -> Self {
        Self::random()
    }
}

impl BuildHasher for BuildFastHasher {
    type Hasher = FastHasher;
    #[inline(always)]
    fn build_hasher(&self) -> FastHasher {
        FastHasher { seed: self.seed, acc: 0, n: 0 }
    }
}

/// A random 64-bit value from `std`'s `RandomState` (OS randomness, once
/// per process plus a per-call counter), without another dependency.
pub fn random_seed() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(0x5256_535f_7365_6564u64)
}

/// Owner selection hash of a client endpoint: owner worker =
/// `flow_hash(cip, cport) % workers`. Unseeded and part of the wire
/// contract between workers: never change it without changing every
/// director in a cluster at once.
#[inline(always)]
pub fn flow_hash<A: Addr>(addr: A, port: u16) -> u32 {
    // Deliberately not `mix2`, so that tuning the table hash can never move
    // flows between workers.
    let [hi, lo] = addr.words();
    let x = if A::BITS == 32 {
        hi << 16
    } else {
        // An IPv6 address folded to one word first (fixed constants: the
        // result must be the same in every process).
        let f = fold_mul(hi ^ 0x2545_F491_4F6C_DD1D, lo ^ 0x9E6C_63D0_676A_9A99);
        f << 16
    };
    let x = x | u64::from(port);
    let h = fold_mul(x ^ 0x5DEE_CE66_D1CE_4E5B, 0xD6E8_FEB8_6659_FD93);
    (h ^ (h >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_16_bytes_and_words_ignore_padding() {
        assert_eq!(std::mem::size_of::<ConnKey>(), 16);
        let a = ConnKey::new(6, 0x0a00_0001, 1234, 0x0a00_0002, 80);
        let b = ConnKey::new(6, 0x0a00_0001, 1234, 0x0a00_0002, 80);
        assert_eq!(a.hash64(7), b.hash64(7));
        assert_ne!(a.hash64(7), a.reversed().hash64(7));
        assert_eq!(a.reversed().reversed(), a);
    }

    #[test]
    fn hasher_agrees_with_hash64() {
        let b = BuildFastHasher::with_seed(42);
        let k = ConnKey::new(17, 1, 2, 3, 4);
        assert_eq!(b.hash_one(k), k.hash64(42));
    }

    #[test]
    fn flow_hash_is_stable() {
        // Pinned values: flow ownership must never change silently.
        assert_eq!(flow_hash(0xc0a8_0001u32, 40000), 0x728e_ce11);
        assert_eq!(flow_hash(0x0a00_0001u32, 1), 0x5c5a_b648);
        assert_eq!(flow_hash(0x2001_0db8_0000_0000_0000_0000_0000_0001u128, 40000), PINNED_V6);
    }

    /// `flow_hash` of 2001:db8::1 port 40000 (pinned like the IPv4 values).
    const PINNED_V6: u32 = 0x9b53_6071;

    #[test]
    fn ipv6_keys_hash_every_word() {
        let a = ConnKey::<u128>::of(6, 1 << 100, 1234, 2, 80);
        let b = BuildFastHasher::with_seed(42);
        assert_eq!(b.hash_one(a), a.hash64(42));
        for other in [
            ConnKey { saddr: 1 << 99, ..a },
            ConnKey { saddr: (1 << 100) | 1, ..a },
            ConnKey { daddr: 3, ..a },
            ConnKey { daddr: 2 | 1 << 64, ..a },
            ConnKey { sport: 1235, ..a },
            ConnKey { proto: 17, ..a },
        ] {
            assert_ne!(other.hash64(42), a.hash64(42), "{other:?}");
        }
        assert_eq!(a.reversed().reversed(), a);
    }

    /// Sequential client ports (the common load generator pattern) and
    /// sequential addresses spread evenly over buckets and over workers.
    #[test]
    fn spreads_sequential_inputs() {
        let buckets = 1024usize;
        let mut hist = vec![0u32; buckets];
        for port in 0..65536u32 {
            let k = ConnKey::new(6, 0x0a00_0001, port as u16, 0x0a00_0064, 80);
            hist[(k.hash64(1) as usize) & (buckets - 1)] += 1;
        }
        let max = *hist.iter().max().unwrap();
        assert!(max < 64 * 2, "worst bucket {max}, mean 64");
        // High bits (used as tags) too.
        let mut top = vec![0u32; 256];
        for port in 0..65536u32 {
            let k = ConnKey::new(6, 0x0a00_0001, port as u16, 0x0a00_0064, 80);
            top[(k.hash64(1) >> 56) as usize] += 1;
        }
        assert!(*top.iter().max().unwrap() < 256 * 2);

        for workers in [2u32, 3, 4, 8] {
            let mut w = vec![0u32; workers as usize];
            for i in 0..60000u32 {
                w[(flow_hash(0x0a00_0000 + (i >> 8), 1024 + (i & 0xff) as u16) % workers) as usize] += 1;
            }
            let mean = 60000 / workers;
            assert!(w.iter().all(|&c| c > mean * 9 / 10 && c < mean * 11 / 10), "{w:?}");
        }
    }
}
