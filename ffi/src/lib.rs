//! DPDK for rvs: raw bindings ([`sys`]) and a thin safe layer over them.
//!
//! This crate is the only place in rvs with `unsafe` code. Each unsafe block
//! carries a `// SAFETY:` note. The promise: no safe use of this API can
//! cause undefined behaviour. The safe types keep DPDK's rules in Rust's
//! type system:
//! - an [`Mbuf`] is owned (freed on drop); handing it to [`TxBatch`] or a
//!   [`Ring`] moves it, so it can never be freed twice;
//! - rx/tx bursts need the queue's token ([`RxQueue`]/[`TxQueue`], made
//!   once per queue when the port is set up, `Send` but not `Sync`), so a
//!   queue is polled by one thread and only while its port is open;
//! - a ring has one [`RingConsumer`] (single-consumer dequeue) and any
//!   number of producers;
//! - a [`Mempool`] is freed only once every mbuf is back (else leaked with
//!   a warning), and the EAL is cleaned up only after every object ([`Eal`]).

pub mod sys {
    #![allow(non_upper_case_globals, non_camel_case_types, non_snake_case, dead_code)]
    #![allow(clippy::all, unsafe_op_in_unsafe_fn)]
    include!(concat!(env!("OUT_DIR"), "/dpdk.rs"));
}

mod eal;
mod lcore;
mod mbuf;
mod mempool;
mod port;
mod ring;
pub mod rss;

pub use eal::{Eal, EalError};
pub use lcore::{launch, lcore_id, main_lcore, pause, rdtsc, tsc_hz, wait_lcore, worker_lcores};
pub use mbuf::{Burst, Mbuf, TxBatch, MAX_BURST};
pub use mempool::{Mempool, DEFAULT_DATA_ROOM, HEADROOM};
pub use port::{frame_len, LinkInfo, Port, PortConf, PortQueues, PortStats, RxQueue, TxQueue};
pub use ring::{Ring, RingConsumer, RingItem, RingProducer};
pub use rss::{softrss, RssConf, RSS_KEY_LEN};

/// Text of the current `rte_errno`.
pub fn last_error() -> String {
    // SAFETY: rvs_errno reads a thread-local int; rte_strerror returns a
    // pointer to a static or thread-local NUL-terminated string.
    unsafe {
        let e = sys::rvs_errno();
        let p = sys::rte_strerror(e);
        format!("{} (rte_errno {e})", std::ffi::CStr::from_ptr(p).to_string_lossy())
    }
}

/// Text of a DPDK error number (a negative return value, negated).
pub fn last_error_of(errnum: i32) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local
    // NUL-terminated string for any number.
    let p = unsafe { sys::rte_strerror(errnum) };
    // SAFETY: non-null, NUL-terminated (above).
    format!("{} (error {errnum})", unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy())
}

/// The threading rules, checked by the compiler (these are doc tests).
///
/// Queue tokens, the ring consumer and ports move between threads; the
/// ring's producer side and pools are shared:
/// ```
/// fn send<T: Send>() {}
/// fn sync<T: Sync>() {}
/// send::<rvs_ffi::RxQueue>();
/// send::<rvs_ffi::TxQueue>();
/// send::<rvs_ffi::RingConsumer<rvs_ffi::Mbuf>>();
/// send::<rvs_ffi::RingProducer<rvs_ffi::Mbuf>>();
/// send::<rvs_ffi::Port>();
/// send::<rvs_ffi::Mbuf>();
/// sync::<rvs_ffi::Ring<rvs_ffi::Mbuf>>();
/// sync::<rvs_ffi::Mempool>();
/// ```
/// A token is never shared between threads:
/// ```compile_fail
/// fn sync<T: Sync>() {}
/// sync::<rvs_ffi::RxQueue>();
/// ```
/// ```compile_fail
/// fn sync<T: Sync>() {}
/// sync::<rvs_ffi::TxQueue>();
/// ```
/// ```compile_fail
/// fn sync<T: Sync>() {}
/// sync::<rvs_ffi::RingConsumer<rvs_ffi::Mbuf>>();
/// ```
/// ```compile_fail
/// fn sync<T: Sync>() {}
/// sync::<rvs_ffi::RingProducer<rvs_ffi::Mbuf>>();
/// ```
/// ```compile_fail
/// fn sync<T: Sync>() {}
/// sync::<rvs_ffi::Port>();
/// ```
/// nor copied:
/// ```compile_fail
/// fn clone<T: Clone>() {}
/// clone::<rvs_ffi::RxQueue>();
/// ```
/// ```compile_fail
/// fn clone<T: Clone>() {}
/// clone::<rvs_ffi::RingConsumer<rvs_ffi::Mbuf>>();
/// ```
/// ```compile_fail
/// fn clone<T: Clone>() {}
/// clone::<rvs_ffi::RingProducer<rvs_ffi::Mbuf>>();
/// ```
/// and a burst needs one (no bare port/queue numbers):
/// ```compile_fail
/// let mut b = rvs_ffi::Burst::default();
/// b.rx(0, 0, 32);
/// ```
/// Implementing [`RingItem`] is an `unsafe` promise, impossible in the
/// other crates (`forbid(unsafe_code)`):
/// ```compile_fail
/// #![forbid(unsafe_code)]
/// struct X;
/// unsafe impl rvs_ffi::RingItem for X {
///     fn into_ptr(self) -> *mut std::ffi::c_void { std::ptr::null_mut() }
///     unsafe fn from_ptr(_: *mut std::ffi::c_void) -> Self { X }
/// }
/// ```
pub mod rules {}
