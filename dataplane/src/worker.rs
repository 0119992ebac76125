//! The DPDK poll loop of one worker lcore.
//!
//! Each iteration: drain the redirect rings (packets whose flow this worker
//! owns, handed over by others, with their metadata), on worker 0 also the
//! queue of packets waiting for ARP, then `rx_burst` each port's queue and
//! hand each burst to the pipeline, flush the tx batches and the redirect
//! buffers, run timers once per tick, and back off when idle so an idle
//! director does not burn its cores.
//!
//! A worker owns its queues ([`WorkerQueues`]: the rx and tx queue token of
//! each port, and its ends of the redirect rings): the types let no other
//! thread poll them. A port whose link is down (see [`PortLink`]) is
//! neither polled nor sent to; what would go out on it is dropped and
//! counted as `link_down`.

use crate::engine::{Ctx, Engine, Io};
use crate::l3::neigh::Neighbours;
use crate::packet::PacketBuf;
use crate::redirect::{Inbox, Outbox, Redirected};
use crate::snapshot::Snapshot;
use crate::stats::WorkerStats;
use arc_swap::ArcSwap;
use crossbeam_queue::ArrayQueue;
use rvs_ffi::{Burst, Mbuf, Mempool, RxQueue, TxBatch, TxQueue};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

impl PacketBuf for Mbuf {
    #[inline(always)]
    fn data(&self) -> &[u8] {
        Mbuf::data(self)
    }
    #[inline(always)]
    fn data_mut(&mut self) -> &mut [u8] {
        Mbuf::data_mut(self)
    }
    #[inline(always)]
    fn prepend(&mut self, n: usize) -> bool {
        Mbuf::prepend(self, n)
    }
    #[inline(always)]
    fn adj(&mut self, n: usize) -> bool {
        Mbuf::adj(self, n)
    }
    #[inline(always)]
    fn set_len(&mut self, n: usize) -> bool {
        Mbuf::set_len(self, n)
    }
    #[inline(always)]
    fn rx_ip_csum(&self) -> Option<bool> {
        Mbuf::rx_ip_csum(self)
    }
}

/// A packet waiting for ARP/ND, handed to worker 0: (port index, next hop).
pub type NeighItem = (Mbuf, u16, std::net::IpAddr);

/// What the workers share with each other and with Control.
pub struct Shared {
    pub snap: ArcSwap<Snapshot>,
    pub neigh: ArcSwap<Neighbours>,
    /// Packets for worker 0 to resolve.
    pub neigh_q: ArrayQueue<NeighItem>,
    pub stats: Vec<Arc<WorkerStats>>,
    pub pool: Mempool,
    pub stop: AtomicBool,
    /// TSC at startup: the common time origin of all workers.
    pub epoch_tsc: u64,
    /// DPDK port ids, by interface index.
    pub port_ids: Vec<u16>,
    /// Control's requests for worker-owned state (`rvsadm -c`), looked at
    /// once per loop iteration and answered a bounded piece at a time.
    pub dump: crate::dump::DumpHook,
    /// Link state by interface index (kept by the daemon's link watch).
    pub links: Vec<PortLink>,
}

/// One port's link as the workers see it. One thread (the daemon's main
/// thread, which owns the ports) reads the device's link and writes
/// here; workers only load `up`, once per poll.
#[derive(Debug)]
pub struct PortLink {
    /// Poll and send only while true.
    pub up: AtomicBool,
    /// Up→down and down→up transitions seen.
    pub changes: AtomicU64,
}

impl Default for PortLink {
    fn default() -> Self {
        PortLink { up: AtomicBool::new(true), changes: AtomicU64::new(0) }
    }
}

impl PortLink {
    #[inline(always)]
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Record the link's state; true when it changed.
    pub fn set(&self, up: bool) -> bool {
        let changed = self.up.swap(up, Ordering::Relaxed) != up;
        if changed {
            self.changes.fetch_add(1, Ordering::Relaxed);
        }
        changed
    }
}

/// What one worker alone may touch: the rx and tx queue of each port
/// (by interface index), its rings to every other worker (`outbox`) and
/// from every other worker (`inbox`; see [`crate::redirect`]).
pub struct WorkerQueues {
    pub rx: Vec<RxQueue>,
    pub tx: Vec<TxQueue>,
    /// By interface index: this worker's queue pair on the interface's
    /// kernel port (the exception path), if it has one.
    pub kernel: Vec<Option<(RxQueue, TxQueue)>>,
    pub outbox: Outbox<Mbuf>,
    pub inbox: Inbox<Mbuf>,
    /// Its rings to and from the sync daemon.
    pub sync: crate::sync::path::SyncPort,
}

/// Idle back-off and burst settings.
#[derive(Debug, Clone, Copy)]
pub struct LoopConf {
    pub burst: usize,
    pub busy_poll: bool,
    pub idle_polls: u32,
    pub max_sleep_us: u32,
}

