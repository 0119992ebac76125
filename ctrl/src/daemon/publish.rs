//! Building snapshots from configuration (Control side of the RCU swap).
//!
//! Runtime state (service and dest counters) is looked up in the previous
//! snapshot by key, so a reload or an rvsadm edit keeps counters and
//! connection counts of everything that did not change.

use rvs_conf::{Config, ServiceConf, ServiceKey};
use rvs_dataplane::snapshot::{Iface, Service, ServiceTable, Snapshot, TimeoutSet};
use std::collections::HashMap;
use std::net::IpAddr;

/// Interfaces as configured plus what the ports told us (MAC, port id).
pub fn ifaces(cfg: &Config, port_ids: &[u16], macs: &[[u8; 6]]) -> Vec<Iface> {
    cfg.interfaces
        .iter()
        .enumerate()
        .map(|(i, c)| Iface {
            name: c.name.clone(),
            port_id: port_ids[i],
            mac: macs[i],
            addrs: c
                .addresses
                .iter()
                .filter_map(|n| match n.addr() {
                    IpAddr::V4(a) => Some((u32::from(a), n.prefix_len())),
                    IpAddr::V6(_) => None,
                })
                .collect(),
            mtu: c.mtu,
            rss: None,
        })
        .collect()
}

/// Build a snapshot of `services` over the L3 config, reusing runtime
/// state from `prev`.
pub fn build(
    generation: u64,
    cfg: &Config,
    services: &[ServiceConf],
    ifaces: Vec<Iface>,
    prev: Option<&Snapshot>,
) -> Snapshot {
    let workers = cfg.workers.count as usize;
    let routes: Vec<(u32, u8, u16, Option<u32>)> = cfg
        .routes
        .iter()
        .filter_map(|r| {
            let dev = cfg.interfaces.iter().position(|i| i.name == r.dev)? as u16;
            let (IpAddr::V4(p), via) = (r.prefix.network(), r.via) else {
                return None;
            };
            let via = match via {
                Some(IpAddr::V4(v)) => Some(u32::from(v)),
                _ => None,
            };
            Some((u32::from(p), r.prefix.prefix_len(), dev, via))
        })
        .collect();
    // By key, so that republishing n services costs O(n), not O(n²): a
    // 10,000-service table is rebuilt on every rvsadm edit.
    let old_by_key: HashMap<ServiceKey, &Service> =
        prev.map(|p| p.services.list.iter().map(|o| (o.conf.key, o)).collect()).unwrap_or_default();
    let list = services
        .iter()
        .map(|s| {
            let old = old_by_key.get(&s.key).copied();
            Service::build(s, workers, old)
        })
        .collect();
    let mut snap = Snapshot::new(generation, workers, ifaces, &routes).with_services(ServiceTable::new(list));
    snap.timeouts =
        TimeoutSet { tcp: cfg.conn.tcp_timeout, tcpfin: cfg.conn.tcpfin_timeout, udp: cfg.conn.udp_timeout };
    snap.conn_reuse_mode = cfg.conn.conn_reuse_mode;
    snap.expire_nodest_conn = cfg.conn.expire_nodest_conn;
    snap.expire_quiescent_template = cfg.conn.expire_quiescent_template;
    snap
}
