//! sh — source hashing: a client address (and with `sh-port` its port too)
//! always maps to the same dest while the dest list stays the same.
//!
//! As in IPVS the key is hashed into a table of 256 buckets, filled in
//! list order with runs of consecutive buckets, one run per dest, the run
//! as long as the dest's weight, round robin until the table is full
//! ([`BucketTable`], shared with dh). The dest in the client's bucket gets
//! the connection. If it is unavailable, `sh-fallback` tries other buckets
//! of the table; without the flag there is no connection (`None`), which is
//! what makes sh strict: a client never lands on a second server.
//!
//! Departures from IPVS, all about the table layout only:
//! - The runs follow the dests' (address, port) order rather than the
//!   list's, so every director with the same dests has the same table
//!   whatever order they were added in (ECMP scale-out).
//! - Weights are divided by their gcd, and scaled down when their sum
//!   exceeds the table: in IPVS weights 100, 100 give the first dest all
//!   256 buckets, which surprises everyone who tries it.
//! - A dest with weight 0 gets no bucket (IPVS gives it one, which without
//!   `sh-fallback` black-holes the clients hashed there).
//! - The table grows beyond 256 buckets (to a power of two) when there are
//!   more than 256 dests, so that every dest gets one.
//!
//! The fallback probes buckets `b + k * stride` with an odd stride derived
//! from the key: it visits every bucket, and clients of an unavailable
//! dest spread over all the others instead of piling onto its neighbour.

use super::hash::{hash_addr_port, mix64, reduce, SEED_KEY, SEED_PROBE};
use super::{PickCtx, Scheduler};
use crate::svc::Dest;
use rvs_conf::SchedFlags;

/// IPVS's `IP_VS_SH_TAB_SIZE`.
pub const MIN_BUCKETS: usize = 256;

/// A power-of-two table of dest indices, filled by weight.
#[derive(Debug)]
pub struct BucketTable {
    buckets: Box<[u32]>,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl BucketTable {
    pub fn new(dests: &[Dest]) -> Self {
        let mut used: Vec<(u32, u64)> =
            (0..dests.len() as u32).zip(dests.iter().map(|d| u64::from(d.weight))).filter(|&(_, w)| w > 0).collect();
        // Runs in the order of the dests' (address, port), not of the
        // list: directors whose lists differ in order build one table.
        used.sort_unstable_by_key(|&(i, _)| (dests[i as usize].addr, dests[i as usize].port));
        if used.is_empty() {
            return BucketTable { buckets: Box::new([]) };
        }
        let size = MIN_BUCKETS.max(used.len().next_power_of_two());
        let g = used.iter().fold(0, |g, &(_, w)| gcd(g, w));
        let sum: u64 = used.iter().map(|&(_, w)| w / g).sum();
        let run = |w: u64| {
            let r = w / g;
            if sum > size as u64 {
                (r * size as u64 / sum).max(1)
            } else {
                r
            }
        };
        let mut buckets = Vec::with_capacity(size);
        'fill: loop {
            for &(i, w) in &used {
                for _ in 0..run(w) {
                    if buckets.len() == size {
                        break 'fill;
                    }
                    buckets.push(i);
                }
            }
        }
        BucketTable { buckets: buckets.into() }
    }

    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// The dest for key hash `h`; with `fallback`, another available dest
    /// of the table when that one is unavailable.
    pub fn lookup(&self, h: u64, dests: &[Dest], fallback: bool) -> Option<usize> {
        let n = self.buckets.len();
        if n == 0 {
            return None;
        }
        let mask = n - 1;
        let first = reduce(h, n);
        let avail = |b: usize| {
            let i = self.buckets[b] as usize;
            dests.get(i).filter(|d| d.available()).map(|_| i)
        };
        if let Some(i) = avail(first) {
            return Some(i);
        }
        if !fallback {
            return None;
        }
        let stride = (mix64(h ^ SEED_PROBE) as usize | 1) & mask;
        (1..n).find_map(|k| avail(first.wrapping_add(k.wrapping_mul(stride)) & mask))
    }

