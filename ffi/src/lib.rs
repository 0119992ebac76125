//! DPDK for rvs: raw bindings ([`sys`]) and a thin safe layer over them.
//!
//! This crate is the only place in rvs with `unsafe` code. Each unsafe block
//! carries a `// SAFETY:` note. The safe types keep DPDK's ownership rules in
//! Rust's type system: an [`Mbuf`] is owned (freed on drop), handing it to
//! [`TxBatch`] or a [`Ring`] moves it, so it can never be freed twice.

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

pub use eal::{Eal, EalError};
pub use lcore::{launch, lcore_id, main_lcore, pause, rdtsc, tsc_hz, wait_lcore, worker_lcores};
pub use mbuf::{Burst, Mbuf, TxBatch, MAX_BURST};
pub use mempool::Mempool;
pub use port::{LinkInfo, Port, PortConf, PortStats};
pub use ring::{Ring, RingItem};

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
