//! The parts of a snapshot read straight from configuration, shared by
//! Control (`ctrl/src/daemon/publish.rs`) and the test director
//! (`testkit`), so both split the families the same way.

use rvs_conf::{Config, InterfaceConf};
use std::net::IpAddr;

/// A static route as the snapshot takes it: (prefix, length, port index,
/// gateway).
pub type StaticRoute<A> = (A, u8, u16, Option<A>);

/// An interface address with its prefix length.
pub type IfAddr<A> = (A, u8);

/// An interface's addresses split by family: (IPv4, IPv6).
pub fn iface_addrs(c: &InterfaceConf) -> (Vec<IfAddr<u32>>, Vec<IfAddr<u128>>) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for n in &c.addresses {
        match n.addr() {
            IpAddr::V4(a) => v4.push((u32::from(a), n.prefix_len())),
            IpAddr::V6(a) => v6.push((u128::from(a), n.prefix_len())),
        }
    }
    (v4, v6)
}

/// The configured static routes split by family: (IPv4, IPv6). A route
/// on an unknown interface is skipped (validation refuses it); the
/// gateway is of the prefix's family (validation again).
pub fn static_routes(cfg: &Config) -> (Vec<StaticRoute<u32>>, Vec<StaticRoute<u128>>) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for r in &cfg.routes {
        let Some(dev) = cfg.interfaces.iter().position(|i| i.name == r.dev) else { continue };
        let len = r.prefix.prefix_len();
        match (r.prefix.network(), r.via) {
            (IpAddr::V4(p), via) => {
                let via = match via {
                    Some(IpAddr::V4(v)) => Some(u32::from(v)),
                    _ => None,
                };
                v4.push((u32::from(p), len, dev as u16, via));
            }
            (IpAddr::V6(p), via) => {
                let via = match via {
                    Some(IpAddr::V6(v)) => Some(u128::from(v)),
                    _ => None,
                };
                v6.push((u128::from(p), len, dev as u16, via));
            }
        }
    }
    (v4, v6)
}
