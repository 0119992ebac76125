//! Schedulers: which dest gets a new connection.
//!
//! A scheduler object is built by Control for each snapshot from the
//! service's dest list (so Maglev tables, wrr sequences and the like are
//! computed off the hot path), then consulted by workers when they create a
//! connection. `pick` is called only for new connections, never per packet.

use crate::svc::Dest;
use rvs_conf::{SchedFlags, SchedKind};
use std::fmt;
use std::net::IpAddr;

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
}

/// Build the scheduler for a service's dest list.
pub fn build(kind: SchedKind, flags: SchedFlags, mhb_c: f64, dests: &[Dest]) -> Box<dyn Scheduler> {
    let _ = (kind, flags, mhb_c, dests);
    todo!("scheduler implementations")
}
