//! mh — Maglev hashing of the client address (with `mh-port`, of its port
//! too): a client keeps its dest while the dest list stays the same, and
//! when a dest comes or goes only about 1/n of the clients move, unlike sh
//! whose whole table shifts. The table is a [`MaglevTable`].
//!
//! With `mh-fallback` a client whose dest is unavailable (weight 0 or
//! overloaded) goes to another dest along a probe sequence derived from its
//! hash, so its fellow clients spread over all the others; without it
//! there is no connection (`None`), as in IPVS.

use super::hash::{hash_addr_port, SEED_KEY};
pub use super::maglev::{MaglevTable, DEFAULT_SIZE};
use super::{PickCtx, Scheduler};
use crate::svc::Dest;
use rvs_conf::SchedFlags;

/// The key of a client: its address, and its port with `mh-port`.
pub fn client_key(ctx: &PickCtx, with_port: bool) -> u64 {
    hash_addr_port(ctx.caddr, if with_port { ctx.cport } else { 0 }, SEED_KEY)
}

#[derive(Debug)]
pub struct Mh {
    table: MaglevTable,
    fallback: bool,
    port: bool,
}

impl Mh {
    pub fn new(dests: &[Dest], flags: SchedFlags) -> Self {
        Mh { table: MaglevTable::new(dests), fallback: flags.fallback(), port: flags.port() }
    }
}

impl Scheduler for Mh {
    fn pick(&self, ctx: &PickCtx, dests: &[Dest]) -> Option<usize> {
        self.table.lookup(client_key(ctx, self.port), dests, self.fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const PORT: SchedFlags = SchedFlags(SchedFlags::FLAG2);

    #[test]
    fn stable_across_builds() {
        let ds = dests(&[1, 2, 3, 4, 5]);
        let (x, y) = (Mh::new(&ds, SchedFlags(0)), Mh::new(&ds.clone(), SchedFlags(0)));
        let mut seen = [false; 5];
        for c in 0..1000 {
            let p = x.pick(&ctx(c, 1), &ds);
            assert_eq!(p, y.pick(&ctx(c, 2), &ds));
            seen[p.unwrap()] = true;
        }
        assert_eq!(seen, [true; 5]);
    }

    #[test]
    fn port_flag() {
        let ds = dests(&[1, 1, 1, 1]);
        let distinct = |s: &Mh| {
            let mut v: Vec<_> = (0..64).map(|p| s.pick(&ctx(7, p), &ds).unwrap()).collect();
            v.sort();
            v.dedup();
            v.len()
        };
        assert_eq!(distinct(&Mh::new(&ds, SchedFlags(0))), 1);
        assert_eq!(distinct(&Mh::new(&ds, PORT)), 4);
    }

    #[test]
    fn fallback_flag() {
        crate::sched::testing::check_fallback(|ds, f| Box::new(Mh::new(ds, f)), 600, 50);
    }
}