    #[cfg(test)]
    pub fn counts(&self, n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for &i in self.buckets.iter() {
            c[i as usize] += 1;
        }
        c
    }
}

#[derive(Debug)]
pub struct Sh {
    table: BucketTable,
    fallback: bool,
    port: bool,
}

impl Sh {
    pub fn new(dests: &[Dest], flags: SchedFlags) -> Self {
        Sh { table: BucketTable::new(dests), fallback: flags.fallback(), port: flags.port() }
    }
}

impl Scheduler for Sh {
    fn pick(&self, ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        let port = if self.port { ctx.cport } else { 0 };
        let h = hash_addr_port(ctx.caddr, port, SEED_KEY);
        self.table.lookup(h, dests, self.fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const PLAIN: SchedFlags = SchedFlags(0);
    const PORT: SchedFlags = SchedFlags(SchedFlags::FLAG2);

    #[test]
    fn list_order_does_not_matter() {
        let ds = dests(&[1, 2, 3, 1]);
        let mut rev = ds.clone();
        rev.reverse();
        let (a, b) = (BucketTable::new(&ds), BucketTable::new(&rev));
        for k in 0..a.len() {
            assert_eq!(ds[a.buckets[k] as usize].addr, rev[b.buckets[k] as usize].addr, "bucket {k}");
        }
    }

    #[test]
    fn table_filled_by_weight_runs() {
        // Runs A, BB, CCC: 42 cycles fill 252 buckets, then A, B, B, C.
        let ds = dests(&[1, 2, 3]);
        let t = BucketTable::new(&ds);
        assert_eq!(t.buckets[..7], [0, 1, 1, 2, 2, 2, 0]);
        assert_eq!(t.counts(3), [43, 86, 127]);
        // Weights divided by their gcd; weight 0 gets nothing.
        let ds = dests(&[100, 0, 100]);
        assert_eq!(BucketTable::new(&ds).counts(3), [128, 0, 128]);
        // Scaled down when they do not fit.
        let ds = dests(&[1000, 999, 1]);
        let c = BucketTable::new(&ds).counts(3);
        assert!(c[0] > 100 && c[1] > 100 && c[2] >= 1, "{c:?}");
        // More dests than buckets: everyone gets one.
        let ds: Vec<_> = (0..300).map(|i| dest(i as u8, 1)).collect();
        let t = BucketTable::new(&ds);
        assert_eq!(t.len(), 512);
        assert!(t.counts(300).iter().all(|&c| c >= 1));
    }

    #[test]
    fn stable_across_builds() {
        let ds = dests(&[1, 2, 3, 1]);
        let (a, b) = (Sh::new(&ds, PLAIN), Sh::new(&ds.clone(), PLAIN));
        let mut seen = [false; 4];
        for c in 0..1000 {
            let p = a.pick(&ctx(c, 1), &ds);
            assert_eq!(p, b.pick(&ctx(c, 9), &ds));
            seen[p.unwrap()] = true;
        }
        assert_eq!(seen, [true; 4]);
    }

    #[test]
    fn port_flag() {
        let ds = dests(&[1, 1, 1, 1]);
        let plain = Sh::new(&ds, PLAIN);
        let port = Sh::new(&ds, PORT);
        let by_port = |s: &Sh| {
            let mut v: Vec<_> = (0..64).map(|p| s.pick(&ctx(7, p), &ds).unwrap()).collect();
            v.sort();
            v.dedup();
            v.len()
        };
        assert_eq!(by_port(&plain), 1);
        assert_eq!(by_port(&port), 4);
    }

    #[test]
    fn fallback_flag() {
        crate::sched::testing::check_fallback(|ds, f| Box::new(Sh::new(ds, f)), 300, 20);
    }
}
