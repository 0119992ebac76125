//! Hand-offs between workers: one single-producer/single-consumer ring
//! per ordered (worker, worker) pair, carrying the packet with the
//! metadata the sender's ingress computed, so the owner does not parse it
//! again.
//!
//! A worker buffers what it redirects per destination during a burst and
//! publishes each buffer with one ring write ([`Outbox::flush`]): one
//! release store per destination and burst instead of a compare-and-swap
//! per packet on a shared multi-producer ring. The owner reads a whole
//! chunk at once ([`Inbox::pull`]). Rings are `rtrb` (lock-free SPSC); a
//! full ring drops what does not fit, counted by the caller.

use crate::pipeline::AnyMeta;

/// A packet handed to its owner: the interface it arrived on, and its
/// [`AnyMeta`] when it had passed the service-path classification (ARP and
/// ICMP hand-offs carry none and are parsed again).
pub struct Redirected<P> {
    pub pkt: P,
    pub port_idx: u16,
    pub meta: Option<AnyMeta>,
}

/// Packets buffered per destination worker before a flush.
const BATCH: usize = 32;

/// The producer side of one worker: a ring to every other worker.
pub struct Outbox<P> {
    rings: Vec<Option<rtrb::Producer<Redirected<P>>>>,
    pending: Vec<Vec<Redirected<P>>>,
}

/// The consumer side of one worker: a ring from every other worker.
pub struct Inbox<P> {
    rings: Vec<Option<rtrb::Consumer<Redirected<P>>>>,
}

/// The rings of `workers` workers, `capacity` packets each: worker `w`
/// gets element `w` (its outbox to all others, its inbox from all others).
pub fn mesh<P>(workers: usize, capacity: usize) -> Vec<(Outbox<P>, Inbox<P>)> {
    let mut out: Vec<Outbox<P>> = (0..workers)
        .map(|_| Outbox {
            rings: (0..workers).map(|_| None).collect(),
            pending: (0..workers).map(|_| Vec::with_capacity(BATCH)).collect(),
        })
        .collect();
    let mut inb: Vec<Inbox<P>> = (0..workers).map(|_| Inbox { rings: (0..workers).map(|_| None).collect() }).collect();
    for (from, o) in out.iter_mut().enumerate() {
        for (to, i) in inb.iter_mut().enumerate() {
            if from != to {
                let (p, c) = rtrb::RingBuffer::new(capacity);
                o.rings[to] = Some(p);
                i.rings[from] = Some(c);
            }
        }
    }
    out.into_iter().zip(inb).collect()
}

impl<P> Outbox<P> {
    /// Buffer `r` for worker `to`. A full buffer is flushed first; what its
    /// ring could not take comes back (to be counted and freed).
    #[inline]
    pub fn push(&mut self, to: usize, r: Redirected<P>, lost: &mut impl FnMut(Redirected<P>)) {
        if self.pending[to].len() >= BATCH {
            self.flush_one(to, lost);
        }
        self.pending[to].push(r);
    }

    /// Publish every buffer; `lost` gets what a full ring refused.
    pub fn flush(&mut self, lost: &mut impl FnMut(Redirected<P>)) -> usize {
        let mut sent = 0;
        for to in 0..self.pending.len() {
            if !self.pending[to].is_empty() {
                sent += self.flush_one(to, lost);
            }
        }
        sent
    }

    fn flush_one(&mut self, to: usize, lost: &mut impl FnMut(Redirected<P>)) -> usize {
        let pending = &mut self.pending[to];
        let Some(ring) = self.rings[to].as_mut() else {
            // No ring to oneself or beyond the mesh: a caller bug, but no
            // packet may leak.
            pending.drain(..).for_each(&mut *lost);
            return 0;
        };
        let n = ring.slots().min(pending.len());
        if n > 0 {
            if let Ok(chunk) = ring.write_chunk_uninit(n) {
                chunk.fill_from_iter(pending.drain(..n));
            }
        }
        pending.drain(..).for_each(&mut *lost);
        n
    }
}

impl<P> Inbox<P> {
    /// Up to `max` packets from the ring of worker `from`, with one read.
    pub fn pull(&mut self, from: usize, max: usize, mut each: impl FnMut(Redirected<P>)) -> usize {
        let Some(ring) = self.rings.get_mut(from).and_then(Option::as_mut) else { return 0 };
        let n = ring.slots().min(max);
        if n == 0 {
            return 0;
        }
        match ring.read_chunk(n) {
            Ok(chunk) => {
                for r in chunk {
                    each(r);
                }
                n
            }
            Err(_) => 0,
        }
    }

    /// Workers this inbox has rings from (its own index has none).
    pub fn sources(&self) -> usize {
        self.rings.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(v: u32) -> Redirected<u32> {
        Redirected { pkt: v, port_idx: 0, meta: None }
    }

    #[test]
    fn every_pair_has_its_own_ring_in_order() {
        let mut m = mesh::<u32>(3, 8);
        let mut lost = Vec::new();
        for (from, (outbox, _)) in m.iter_mut().enumerate() {
            for to in (0..3).filter(|to| *to != from) {
                for k in 0..3 {
                    outbox.push(to, r((from * 10 + to) as u32 * 100 + k), &mut |x| lost.push(x.pkt));
                }
            }
            outbox.flush(&mut |x| lost.push(x.pkt));
        }
        assert!(lost.is_empty());
        for (to, (_, inbox)) in m.iter_mut().enumerate() {
            for from in 0..3 {
                let mut got = Vec::new();
                inbox.pull(from, 32, |x| got.push(x.pkt));
                let want: Vec<u32> =
                    if from == to { vec![] } else { (0..3).map(|k| (from * 10 + to) as u32 * 100 + k).collect() };
                assert_eq!(got, want, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn a_full_ring_gives_back_what_it_cannot_take() {
        let mut m = mesh::<u32>(2, 4);
        let mut lost = Vec::new();
        for k in 0..40 {
            m[0].0.push(1, r(k), &mut |x| lost.push(x.pkt));
        }
        m[0].0.flush(&mut |x| lost.push(x.pkt));
        // The ring holds 4; everything else came back, none twice.
        let mut got = Vec::new();
        m[1].1.pull(0, 100, |x| got.push(x.pkt));
        assert_eq!(got, vec![0, 1, 2, 3]);
        assert_eq!(lost.len(), 36);
        let mut all: Vec<u32> = got.into_iter().chain(lost).collect();
        all.sort();
        assert_eq!(all, (0..40).collect::<Vec<_>>());
    }
}
