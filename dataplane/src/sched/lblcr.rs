//! lblcr — locality-based least-connection with replication: like lblc,
//! but a destination address is served by a set of dests that grows when
//! the address is too hot for one server, and shrinks again when it cools.
//!
//! IPVS's algorithm, per destination address:
//! - no set yet: the weighted least-connection dest (wlc) starts one;
//! - otherwise the least loaded available member serves, unless there is
//!   none or it is overloaded by the lblc rule ([`overloaded`]); then the
//!   wlc dest serves and joins the set;
//! - a set of several members that has not changed for [`SET_EXPIRE`]
//!   (IPVS's `lblcr_expiration`, one day) drops its most loaded member
//!   (a quiesced member first), one per period.
//!
//! Members that left the dest list are dropped when next seen. Entries
//! expire after 6 minutes unused ([`super::locality`]). Each worker keeps
//! its own sets ([`super::locality`]).

use super::locality::{key, overloaded, tables, DestIndex, DestKey, Shared};
use super::wlc::{lighter, overhead, weighted_least};
use super::{Carry, Kept, PickCtx, Scheduler};
use crate::svc::Dest;

/// A set unchanged this long (seconds) loses its most loaded member.
pub const SET_EXPIRE: u64 = 24 * 60 * 60;

/// The dests serving one destination address.
#[derive(Debug)]
pub struct Set {
    members: Vec<DestKey>,
    /// When a member last joined or left.
    lastmod: u64,
}

#[derive(Debug)]
pub struct Lblcr {
    /// One table per worker.
    tables: Shared<Set>,
    index: DestIndex,
}

impl Lblcr {
    /// `carry`: what the previous snapshot's scheduler handed on.
    pub(super) fn new(dests: &[Dest], workers: usize, carry: Option<Kept>) -> Self {
        let carried = match carry {
            Some(Kept::Lblcr(t)) => Some(t),
            _ => None,
        };
        Lblcr { tables: tables(carried, workers), index: DestIndex::new(dests) }
    }

    /// The member to drop when a set shrinks: a quiesced one, else the one
    /// with the most connection overhead per weight.
    fn heaviest(&self, set: &Set, dests: &[Dest]) -> Option<usize> {
        let mut worst: Option<(usize, &Dest)> = None;
        for (m, k) in set.members.iter().enumerate() {
            let d = &dests[self.index.get(k)?];
            if d.weight == 0 {
                return Some(m);
            }
            let heavier = match worst {
                None => true,
                Some((_, w)) => lighter(overhead(w), w.weight, overhead(d), d.weight),
            };
            if heavier {
                worst = Some((m, d));
            }
        }
        worst.map(|(m, _)| m)
    }
}

impl Scheduler for Lblcr {
    fn pick(&self, ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        let mut table = self.tables.get(ctx.worker).lock();
        let Some(set) = table.get_mut(ctx.vaddr, ctx.now) else {
            let i = weighted_least(dests, 0..dests.len(), overhead)?;
            let set = Set { members: vec![key(&dests[i])], lastmod: ctx.now };
            table.insert(ctx.vaddr, set, ctx.now);
            return Some(i);
        };
        set.members.retain(|k| self.index.get(k).is_some());
        if set.members.len() > 1 && ctx.now.saturating_sub(set.lastmod) > SET_EXPIRE {
            if let Some(m) = self.heaviest(set, dests) {
                set.members.remove(m);
                set.lastmod = ctx.now;
            }
        }
        let members = set.members.iter().filter_map(|k| self.index.get(k));
        if let Some(i) = weighted_least(dests, members, overhead) {
            if !overloaded(&dests[i], dests) {
                return Some(i);
            }
        }
        let i = weighted_least(dests, 0..dests.len(), overhead)?;
        let k = key(&dests[i]);
        if !set.members.contains(&k) {
            set.members.push(k);
            set.lastmod = ctx.now;
        }
        Some(i)
    }

    fn carry(&self) -> Option<Carry> {
        Some(Carry(Kept::Lblcr(self.tables.clone())))
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

    fn members(s: &Lblcr, v: u8) -> Vec<u8> {
        let t = s.tables.get(0).lock();
        let set = t.peek(to(v, 0).vaddr).expect("set");
        set.members
            .iter()
            .map(|(a, _)| match a {
                IpAddr::V4(a) => a.octets()[3],
                IpAddr::V6(_) => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn grows_when_hot() {
        let ds = dests(&[2, 2, 2]);
        let s = Lblcr::new(&ds, 2, None);
        assert_eq!(s.pick(&to(1, 0), &ds), Some(0));
        set_load(&ds[0], 2, 0); // A == W: not overloaded
        assert_eq!(s.pick(&to(1, 1), &ds), Some(0));
        set_load(&ds[0], 3, 0); // A > W and others idle: replicate
        assert_eq!(s.pick(&to(1, 2), &ds), Some(1));
        assert_eq!(members(&s, 1), [1, 2]);
        // The least loaded member serves from now on.
        set_load(&ds[1], 1, 0);
        set_load(&ds[0], 0, 0);
        assert_eq!(s.pick(&to(1, 3), &ds), Some(0));
        // Another address has its own set.
        set_load(&ds[0], 1, 0);
        assert_eq!(s.pick(&to(2, 3), &ds), Some(2));
        assert_eq!(members(&s, 2), [3]);
    }

    #[test]
    fn shrinks_when_unchanged_for_long() {
        let ds = dests(&[1, 1, 1]);
        let s = Lblcr::new(&ds, 2, None);
        s.pick(&to(1, 0), &ds);
        set_load(&ds[0], 2, 0);
        assert_eq!(s.pick(&to(1, 100), &ds), Some(1));
        assert_eq!(members(&s, 1), [1, 2]);
        // Kept alive by use, unchanged since 100: after a day the most
        // loaded member (dest 0) leaves.
        let mut now = 100;
        while now < 100 + SET_EXPIRE {
            now += 300;
            set_load(&ds[1], 0, 0);
            s.pick(&to(1, now.min(100 + SET_EXPIRE)), &ds);
        }
        assert_eq!(members(&s, 1), [1, 2]);
        s.pick(&to(1, 101 + SET_EXPIRE), &ds);
        assert_eq!(members(&s, 1), [2]);
    }

    #[test]
    fn unavailable_members_and_removed_dests() {
        let mut ds = dests(&[1, 1, 1]);
        let s = Lblcr::new(&ds, 2, None);
        assert_eq!(s.pick(&to(1, 0), &ds), Some(0));
        overload(&mut ds[0]);
        assert_eq!(s.pick(&to(1, 1), &ds), Some(1), "no available member: wlc joins");
        assert_eq!(members(&s, 1), [1, 2]);
        let rest = ds[2..].to_vec();
        let s2 = Lblcr::new(&rest, 2, s.carry().map(|c| c.0));
        assert_eq!(s2.pick(&to(1, 2), &rest), Some(0));
        assert_eq!(members(&s2, 1), [3], "gone members dropped, new one joined");
    }

    #[test]
    fn expires_after_six_minutes() {
        let ds = dests(&[1, 1]);
        let s = Lblcr::new(&ds, 2, None);
        assert_eq!(s.pick(&to(1, 0), &ds), Some(0));
        set_load(&ds[0], 1, 0);
        assert_eq!(s.pick(&to(1, 300), &ds), Some(0));
        assert_eq!(s.pick(&to(1, 661), &ds), Some(1));
        assert_eq!(members(&s, 1), [2]);
    }
}
