//! Owned mbufs and fixed-size bursts of them.

use crate::sys;
use std::ptr::NonNull;

/// Largest burst rvs moves at once.
pub const MAX_BURST: usize = 64;

/// An owned packet buffer; freed back to its pool on drop.
///
/// The byte slices are the first segment's data (`data_len` bytes), which
/// is all of a single-segment packet: rvs sizes its pools' data room for
/// the largest frame of the configured MTU, and a multi-segment frame is
/// linearized on receive (or dropped when that fails). On a chain the
/// slices stay sound, they just do not cover the later segments.
#[repr(transparent)]
pub struct Mbuf(NonNull<sys::rte_mbuf>);

// SAFETY: an mbuf is owned by exactly one Mbuf value at a time; moving it to
// another lcore (through a Ring) is how DPDK applications hand packets over.
unsafe impl Send for Mbuf {}

impl std::fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mbuf(len {}, pkt_len {}, segs {})", self.len(), self.pkt_len(), self.nb_segs())
    }
}

impl Mbuf {
    /// Take ownership of a raw mbuf.
    ///
    /// # Safety
    /// `m` must be null or an mbuf that nobody else will free or use.
    #[inline(always)]
    pub unsafe fn from_raw(m: *mut sys::rte_mbuf) -> Option<Mbuf> {
        NonNull::new(m).map(Mbuf)
    }

    /// Give up ownership (the caller must free or transmit it).
    #[inline(always)]
    pub fn into_raw(self) -> *mut sys::rte_mbuf {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }

    #[inline(always)]
    fn m(&self) -> &sys::rte_mbuf {
        // SAFETY: we own a valid mbuf.
        unsafe { self.0.as_ref() }
    }

    /// Bytes in the first (only) segment.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.m().data_len as usize
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whole-packet length across segments.
    #[inline(always)]
    pub fn pkt_len(&self) -> usize {
        self.m().pkt_len as usize
    }

    #[inline(always)]
    pub fn nb_segs(&self) -> u16 {
        self.m().nb_segs
    }

    /// Port the packet arrived on.
    #[inline(always)]
    pub fn port(&self) -> u16 {
        self.m().port
    }

    /// Make the packet one contiguous segment. False if impossible.
    pub fn linearize(&mut self) -> bool {
        // SAFETY: we own the mbuf chain.
        unsafe { sys::rvs_pktmbuf_linearize(self.0.as_ptr()) == 0 }
    }

    #[inline(always)]
    pub fn data(&self) -> &[u8] {
        let m = self.m();
        // SAFETY: buf_addr + data_off .. + data_len is the segment's data,
        // valid while we own the mbuf.
        unsafe { std::slice::from_raw_parts((m.buf_addr as *const u8).add(m.data_off as usize), m.data_len as usize) }
    }

