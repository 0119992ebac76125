//! The rvs packet path.
//!
//! Everything but `worker` is sans-IO: it reads and rewrites byte buffers
//! through [`packet::PacketBuf`] and never touches DPDK, so each rewrite,
//! scheduler and state machine is unit-tested on plain `Vec<u8>` frames.
//! `worker` (feature `dpdk`) drives that logic from per-lcore poll loops.

#![forbid(unsafe_code)]

pub mod addr;
pub mod conn;
pub mod drop;
pub mod dump;
pub mod egress;
pub mod engine;
#[cfg(test)]
mod engine_tests;
pub mod family;
pub mod forward;
#[cfg(test)]
mod hostile_tests;
mod ingress6;
#[cfg(test)]
mod kernel_tests;
pub mod l3;
pub mod lport;
#[cfg(test)]
mod lport_tests;
pub mod modes;
mod nat64;
#[cfg(test)]
mod nat64_tests;
#[cfg(test)]
mod one_packet_tests;
pub mod packet;
pub mod pipeline;
#[cfg(test)]
mod pipeline_tests;
pub mod redirect;
pub mod rss;
pub mod sched;
#[cfg(test)]
mod sctp6_tests;
#[cfg(test)]
mod sctp_tests;
pub mod service_path;
pub mod snapshot;
pub mod stats;
pub mod svc;
pub mod sync;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
#[cfg(test)]
mod v6_tests;
pub mod wire;
#[cfg(feature = "dpdk")]
pub mod worker;
