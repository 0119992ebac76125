//! `rte_ring` between lcores, typed by what it carries.
//!
//! A ring is created multi-producer, single-consumer: [`Ring`] is the
//! producer side (shareable: `rte_ring`'s MP enqueue is thread-safe) and
//! [`RingConsumer`] the one consumer (`Send`, not `Sync`, not `Clone`,
//! and only [`Ring::new`] makes one), so the SC dequeue can never run on
//! two threads at once.

use crate::eal::{eal_ref, EalRef};
use crate::sys;
use std::cell::Cell;
use std::ffi::CString;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;

/// Something that travels through a ring as one pointer.
///
/// # Safety
/// `into_ptr` must give up ownership of `self` as a non-null pointer that
/// `from_ptr` turns back into the same value, exactly once.
pub unsafe trait RingItem: Send {
    fn into_ptr(self) -> *mut libc::c_void;
    /// # Safety
    /// `p` must come from `into_ptr` of the same type, used once.
    unsafe fn from_ptr(p: *mut libc::c_void) -> Self;
}

// SAFETY: into_raw hands over the owned, non-null mbuf pointer and
// from_raw takes it back.
unsafe impl RingItem for crate::Mbuf {
    fn into_ptr(self) -> *mut libc::c_void {
        self.into_raw() as *mut libc::c_void
    }
    unsafe fn from_ptr(p: *mut libc::c_void) -> Self {
        // SAFETY: the pointer came from into_ptr of an owned Mbuf, so it
        // is not null; a null would be a broken RingItem contract.
        match unsafe { crate::Mbuf::from_raw(p as *mut sys::rte_mbuf) } {
            Some(m) => m,
            None => unreachable!("null pointer in an mbuf ring"),
        }
    }
}

struct RingInner<T: RingItem> {
    ptr: NonNull<sys::rte_ring>,
    _eal: EalRef,
    _t: PhantomData<T>,
}

// SAFETY: the ring moves T values between threads (T: Send); its MP
// enqueue is lock-free and thread-safe; the SC dequeue is reachable only
// through the single RingConsumer (or in Drop, with exclusive access).
unsafe impl<T: RingItem> Send for RingInner<T> {}
// SAFETY: as above: shared access only enqueues or reads the count.
unsafe impl<T: RingItem> Sync for RingInner<T> {}

impl<T: RingItem> RingInner<T> {
    /// # Safety
    /// The caller is the only consumer for the duration of the call.
    unsafe fn dequeue(&self) -> Option<T> {
        let mut p: *mut libc::c_void = std::ptr::null_mut();
        // SAFETY: room for one pointer; single consumer by the caller.
        let n = unsafe { sys::rvs_ring_dequeue_burst(self.ptr.as_ptr(), &mut p, 1) };
        // SAFETY: the pointer was enqueued by `enqueue` of the same T.
        (n == 1).then(|| unsafe { T::from_ptr(p) })
    }
}

impl<T: RingItem> Drop for RingInner<T> {
    fn drop(&mut self) {
        // SAFETY: last handle: nobody else enqueues or dequeues.
        while let Some(item) = unsafe { self.dequeue() } {
            drop(item);
        }
        // SAFETY: the ring is ours and now empty.
        unsafe { sys::rte_ring_free(self.ptr.as_ptr()) }
    }
}

/// The producer side of a multi-producer, single-consumer ring (workers
/// redirect packets to the owner of a flow; only the owner dequeues).
/// Clones share the ring.
pub struct Ring<T: RingItem> {
    inner: Arc<RingInner<T>>,
}

impl<T: RingItem> Clone for Ring<T> {
    fn clone(&self) -> Self {
        Ring { inner: self.inner.clone() }
    }
}

/// The single consumer of a [`Ring`].
pub struct RingConsumer<T: RingItem> {
    inner: Arc<RingInner<T>>,
    /// Not Sync: one thread at a time dequeues.
    _not_sync: PhantomData<Cell<()>>,
}

impl<T: RingItem> Ring<T> {
    /// A ring of `size` slots (rounded up to a power of two; one fewer
    /// items fit): its producer side and its only consumer.
    pub fn new(name: &str, size: u32) -> Result<(Ring<T>, RingConsumer<T>), String> {
        let eal = eal_ref()?;
        let cname = CString::new(name).map_err(|e| e.to_string())?;
        let size = size.max(2).checked_next_power_of_two().ok_or_else(|| format!("ring {name}: size too large"))?;
        // SAFETY: the EAL is initialised; valid C string and plain values;
        // RING_F_SC_DEQ makes the consumer side single-threaded, producers
        // stay multi-threaded.
        let p = unsafe { sys::rte_ring_create(cname.as_ptr(), size, sys::rte_socket_id() as i32, sys::RING_F_SC_DEQ) };
        let ptr = NonNull::new(p).ok_or_else(|| format!("cannot create ring {name}: {}", crate::last_error()))?;
        let inner = Arc::new(RingInner { ptr, _eal: eal, _t: PhantomData });
        Ok((Ring { inner: inner.clone() }, RingConsumer { inner, _not_sync: PhantomData }))
    }

    /// Enqueue one item; gives it back when the ring is full.
    #[inline]
    pub fn enqueue(&self, item: T) -> Result<(), T> {
        let p = item.into_ptr();
        // SAFETY: one valid pointer; MP enqueue is thread-safe; the ring
        // takes it on success.
        let n = unsafe { sys::rvs_ring_enqueue_burst(self.inner.ptr.as_ptr(), &p, 1) };
        if n == 1 {
            Ok(())
        } else {
            // SAFETY: not enqueued: ownership returns to us.
            Err(unsafe { T::from_ptr(p) })
        }
    }

    pub fn count(&self) -> usize {
        // SAFETY: reading the ring's indices.
        unsafe { sys::rvs_ring_count(self.inner.ptr.as_ptr()) as usize }
    }
}

impl<T: RingItem> RingConsumer<T> {
    /// Dequeue one item.
    pub fn dequeue(&mut self) -> Option<T> {
        // SAFETY: &mut self on the only consumer handle: single consumer.
        unsafe { self.inner.dequeue() }
    }

    /// Dequeue raw pointers into `out` (used by `Burst::from_ring`).
    ///
    /// # Safety
    /// `out` must have room for `max` pointers; the caller takes ownership.
    pub(crate) unsafe fn dequeue_raw(&mut self, out: *mut *mut libc::c_void, max: usize) -> usize {
        // SAFETY: room guaranteed by the caller; &mut self on the only
        // consumer handle.
        unsafe { sys::rvs_ring_dequeue_burst(self.inner.ptr.as_ptr(), out, max as u32) as usize }
    }

    pub fn count(&self) -> usize {
        // SAFETY: reading the ring's indices.
        unsafe { sys::rvs_ring_count(self.inner.ptr.as_ptr()) as usize }
    }
}
