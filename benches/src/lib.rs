//! rvs benchmark tools.
//!
//! * micro benchmarks of the sans-IO core live in `benches/` (criterion);
//! * `rvs-pcapgen` writes replay files ([`pcap`]) for `net_pcap`;
//! * `rvs-gen` plays clients and real servers over DPDK ports
//!   ([`convo`]);
//! * `rvs-bench` runs the system benchmark: rvsd and dpdk-testpmd on the
//!   same virtual devices in one run, sampled through DPDK telemetry
//!   ([`telemetry`]), and writes docs/benchmarks.md ([`report`]).
//!
//! No `unsafe` here: DPDK is reached through rvs-ffi's safe layer.

#![forbid(unsafe_code)]

pub mod convo;
pub mod flows;
pub mod frame;
pub mod pcap;
pub mod procs;
pub mod telemetry;
