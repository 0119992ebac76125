//! Building snapshots from configuration (Control side of the RCU swap).
//!
//! Runtime state (service and dest counters) is looked up in the previous
//! snapshot by key, so a reload or an rvsadm edit keeps counters and
//! connection counts of everything that did not change.
//!
//! Both families go in: IPv6 interface addresses and routes, and IPv6
//! services (keyed by VIP, with their IPv6 LIPs); what crosses families
//! was refused before (`ServiceConf::refuse_unwired_families`).

use rvs_conf::{Config, ServiceConf, ServiceKey};
use rvs_dataplane::snapshot::{from_conf, Iface, Service, ServiceTable, Snapshot, TimeoutSet};
use std::collections::HashMap;

/// Interfaces as configured plus what the ports told us (MAC, port id).
pub fn ifaces(cfg: &Config, port_ids: &[u16], macs: &[[u8; 6]]) -> Vec<Iface> {
    cfg.interfaces
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (addrs, addrs6) = from_conf::iface_addrs(c);
            Iface {
                name: c.name.clone(),
                port_id: port_ids[i],
                mac: macs[i],
                addrs,
                addrs6,
                mtu: c.mtu,
                rss: None,
                kernel: None,
            }
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
    let (routes, routes6) = from_conf::static_routes(cfg);
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
    let mut snap = Snapshot::new(generation, workers, ifaces, &routes)
        .with_routes6(&routes6)
        .with_services(ServiceTable::new(list));
    snap.timeouts =
        TimeoutSet { tcp: cfg.conn.tcp_timeout, tcpfin: cfg.conn.tcpfin_timeout, udp: cfg.conn.udp_timeout };
    snap.conn_reuse_mode = cfg.conn.conn_reuse_mode;
    snap.expire_nodest_conn = cfg.conn.expire_nodest_conn;
    snap.expire_quiescent_template = cfg.conn.expire_quiescent_template;
    snap.sloppy_tcp = cfg.conn.sloppy_tcp;
    // `snap.sync` is what the running daemons need: Control sets it.
    snap
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_conf::{DestConf, FwdMethod, Proto};
    use rvs_dataplane::snapshot::class;
    use std::net::{IpAddr, Ipv6Addr};

    fn a6(s: &str) -> u128 {
        u128::from(s.parse::<Ipv6Addr>().unwrap())
    }

    const CFG: &str = "
interfaces:
  - { name: client, device: net_null0, addresses: [172.25.254.100/24, 2001:db8:1::100/64] }
  - { name: server, device: net_null1, addresses: [192.168.0.100/24, 2001:db8:2::100/64] }
routes:
  - { prefix: 10.0.0.0/8, via: 192.168.0.1, dev: server }
  - { prefix: 2001:db8:100::/48, via: 2001:db8:2::1, dev: server }
services:
  - { vip: 172.25.254.100, port: 80, scheduler: rr, dests: [ { addr: 192.168.0.10, fwd: nat } ] }
";

    #[test]
    fn both_families_reach_the_snapshot() {
        let cfg = rvs_conf::load_str("t", CFG).unwrap();
        // An IPv6 FULLNAT service as the engine will get it once the gate
        // is gone (built here without the gate).
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut v6 = ServiceConf::new(ServiceKey::Inet { proto: Proto::Tcp, addr: ip("2001:db8:1::80"), port: 80 });
        v6.laddrs = vec![ip("2001:db8:2::101")];
        v6.dests = vec![DestConf::new(ip("2001:db8:2::10"), 8080, FwdMethod::FullNat, 1)];
        v6.validate().unwrap();
        let mut services = cfg.services.clone();
        services.push(v6);
        let snap = build(1, &cfg, &services, ifaces(&cfg, &[0, 1], &[[2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]]), None);
        assert_eq!(snap.ifaces[1].addrs, vec![(0xc0a8_0064, 24)]);
        assert_eq!(snap.ifaces[1].addrs6, vec![(a6("2001:db8:2::100"), 64)]);
        assert_eq!(snap.routes.lookup(0x0a01_0203), Some((1, 0xc0a8_0001)));
        assert_eq!(snap.routes6.lookup(a6("2001:db8:100::7")), Some((1, a6("2001:db8:2::1"))));
        assert_eq!(snap.routes6.lookup(a6("2001:db8:1::7")), Some((0, a6("2001:db8:1::7"))));
        assert_eq!(snap.services.lookup(6, 0xac19_fe64, 80), Some(0));
        assert_eq!(snap.services.lookup6(6, a6("2001:db8:1::80"), 80), Some(1));
        assert_eq!(snap.services.list[1].laddrs6, vec![a6("2001:db8:2::101")]);
        assert_eq!(snap.class6(a6("2001:db8:2::101")), class::LIP);
        assert_eq!(snap.class6(a6("2001:db8:1::100")), class::LOCAL);
        assert!(snap.answers_nd_for(0, a6("2001:db8:1::80")));
        // A rebuild keeps the IPv6 service's runtime state, by key.
        let again = build(2, &cfg, &services, snap.ifaces.clone(), Some(&snap));
        assert!(std::sync::Arc::ptr_eq(&again.services.list[1].rt, &snap.services.list[1].rt));
    }
}
