//! Health checks of real servers, run by rvsd's control side.
//!
//! [`probe`] runs one check (TCP, HTTP, HTTPS, UDP, ICMP, exec) through
//! the director's kernel, so it leaves by the exception path from the
//! director's own address; [`state`] turns results into up/down with
//! `fall`/`rise`; [`schedule`] says when each dest is due; [`checker`] is
//! the thread that runs it all; [`overlay`] lays the verdicts over the
//! configured services to give the table Control publishes. Nothing here
//! runs on a worker or touches the data path: a flip becomes a new
//! snapshot, published as an rvsadm edit is.

pub mod checker;
pub mod overlay;
pub mod probe;
pub mod schedule;
pub mod state;

use overlay::DestId;
use std::net::IpAddr;

/// `addr:port` as ipvsadm writes a real server.
pub fn dest_name(id: &DestId) -> String {
    match id.addr {
        IpAddr::V4(a) => format!("{a}:{}", id.port),
        IpAddr::V6(a) => format!("[{a}]:{}", id.port),
    }
}
