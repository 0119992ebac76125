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

use super::locality::{key, overloaded, Carry, DestIndex, DestKey, Kept, Shared};
use super::wlc::{overhead, weighted_least};
use super::{PickCtx, Scheduler};
use crate::svc::Dest;

#[derive(Debug)]
pub struct Lblc {
    table: Shared<DestKey>,
    index: DestIndex,
}

impl Lblc {
    pub fn new(dests: &[Dest], carry: Option<Carry>) -> Self {
        let table = match carry {
            Some(Carry(Kept::Lblc(t))) => t,
            _ => Shared::default(),
        };
        Lblc { table, index: DestIndex::new(dests) }
    }
}

impl Scheduler for Lblc {
    fn pick(&self, ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        let mut table = self.table.lock();
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
        Some(Carry(Kept::Lblc(self.table.clone())))
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
        let s = Lblc::new(&ds, None);
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
        let s = Lblc::new(&ds, None);
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
        let s = Lblc::new(&ds, None);
        assert_eq!(s.pick(&to(1, 0), &ds), Some(0));
        set_load(&ds[0], 1, 0);
        assert_eq!(s.pick(&to(1, 360), &ds), Some(0), "used at 0, alive at 360");
        assert_eq!(s.pick(&to(1, 721), &ds), Some(1), "forgotten: wlc again");
    }

    #[test]
    fn survives_rebuild() {
        let ds = dests(&[1, 1, 1]);
        let s = Lblc::new(&ds, None);
        set_load(&ds[0], 1, 0);
        assert_eq!(s.pick(&to(1, 0), &ds), Some(1));
        // Dest 0 removed: dest 1 is now index 0 and still serves address 1.
        let rest = ds[1..].to_vec();
        let s2 = Lblc::new(&rest, s.carry());
        set_load(&rest[0], 1, 0); // busier than dest 2, but A <= W
        assert_eq!(s2.pick(&to(1, 5), &rest), Some(0));
        // Without the carried table wlc would choose afresh.
        assert_eq!(Lblc::new(&rest, None).pick(&to(1, 5), &rest), Some(1));
    }
}
