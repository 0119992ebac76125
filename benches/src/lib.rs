//! rvs benchmark tools.
//!
//! * micro benchmarks of the sans-IO core live in `benches/` (criterion):
//!   `modes` (rewrites), `conn` (table), `sched` (schedulers);
//! * `rvs-pcapgen` writes replay files ([`pcap`], [`flows`], [`frame`],
//!   [`frame6`] for IPv6) for `net_pcap`;
//! * `rvs-gen` plays clients and real servers over DPDK ports
//!   ([`convo`]);
//! * `rvs-bench` runs the system benchmark for `scripts/bench.sh`: rvsd
//!   and dpdk-testpmd set up on the same virtual devices ([`targets`]),
//!   one-way replay ([`oneway`]), conversations ([`cps`]), memory per
//!   connection ([`mem`]), all sampled live through DPDK telemetry
//!   ([`telemetry`]) and rvsd's own counters ([`ctl`]), profiled with perf
//!   ([`profile`]); the engine alone under callgrind and timed natively
//!   ([`instr`]); written up as docs/benchmarks.md ([`report`], [`goals`],
//!   [`sections`], [`plots`], [`explain`]), its verdict in [`verdict`]. Child
//!   processes are handled by [`procs`].
//!
//! No `unsafe` here: DPDK is reached through rvs-ffi's safe layer.

#![forbid(unsafe_code)]

pub mod convo;
pub mod cps;
pub mod ctl;
pub mod explain;
pub mod flows;
pub mod frame;
pub mod frame6;
pub mod goals;
pub mod instr;
pub mod machine;
pub mod mem;
pub mod oneway;
pub mod pcap;
pub mod plots;
pub mod procs;
pub mod profile;
pub mod report;
pub mod sections;
pub mod targets;
pub mod telemetry;
pub mod verdict;
