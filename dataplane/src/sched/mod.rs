//! Schedulers: which dest gets a new connection.
//!
//! A scheduler object is built by Control for each snapshot from the
//! service's dest list (so Maglev tables, wrr sequences and the like are
//! computed off the hot path), then consulted by workers when they create a
//! connection. `pick` is called only for new connections, never per packet.
//!
//! State that changes from pick to pick is per worker ([`per_worker`]):
//! rr and wrr keep one position each per worker, lblc and lblcr one
//! destination-address table each per worker, so a new connection never
//! does a read-modify-write on memory another worker writes (DPVS gets the
//! same by copying each service per lcore). IPVS's sequences therefore hold
//! within each worker; see rr and wrr for where each worker starts.
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
use per_worker::PerWorker;
use rvs_conf::{SchedFlags, SchedKind};
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

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
pub mod per_worker;
pub mod rr;
pub mod sed;
pub mod sh;
pub mod twos;
pub mod wlc;
pub mod wrr;

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
    /// The worker making the pick: whose per-worker state the scheduler
    /// reads and writes. Only that worker may pass its index.
    pub worker: usize,
}

/// A scheduling algorithm bound to one snapshot of a service's dests.
pub trait Scheduler: Send + Sync + fmt::Debug {
    /// Index into `dests` of the chosen dest, or None if no dest is
    /// available (all weight 0, overloaded, or none at all).
    fn pick(&self, ctx: &PickCtx, dests: &[Dest]) -> Option<usize>;

    /// State worth keeping in the next snapshot's scheduler (rr/wrr
    /// positions, lblc/lblcr tables; see [`build_from`]).
    fn carry(&self) -> Option<Carry> {
        None
    }
}

/// What a scheduler is built from besides the dest list.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub kind: SchedKind,
    pub flags: SchedFlags,
    /// mhb's load bound `c`.
    pub mhb_c: f64,
    /// Workers that will pick (one state slot each).
    pub workers: usize,
}

/// State a scheduler hands to its successor in the next snapshot.
#[derive(Debug, Clone)]
pub struct Carry(Kept);

/// Per-worker positions (rr: the cursor; wrr: the packed `(i, cw)`).
pub(crate) type Cursors = Arc<PerWorker<AtomicU64>>;

#[derive(Debug, Clone)]
enum Kept {
    /// rr/wrr positions, valid for the dest list with this fingerprint.
    Rr(u64, Cursors),
    Wrr(u64, Cursors),
    Lblc(locality::Shared<locality::DestKey>),
    Lblcr(locality::Shared<lblcr::Set>),
}

/// Build the scheduler for a service's dest list.
pub fn build(spec: &Spec, dests: &[Dest]) -> Box<dyn Scheduler> {
    build_from(None, spec, dests)
}

/// Like [`build`], but keep what `prev` (the scheduler of the previous
/// snapshot of the same service) learnt:
/// - lblc/lblcr would otherwise forget every destination-address
///   assignment whenever a dest is added, removed or reweighted, which
///   IPVS does not do. Assignments are kept by dest address and port, so
///   they survive reordering; ones naming a dest that is gone are dropped
///   when next used.
/// - rr/wrr keep each worker's position when the dest list (addresses,
///   ports, weights, order) is unchanged, so that an edit of some other
///   service does not restart this one's rotation; when the list changes
///   they start afresh, as IPVS's wrr does.
///
/// Old and new scheduler then share the state while workers move from one
/// snapshot to the next; a worker runs one snapshot at a time, so each
/// slot still has one writer.
pub fn build_from(prev: Option<&dyn Scheduler>, spec: &Spec, dests: &[Dest]) -> Box<dyn Scheduler> {
    let carry = prev.and_then(|p| p.carry()).map(|c| c.0);
    let w = spec.workers;
    match spec.kind {
        SchedKind::Rr => Box::new(rr::Rr::new(dests, w, carry)),
        SchedKind::Wrr => Box::new(wrr::Wrr::new(dests, w, carry)),
        SchedKind::Lc => Box::new(lc::Lc),
        SchedKind::Wlc => Box::new(wlc::Wlc),
        SchedKind::Lblc => Box::new(lblc::Lblc::new(dests, w, carry)),
        SchedKind::Lblcr => Box::new(lblcr::Lblcr::new(dests, w, carry)),
        SchedKind::Dh => Box::new(dh::Dh::new(dests)),
        SchedKind::Sh => Box::new(sh::Sh::new(dests, spec.flags)),
        SchedKind::Sed => Box::new(sed::Sed),
        SchedKind::Nq => Box::new(nq::Nq),
        SchedKind::Fo => Box::new(fo::Fo),
        SchedKind::Ovf => Box::new(ovf::Ovf),
        SchedKind::Mh => Box::new(mh::Mh::new(dests, spec.flags)),
        SchedKind::Twos => Box::new(twos::Twos::new(dests)),
        SchedKind::Mhb => Box::new(mhb::Mhb::new(dests, spec.flags, spec.mhb_c)),
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
            worker: 0,
        }
    }

    /// A spec for `kind` with every flag set, c = 2 and two workers.
    pub fn spec(kind: super::SchedKind) -> super::Spec {
        super::Spec { kind, flags: super::SchedFlags(3), mhb_c: 2.0, workers: 2 }
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

    /// Pick `n` times (as worker 0) and return the chosen indices.
    pub fn seq(s: &dyn super::Scheduler, ds: &[Dest], n: usize) -> Vec<Option<usize>> {
        seq_on(s, ds, 0, n)
    }

    /// Pick `n` times as worker `w`.
    pub fn seq_on(s: &dyn super::Scheduler, ds: &[Dest], w: usize, n: usize) -> Vec<Option<usize>> {
        (0..n).map(|_| s.pick(&PickCtx { worker: w, ..ctx(1, 1) }, ds)).collect()
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
                let s = build(&spec(kind), &ds);
                assert_eq!(s.pick(&ctx(1, 1), &ds), None, "{kind} {weights:?}");
            }
            let mut ds = dests(&[1, 2]);
            overload(&mut ds[0]);
            overload(&mut ds[1]);
            let s = build(&spec(kind), &ds);
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
            let s = build(&spec(kind), &ds);
            for c in 0..200 {
                let mut cx = ctx(c, c);
                cx.worker = usize::from(c % 3);
                cx.rand = u64::from(c).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let got = s.pick(&cx, &ds);
                // dh has no fallback: its one VIP may hash to a lost dest.
                let ok = got == Some(2) || (kind == SchedKind::Dh && got.is_none());
                assert!(ok, "{kind}: {got:?}");
            }
        }
    }
}