struct WorkerIo<'a> {
    id: usize,
    shared: &'a Shared,
    /// Tx batches by interface index.
    tx: Vec<TxBatch>,
    /// This worker's tx queue on each port, by interface index.
    txq: &'a mut [TxQueue],
    outbox: &'a mut Outbox<Mbuf>,
    /// Tx batches and queues towards the kernel ports, by interface index.
    ktx: Vec<TxBatch>,
    kq: &'a mut [Option<(RxQueue, TxQueue)>],
    /// Interface index by DPDK port id.
    idx_of: [u16; 64],
}

impl WorkerIo<'_> {
    /// Send (or, on a port whose link is down, drop) what batch `i` holds.
    #[inline]
    fn flush_one(&mut self, i: usize) {
        let st = &self.shared.stats[self.id];
        if !self.shared.links[i].is_up() {
            for _ in 0..self.tx[i].discard() {
                st.count_drop(crate::drop::DropReason::LinkDown);
            }
            return;
        }
        let (sent, dropped) = self.tx[i].flush(&mut self.txq[i]);
        st.tx_pkts.add(sent as u64);
        for _ in 0..dropped {
            st.count_drop(crate::drop::DropReason::TxFull);
        }
    }

    fn flush(&mut self) {
        let st = &self.shared.stats[self.id];
        self.outbox.flush(&mut |r| {
            st.count_drop(crate::drop::DropReason::RedirectFull);
            drop(r);
        });
        for i in 0..self.tx.len() {
            if !self.tx[i].is_empty() {
                self.flush_one(i);
            }
        }
        for i in 0..self.ktx.len() {
            if !self.ktx[i].is_empty() {
                self.flush_kernel(i);
            }
        }
    }

    /// Send what the kernel batch of interface `i` holds up to its kernel
    /// port; what the queue does not take is `kernel_full`.
    fn flush_kernel(&mut self, i: usize) {
        let st = &self.shared.stats[self.id];
        let Some((_, q)) = self.kq[i].as_mut() else {
            for _ in 0..self.ktx[i].discard() {
                st.count_drop(crate::drop::DropReason::KernelFull);
            }
            return;
        };
        let (_, dropped) = self.ktx[i].flush(q);
        for _ in 0..dropped {
            st.count_drop(crate::drop::DropReason::KernelFull);
        }
    }
}

impl Io<Mbuf> for WorkerIo<'_> {
    fn alloc(&mut self) -> Option<Mbuf> {
        self.shared.pool.alloc()
    }
    #[inline]
    fn tx(&mut self, port_id: u16, pkt: Mbuf) {
        let i = self.idx_of[port_id as usize & 63] as usize;
        self.shared.stats[self.id].tx_bytes.add(pkt.len() as u64);
        if self.tx[i].is_full() {
            self.flush_one(i);
        }
        self.tx[i].push(pkt);
    }
    /// Buffered; a ring that is full at the flush drops what it cannot
    /// take as `redirect_full`.
    #[inline]
    fn redirect(&mut self, worker: usize, r: Redirected<Mbuf>) -> Result<(), Redirected<Mbuf>> {
        let st = &self.shared.stats[self.id];
        self.outbox.push(worker, r, &mut |r| {
            st.count_drop(crate::drop::DropReason::RedirectFull);
            drop(r);
        });
        Ok(())
    }
    fn to_neigh_owner(&mut self, port_idx: u16, nexthop: std::net::IpAddr, pkt: Mbuf) -> Result<(), Mbuf> {
        self.shared.neigh_q.push((pkt, port_idx, nexthop)).map_err(|(m, _, _)| m)
    }
    #[inline]
    fn to_kernel(&mut self, port_idx: u16, pkt: Mbuf) -> Result<(), Mbuf> {
        let i = port_idx as usize;
        if self.kq.get(i).is_none_or(Option::is_none) {
            return Err(pkt);
        }
        if self.ktx[i].is_full() {
            self.flush_kernel(i);
        }
        self.ktx[i].push(pkt);
        Ok(())
    }
}

/// What the kernel sent on its interfaces: each packet leaves, as it is,
/// through the DPDK port of the same link. Returns how many.
fn from_kernel(io: &mut WorkerIo<'_>, burst: &mut Burst, max: usize) -> usize {
    let mut n = 0;
    for i in 0..io.kq.len() {
        let Some((rx, _)) = io.kq[i].as_mut() else { continue };
        let got = burst.rx(rx, max);
        if got == 0 {
            continue;
        }
        n += got;
        let port_id = io.shared.port_ids[i];
        for mut m in burst.by_ref() {
            let st = &io.shared.stats[io.id];
            if m.nb_segs() > 1 && !m.linearize() {
                st.count_drop(crate::drop::DropReason::MultiSeg);
                continue;
            }
            st.kernel_down.inc();
            io.tx(port_id, m);
        }
    }
    n
}

