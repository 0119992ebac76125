//! What the data path runs: the configured services with the health
//! checker's verdicts laid over them.
//!
//! The configuration (rvsadm's and the YAML file's) is never edited by a
//! check: `-S` and `--yaml` keep printing the weights the operator set.
//! Each snapshot is built from [`apply`] of that configuration and the
//! latest verdicts, so a dest that comes back gets exactly its
//! configured weight, and an `rvsadm -e -w` on a down dest takes effect
//! when it recovers.
//!
//! A down dest is quiesced (weight 0: its connections go on, it gets no
//! new ones) or, with `inhibit_on_failure: false`, left out of the
//! snapshot (its connections still go on: a connection entry holds its
//! dest, see `expire_nodest_conn`). A service whose healthy weight is
//! below its quorum is down; with a sorry server, the sorry server is
//! then its only weighted dest (the healthy ones are quiesced, as
//! keepalived takes them out while the sorry server serves).

use super::state::quorum_up;
use rvs_conf::{DestConf, ServiceConf, ServiceKey};
use std::collections::HashMap;
use std::net::IpAddr;

/// A checked dest: its service, address and resolved port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestId {
    pub svc: ServiceKey,
    pub addr: IpAddr,
    pub port: u16,
}

impl DestId {
    pub fn of(s: &ServiceConf, d: &DestConf) -> Self {
        DestId { svc: s.key, addr: d.addr, port: s.dest_port(d) }
    }
}

/// A service's quorum flipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumChange {
    pub svc: ServiceKey,
    pub up: bool,
    /// The healthy dests' weights, added up.
    pub weight: u64,
    pub quorum: u32,
    /// Whether the sorry server took over (or handed back).
    pub sorry: bool,
}

/// The services to publish and the quorum state that goes with them.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    pub services: Vec<ServiceConf>,
    /// Up/down of every service that is checked or has a sorry server.
    pub quorum: HashMap<ServiceKey, bool>,
    pub changes: Vec<QuorumChange>,
}

/// Whether dest `d` of `s` is healthy: unchecked dests always are, a
/// checked one the checker has no verdict for yet starts as its check
/// says (down with `alpha`), so a dest added by a reload gets no traffic
/// before its first checks when it asked for that.
pub fn healthy(s: &ServiceConf, d: &DestConf, up: &HashMap<DestId, bool>) -> bool {
    match s.check_of(d) {
        None => true,
        Some(c) => up.get(&DestId::of(s, d)).copied().unwrap_or(!c.alpha),
    }
}

