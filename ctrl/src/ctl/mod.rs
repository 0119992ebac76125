//! rvsd's control plane at run time: the control socket, its protocol,
//! the Control that owns the configuration and publishes snapshots, and
//! the rate estimator.
//!
//! - [`proto`]: the versioned JSON-lines messages;
//! - [`server`] / [`client`]: the Unix socket, daemon and rvsadm side;
//! - [`model`]: the live configuration and transactional change plans;
//! - [`control`]: commits, RCU publication, listings (needs DPDK);
//! - [`views`]: runtime counters → the views rvsadm prints;
//! - [`health_view`]: the health checks' part of a listing;
//! - [`metrics`]: the Prometheus text of a scrape;
//! - [`estimator`]: IPVS-style rates; [`wait`]: waiting for workers to
//!   run a generation.

pub mod client;
pub mod control;
pub mod estimator;
pub mod health_view;
pub mod metrics;
pub mod model;
pub mod proto;
pub mod server;
pub mod views;
pub mod wait;
