//! The Maglev lookup table (Eisenbud et al., NSDI 2016), shared by mh and
//! mhb.
//!
//! A prime-sized table (65537 slots by default, as IPVS) maps a key's hash
//! to a dest. Each dest owns a permutation of the slots given by two hashes
//! of its address and port: `offset`, and `skip` in `1..size`; dests take
//! turns claiming the next free slot of their permutation until the table
//! is full. The result is a near-perfectly even table that changes little
//! when a dest comes or goes: on removal its slots are shared out among
//! the others and only a small fraction of the other slots change hands.
//! Since the hashes depend only on dest addresses, every director with the
//! same dest list builds the same table — whatever the order of that
//! list: dests take their turns in the order of their (address, port), not
//! of the list, so directors whose dests were added in different orders
//! (or restored from different files) still agree on every slot.
//!
//! Weights: IPVS lets each dest claim `weight / gcd` slots per round. Here a
//! dest claims at most one slot per round, in the rounds where its claims
//! so far fall behind `round * weight / max_weight` (the heaviest dest
//! claims every round). Shares are then exact to within a slot or two,
//! however large or skewed the weights, and claims of different dests stay
//! interleaved, which keeps the disruption on change low. Every dest with
//! weight > 0 claims a slot in the first round; weight-0 dests get none
//! (their keys go elsewhere, as they would with the fallback). The rounds
//! cost a multiply-compare per dest each, `size * max_weight / mean_weight`
//! in all: nothing with equal weights (skipped), 65537 × 10 checks when one
//! dest weighs ten times the average.
//!
//! Build cost: the permutation walk is the paper's loop over `u32` arrays
//! with a bitmap of used slots (8 KiB for 65537 slots: stays in L1), no
//! allocation per slot. Walking gets slow at the very end, when a dest
//! may step over thousands of used slots to find one of the last free
//! ones; for the last [`TAIL`] slots the build instead computes where each
//! free slot sits in the dest's permutation (`(slot - pos) / skip` modulo
//! the prime) and takes the nearest: the same slot the walk would reach
//! (a test checks the two builds agree).

use super::hash::{hash_addr_port, mix64, reduce, SEED_OFFSET, SEED_PROBE, SEED_SKIP};
use crate::svc::Dest;
use std::fmt;

/// IPVS's default `IP_VS_MH_TAB_SIZE`.
pub const DEFAULT_SIZE: u32 = 65537;

/// Primes the table may grow to: it keeps at least 64 slots per dest so
/// that one slot is under 2% of a dest's share.
const SIZES: [u32; 5] = [DEFAULT_SIZE, 131_071, 262_139, 524_287, 1_048_573];

/// Free slots left when the build stops walking permutations.
const TAIL: usize = 256;

/// The lookup table: a dest index per slot.
pub struct MaglevTable {
    slots: Box<[u32]>,
}

impl fmt::Debug for MaglevTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MaglevTable({} slots)", self.slots.len())
    }
}

/// Where dest `d`'s permutation of `size` slots starts, and its step.
fn permutation(d: &Dest, size: u32) -> (u32, u32) {
    let offset = hash_addr_port(d.addr, d.port, SEED_OFFSET) % u64::from(size);
    let skip = hash_addr_port(d.addr, d.port, SEED_SKIP) % u64::from(size - 1) + 1;
    (offset as u32, skip as u32)
}

/// The end of a build: the free slots, and per dest `skip^-1 mod size`
/// (0 until needed), to find where each free slot sits in a permutation.
struct Tail {
    free: Vec<u32>,
    inv: Vec<u32>,
    rem: Barrett,
}

impl Tail {
    fn new(used: &[u64], m: usize, dests: usize) -> Self {
        let free = (0..m).filter(|&p| used[p / 64] & (1 << (p % 64)) == 0).map(|p| p as u32).collect();
        Tail { free, inv: vec![0; dests], rem: Barrett::new(m as u64) }
    }

