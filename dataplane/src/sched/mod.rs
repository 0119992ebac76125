//! Schedulers: which dest gets a new connection.
//!
//! A scheduler object is built by Control for each snapshot from the
//! service's dest list (so Maglev tables, wrr sequences and the like are
//! computed off the hot path), then consulted by workers when they create a
//! connection. `pick` is called only for new connections, never per packet.
//!
//! Every scheduler follows IPVS's rules: a dest whose weight is 0
//! (quiesced) or whose overload flag is set (`-x` threshold) is never
//! chosen, and when no dest is available `pick` returns `None`. The index a
//! scheduler returns is an index into the same dest list it was built from.
//!
//! One file per algorithm, named as ipvsadm names it; `mhb` (Maglev with
//! bounded load) is an rvs extension. Shared pieces: [`hash`] (stable
//! hashing, identical on every director), [`maglev::MaglevTable`] (used by mh
//! and mhb), [`sh::BucketTable`] (used by sh and dh), [`wlc::weighted_least`]
//! (the weighted least-connection choice several schedulers fall back to)
//! and [`locality`] (the per-destination-address tables of lblc and lblcr).

use crate::svc::Dest;
use rvs_conf::{SchedFlags, SchedKind};
use std::fmt;
use std::net::IpAddr;

pub mod dh;
pub mod fo;
pub mod hash;
pub mod lblc;
pub mod lblcr;
pub mod lc;
pub mod locality;
pub mod maglev;
pub mod mh;
pub mod mhb;
pub mod nq;
pub mod ovf;
pub mod rr;
pub mod sed;
pub mod sh;
pub mod twos;
pub mod wlc;
pub mod wrr;

pub use locality::Carry;

/// What a scheduler may look at for one new connection.
#[derive(Debug, Clone, Copy)]
pub struct PickCtx {
    /// Client address and port (source of the request).
    pub caddr: IpAddr,
    pub cport: u16,
    /// Virtual address and port (destination of the request).
    pub vaddr: IpAddr,
    pub vport: u16,
    /// A per-worker pseudo-random number, fresh for each call (twos).
    pub rand: u64,
    /// Monotonic time in seconds (lblc/lblcr expiry).
    pub now: u64,
}

/// A scheduling algorithm bound to one snapshot of a service's dests.
pub trait Scheduler: Send + Sync + fmt::Debug {
    /// Index into `dests` of the chosen dest, or None if no dest is
    /// available (all weight 0, overloaded, or none at all).
    fn pick(&self, ctx: &PickCtx, dests: &[Dest]) -> Option<usize>;

    /// State worth keeping when the dest list changes (today only the
    /// destination-address tables of lblc/lblcr; see [`build_from`]).
    fn carry(&self) -> Option<Carry> {
        None
    }
}

/// Build the scheduler for a service's dest list.
pub fn build(kind: SchedKind, flags: SchedFlags, mhb_c: f64, dests: &[Dest]) -> Box<dyn Scheduler> {
    build_from(None, kind, flags, mhb_c, dests)
}

/// Like [`build`], but keep what `prev` (the scheduler of the previous
/// snapshot of the same service) learnt: lblc/lblcr would otherwise forget
/// every destination-address assignment whenever a dest is added, removed
/// or reweighted, which IPVS does not do. Assignments are kept by dest
/// address and port, so they survive reordering; ones naming a dest that is
/// gone are dropped when next used.
pub fn build_from(
    prev: Option<&dyn Scheduler>,
    kind: SchedKind,
    flags: SchedFlags,
    mhb_c: f64,
    dests: &[Dest],
) -> Box<dyn Scheduler> {
    let carry = prev.and_then(|p| p.carry());
    match kind {
        SchedKind::Rr => Box::new(rr::Rr::new()),
        SchedKind::Wrr => Box::new(wrr::Wrr::new(dests)),
        SchedKind::Lc => Box::new(lc::Lc),
        SchedKind::Wlc => Box::new(wlc::Wlc),
        SchedKind::Lblc => Box::new(lblc::Lblc::new(dests, carry)),
        SchedKind::Lblcr => Box::new(lblcr::Lblcr::new(dests, carry)),
        SchedKind::Dh => Box::new(dh::Dh::new(dests)),
        SchedKind::Sh => Box::new(sh::Sh::new(dests, flags)),
        SchedKind::Sed => Box::new(sed::Sed),
        SchedKind::Nq => Box::new(nq::Nq),
        SchedKind::Fo => Box::new(fo::Fo),
        SchedKind::Ovf => Box::new(ovf::Ovf),
        SchedKind::Mh => Box::new(mh::Mh::new(dests, flags)),
        SchedKind::Twos => Box::new(twos::Twos::new(dests)),
        SchedKind::Mhb => Box::new(mhb::Mhb::new(dests, flags, mhb_c)),
    }
}

