//! Packet mbuf pools.

use crate::sys;
use std::ffi::CString;
use std::ptr::NonNull;

/// A pktmbuf pool. Freed on drop (all its mbufs must be back by then).
pub struct Mempool {
    ptr: NonNull<sys::rte_mempool>,
    size: u32,
}

// SAFETY: rte_mempool is designed for concurrent use from many lcores
// (per-lcore caches + lockless ring).
unsafe impl Send for Mempool {}
// SAFETY: as above.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Create a pool of `n` mbufs with the default data room.
    pub fn new(name: &str, n: u32, cache: u32) -> Result<Mempool, String> {
        let cname = CString::new(name).map_err(|e| e.to_string())?;
        // SAFETY: valid C string; the other arguments are plain values.
        let p = unsafe {
            sys::rte_pktmbuf_pool_create(
                cname.as_ptr(),
                n,
                cache,
                0,
                sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16,
                sys::rte_socket_id() as i32,
            )
        };
        NonNull::new(p)
            .map(|ptr| Mempool { ptr, size: n })
            .ok_or_else(|| format!("cannot create mempool {name}: {}", crate::last_error()))
    }

    pub(crate) fn raw(&self) -> *mut sys::rte_mempool {
        self.ptr.as_ptr()
    }

    /// Number of mbufs the pool was created with.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Free mbufs (in the ring and the per-lcore caches). After traffic
    /// stops this must return to its baseline, or mbufs leaked.
    pub fn avail(&self) -> u32 {
        // SAFETY: the pool is valid for our lifetime.
        unsafe { sys::rvs_mempool_avail(self.ptr.as_ptr()) }
    }

    /// Allocate an mbuf (None when the pool is empty).
    pub fn alloc(&self) -> Option<crate::Mbuf> {
        // SAFETY: the pool is valid; a non-null result is a fresh mbuf we own.
        let m = unsafe { sys::rvs_pktmbuf_alloc(self.ptr.as_ptr()) };
        // SAFETY: m is an owned mbuf or null.
        unsafe { crate::Mbuf::from_raw(m) }
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        // SAFETY: the pool is ours; callers drop every mbuf before the pool.
        unsafe { sys::rte_mempool_free(self.ptr.as_ptr()) }
    }
}
