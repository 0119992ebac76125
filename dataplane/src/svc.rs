//! Services and dests as the data path sees them in a snapshot.
//!
//! Config values (address, weight, method) are immutable in a snapshot; the
//! runtime part of a dest ([`DestRt`]: connection counts, traffic counters,
//! overload flag) lives behind an `Arc` that Control carries from one
//! snapshot to the next while the dest exists, so that a reload keeps the
//! counters and live connections keep their dest alive after a delete.

use crate::stats::Counter;
use crossbeam_utils::CachePadded;
use rvs_conf::{DestConf, FwdMethod, TunType};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// Counters of one dest written by one worker.
#[derive(Debug, Default)]
pub struct DestCell {
    /// Connections in ESTABLISHED (IPVS `activeconns`).
    pub active: Counter,
    /// Other states (IPVS `inactconns`).
    pub inactive: Counter,
    /// Connections ever scheduled here.
    pub conns: Counter,
    pub in_pkts: Counter,
    pub out_pkts: Counter,
    pub in_bytes: Counter,
    pub out_bytes: Counter,
}

/// Runtime state of a dest, shared by all snapshots that contain it.
#[derive(Debug)]
pub struct DestRt {
    cells: Box<[CachePadded<DestCell>]>,
    /// IPVS's IP_VS_DEST_F_OVERLOAD: set at the upper threshold, cleared
    /// below the lower one. Written only when a connection is bound or
    /// unbound (not per packet).
    overloaded: AtomicBool,
    /// Persistence templates pointing at this dest (`PersistConn`). Not a
    /// per-worker cell: a template is created by one worker and expired by
    /// worker 0, always under the template table's lock, so this changes
    /// only when a template does — never per packet.
    persist: AtomicU64,
}

impl DestRt {
    pub fn new(workers: usize) -> Arc<Self> {
        Arc::new(DestRt {
            cells: (0..workers.max(1)).map(|_| CachePadded::new(DestCell::default())).collect(),
            overloaded: AtomicBool::new(false),
            persist: AtomicU64::new(0),
        })
    }

    /// The cell a worker writes.
    #[inline(always)]
    pub fn cell(&self, worker: usize) -> &DestCell {
        &self.cells[worker]
    }

    pub fn cells(&self) -> impl Iterator<Item = &DestCell> {
        self.cells.iter().map(|c| &**c)
    }

    /// A template now pins clients to this dest.
    pub fn persist_inc(&self) {
        self.persist.fetch_add(1, Relaxed);
    }

    /// A template pinning clients to this dest has expired.
    pub fn persist_dec(&self) {
        let _ = self.persist.fetch_update(Relaxed, Relaxed, |v| v.checked_sub(1));
    }

    /// `PersistConn`.
    pub fn persist(&self) -> u64 {
        self.persist.load(Relaxed)
    }

    /// Sum a field over all workers.
    pub fn sum(&self, f: impl Fn(&DestCell) -> &Counter) -> u64 {
        self.cells().map(|c| f(c).get()).sum()
    }

    pub fn zero(&self) {
        for c in self.cells() {
            for x in [&c.conns, &c.in_pkts, &c.out_pkts, &c.in_bytes, &c.out_bytes] {
                x.reset();
            }
        }
    }
}

/// A dest in a snapshot.
#[derive(Debug, Clone)]
pub struct Dest {
    pub addr: IpAddr,
    /// Real-server port (already resolved: never 0 for port services).
    pub port: u16,
    pub weight: u32,
    pub fwd: FwdMethod,
    /// `-x`; 0 = no limit.
    pub upper: u32,
    /// `-y`; 0 = 3/4 of upper, as IPVS.
    pub lower: u32,
    pub tun_type: TunType,
    pub tun_port: u16,
    pub rt: Arc<DestRt>,
}

impl Dest {
    pub fn from_conf(c: &DestConf, port: u16, rt: Arc<DestRt>) -> Self {
        Dest {
            addr: c.addr,
            port,
            weight: c.weight,
            fwd: c.fwd,
            upper: c.upper,
            lower: c.lower,
            tun_type: c.tun_type,
            tun_port: c.tun_port,
            rt,
        }
    }

    /// ActiveConn summed over workers.
    #[inline]
    pub fn active(&self) -> u32 {
        self.rt.sum(|c| &c.active) as u32
    }

    /// InActConn summed over workers.
    #[inline]
    pub fn inactive(&self) -> u32 {
        self.rt.sum(|c| &c.inactive) as u32
    }

    #[inline]
    pub fn overloaded(&self) -> bool {
        self.rt.overloaded.load(Relaxed)
    }

    /// A scheduler may pick this dest: weight above 0 and not overloaded.
    #[inline]
    pub fn available(&self) -> bool {
        self.weight > 0 && !self.overloaded()
    }

    /// Re-evaluate the overload flag after a connection was bound or
    /// unbound (IPVS: set at `conns >= upper`, clear below `lower`, or
    /// below 3/4 of upper when no lower threshold is set).
    pub fn update_overload(&self) {
        if self.upper == 0 {
            if self.overloaded() {
                self.rt.overloaded.store(false, Relaxed);
            }
            return;
        }
        let conns = self.active() as u64 + self.inactive() as u64;
        let low = if self.lower != 0 { self.lower as u64 } else { self.upper as u64 * 3 / 4 };
        if conns >= self.upper as u64 {
            self.rt.overloaded.store(true, Relaxed);
        } else if conns < low && self.overloaded() {
            self.rt.overloaded.store(false, Relaxed);
        }
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use std::net::Ipv4Addr;

    /// A dest at 10.0.0.`n` with the given weight, for scheduler tests.
    pub fn dest(n: u8, weight: u32) -> Dest {
        Dest {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)),
            port: 80,
            weight,
            fwd: FwdMethod::Nat,
            upper: 0,
            lower: 0,
            tun_type: TunType::Ipip,
            tun_port: 0,
            rt: DestRt::new(2),
        }
    }

    /// Set ActiveConn/InActConn of a test dest (all on worker 0).
    pub fn set_load(d: &Dest, active: u64, inactive: u64) {
        let c = d.rt.cell(0);
        c.active.reset();
        c.active.add(active);
        c.inactive.reset();
        c.inactive.add(inactive);
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;

    #[test]
    fn overload_hysteresis() {
        let mut d = dest(1, 1);
        d.upper = 4;
        set_load(&d, 4, 0);
        d.update_overload();
        assert!(!d.available());
        set_load(&d, 3, 0); // 3 >= 3/4*4 = 3: still overloaded
        d.update_overload();
        assert!(d.overloaded());
        set_load(&d, 2, 0);
        d.update_overload();
        assert!(d.available());
    }
}