    /// Take the free slot that dest `k`, at `pos` with step `skip`, would
    /// reach first: the one with the fewest steps `(slot - pos) / skip`.
    fn nearest(&mut self, k: usize, pos: u32, skip: u32) -> usize {
        let m = self.rem.m;
        if self.inv[k] == 0 {
            self.inv[k] = pow_mod(u64::from(skip), m - 2, m) as u32; // Fermat
        }
        let (pos, inv) = (u64::from(pos), u64::from(self.inv[k]));
        let steps = |f: u64| {
            let ahead = if f >= pos { f - pos } else { f + m - pos };
            self.rem.of(ahead * inv)
        };
        let (at, _) =
            self.free.iter().enumerate().min_by_key(|&(_, &f)| steps(u64::from(f))).expect("a free slot is left");
        self.free.swap_remove(at) as usize
    }
}

/// `x mod m` by multiplication (a division costs tens of cycles, and the
/// tail does tens of thousands of these).
struct Barrett {
    m: u64,
    r: u64,
}

impl Barrett {
    fn new(m: u64) -> Self {
        Barrett { m, r: u64::MAX / m }
    }

    #[inline]
    fn of(&self, x: u64) -> u64 {
        let q = ((u128::from(x) * u128::from(self.r)) >> 64) as u64;
        let mut rem = x - q * self.m;
        while rem >= self.m {
            rem -= self.m;
        }
        rem
    }
}

fn pow_mod(mut b: u64, mut e: u64, m: u64) -> u64 {
    let mut r = 1;
    while e > 0 {
        if e & 1 == 1 {
            r = r * b % m;
        }
        b = b * b % m;
        e >>= 1;
    }
    r
}

/// The dests that claim slots (weight > 0), in the order they take turns:
/// by (address, port), a key every director agrees on.
fn claim_order(dests: &[Dest]) -> Vec<u32> {
    let mut cand: Vec<u32> = (0..dests.len() as u32).filter(|&i| dests[i as usize].weight > 0).collect();
    cand.sort_unstable_by_key(|&i| (dests[i as usize].addr, dests[i as usize].port));
    cand
}

impl MaglevTable {
    /// The table size for `n` dests.
    pub fn size_for(n: usize) -> u32 {
        let want = n.saturating_mul(64);
        *SIZES.iter().find(|&&m| m as usize >= want).unwrap_or(&SIZES[SIZES.len() - 1])
    }

    /// Build for `dests` with the default size rule.
    pub fn new(dests: &[Dest]) -> Self {
        Self::with_size(dests, Self::size_for(dests.len()))
    }

