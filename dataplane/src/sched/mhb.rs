//! mhb — Maglev with bounded load (rvs extension; Mirrokni, Thorup,
//! Zadimoghaddam, "Consistent Hashing with Bounded Loads", 2018).
//!
//! Plain mh sends a client wherever its hash says, however busy that dest
//! is; a few heavy clients can swamp one server. mhb caps every dest at a
//! multiple `c` (the service's `mhb_c`, >= 1) of its fair share of the
//! active connections:
//!
//! ```text
//! bound_i = ceil(c * (A_total + 1) * w_i / W_total)
//! ```
//!
//! where `A_total` and `W_total` sum ActiveConn and weight over the
//! available dests and the `+ 1` counts the connection being placed. The
//! key's Maglev slot is looked up as in mh; if that dest is unavailable or
//! taking the connection would put it over its bound (`A_i + 1 > bound_i`),
//! the walk goes on to the next slots of the table until a dest has room.
//! Since the bounds add up to at least `c * (A_total + 1) > A_total`, some
//! dest always has room, and no pick ever takes a dest past its bound.
//! Neighbouring slots of a Maglev table belong to unrelated dests, so the
//! overflow of a busy dest spreads over all the others.
//!
//! While loads are under the bounds mhb is exactly mh (same table, same
//! keys); `mh-port` works as in mh. An unavailable dest is always walked
//! past (bounded load is itself a fallback), so `mh-fallback` changes
//! nothing. A pick reads the counters of every dest once (for the totals),
//! then those of the dests walked over.

use super::mh::{client_key, MaglevTable};
use super::{PickCtx, Scheduler};
use crate::svc::Dest;
use rvs_conf::SchedFlags;

#[derive(Debug)]
pub struct Mhb {
    table: MaglevTable,
    c: f64,
    port: bool,
}

/// The most active connections a dest of weight `w` may hold after the
/// pick, given the totals over the available dests.
pub fn bound(c: f64, total_active: u64, w: u32, total_weight: u64) -> u64 {
    (c * (total_active + 1) as f64 * f64::from(w) / total_weight as f64).ceil() as u64
}

impl Mhb {
    pub fn new(dests: &[Dest], flags: SchedFlags, c: f64) -> Self {
        // Config validation insists on c >= 1; below 1 the bounds could
        // leave no dest with room.
        let c = if c >= 1.0 { c } else { 1.0 };
        Mhb { table: MaglevTable::new(dests), c, port: flags.port() }
    }
}

impl Scheduler for Mhb {
    fn pick(&self, ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        let m = self.table.len();
        let (mut total_active, mut total_weight) = (0u64, 0u64);
        for d in dests.iter().filter(|d| d.available()) {
            total_active += u64::from(d.active());
            total_weight += u64::from(d.weight);
        }
        if m == 0 || total_weight == 0 {
            return None;
        }
        let has_room =
            |d: &Dest| d.available() && u64::from(d.active()) < bound(self.c, total_active, d.weight, total_weight);
        let mut s = self.table.slot(client_key(ctx, self.port));
        for _ in 0..m {
            let i = self.table.at(s);
            if dests.get(i).is_some_and(has_room) {
                return Some(i);
            }
            s = if s + 1 == m { 0 } else { s + 1 };
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::mh::Mh;
    use super::super::testing::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_as_mh_under_the_bound() {
        let ds = dests(&[1, 2, 3]);
        let (mh, mhb) = (Mh::new(&ds, SchedFlags(0)), Mhb::new(&ds, SchedFlags(0), 1.25));
        for c in 0..1000 {
            assert_eq!(mh.pick(&ctx(c, 1), &ds), mhb.pick(&ctx(c, 1), &ds));
        }
    }

    #[test]
    fn busy_dest_overflows() {
        let ds = dests(&[1, 1, 1, 1]);
        let s = Mhb::new(&ds, SchedFlags(0), 1.5);
        let home = s.pick(&ctx(42, 1), &ds).unwrap();
        // Total 10 (+1), fair share 2.75, bound ceil(4.125) = 5.
        set_load(&ds[home], 5, 0);
        set_load(&ds[(home + 1) % 4], 5, 0);
        let other = s.pick(&ctx(42, 1), &ds).unwrap();
        assert_ne!(other, home);
        assert_eq!(s.pick(&ctx(42, 1), &ds), Some(other), "deterministic");
        // Total 8 (+1): bound ceil(3.375) = 4, room for one more.
        set_load(&ds[home], 3, 0);
        assert_eq!(s.pick(&ctx(42, 1), &ds), Some(home));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// Placing connections one after another (some closing now and
        /// then), no dest ever ends a pick above its bound, and the busiest
        /// stays within c of its share.
        #[test]
        fn never_exceeds_bound(
            ws in prop::collection::vec(1u32..=5, 1..=6),
            c in 1.0f64..2.0,
            seed: u64,
        ) {
            let ds = dests(&ws);
            let s = Mhb::new(&ds, SchedFlags(SchedFlags::FLAG2), c);
            let total_weight: u64 = ws.iter().map(|&w| u64::from(w)).sum();
            let mut rng = super::super::hash::SplitMix(seed);
            let mut active = vec![0u64; ws.len()];
            for k in 0..2000u32 {
                let r = rng.next_u64();
                if r >> 61 == 0 {
                    // One time in eight a connection closes somewhere.
                    let j = (r >> 8) as usize % ws.len();
                    active[j] = active[j].saturating_sub(1);
                    set_load(&ds[j], active[j], 0);
                    continue;
                }
                let total: u64 = active.iter().sum();
                let cx = ctx((r >> 16) as u16, (r >> 32) as u16);
                let i = s.pick(&cx, &ds).unwrap();
                active[i] += 1;
                set_load(&ds[i], active[i], 0);
                let b = bound(c, total, ws[i], total_weight);
                prop_assert!(active[i] <= b, "pick {}: dest {} at {} > bound {}", k, i, active[i], b);
            }
        }
    }
}