    #[inline(always)]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let m = self.m();
        let (base, off, len) = (m.buf_addr as *mut u8, m.data_off as usize, m.data_len as usize);
        // SAFETY: as in data(); &mut self guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(base.add(off), len) }
    }

    /// Grow at the front by `n` bytes (for encapsulation). False if there
    /// is not enough headroom.
    #[inline]
    pub fn prepend(&mut self, n: usize) -> bool {
        // A length DPDK's u16 cannot carry is refused, never truncated.
        let Ok(n) = u16::try_from(n) else { return false };
        // SAFETY: we own the mbuf; DPDK checks the headroom.
        !unsafe { sys::rvs_pktmbuf_prepend(self.0.as_ptr(), n) }.is_null()
    }

    /// Remove `n` bytes at the front.
    #[inline]
    pub fn adj(&mut self, n: usize) -> bool {
        let Ok(n) = u16::try_from(n) else { return false };
        // SAFETY: we own the mbuf; DPDK checks the length.
        !unsafe { sys::rvs_pktmbuf_adj(self.0.as_ptr(), n) }.is_null()
    }

    /// Grow at the end by `n` bytes (uninitialised content, zeroed here).
    #[inline]
    pub fn append(&mut self, n: usize) -> bool {
        // Refused, not truncated: the zeroing below writes n bytes, which
        // must be what DPDK reserved.
        let Ok(n16) = u16::try_from(n) else { return false };
        // SAFETY: we own the mbuf; DPDK checks the tailroom.
        let p = unsafe { sys::rvs_pktmbuf_append(self.0.as_ptr(), n16) };
        if p.is_null() {
            return false;
        }
        // SAFETY: p points at n fresh bytes inside the last segment.
        unsafe { std::ptr::write_bytes(p as *mut u8, 0, n) };
        true
    }

    /// Remove `n` bytes at the end.
    #[inline]
    pub fn trim(&mut self, n: usize) -> bool {
        let Ok(n) = u16::try_from(n) else { return false };
        if self.nb_segs() == 1 {
            // One segment (every packet rvs forwards): two lengths to
            // lower, done here rather than through the C shim per packet.
            // SAFETY: we own the mbuf and `&mut self` makes the access
            // exclusive; only its length fields change.
            let m = unsafe { self.0.as_mut() };
            if n > m.data_len {
                return false;
            }
            m.data_len -= n;
            m.pkt_len -= u32::from(n);
            return true;
        }
        // SAFETY: we own the mbuf chain; DPDK checks the length.
        unsafe { sys::rvs_pktmbuf_trim(self.0.as_ptr(), n) == 0 }
    }

    /// The NIC's verdict on the IPv4 header checksum (rx offload flags):
    /// `Some(true)` good, `Some(false)` bad, `None` not checked.
    #[inline(always)]
    pub fn rx_ip_csum(&self) -> Option<bool> {
        match self.m().ol_flags & u64::from(sys::RTE_MBUF_F_RX_IP_CKSUM_MASK) {
            f if f == u64::from(sys::RTE_MBUF_F_RX_IP_CKSUM_GOOD) => Some(true),
            f if f == u64::from(sys::RTE_MBUF_F_RX_IP_CKSUM_BAD) => Some(false),
            _ => None,
        }
    }

    /// Set the length to exactly `n` bytes (grow or shrink at the end).
    /// Single-segment packets only (false on a chain, whose end is not
    /// where `len()` says).
    pub fn set_len(&mut self, n: usize) -> bool {
        if self.nb_segs() != 1 {
            return false;
        }
        let cur = self.len();
        if n >= cur {
            self.append(n - cur)
        } else {
            self.trim(cur - n)
        }
    }

    pub fn headroom(&self) -> usize {
        // SAFETY: we own a valid mbuf.
        unsafe { sys::rvs_pktmbuf_headroom(self.0.as_ptr()) as usize }
    }

    pub fn tailroom(&self) -> usize {
        // SAFETY: we own a valid mbuf.
        unsafe { sys::rvs_pktmbuf_tailroom(self.0.as_ptr()) as usize }
    }

    /// Hint the CPU to fetch the packet's first cache line.
    #[inline(always)]
    pub fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            let p = self.data().as_ptr();
            // SAFETY: prefetch is a hint; any address is allowed.
            unsafe { std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0) };
        }
    }
}

impl Drop for Mbuf {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own the mbuf and nobody else holds it.
        unsafe { sys::rvs_pktmbuf_free(self.0.as_ptr()) }
    }
}

/// A received burst: owned mbufs taken out one by one.
pub struct Burst {
    pkts: [*mut sys::rte_mbuf; MAX_BURST],
    len: usize,
    next: usize,
}

impl Default for Burst {
    fn default() -> Self {
        Burst { pkts: [std::ptr::null_mut(); MAX_BURST], len: 0, next: 0 }
    }
}

impl Burst {
    /// Free what the previous burst left untaken (so refilling never
    /// leaks it).
    #[inline(always)]
    fn release_rest(&mut self) {
        if self.next < self.len {
            for m in self.by_ref() {
                drop(m);
            }
        }
    }

    /// Receive up to `max` packets from the queue, replacing the burst.
    #[inline]
    pub fn rx(&mut self, queue: &mut crate::RxQueue, max: usize) -> usize {
        self.release_rest();
        let max = max.min(MAX_BURST) as u16;
        // SAFETY: pkts has room for MAX_BURST pointers; the PMD writes up
        // to `max` owned mbufs and returns the count.
        self.len = unsafe { crate::port::rx_burst(queue, self.pkts.as_mut_ptr(), max) } as usize;
        self.next = 0;
        self.len
    }