/// Run worker `id` on its queues until `shared.stop` is set. Returns 0.
/// The queues come back to the caller, which drains the ring once every
/// worker has stopped (others may redirect to it until then).
pub fn run(
    id: usize,
    shared: Arc<Shared>,
    conf: LoopConf,
    svc: crate::service_path::ServicePath,
    q: &mut WorkerQueues,
) -> i32 {
    let stats = shared.stats[id].clone();
    let mut engine: Engine<Mbuf> = Engine::new(id, stats.clone(), svc);
    let mut idx_of = [0u16; 64];
    for (i, p) in shared.port_ids.iter().enumerate() {
        idx_of[*p as usize & 63] = i as u16;
    }
    let WorkerQueues { rx: rxq, tx: txq, kernel, outbox, inbox, sync } = q;
    engine.sync = std::mem::take(sync);
    let mut io = WorkerIo {
        id,
        shared: &shared,
        tx: shared.port_ids.iter().map(|_| TxBatch::default()).collect(),
        txq: &mut txq[..],
        outbox,
        ktx: kernel.iter().map(|_| TxBatch::default()).collect(),
        kq: &mut kernel[..],
        idx_of,
    };
    let has_kernel = io.kq.iter().any(Option::is_some);
    let mut iteration = 0u32;
    let mut handed: Vec<Redirected<Mbuf>> = Vec::with_capacity(conf.burst.max(1));
    let hz = rvs_ffi::tsc_hz().max(1);
    let mut last_tick = 0u64;
    let mut last_sec = 0u64;
    let mut idle = 0u32;
    let mut dump = crate::dump::DumpCursor::default();
    let mut burst = Burst::default();

    while !shared.stop.load(Ordering::Relaxed) {
        let t0 = rvs_ffi::rdtsc();
        // Ticks of conn::HZ since the shared epoch (all workers agree).
        let now = (t0.saturating_sub(shared.epoch_tsc) as u128 * crate::conn::HZ as u128 / hz as u128) as u64;
        let snap = shared.snap.load();
        let neigh = shared.neigh.load();
        stats.generation.set(snap.generation);
        let mut work = 0usize;

        for from in 0..inbox.sources() {
            let n = inbox.pull(from, conf.burst, |r| handed.push(r));
            if n > 0 {
                stats.redirect_in.add(n as u64);
                work += n;
                let mut cx = Ctx { snap: &snap, neigh: &neigh, io: &mut io, now };
                engine.handle_redirected(&mut cx, handed.drain(..));
            }
        }
        if id == 0 {
            for _ in 0..conf.burst {
                let Some((m, port_idx, nh)) = shared.neigh_q.pop() else { break };
                work += 1;
                engine.resolve_later(&snap, &mut io, m, (port_idx, nh), now);
            }
        }
        if engine.sync.inbox.is_some() {
            work += crate::sync::path::drain(&mut engine, &snap, now);
        }
        for (pi, (rx, link)) in rxq.iter_mut().zip(&shared.links).enumerate() {
            if !link.is_up() {
                continue;
            }
            let n = burst.rx(rx, conf.burst);
            if n == 0 {
                continue;
            }
            work += n;
            stats.rx_pkts.add(n as u64);
            let mut bytes = 0u64;
            let pkts = std::iter::from_fn(|| loop {
                let mut m = burst.next()?;
                burst.prefetch(1);
                bytes += m.pkt_len() as u64;
                if m.nb_segs() > 1 && !m.linearize() {
                    stats.count_drop(crate::drop::DropReason::MultiSeg);
                    continue;
                }
                return Some((m, pi as u16));
            });
            let mut cx = Ctx { snap: &snap, neigh: &neigh, io: &mut io, now };
            engine.handle_burst(&mut cx, pkts);
            stats.rx_bytes.add(bytes);
        }
        // The kernel's traffic is light: polled when idle, else every
        // 8th iteration (on net_tap each poll of an empty queue is a read).
        iteration = iteration.wrapping_add(1);
        if has_kernel && (work == 0 || iteration.is_multiple_of(8)) {
            work += from_kernel(&mut io, &mut burst, conf.burst);
        }
        io.flush();
        // `rvsadm -c`: a bounded piece of the table per iteration, if asked.
        work += dump.step(&shared.dump, id, (&engine.svc.conns, &engine.svc.conns6), now);

        if now != last_tick {
            last_tick = now;
            engine.service_tick(&snap, &neigh, &mut io, now);
            if now / crate::conn::HZ != last_sec {
                last_sec = now / crate::conn::HZ;
                engine.tick(&snap, &mut io, now);
            }
            if let Some(n) = engine.publish_neigh(&neigh) {
                shared.neigh.store(Arc::new(n));
            }
            io.flush();
        }

        stats.polls.inc();
        if work > 0 {
            stats.busy_cycles.add(rvs_ffi::rdtsc() - t0);
            idle = 0;
        } else {
            stats.idle_polls.inc();
            idle = idle.saturating_add(1);
            if !conf.busy_poll && idle > conf.idle_polls {
                // Back off: pause first, then sleep longer the longer we idle.
                let over = idle - conf.idle_polls;
                if over < 64 {
                    rvs_ffi::pause();
                } else {
                    let us = ((over - 64) as u64).min(conf.max_sleep_us as u64).max(1);
                    std::thread::sleep(std::time::Duration::from_micros(us));
                }
            }
        }
    }
    // Shutdown: release every packet we still hold, each counted.
    engine.shutdown();
    while let Some((m, _, _)) = shared.neigh_q.pop() {
        engine.drop_at_shutdown(m);
    }
    io.flush();
    drop(burst);
    0
}
