//! Per-worker counters: written by one worker, summed by Control.
//!
//! A cell is only ever written by the worker that owns it, so an update is a
//! relaxed load and store (no locked read-modify-write, no cache line shared
//! between writers). Readers sum the cells of all workers.

use crate::drop::DropReason;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A counter with a single writer.
#[derive(Debug, Default)]
#[repr(transparent)]
pub struct Counter(AtomicU64);

impl Counter {
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }
    #[inline(always)]
    pub fn inc(&self) {
        self.add(1);
    }
    /// Decrement that never wraps below zero.
    #[inline(always)]
    pub fn dec(&self) {
        let v = self.0.load(Relaxed);
        self.0.store(v.saturating_sub(1), Relaxed);
    }
    #[inline(always)]
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
    /// Overwrite (gauges such as the mempool free count).
    #[inline(always)]
    pub fn set(&self, v: u64) {
        self.0.store(v, Relaxed);
    }
    /// Reset (`rvsadm -Z`); racy by design, like IPVS's zeroing.
    pub fn reset(&self) {
        self.0.store(0, Relaxed);
    }
}

/// Everything one worker counts. Control reads these for `rvsadm
/// --workers`, the final counters at shutdown, and the benchmark harness.
#[derive(Debug)]
pub struct WorkerStats {
    pub rx_pkts: Counter,
    pub rx_bytes: Counter,
    pub tx_pkts: Counter,
    pub tx_bytes: Counter,
    /// Packets handed to another worker (flow owner or ARP owner).
    pub redirect_out: Counter,
    /// Packets received from other workers' redirects.
    pub redirect_in: Counter,
    /// Neighbour resolution, both families under the ARP names operators
    /// know (IPv6's ND is its ARP): ARP replies and Neighbour
    /// Advertisements answering a solicitation, sent.
    pub arp_replies: Counter,
    /// ARP requests and Neighbour Solicitations sent.
    pub arp_requests: Counter,
    /// ARP replies and Neighbour Advertisements received and consumed by
    /// learning (no frame goes out).
    pub arp_learned: Counter,
    pub icmp_echo: Counter,
    /// ICMP errors the director originated (time exceeded, frag-needed).
    pub icmp_err_sent: Counter,
    /// ICMP errors not sent because the worker's token bucket was empty.
    pub icmp_err_suppressed: Counter,
    /// Fragments sent for packets without DF larger than the egress MTU.
    pub frags_out: Counter,
    /// Exception path: packets passed up to the kernel interface, and
    /// packets the kernel sent out through the port.
    pub kernel_up: Counter,
    pub kernel_down: Counter,
    pub conns_created: Counter,
    pub conns_expired: Counter,
    pub conns: Counter,
    pub polls: Counter,
    pub idle_polls: Counter,
    /// TSC cycles spent processing packets (not idle polling).
    pub busy_cycles: Counter,
    /// Control generation this worker runs.
    pub generation: Counter,
    /// Connection sync (see `crate::sync::path`): events handed to the
    /// daemon, lost to a full ring, received entries installed or
    /// refreshed, refused, and synced entries promoted by traffic.
    pub sync_queued: Counter,
    pub sync_lost: Counter,
    pub sync_installed: Counter,
    pub sync_refused: Counter,
    pub sync_promoted: Counter,
    drops: [Counter; DropReason::COUNT],
}

impl Default for WorkerStats {
    fn default() -> Self {
        WorkerStats {
            rx_pkts: Counter::default(),
            rx_bytes: Counter::default(),
            tx_pkts: Counter::default(),
            tx_bytes: Counter::default(),
            redirect_out: Counter::default(),
            redirect_in: Counter::default(),
            arp_replies: Counter::default(),
            arp_requests: Counter::default(),
            arp_learned: Counter::default(),
            icmp_echo: Counter::default(),
            icmp_err_sent: Counter::default(),
            icmp_err_suppressed: Counter::default(),
            frags_out: Counter::default(),
            kernel_up: Counter::default(),
            kernel_down: Counter::default(),
            conns_created: Counter::default(),
            conns_expired: Counter::default(),
            conns: Counter::default(),
            polls: Counter::default(),
            idle_polls: Counter::default(),
            busy_cycles: Counter::default(),
            generation: Counter::default(),
            sync_queued: Counter::default(),
            sync_lost: Counter::default(),
            sync_installed: Counter::default(),
            sync_refused: Counter::default(),
            sync_promoted: Counter::default(),
            drops: std::array::from_fn(|_| Counter::default()),
        }
    }
}

impl WorkerStats {
    #[inline(always)]
    pub fn count_drop(&self, r: DropReason) {
        self.drops[r as usize].inc();
    }
    pub fn drops(&self, r: DropReason) -> u64 {
        self.drops[r as usize].get()
    }
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().map(Counter::get).sum()
    }
    /// (name, value) of every non-zero drop counter.
    pub fn drop_list(&self) -> Vec<(&'static str, u64)> {
        DropReason::ALL.iter().map(|r| (r.name(), self.drops(*r))).filter(|(_, v)| *v > 0).collect()
    }
}
