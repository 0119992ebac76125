//! `rte_ring` between lcores, typed by what it carries.
//!
//! Two kinds, each with one [`RingConsumer`] (`Send`, not `Sync`, not
//! `Clone`, made only with its ring), so the single-consumer dequeue can
//! never run on two threads at once:
//! - [`Ring::new`]: multi-producer. [`Ring`] is the producer side,
//!   shareable (`rte_ring`'s MP enqueue is thread-safe).
//! - [`Ring::new_spsc`]: single-producer. [`RingProducer`] is the one
//!   producer (`Send`, not `Sync`, not `Clone`): one ring per (worker,
//!   worker) pair needs no atomic read-modify-write on either side.
//!
//! Both sides move whole bursts with one call (`enqueue_burst`,
//! `dequeue_burst`), so a burst costs one pass over the ring's indices.

use crate::eal::{eal_ref, EalRef};
use crate::sys;
use std::cell::Cell;
use std::ffi::CString;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;

/// Items moved per `rte_ring` call in the burst functions (a stack array
/// of pointers: no allocation).
const CHUNK: usize = crate::MAX_BURST;

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

// SAFETY: the ring moves T values between threads (T: Send); an MP
// ring's enqueue is lock-free and thread-safe; an SP ring's enqueue is
// reachable only through its single RingProducer (&mut); the SC dequeue
// only through the single RingConsumer (or in Drop, with exclusive access).
unsafe impl<T: RingItem> Send for RingInner<T> {}
// SAFETY: as above: shared access only enqueues (as allowed above) or
// reads the count.
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

    /// Enqueue one item; gives it back when the ring is full.
    ///
    /// # Safety
    /// On a single-producer ring the caller is its only producer.
    unsafe fn enqueue(&self, item: T) -> Result<(), T> {
        let p = item.into_ptr();
        // SAFETY: one valid pointer; producer rule by the caller; the
        // ring takes it on success.
        let n = unsafe { sys::rvs_ring_enqueue_burst(self.ptr.as_ptr(), &p, 1) };
        if n == 1 {
            Ok(())
        } else {
            // SAFETY: not enqueued: ownership returns to us.
            Err(unsafe { T::from_ptr(p) })
        }
    }

    /// Move items from the front of `items` into the ring, in order, until
    /// it is full; what did not fit stays in `items` (in order). Returns
    /// how many went in.
    ///
    /// # Safety
    /// On a single-producer ring the caller is its only producer.
    unsafe fn enqueue_vec(&self, items: &mut Vec<T>) -> usize {
        let total = items.len();
        let base = items.as_mut_ptr();
        // The elements are ours to move from here on; should anything
        // panic they leak (never a double drop).
        // SAFETY: 0 is within capacity; the elements stay initialised in
        // place and are read exactly once below.
        unsafe { items.set_len(0) };
        let mut done = 0;
        while done < total {
            let k = (total - done).min(CHUNK);
            let mut ptrs = [std::ptr::null_mut::<libc::c_void>(); CHUNK];
            for (j, slot) in ptrs.iter_mut().enumerate().take(k) {
                // SAFETY: element done+j is initialised and not yet moved.
                *slot = unsafe { std::ptr::read(base.add(done + j)) }.into_ptr();
            }
            // SAFETY: k valid pointers; producer rule by the caller; the
            // ring takes the first `sent` of them.
            let sent = unsafe { sys::rvs_ring_enqueue_burst(self.ptr.as_ptr(), ptrs.as_ptr(), k as u32) } as usize;
            if sent < k {
                let left = total - done - sent;
                // SAFETY: the slots done+j (j >= sent) were moved out
                // above; write their items back, then slide the rest
                // (never moved) to the front and own them again.
                unsafe {
                    for (j, &p) in ptrs.iter().enumerate().take(k).skip(sent) {
                        std::ptr::write(base.add(done + j), T::from_ptr(p));
                    }
                    std::ptr::copy(base.add(done + sent), base, left);
                    items.set_len(left);
                }
                return done + sent;
            }
            done += k;
        }
        total
    }

    /// Append up to `max` items to `out`.
    ///
    /// # Safety
    /// The caller is the only consumer for the duration of the call.
    unsafe fn dequeue_vec(&self, out: &mut Vec<T>, max: usize) -> usize {
        let mut done = 0;
        while done < max {
            let k = (max - done).min(CHUNK);
            let mut ptrs = [std::ptr::null_mut::<libc::c_void>(); CHUNK];
            // SAFETY: room for k pointers; single consumer by the caller.
            let n = unsafe { sys::rvs_ring_dequeue_burst(self.ptr.as_ptr(), ptrs.as_mut_ptr(), k as u32) } as usize;
            // SAFETY: each pointer was enqueued from a T and is taken once.
            out.extend(ptrs[..n].iter().map(|&p| unsafe { T::from_ptr(p) }));
            done += n;
            if n < k {
                break;
            }
        }
        done
    }

    fn count(&self) -> usize {
        // SAFETY: reading the ring's indices.
        unsafe { sys::rvs_ring_count(self.ptr.as_ptr()) as usize }
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

/// The single consumer of a [`Ring`] or of a [`RingProducer`]'s ring.
pub struct RingConsumer<T: RingItem> {
    inner: Arc<RingInner<T>>,
    /// Not Sync: one thread at a time dequeues.
    _not_sync: PhantomData<Cell<()>>,
}

/// The only producer of a single-producer, single-consumer ring
/// ([`Ring::new_spsc`]): `Send` (it moves to its worker's lcore), not
/// `Sync`, not `Clone`, and enqueues through `&mut self`, so the SP
/// enqueue runs on one thread at a time.
pub struct RingProducer<T: RingItem> {
    inner: Arc<RingInner<T>>,
    /// Not Sync: one thread at a time enqueues.
    _not_sync: PhantomData<Cell<()>>,
}

/// `rte_ring_create` with `flags`, `size` rounded up to a power of two.
fn create<T: RingItem>(name: &str, size: u32, flags: u32) -> Result<Arc<RingInner<T>>, String> {
    let eal = eal_ref()?;
    let cname = CString::new(name).map_err(|e| e.to_string())?;
    let size = size.max(2).checked_next_power_of_two().ok_or_else(|| format!("ring {name}: size too large"))?;
    // SAFETY: the EAL is initialised; valid C string and plain values.
    let p = unsafe { sys::rte_ring_create(cname.as_ptr(), size, sys::rte_socket_id() as i32, flags) };
    let ptr = NonNull::new(p).ok_or_else(|| format!("cannot create ring {name}: {}", crate::last_error()))?;
    Ok(Arc::new(RingInner { ptr, _eal: eal, _t: PhantomData }))
}

impl<T: RingItem> Ring<T> {
    /// A multi-producer ring of `size` slots (rounded up to a power of
    /// two; one fewer items fit): its producer side and its only consumer.
    pub fn new(name: &str, size: u32) -> Result<(Ring<T>, RingConsumer<T>), String> {
        // RING_F_SC_DEQ: the consumer side is single-threaded (the one
        // RingConsumer); producers stay multi-threaded.
        let inner = create(name, size, sys::RING_F_SC_DEQ)?;
        Ok((Ring { inner: inner.clone() }, RingConsumer { inner, _not_sync: PhantomData }))
    }

    /// A single-producer, single-consumer ring of `size` slots (rounded
    /// up to a power of two; one fewer items fit): its only producer and
    /// its only consumer.
    pub fn new_spsc(name: &str, size: u32) -> Result<(RingProducer<T>, RingConsumer<T>), String> {
        let inner = create(name, size, sys::RING_F_SP_ENQ | sys::RING_F_SC_DEQ)?;
        Ok((
            RingProducer { inner: inner.clone(), _not_sync: PhantomData },
            RingConsumer { inner, _not_sync: PhantomData },
        ))
    }

    /// Enqueue one item; gives it back when the ring is full.
    #[inline]
    pub fn enqueue(&self, item: T) -> Result<(), T> {
        // SAFETY: an MP ring (only `new` makes a Ring): any thread may
        // enqueue.
        unsafe { self.inner.enqueue(item) }
    }

    /// Move items from the front of `items` into the ring until it is
    /// full; what did not fit stays in `items`, in order. Returns how
    /// many went in. Keep `items` allocated between bursts.
    #[inline]
    pub fn enqueue_burst(&self, items: &mut Vec<T>) -> usize {
        // SAFETY: an MP ring: any thread may enqueue.
        unsafe { self.inner.enqueue_vec(items) }
    }

    pub fn count(&self) -> usize {
        self.inner.count()
    }
}

impl<T: RingItem> RingProducer<T> {
    /// Enqueue one item; gives it back when the ring is full.
    #[inline]
    pub fn enqueue(&mut self, item: T) -> Result<(), T> {
        // SAFETY: &mut self on the only producer handle: single producer.
        unsafe { self.inner.enqueue(item) }
    }

    /// Move items from the front of `items` into the ring until it is
    /// full; what did not fit stays in `items`, in order. Returns how
    /// many went in. Keep `items` allocated between bursts.
    #[inline]
    pub fn enqueue_burst(&mut self, items: &mut Vec<T>) -> usize {
        // SAFETY: &mut self on the only producer handle: single producer.
        unsafe { self.inner.enqueue_vec(items) }
    }

    pub fn count(&self) -> usize {
        self.inner.count()
    }
}

impl<T: RingItem> RingConsumer<T> {
    /// Dequeue one item.
    pub fn dequeue(&mut self) -> Option<T> {
        // SAFETY: &mut self on the only consumer handle: single consumer.
        unsafe { self.inner.dequeue() }
    }

    /// Append up to `max` items to `out`; returns how many. `out` should
    /// have the capacity already (no allocation on the hot path).
    #[inline]
    pub fn dequeue_burst(&mut self, out: &mut Vec<T>, max: usize) -> usize {
        // SAFETY: &mut self on the only consumer handle: single consumer.
        unsafe { self.inner.dequeue_vec(out, max) }
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
        self.inner.count()
    }
}
