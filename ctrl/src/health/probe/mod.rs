//! One check of one dest, run to its end on a checker thread.
//!
//! Every probe blocks, bounded by the check's `timeout` as a deadline for
//! the whole exchange (connect, request, response), and reports an
//! [`Outcome`] naming why it failed.

mod exec;
mod http;
mod net;

use super::state::{Failure, Outcome};
use rvs_conf::health::{CheckKind, HealthCheck};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The end of a check.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn after(d: Duration) -> Self {
        Deadline(Instant::now() + d)
    }

    /// What is left, or a timeout once nothing is.
    pub fn left(&self) -> Result<Duration, Failure> {
        match self.0.checked_duration_since(Instant::now()) {
            Some(d) if !d.is_zero() => Ok(d),
            _ => Err(Failure::Timeout),
        }
    }
}

/// What one check looks at: the address and port it reaches (the dest's
/// unless the check overrides them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: IpAddr,
    pub port: u16,
    /// The dest itself, for an exec check's environment.
    pub dest: (IpAddr, u16),
}

/// Run `c` against `t`.
pub fn run(c: &HealthCheck, t: &Target) -> Outcome {
    let dl = Deadline::after(c.timeout.as_duration());
    match c.kind {
        CheckKind::Tcp => net::tcp(t.addr, t.port, c.bind, &dl),
        CheckKind::Http => http::get(c, t.addr, t.port, false, &dl),
        CheckKind::Https => http::get(c, t.addr, t.port, true, &dl),
        CheckKind::Udp => {
            let send = c.send.as_deref().unwrap_or("").as_bytes();
            net::udp(t.addr, t.port, c.bind, send, c.expect.as_deref().map(str::as_bytes), &dl)
        }
        CheckKind::Icmp => net::icmp(t.addr, c.bind, &dl),
        CheckKind::Exec => exec::run(c.command.as_deref().unwrap_or("false"), t.dest, &dl),
        CheckKind::None => Ok(()),
    }
}
