//! `rte_ring` between lcores, typed by what it carries.

use crate::sys;
use std::ffi::CString;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// Something that travels through a ring as one pointer.
pub trait RingItem: Send {
    fn into_ptr(self) -> *mut libc::c_void;
    /// # Safety
    /// `p` must come from `into_ptr` of the same type, used once.
    unsafe fn from_ptr(p: *mut libc::c_void) -> Self;
}

impl RingItem for crate::Mbuf {
    fn into_ptr(self) -> *mut libc::c_void {
        self.into_raw() as *mut libc::c_void
    }
    unsafe fn from_ptr(p: *mut libc::c_void) -> Self {
        // SAFETY: the pointer came from into_ptr of an owned Mbuf.
        unsafe { crate::Mbuf::from_raw(p as *mut sys::rte_mbuf).expect("null in ring") }
    }
}

/// A multi-producer, single-consumer ring (workers redirect packets to the
/// owner of a flow; only the owner dequeues).
pub struct Ring<T: RingItem> {
    ptr: NonNull<sys::rte_ring>,
    _t: PhantomData<T>,
}

// SAFETY: rte_ring is lock-free and safe for the producers/consumer mode
// it was created with (MP enqueue, SC dequeue: only the owner dequeues).
unsafe impl<T: RingItem> Send for Ring<T> {}
// SAFETY: as above.
unsafe impl<T: RingItem> Sync for Ring<T> {}

impl<T: RingItem> Ring<T> {
    /// `size` is rounded up to a power of two.
    pub fn new(name: &str, size: u32) -> Result<Self, String> {
        let cname = CString::new(name).map_err(|e| e.to_string())?;
        let size = size.max(2).next_power_of_two();
        // SAFETY: valid C string and plain values; RING_F_SC_DEQ makes the
        // consumer side single-threaded, producers stay multi-threaded.
        let p = unsafe { sys::rte_ring_create(cname.as_ptr(), size, sys::rte_socket_id() as i32, sys::RING_F_SC_DEQ) };
        NonNull::new(p)
            .map(|ptr| Ring { ptr, _t: PhantomData })
            .ok_or_else(|| format!("cannot create ring {name}: {}", crate::last_error()))
    }

    /// Enqueue one item; gives it back when the ring is full.
    #[inline]
    pub fn enqueue(&self, item: T) -> Result<(), T> {
        let p = item.into_ptr();
        // SAFETY: one valid pointer; the ring takes it on success.
        let n = unsafe { sys::rvs_ring_enqueue_burst(self.ptr.as_ptr(), &p, 1) };
        if n == 1 {
            Ok(())
        } else {
            // SAFETY: not enqueued: ownership returns to us.
            Err(unsafe { T::from_ptr(p) })
        }
    }

    /// Dequeue one item (only the ring's single consumer may call this).
    pub fn dequeue(&self) -> Option<T> {
        let mut p: *mut libc::c_void = std::ptr::null_mut();
        // SAFETY: room for one pointer; single consumer by contract.
        let n = unsafe { sys::rvs_ring_dequeue_burst(self.ptr.as_ptr(), &mut p, 1) };
        // SAFETY: the pointer was enqueued by `enqueue` of the same T.
        (n == 1).then(|| unsafe { T::from_ptr(p) })
    }

    /// Dequeue raw pointers into `out` (used by `Burst::from_ring`).
    ///
    /// # Safety
    /// `out` must have room for `max` pointers; the caller takes ownership.
    pub(crate) unsafe fn dequeue_raw(&self, out: *mut *mut libc::c_void, max: usize) -> usize {
        // SAFETY: guaranteed by the caller.
        unsafe { sys::rvs_ring_dequeue_burst(self.ptr.as_ptr(), out, max as u32) as usize }
    }

    pub fn count(&self) -> usize {
        // SAFETY: reading the ring's indices.
        unsafe { sys::rvs_ring_count(self.ptr.as_ptr()) as usize }
    }
}

impl<T: RingItem> Drop for Ring<T> {
    fn drop(&mut self) {
        while let Some(item) = self.dequeue() {
            drop(item);
        }
        // SAFETY: the ring is ours and now empty.
        unsafe { sys::rte_ring_free(self.ptr.as_ptr()) }
    }
}