    /// Build with `size` slots; `size` must be a prime (so that every
    /// `skip` visits every slot, and for the tail's inverses).
    pub fn with_size(dests: &[Dest], size: u32) -> Self {
        assert!(size >= 2, "Maglev table size must be a prime >= 2");
        let m = size as usize;
        let cand = claim_order(dests);
        if cand.is_empty() {
            return MaglevTable { slots: Box::new([]) };
        }
        let weight: Vec<u64> = cand.iter().map(|&i| u64::from(dests[i as usize].weight)).collect();
        let wmax = *weight.iter().max().unwrap_or(&1);
        // Equal weights (the usual case): everyone claims every round.
        let uniform = weight.iter().all(|&w| w == wmax);
        let (mut pos, skip): (Vec<u32>, Vec<u32>) = cand.iter().map(|&i| permutation(&dests[i as usize], size)).unzip();
        let mut taken = vec![0u64; cand.len()];
        // Plain locals, not a struct: this loop is the whole cost of a
        // build and keeps its state in registers this way.
        let mut used = vec![0u64; m.div_ceil(64)];
        let mut slots = vec![u32::MAX; m].into_boxed_slice();
        let mut tail: Option<Tail> = None;
        let mut filled = 0;
        let mut round = 0u64;
        while filled < m {
            round += 1;
            for k in 0..cand.len() {
                // Behind its share `round * w / wmax`? Then claim a slot.
                if !uniform && taken[k] * wmax >= round * weight[k] {
                    continue;
                }
                let s = skip[k] as usize;
                let mut p = pos[k] as usize;
                if m - filled > TAIL {
                    while used[p / 64] & (1 << (p % 64)) != 0 {
                        p += s;
                        if p >= m {
                            p -= m;
                        }
                    }
                } else {
                    let t = tail.get_or_insert_with(|| Tail::new(&used, m, cand.len()));
                    p = t.nearest(k, pos[k], skip[k]);
                }
                used[p / 64] |= 1 << (p % 64);
                slots[p] = cand[k];
                pos[k] = if p + s >= m { p + s - m } else { p + s } as u32;
                taken[k] += 1;
                filled += 1;
                if filled == m {
                    break;
                }
            }
        }
        MaglevTable { slots }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The slot of key hash `h`.
    #[inline]
    pub fn slot(&self, h: u64) -> usize {
        reduce(h, self.slots.len())
    }

    /// The dest index in slot `s`.
    #[inline]
    pub fn at(&self, s: usize) -> usize {
        self.slots[s] as usize
    }

    /// The dest for key hash `h`; with `fallback`, when it is unavailable,
    /// the first available one along a probe sequence of the key (a stride
    /// derived from the key: the prime size makes it visit every slot, and
    /// keys of the lost dest spread over all the others).
    pub fn lookup(&self, h: u64, dests: &[Dest], fallback: bool) -> Option<usize> {
        let m = self.slots.len();
        if m == 0 {
            return None;
        }
        let first = self.slot(h);
        let avail = |s: usize| Some(self.at(s)).filter(|&i| dests.get(i).is_some_and(Dest::available));
        if let Some(i) = avail(first) {
            return Some(i);
        }
        if !fallback || !dests.iter().any(Dest::available) {
            return None;
        }
        let stride = (mix64(h ^ SEED_PROBE) % (m as u64 - 1)) as usize + 1;
        let mut s = first;
        (1..m).find_map(|_| {
            s += stride;
            if s >= m {
                s -= m;
            }
            avail(s)
        })
    }

    /// Slots per dest index (tests and diagnostics).
    pub fn counts(&self, n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for &i in self.slots.iter() {
            c[i as usize] += 1;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use proptest::prelude::*;

    /// The paper's build, walking every permutation to the end.
    fn walked(dests: &[Dest], size: u32) -> Vec<u32> {
        let m = size as usize;
        let cand: Vec<usize> = claim_order(dests).into_iter().map(|i| i as usize).collect();
        let wmax = cand.iter().map(|&i| u64::from(dests[i].weight)).max().unwrap();
        let mut pos: Vec<usize> = cand.iter().map(|&i| permutation(&dests[i], size).0 as usize).collect();
        let (mut taken, mut slots) = (vec![0u64; cand.len()], vec![u32::MAX; m]);
        let mut filled = 0;
        for round in 1.. {
            for (k, &i) in cand.iter().enumerate() {
                if taken[k] * wmax >= round * u64::from(dests[i].weight) || filled == m {
                    continue;
                }
                let skip = permutation(&dests[i], size).1 as usize;
                while slots[pos[k]] != u32::MAX {
                    pos[k] = (pos[k] + skip) % m;
                }
                slots[pos[k]] = i as u32;
                pos[k] = (pos[k] + skip) % m;
                (taken[k], filled) = (taken[k] + 1, filled + 1);
            }
            if filled == m {
                return slots;
            }
        }
        unreachable!()
    }

    #[test]
    fn every_slot_filled_and_stable() {
        let ds = dests(&[1, 2, 3, 4, 5]);
        let (a, b) = (MaglevTable::new(&ds), MaglevTable::new(&ds.clone()));
        assert_eq!(a.len(), 65537);
        assert!(a.slots.iter().all(|&i| (i as usize) < ds.len()));
        assert_eq!(a.slots, b.slots);
    }

    /// Directors agree whatever order their dests were added in: the same
    /// key maps to the same dest (by address) for every order.
    #[test]
    fn list_order_does_not_matter() {
        let base = dests(&[1, 3, 2, 1, 5, 1]);
        let a = MaglevTable::new(&base);
        let mut rev = base.clone();
        rev.reverse();
        let mut rot = base.clone();
        rot.rotate_left(2);
        for other in [rev, rot] {
            let b = MaglevTable::new(&other);
            for s in 0..a.len() {
                assert_eq!(base[a.at(s)].addr, other[b.at(s)].addr, "slot {s}");
            }
        }
    }

    #[test]
    fn size_rule() {
        assert_eq!(MaglevTable::size_for(0), 65537);
        assert_eq!(MaglevTable::size_for(1000), 65537);
        assert_eq!(MaglevTable::size_for(1025), 131_071);
        assert_eq!(MaglevTable::size_for(usize::MAX), 1_048_573);
        // Tiny tables work too (every dest gets a slot in round one).
        let t = MaglevTable::with_size(&dests(&[1, 9, 0, 1]), 7);
        assert_eq!(t.counts(4), [1, 5, 0, 1]);
    }

    #[test]
    fn barrett_is_mod() {
        for m in [7u64, 65537, 1_048_573] {
            let b = Barrett::new(m);
            for x in [0, 1, m - 1, m, m + 1, m * m - 1, m * m, (m - 1) * (2 * m - 1), 1 << 42, 12_345_678_901] {
                assert_eq!(b.of(x), x % m, "{x} mod {m}");
            }
        }
    }

    #[test]
    fn pow_mod_inverts() {
        for s in [1, 2, 3, 1000, 65535, 65536] {
            assert_eq!(s * pow_mod(s, 65535, 65537) % 65537, 1);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// The tail shortcut finds the slots the walk would.
        #[test]
        fn tail_matches_walk(ws in prop::collection::vec(0u32..=4, 1..=40), size in prop::sample::select(vec![7u32, 257, 4099, 65537])) {
            let ds: Vec<_> = ws.iter().enumerate().map(|(i, &w)| dest(i as u8, w)).collect();
            prop_assume!(ws.iter().any(|&w| w > 0));
            prop_assert_eq!(&MaglevTable::with_size(&ds, size).slots[..], &walked(&ds, size)[..]);
        }

        /// Slots per dest are within 1% of the weight's share.
        #[test]
        fn shares_follow_weights(ws in prop::collection::vec(1u32..=20, 1..=8)) {
            let ds = dests(&ws);
            let t = MaglevTable::with_size(&ds, DEFAULT_SIZE);
            let sum: u32 = ws.iter().sum();
            for (i, &c) in t.counts(ws.len()).iter().enumerate() {
                let want = f64::from(DEFAULT_SIZE) * f64::from(ws[i]) / f64::from(sum);
                prop_assert!((c as f64 - want).abs() <= want * 0.01, "dest {} has {} slots, want {}", i, c, want);
            }
        }

        /// Removing one of n dests moves the keys of that dest, and only a
        /// small fraction of the others': about 1/n of all keys move.
        #[test]
        fn minimal_disruption(n in 3usize..=12, gone in 0usize..12) {
            let gone = gone % n;
            let all = dests(&vec![1; n]);
            let mut rest = all.clone();
            rest.remove(gone);
            let (a, b) = (MaglevTable::new(&all), MaglevTable::new(&rest));
            let mut moved_others = 0;
            let mut moved = 0;
            for s in 0..a.len() {
                if all[a.at(s)].addr != rest[b.at(s)].addr {
                    moved += 1;
                    if a.at(s) != gone {
                        moved_others += 1;
                    }
                }
            }
            let m = a.len() as f64;
            let expect = 1.0 / n as f64;
            // Measured: 0.1% to 0.5% of the slots of the others move.
            prop_assert!(moved_others as f64 / m <= 0.01, "{} other slots moved", moved_others);
            prop_assert!((moved as f64 / m - expect).abs() <= 0.01, "moved {}, about {} expected", moved, expect);
        }
    }
}
