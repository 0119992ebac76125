//! lblc — locality-based least-connection: each destination address is
//! served by one dest, so that a cache server keeps seeing the same
//! objects.
//!
//! The first connection to an address goes to the weighted
//! least-connection dest (wlc) and the table remembers it. Later
//! connections to that address reuse it unless it is unavailable (weight 0
//! or overloaded flag) or overloaded by IPVS's lblc rule ([`overloaded`]:
//! more active connections than its weight while another dest is under
//! half of its own); then wlc chooses again and the table remembers the new
//! choice. Entries expire after 6 minutes unused ([`super::locality`]).
//!
//! Each worker keeps its own table ([`super::locality`]): an address is
//! served by one dest per worker, not necessarily the same one.

use super::locality::{key, overloaded, tables, DestIndex, DestKey, Shared};
use super::wlc::{overhead, weighted_least};
use super::{Carry, Kept, PickCtx, Scheduler};
use crate::svc::Dest;

#[derive(Debug)]
pub struct Lblc {
    /// One table per worker.
    tables: Shared<DestKey>,
    index: DestIndex,
}

impl Lblc {
    /// `carry`: what the previous snapshot's scheduler handed on.
    pub(super) fn new(dests: &[Dest], workers: usize, carry: Option<Kept>) -> Self {
        let carried = match carry {
            Some(Kept::Lblc(t)) => Some(t),
            _ => None,
        };
        Lblc { tables: tables(carried, workers), index: DestIndex::new(dests) }
    }
}

impl Scheduler for Lblc {
    fn pick(&self, ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        let mut table = self.tables.get(ctx.worker).lock();
        let known = table.get_mut(ctx.vaddr, ctx.now).and_then(|k| self.index.get(k));
        if let Some(i) = known {
            let d = &dests[i];
            if d.available() && !overloaded(d, dests) {
                return Some(i);
            }
        }
        let i = weighted_least(dests, 0..dests.len(), overhead)?;
        table.insert(ctx.vaddr, key(&dests[i]), ctx.now);
        Some(i)
    }

    fn carry(&self) -> Option<Carry> {
        Some(Carry(Kept::Lblc(self.tables.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn to(v: u8, now: u64) -> PickCtx {
        PickCtx { vaddr: IpAddr::V4(Ipv4Addr::new(10, 2, 0, v)), now, ..ctx(1, 1) }
    }

    #[test]
    fn sticks_to_the_assigned_dest() {
        let ds = dests(&[1, 1, 1]);
        let s = Lblc::new(&ds, 2, None);
        assert_eq!(s.pick(&to(1, 0), &ds), Some(0));
        set_load(&ds[0], 1, 0);
        assert_eq!(s.pick(&to(2, 0), &ds), Some(1), "new address: wlc");
        set_load(&ds[1], 1, 0);
        // Address 1 stays on dest 0 although dest 2 is idle (A 1 <= W 1).
        assert_eq!(s.pick(&to(1, 10), &ds), Some(0));
    }

    #[test]
    fn leaves_an_overloaded_dest() {
        let mut ds = dests(&[2, 2, 2]);
        let s = Lblc::new(&ds, 2, None);
        assert_eq!(s.pick(&to(1, 0), &ds), Some(0));
        set_load(&ds[0], 3, 0); // A 3 > W 2 ...
        set_load(&ds[1], 1, 0); // ... but no one under half: stay
        set_load(&ds[2], 1, 0);
        assert_eq!(s.pick(&to(1, 1), &ds), Some(0));
        set_load(&ds[2], 0, 0); // dest 2 under half: move, and remember
        assert_eq!(s.pick(&to(1, 2), &ds), Some(2));
        set_load(&ds[0], 0, 0);
        assert_eq!(s.pick(&to(1, 3), &ds), Some(2));
        // Overload flag or quiescing: reassigned too.
        overload(&mut ds[2]);
        assert_eq!(s.pick(&to(1, 4), &ds), Some(0));
    }

    #[test]
    fn expires_after_six_minutes() {
        let ds = dests(&[1, 1]);
        let s = Lblc::new(&ds, 2, None);
        assert_eq!(s.pick(&to(1, 0), &ds), Some(0));
        set_load(&ds[0], 1, 0);
        assert_eq!(s.pick(&to(1, 360), &ds), Some(0), "used at 0, alive at 360");
        assert_eq!(s.pick(&to(1, 721), &ds), Some(1), "forgotten: wlc again");
    }

    #[test]
    fn survives_rebuild() {
        let ds = dests(&[1, 1, 1]);
        let s = Lblc::new(&ds, 2, None);
        set_load(&ds[0], 1, 0);
        assert_eq!(s.pick(&to(1, 0), &ds), Some(1));
        // Dest 0 removed: dest 1 is now index 0 and still serves address 1.
        let rest = ds[1..].to_vec();
        let s2 = Lblc::new(&rest, 2, s.carry().map(|c| c.0));
        set_load(&rest[0], 1, 0); // busier than dest 2, but A <= W
        assert_eq!(s2.pick(&to(1, 5), &rest), Some(0));
        // Without the carried table wlc would choose afresh.
        assert_eq!(Lblc::new(&rest, 2, None).pick(&to(1, 5), &rest), Some(1));
    }

    #[test]
    fn one_table_per_worker() {
        let ds = dests(&[1, 1]);
        let s = Lblc::new(&ds, 2, None);
        let on = |w: usize, now| PickCtx { worker: w, ..to(1, now) };
        assert_eq!(s.pick(&on(0, 0), &ds), Some(0));
        set_load(&ds[0], 1, 0);
        // Worker 1 has not seen address 1: wlc sends it to idle dest 1,
        // and worker 0's assignment is untouched.
        assert_eq!(s.pick(&on(1, 1), &ds), Some(1));
        set_load(&ds[1], 1, 0);
        assert_eq!(s.pick(&on(0, 2), &ds), Some(0));
        assert_eq!(s.pick(&on(1, 3), &ds), Some(1));
        // Both tables go to the next snapshot.
        let s2 = Lblc::new(&ds, 2, s.carry().map(|c| c.0));
        assert_eq!((s2.pick(&on(0, 4), &ds), s2.pick(&on(1, 4), &ds)), (Some(0), Some(1)));
    }
}
