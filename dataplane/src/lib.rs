//! The rvs packet path.
//!
//! Everything above `worker` is sans-IO: it reads and rewrites byte buffers
//! through [`packet::PacketBuf`] and never touches DPDK, so each rewrite,
//! scheduler and state machine is unit-tested on plain `Vec<u8>` frames.
//! `worker` (feature `dpdk`) drives that logic from per-lcore poll loops.

pub mod sched;
pub mod stats;
pub mod svc;