    /// Dequeue up to `max` mbufs from a ring into this burst.
    #[inline]
    pub fn from_ring(&mut self, ring: &mut crate::RingConsumer<Mbuf>, max: usize) -> usize {
        self.release_rest();
        let max = max.min(MAX_BURST);
        // SAFETY: the ring only ever holds owned mbufs (Ring<Mbuf>); pkts
        // has room for `max` pointers.
        self.len = unsafe { ring.dequeue_raw(self.pkts.as_mut_ptr() as *mut *mut libc::c_void, max) };
        self.next = 0;
        self.len
    }

    pub fn len(&self) -> usize {
        self.len - self.next
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Prefetch the data of the packet `ahead` positions from the next one.
    #[inline(always)]
    pub fn prefetch(&self, ahead: usize) {
        let i = self.next + ahead;
        if i < self.len {
            // SAFETY: pkts[i] is an owned, valid mbuf not yet taken.
            let m = unsafe { &*self.pkts[i] };
            #[cfg(target_arch = "x86_64")]
            // SAFETY: prefetch is a hint; any address is allowed.
            unsafe {
                let p = (m.buf_addr as *const u8).add(m.data_off as usize);
                std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0);
            }
        }
    }
}

impl Iterator for Burst {
    type Item = Mbuf;
    #[inline(always)]
    fn next(&mut self) -> Option<Mbuf> {
        if self.next >= self.len {
            return None;
        }
        let p = self.pkts[self.next];
        self.next += 1;
        // SAFETY: each received pointer is handed out exactly once.
        unsafe { Mbuf::from_raw(p) }
    }
}

impl Drop for Burst {
    fn drop(&mut self) {
        for m in self.by_ref() {
            drop(m);
        }
    }
}

/// Packets queued for one (port, queue); sent with one tx_burst.
pub struct TxBatch {
    pkts: [*mut sys::rte_mbuf; MAX_BURST],
    len: usize,
}

impl Default for TxBatch {
    fn default() -> Self {
        TxBatch { pkts: [std::ptr::null_mut(); MAX_BURST], len: 0 }
    }
}

impl TxBatch {
    #[inline(always)]
    pub fn is_full(&self) -> bool {
        self.len == MAX_BURST
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queue a packet. The caller flushes when `is_full()`.
    #[inline(always)]
    pub fn push(&mut self, m: Mbuf) {
        assert!(self.len < MAX_BURST, "TxBatch full: flush first");
        self.pkts[self.len] = m.into_raw();
        self.len += 1;
    }

    /// Free everything queued without sending it; returns how many.
    #[inline]
    pub fn discard(&mut self) -> usize {
        let n = self.len;
        if n > 0 {
            // SAFETY: the queued mbufs are owned by the batch.
            unsafe { sys::rvs_pktmbuf_free_bulk(self.pkts.as_mut_ptr(), n as u32) };
            self.len = 0;
        }
        n
    }

    /// Transmit everything queued; returns (sent, dropped). Packets the
    /// NIC did not take are freed (the caller counts them as tx drops).
    #[inline]
    pub fn flush(&mut self, queue: &mut crate::TxQueue) -> (usize, usize) {
        if self.len == 0 {
            return (0, 0);
        }
        let mut sent = 0usize;
        // Retry a few times: a full tx ring usually drains within a moment.
        for _ in 0..4 {
            // SAFETY: pkts[sent..len] are owned mbufs; the PMD takes
            // ownership of the ones it reports as sent.
            sent += unsafe { crate::port::tx_burst(queue, self.pkts.as_mut_ptr().add(sent), (self.len - sent) as u16) }
                as usize;
            if sent == self.len {
                break;
            }
        }
        let dropped = self.len - sent;
        if dropped > 0 {
            // SAFETY: the unsent mbufs are still ours.
            unsafe { sys::rvs_pktmbuf_free_bulk(self.pkts.as_mut_ptr().add(sent), dropped as u32) };
        }
        self.len = 0;
        (sent, dropped)
    }
}

impl Drop for TxBatch {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: unsent mbufs are owned by the batch.
            unsafe { sys::rvs_pktmbuf_free_bulk(self.pkts.as_mut_ptr(), self.len as u32) };
        }
    }
}
