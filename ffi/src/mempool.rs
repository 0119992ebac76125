//! Packet mbuf pools.
//!
//! # Lifetime
//! An [`Mbuf`](crate::Mbuf) does not know the Rust value of its pool (it
//! only has DPDK's `pool` pointer), and counting a reference per packet
//! would cost an atomic on every rx and free. So a pool is freed only when
//! it can prove no mbuf of it is alive: when the last handle goes, every
//! mbuf must be back (`avail() == size()`). Every live `Mbuf` owns one
//! mbuf that is not in the pool, so that equality rules them all out, and
//! nothing can take one out afterwards: no handle is left, and the ports
//! whose rx queues refill from the pool hold a handle until they close.
//! When mbufs are still out (a leak, or a packet held past shutdown) the
//! pool — and the EAL with it, since `rte_eal_cleanup` would unmap the
//! memory under them — is leaked with a warning instead: a leak at exit
//! is harmless, a free under a live mbuf is a use after free.

use crate::eal::{eal_ref, EalRef};
use crate::sys;
use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::Arc;

/// The default data room (2048 bytes of frame after the headroom).
pub const DEFAULT_DATA_ROOM: u16 = sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16;
/// Headroom DPDK reserves at the front of each mbuf's data room.
pub const HEADROOM: u16 = sys::RTE_PKTMBUF_HEADROOM as u16;

struct PoolInner {
    ptr: NonNull<sys::rte_mempool>,
    name: String,
    size: u32,
    data_room: u16,
    eal: EalRef,
}

// SAFETY: rte_mempool is designed for concurrent use from many lcores
// (per-lcore caches + lockless ring); the rest is plain data.
unsafe impl Send for PoolInner {}
// SAFETY: as above.
unsafe impl Sync for PoolInner {}

/// A pktmbuf pool: a cheap, shareable handle (clones share one pool).
#[derive(Clone)]
pub struct Mempool {
    inner: Arc<PoolInner>,
}

impl Mempool {
    /// Create a pool of `n` mbufs with the default data room.
    pub fn new(name: &str, n: u32, cache: u32) -> Result<Mempool, String> {
        Self::with_data_room(name, n, cache, DEFAULT_DATA_ROOM)
    }

    /// Create a pool of `n` mbufs whose data room (headroom included) is
    /// `data_room` bytes: a frame of up to `data_room - HEADROOM` bytes
    /// fits one segment.
    pub fn with_data_room(name: &str, n: u32, cache: u32, data_room: u16) -> Result<Mempool, String> {
        let eal = eal_ref()?;
        if data_room <= HEADROOM {
            return Err(format!("mempool {name}: data room {data_room} leaves no room after the headroom"));
        }
        let cname = CString::new(name).map_err(|e| e.to_string())?;
        // SAFETY: the EAL is initialised (eal_ref); valid C string; the
        // other arguments are plain values DPDK validates.
        let p = unsafe {
            sys::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, data_room, sys::rte_socket_id() as i32)
        };
        NonNull::new(p)
            .map(|ptr| Mempool { inner: Arc::new(PoolInner { ptr, name: name.to_string(), size: n, data_room, eal }) })
            .ok_or_else(|| format!("cannot create mempool {name}: {}", crate::last_error()))
    }

    pub(crate) fn raw(&self) -> *mut sys::rte_mempool {
        self.inner.ptr.as_ptr()
    }

    /// Number of mbufs the pool was created with.
    pub fn size(&self) -> u32 {
        self.inner.size
    }

    /// Data room per mbuf, headroom included.
    pub fn data_room(&self) -> u16 {
        self.inner.data_room
    }

    /// Largest frame one mbuf holds.
    pub fn max_frame(&self) -> usize {
        (self.inner.data_room - HEADROOM) as usize
    }

    /// Free mbufs (in the ring and the per-lcore caches). After traffic
    /// stops this must return to its baseline, or mbufs leaked.
    pub fn avail(&self) -> u32 {
        self.inner.avail()
    }

    /// Allocate an mbuf (None when the pool is empty).
    pub fn alloc(&self) -> Option<crate::Mbuf> {
        // SAFETY: the pool is valid; a non-null result is a fresh mbuf we own.
        let m = unsafe { sys::rvs_pktmbuf_alloc(self.raw()) };
        // SAFETY: m is an owned mbuf or null.
        unsafe { crate::Mbuf::from_raw(m) }
    }
}

impl PoolInner {
    fn avail(&self) -> u32 {
        // SAFETY: the pool is valid for our lifetime.
        unsafe { sys::rvs_mempool_avail(self.ptr.as_ptr()) }
    }
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        let avail = self.avail();
        if avail != self.size {
            tracing::error!(
                "mempool {}: {} of {} mbufs still out at release: not freeing the pool (nor the EAL)",
                self.name,
                self.size.saturating_sub(avail),
                self.size
            );
            // Keep the EAL's memory mapped under the live mbufs.
            std::mem::forget(self.eal.clone());
            return;
        }
        // SAFETY: the pool is ours, no handle or port refers to it any
        // more, and every mbuf is back (see the module comment).
        unsafe { sys::rte_mempool_free(self.ptr.as_ptr()) }
    }
}