/// Helpers for the tests of every scheduler.
#[cfg(test)]
pub(crate) mod testing {
    use super::PickCtx;
    pub use crate::svc::testutil::{dest, set_load};
    use crate::svc::Dest;
    use std::net::{IpAddr, Ipv4Addr};

    /// Dests 10.0.0.1.. with the given weights.
    pub fn dests(weights: &[u32]) -> Vec<Dest> {
        weights.iter().enumerate().map(|(i, &w)| dest(i as u8 + 1, w)).collect()
    }

    /// Set the overload flag of a dest, leaving its counts at 0 (the flag
    /// only changes in `update_overload`, so it stays set).
    pub fn overload(d: &mut Dest) {
        d.upper = 1;
        set_load(d, 1, 0);
        d.update_overload();
        set_load(d, 0, 0);
        assert!(d.overloaded());
    }

    /// A context from client 192.168.`c >> 8`.`c & 255`:`port` to VIP 10.1.0.1:80.
    pub fn ctx(c: u16, port: u16) -> PickCtx {
        PickCtx {
            caddr: IpAddr::V4(Ipv4Addr::new(192, 168, (c >> 8) as u8, c as u8)),
            cport: port,
            vaddr: IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1)),
            vport: 80,
            rand: 0,
            now: 0,
        }
    }

    /// The fallback contract shared by sh and mh: with dest 1 of three
    /// overloaded, the strict scheduler answers None for exactly the
    /// clients it used to send to dest 1, the fallback one sends those
    /// (stably) to the others, spread over both (each at least `min`), and
    /// leaves every other client where it was.
    pub fn check_fallback(
        build: impl Fn(&[Dest], super::SchedFlags) -> Box<dyn super::Scheduler>,
        clients: u16,
        min: usize,
    ) {
        use super::SchedFlags;
        let mut ds = dests(&[1, 1, 1]);
        let strict = build(&ds, SchedFlags(0));
        let fb = build(&ds, SchedFlags(SchedFlags::FLAG1));
        let before: Vec<_> = (0..clients).map(|c| strict.pick(&ctx(c, 1), &ds)).collect();
        overload(&mut ds[1]);
        let mut moved = [0; 3];
        for c in 0..clients {
            let (s, f) = (strict.pick(&ctx(c, 1), &ds), fb.pick(&ctx(c, 1), &ds));
            if before[c as usize] == Some(1) {
                assert_eq!(s, None);
                moved[f.unwrap()] += 1;
                assert_eq!(f, fb.pick(&ctx(c, 1), &ds), "fallback is stable");
            } else {
                assert_eq!((s, f), (before[c as usize], before[c as usize]));
            }
        }
        // Clients of the lost dest spread over both others.
        assert!(moved[0] > min && moved[2] > min && moved[1] == 0, "{moved:?}");
    }

    /// Pick `n` times and return the sequence of chosen indices.
    pub fn seq(s: &dyn super::Scheduler, ds: &[Dest], n: usize) -> Vec<Option<usize>> {
        (0..n).map(|_| s.pick(&ctx(1, 1), ds)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    /// Every scheduler returns None when there is nothing to pick from.
    #[test]
    fn none_when_nothing_available() {
        for kind in SchedKind::ALL {
            for weights in [&[][..], &[0, 0, 0][..]] {
                let ds = dests(weights);
                let s = build(kind, SchedFlags(3), 2.0, &ds);
                assert_eq!(s.pick(&ctx(1, 1), &ds), None, "{kind} {weights:?}");
            }
            let mut ds = dests(&[1, 2]);
            overload(&mut ds[0]);
            overload(&mut ds[1]);
            let s = build(kind, SchedFlags(3), 2.0, &ds);
            assert_eq!(s.pick(&ctx(1, 1), &ds), None, "{kind} overloaded");
        }
    }

    /// Every scheduler skips quiesced and overloaded dests.
    #[test]
    fn only_available_dests() {
        for kind in SchedKind::ALL {
            let mut ds = dests(&[0, 3, 1, 2]);
            overload(&mut ds[1]);
            overload(&mut ds[3]);
            let s = build(kind, SchedFlags(3), 2.0, &ds);
            for c in 0..200 {
                let mut cx = ctx(c, c);
                cx.rand = u64::from(c).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let got = s.pick(&cx, &ds);
                // dh has no fallback: its one VIP may hash to a lost dest.
                let ok = got == Some(2) || (kind == SchedKind::Dh && got.is_none());
                assert!(ok, "{kind}: {got:?}");
            }
        }
    }
}