/// See the module documentation. `prev` is the quorum state of the last
/// publication; a service seen for the first time is up when its healthy
/// weight reaches the quorum.
pub fn apply(services: &[ServiceConf], up: &HashMap<DestId, bool>, prev: &HashMap<ServiceKey, bool>) -> Effective {
    let mut out = Effective { services: Vec::with_capacity(services.len()), ..Effective::default() };
    for s in services {
        if !s.is_checked() && s.sorry_server.is_none() {
            out.services.push(s.clone());
            continue;
        }
        let ok: Vec<bool> = s.dests.iter().map(|d| healthy(s, d, up)).collect();
        let weight: u64 = s.dests.iter().zip(&ok).filter(|(_, &h)| h).map(|(d, _)| u64::from(d.weight)).sum();
        let was = prev.get(&s.key).copied();
        let now = match was {
            Some(p) => quorum_up(p, weight, s.quorum, s.hysteresis),
            None => weight > 0 && weight >= u64::from(s.quorum),
        };
        out.quorum.insert(s.key, now);
        if was.is_some_and(|p| p != now) {
            let sorry = s.sorry_server.is_some();
            out.changes.push(QuorumChange { svc: s.key, up: now, weight, quorum: s.quorum, sorry });
        }
        let sorry = if now { None } else { s.sorry_dest() };
        let mut e = s.clone();
        e.dests = s
            .dests
            .iter()
            .zip(&ok)
            .filter_map(|(d, &h)| {
                let inhibit = s.check_of(d).is_none_or(|c| c.inhibit_on_failure);
                match (h, sorry.is_some()) {
                    (true, false) => Some(d.clone()),
                    (true, true) => Some(DestConf { weight: 0, ..d.clone() }),
                    (false, _) if inhibit => Some(DestConf { weight: 0, ..d.clone() }),
                    (false, _) => None,
                }
            })
            .collect();
        e.dests.extend(sorry);
        out.services.push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "interfaces: [ { name: a, device: net_null0, addresses: [10.0.0.1/24] } ]\nservices:\n";

    fn services(yaml: &str) -> Vec<ServiceConf> {
        rvs_conf::load_str("t.yaml", &format!("{HEAD}{yaml}")).unwrap().services
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn verdicts(s: &ServiceConf, v: &[(&str, bool)]) -> HashMap<DestId, bool> {
        v.iter().map(|(a, u)| (DestId { svc: s.key, addr: ip(a), port: 80 }, *u)).collect()
    }

    fn weights(e: &ServiceConf) -> Vec<(String, u32)> {
        e.dests.iter().map(|d| (d.addr.to_string(), d.weight)).collect()
    }

    const TWO: &str = "  - { vip: 10.0.0.100, port: 80, health: { type: http }, \
        dests: [ { addr: 10.0.0.10, weight: 3 }, { addr: 10.0.0.20, weight: 2 } ] }\n";

    #[test]
    fn a_down_dest_is_quiesced_and_gets_its_weight_back() {
        let svc = services(TWO);
        let e = apply(&svc, &verdicts(&svc[0], &[("10.0.0.20", false)]), &HashMap::new());
        assert_eq!(weights(&e.services[0]), vec![("10.0.0.10".into(), 3), ("10.0.0.20".into(), 0)]);
        assert_eq!(e.quorum.get(&svc[0].key), Some(&true));
        let e = apply(&svc, &verdicts(&svc[0], &[("10.0.0.20", true)]), &e.quorum);
        assert_eq!(weights(&e.services[0]), vec![("10.0.0.10".into(), 3), ("10.0.0.20".into(), 2)]);
        assert!(e.changes.is_empty());
    }

    #[test]
    fn without_inhibit_a_down_dest_leaves_the_table() {
        let svc = services(
            "  - { vip: 10.0.0.100, port: 80, health: { type: tcp, inhibit_on_failure: false }, \
             dests: [ { addr: 10.0.0.10 }, { addr: 10.0.0.20 } ] }\n",
        );
        let e = apply(&svc, &verdicts(&svc[0], &[("10.0.0.10", false)]), &HashMap::new());
        assert_eq!(weights(&e.services[0]), vec![("10.0.0.20".into(), 1)]);
    }

    #[test]
    fn no_verdict_yet_follows_alpha_and_unchecked_dests_are_healthy() {
        let svc = services(
            "  - { vip: 10.0.0.100, port: 80, health: { type: tcp, alpha: true }, \
             dests: [ { addr: 10.0.0.10 }, { addr: 10.0.0.20, health: { type: none } } ] }\n",
        );
        let e = apply(&svc, &HashMap::new(), &HashMap::new());
        assert_eq!(weights(&e.services[0]), vec![("10.0.0.10".into(), 0), ("10.0.0.20".into(), 1)]);
    }

    #[test]
    fn the_sorry_server_takes_over_when_every_dest_is_down_and_hands_back() {
        let svc = services(
            "  - { vip: 10.0.0.100, port: 80, health: { type: http }, sorry_server: { addr: 10.0.0.30, port: 8080 }, \
             dests: [ { addr: 10.0.0.10 }, { addr: 10.0.0.20 } ] }\n",
        );
        let s = &svc[0];
        let up = apply(&svc, &HashMap::new(), &HashMap::new());
        assert!(up.quorum[&s.key]);
        let down = apply(&svc, &verdicts(s, &[("10.0.0.10", false), ("10.0.0.20", false)]), &up.quorum);
        assert_eq!(
            weights(&down.services[0]),
            vec![("10.0.0.10".into(), 0), ("10.0.0.20".into(), 0), ("10.0.0.30".into(), 1)]
        );
        assert_eq!(down.services[0].dests[2].port, 8080);
        assert_eq!(down.changes, vec![QuorumChange { svc: s.key, up: false, weight: 0, quorum: 1, sorry: true }]);
        let back = apply(&svc, &verdicts(s, &[("10.0.0.10", true), ("10.0.0.20", false)]), &down.quorum);
        assert_eq!(weights(&back.services[0]), vec![("10.0.0.10".into(), 1), ("10.0.0.20".into(), 0)]);
        assert_eq!(back.changes.len(), 1);
        assert!(back.changes[0].up);
    }

    #[test]
    fn below_the_quorum_the_healthy_dests_make_way_for_the_sorry_server() {
        let svc = services(
            "  - { vip: 10.0.0.100, port: 80, health: { type: tcp }, sorry_server: { addr: 10.0.0.30 }, quorum: 4, hysteresis: 1, \
             dests: [ { addr: 10.0.0.10, weight: 3 }, { addr: 10.0.0.20, weight: 2 } ] }\n",
        );
        let s = &svc[0];
        let up = apply(&svc, &HashMap::new(), &HashMap::new());
        assert!(up.quorum[&s.key], "5 >= 4");
        // 3 left: within the hysteresis (down below 4 - 1 = 3).
        let held = apply(&svc, &verdicts(s, &[("10.0.0.20", false)]), &up.quorum);
        assert!(held.quorum[&s.key] && held.changes.is_empty());
        // 2 left: down; the healthy 10.0.0.20 is quiesced.
        let down = apply(&svc, &verdicts(s, &[("10.0.0.10", false)]), &held.quorum);
        assert!(!down.quorum[&s.key]);
        assert_eq!(
            weights(&down.services[0]),
            vec![("10.0.0.10".into(), 0), ("10.0.0.20".into(), 0), ("10.0.0.30".into(), 1)]
        );
        // 3 is not enough to come back up (needs 4 + 1 = 5).
        let still = apply(&svc, &verdicts(s, &[("10.0.0.20", false)]), &down.quorum);
        assert!(!still.quorum[&s.key]);
        let back = apply(&svc, &HashMap::new(), &still.quorum);
        assert!(back.quorum[&s.key]);
        assert_eq!(weights(&back.services[0]).len(), 2);
    }

    #[test]
    fn unchecked_services_pass_through() {
        let svc = services("  - { vip: 10.0.0.100, port: 80, dests: [ { addr: 10.0.0.10 } ] }\n");
        let e = apply(&svc, &HashMap::new(), &HashMap::new());
        assert_eq!(e.services, svc);
        assert!(e.quorum.is_empty());
    }
}
