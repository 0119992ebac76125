//! The health checks' part of a listing: each dest's verdict, each
//! service's quorum, and the dests a failed check took out of the table.

use crate::adm::view::{DestView, HealthView, TableView};
use crate::health::overlay::DestId;
use crate::health::schedule::Status;
use rvs_conf::{ServiceConf, ServiceKey};
use std::collections::HashMap;

fn view(s: &Status, now_ms: u64) -> HealthView {
    let st = &s.state;
    HealthView {
        state: if st.up { "up" } else { "down" }.into(),
        check: s.job.check.kind.name().into(),
        last_failure: st.last_failure.as_ref().map(|f| f.to_string()),
        since_secs: now_ms.saturating_sub(st.since_ms) / 1000,
        checks: st.checks,
        failures: st.failures,
        transitions: st.transitions,
        pending: s.pending,
    }
}

fn sorry_view() -> HealthView {
    HealthView {
        state: "sorry".into(),
        check: "none".into(),
        last_failure: None,
        since_secs: 0,
        checks: 0,
        failures: 0,
        transitions: 0,
        pending: 0,
    }
}

/// Fill in `t` (built from the snapshot) from the configured services,
/// the checker's status (on its clock `now_ms`) and the quorum state.
pub fn decorate(
    t: &mut TableView,
    services: &[ServiceConf],
    status: &[Status],
    now_ms: u64,
    quorum: &HashMap<ServiceKey, bool>,
) {
    let by_id: HashMap<DestId, &Status> = status.iter().map(|s| (s.job.id, s)).collect();
    let conf: HashMap<ServiceKey, &ServiceConf> = services.iter().map(|s| (s.key, s)).collect();
    for sv in &mut t.services {
        let key = sv.conf.key;
        sv.quorum_up = quorum.get(&key).copied();
        let Some(c) = conf.get(&key) else { continue };
        let sorry = c.sorry_dest().map(|d| DestId::of(c, &d));
        for dv in &mut sv.dests {
            let id = DestId { svc: key, addr: dv.conf.addr, port: dv.conf.port };
            dv.health = if Some(id) == sorry { Some(sorry_view()) } else { by_id.get(&id).map(|s| view(s, now_ms)) };
        }
        for d in c.dests.iter().filter(|d| c.check_of(d).is_some()) {
            let id = DestId::of(c, d);
            if sv.dests.iter().any(|dv| dv.conf.addr == id.addr && dv.conf.port == id.port) {
                continue;
            }
            let mut v = DestView::new(rvs_conf::DestConf { port: id.port, weight: 0, ..d.clone() });
            v.health = by_id.get(&id).map(|s| view(s, now_ms));
            sv.removed.push(v);
        }
    }
}
