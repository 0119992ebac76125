//! The tuple → connection index: open addressing, linear probing,
//! backward-shift deletion, fixed size.
//!
//! Why not `hashbrown`: a connection table must never allocate or rehash
//! on the packet path, even when full and churning. hashbrown leaves
//! tombstones on delete and, once they have eaten its growth margin,
//! rehashes the whole table in place or, if more than half of its nominal
//! capacity is in use, reallocates at twice the size; avoiding that needs
//! about 4× headroom. Linear probing with backward-shift deletion never
//! leaves tombstones, so a table sized once stays valid forever, and at
//! the load factor used here (≤ 0.7) a lookup touches one or two adjacent
//! buckets, usually one cache line.
//!
//! A bucket is 8 bytes: 32 bits of the key's hash (its low bits are also
//! the home bucket, so deletion can recompute homes without the key) and a
//! 32-bit value (the caller's slot and direction). Keys are not stored:
//! on a hash match the caller's `eq` compares against the connection
//! itself, which a hit reads next anyway, and a 32-bit hash match on a
//! wrong key is rare enough (2⁻³² per probe) that misses almost never
//! touch a connection.

const EMPTY: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    hash: u32,
    val: u32,
}

/// See the module documentation. Values must not be `u32::MAX`.
#[derive(Debug)]
pub struct Index {
    buckets: Box<[Bucket]>,
    mask: u32,
    len: usize,
    max: usize,
}

/// Where a probe for a key ended.
pub enum Probe {
    /// Found at this bucket, with this value.
    Found(usize, u32),
    /// Not present; this is the empty bucket it would go in.
    Vacant(usize),
}

impl Index {
    /// An index that holds up to `max` entries at a load factor ≤ 0.7.
    pub fn new(max: usize) -> Self {
        let want = (max.max(1) * 10).div_ceil(7);
        let n = want.next_power_of_two().max(8);
        assert!(n <= 1 << 31, "index of {max} entries too large");
        Index { buckets: vec![Bucket { hash: 0, val: EMPTY }; n].into_boxed_slice(), mask: n as u32 - 1, len: 0, max }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries it was sized for.
    pub fn max(&self) -> usize {
        self.max
    }

    pub fn mem_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.buckets)
    }

    /// Probe for a key with hash `hash`; `eq(val)` decides whether the
    /// entry holding `val` is the key.
    #[inline(always)]
    pub fn probe(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Probe {
        let h = fold(hash);
        let mut i = h & self.mask;
        loop {
            let b = self.buckets[i as usize];
            if b.val == EMPTY {
                return Probe::Vacant(i as usize);
            }
            if b.hash == h && eq(b.val) {
                return Probe::Found(i as usize, b.val);
            }
            i = (i + 1) & self.mask;
        }
    }

    #[inline(always)]
    pub fn get(&self, hash: u64, eq: impl FnMut(u32) -> bool) -> Option<u32> {
        match self.probe(hash, eq) {
            Probe::Found(_, v) => Some(v),
            Probe::Vacant(_) => None,
        }
    }

    /// Load the home bucket of `hash` without using it, so that the cache
    /// miss overlaps with other work: the safe stand-in for a prefetch
    /// instruction (the load retires later; the CPU does not wait for it
    /// before issuing the next independent loads).
    #[inline(always)]
    pub fn touch(&self, hash: u64) {
        std::hint::black_box(self.buckets[(fold(hash) & self.mask) as usize].val);
    }

    /// Fill the vacant bucket `at` (from [`Probe::Vacant`] for the same
    /// hash, with no change to the index in between).
    #[inline(always)]
    pub fn fill(&mut self, at: usize, hash: u64, val: u32) {
        debug_assert!(val != EMPTY && self.buckets[at].val == EMPTY);
        assert!(self.len < self.max, "index over its sizing");
        self.buckets[at] = Bucket { hash: fold(hash), val };
        self.len += 1;
    }

    /// Replace the value in an occupied bucket (after a `Found`).
    #[inline(always)]
    pub fn set_val(&mut self, at: usize, val: u32) {
        debug_assert!(val != EMPTY && self.buckets[at].val != EMPTY);
        self.buckets[at].val = val;
    }

    /// Empty bucket `at` (from a `Found`) and shift back the entries of its
    /// cluster that probed past it, so no tombstone is left behind.
    pub fn remove_at(&mut self, at: usize) {
        let mask = self.mask as usize;
        let mut hole = at;
        let mut j = at;
        loop {
            j = (j + 1) & mask;
            let b = self.buckets[j];
            if b.val == EMPTY {
                break;
            }
            let home = (b.hash & self.mask) as usize;
            // Entry j may move to the hole unless its home lies cyclically
            // in (hole, j]: then the hole is not on its probe path.
            let stays = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !stays {
                self.buckets[hole] = b;
                hole = j;
            }
        }
        self.buckets[hole] = Bucket { hash: 0, val: EMPTY };
        self.len -= 1;
    }

    /// Mean distance of entries from their home bucket (probe length − 1
    /// of a hit), for tests and tuning.
    pub fn mean_displacement(&self) -> f64 {
        let mask = self.mask as usize;
        let total: usize = self
            .buckets
            .iter()
            .enumerate()
            .filter(|(_, b)| b.val != EMPTY)
            .map(|(i, b)| i.wrapping_sub((b.hash & self.mask) as usize) & mask)
            .sum();
        total as f64 / self.len.max(1) as f64
    }

    /// Remove the entry whose value is `val` for the key hashing to `hash`;
    /// returns whether it was there.
    pub fn remove(&mut self, hash: u64, val: u32) -> bool {
        match self.probe(hash, |v| v == val) {
            Probe::Found(at, _) => {
                self.remove_at(at);
                true
            }
            Probe::Vacant(_) => false,
        }
    }
}

/// The 32 hash bits the index keeps: the low half. Callers pass a hash
/// whose low bits depend on every key bit ([`super::key::mix2`] ends with
/// an xorshift for that); folding the halves here instead would undo it.
#[inline(always)]
fn fold(hash: u64) -> u32 {
    hash as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values are their own keys; hashes are chosen to collide on purpose.
    #[test]
    fn clusters_survive_deletes() {
        let mut ix = Index::new(5);
        assert_eq!(ix.buckets.len(), 8);
        // Homes: 6, 6, 7, 6, 0 → a cluster wrapping around the end.
        let items = [(6u64, 1u32), (6, 2), (7, 3), (6, 4), (0, 5)];
        for (h, v) in items {
            match ix.probe(h, |x| x == v) {
                Probe::Vacant(at) => ix.fill(at, h, v),
                Probe::Found(..) => panic!("dup"),
            }
        }
        for (h, v) in items {
            assert_eq!(ix.get(h, |x| x == v), Some(v));
        }
        assert!(ix.remove(6, 1));
        assert!(ix.remove(7, 3));
        for (h, v) in [(6u64, 2u32), (6, 4), (0, 5)] {
            assert_eq!(ix.get(h, |x| x == v), Some(v), "lost {v}");
        }
        assert_eq!(ix.get(6, |x| x == 1), None);
        assert_eq!(ix.len(), 3);
    }

    #[test]
    fn sizing() {
        let ix = Index::new(2_000_000);
        assert_eq!(ix.buckets.len(), 1 << 22);
        assert_eq!(ix.mem_bytes(), 32 << 20);
    }
}
