//! Prometheus metrics (`metrics: { listen: ADDR }` in YAML): `GET
//! /metrics` on a small HTTP server of its own thread, in the OpenMetrics
//! text format of the official `prometheus-client` crate.
//!
//! Nothing is computed on a worker for this: each scrape reads the views
//! rvsadm reads (`-L --stats --rate`, `--workers`), built from the
//! counters the workers already keep, and renders them into a registry
//! made for that scrape (so a service or dest deleted since the last one
//! simply disappears, as in `ipvsadm -L`).
//!
//! Names follow Prometheus conventions: `rvs_` prefix, `_total` on
//! counters (added by the encoder), base units. Services and dests carry
//! the labels node_exporter's IPVS collector uses (`proto`,
//! `local_address`, `local_port`, `local_mark`, and `remote_address`,
//! `remote_port` for a dest), so dashboards written for kernel IPVS map
//! over.

use crate::adm::view::{Rates, Stats, TableView, WorkersView};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use rvs_conf::{FwdMethod, ServiceKey};
use std::sync::atomic::AtomicU64;
use std::time::SystemTime;

/// The OpenMetrics text format's content type.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What one scrape shows: the views, and what only Control knows.
pub struct Sample {
    pub table: TableView,
    pub workers: WorkersView,
    /// Connection table capacity of each worker (IPv4, IPv6).
    pub capacity: (u64, u64),
    /// When the running configuration was last published.
    pub last_change: SystemTime,
    /// With an `announce:` section: every VIP of the table, and whether
    /// BIRD announces it now.
    pub announced: Option<Vec<(std::net::IpAddr, bool)>>,
    /// A drain is under way.
    pub draining: bool,
}

type Labels = Vec<(String, String)>;
type Counters = Family<Labels, Counter>;
type Gauges = Family<Labels, Gauge<f64, AtomicU64>>;

/// A registry under construction: families by name, registered on first
/// use, so each metric is declared once with its help text.
struct Builder {
    reg: Registry,
    counters: Vec<(&'static str, Counters)>,
    gauges: Vec<(&'static str, Gauges)>,
}

impl Builder {
    fn counter(&mut self, name: &'static str, help: &str, labels: &Labels, v: u64) {
        let f = match self.counters.iter().find(|(n, _)| *n == name) {
            Some((_, f)) => f.clone(),
            None => {
                let f = Counters::default();
                self.reg.register(name, help, f.clone());
                self.counters.push((name, f.clone()));
                f
            }
        };
        f.get_or_create(labels).inc_by(v);
    }

    fn gauge(&mut self, name: &'static str, help: &str, labels: &Labels, v: f64) {
        let f = match self.gauges.iter().find(|(n, _)| *n == name) {
            Some((_, f)) => f.clone(),
            None => {
                let f = Gauges::default();
                self.reg.register(name, help, f.clone());
                self.gauges.push((name, f.clone()));
                f
            }
        };
        f.get_or_create(labels).set(v);
    }
}

fn labels(pairs: &[(&str, String)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// A service's labels, as node_exporter's IPVS collector names them.
fn service_labels(k: &ServiceKey) -> Vec<(&'static str, String)> {
    match k {
        ServiceKey::Inet { proto, addr, port } => vec![
            ("proto", proto.name().to_string()),
            ("local_address", addr.to_string()),
            ("local_port", port.to_string()),
            ("local_mark", String::new()),
        ],
        ServiceKey::Fwmark(m) => vec![
            ("proto", "FWM".to_string()),
            ("local_address", String::new()),
            ("local_port", "0".to_string()),
            ("local_mark", m.to_string()),
        ],
    }
}

/// Counters and rates of a service or dest, under `prefix`.
fn stats_and_rates(b: &mut Builder, which: Which, l: &Labels, s: &Stats, r: &Rates) {
    let (conns, pin, pout, bin, bout, rc, rpin, rpout, rbin, rbout) = match which {
        Which::Service => (
            "rvs_service_connections",
            "rvs_service_packets_in",
            "rvs_service_packets_out",
            "rvs_service_bytes_in",
            "rvs_service_bytes_out",
            "rvs_service_rate_connections_per_second",
            "rvs_service_rate_packets_in_per_second",
            "rvs_service_rate_packets_out_per_second",
            "rvs_service_rate_bytes_in_per_second",
            "rvs_service_rate_bytes_out_per_second",
        ),
        Which::Dest => (
            "rvs_dest_connections",
            "rvs_dest_packets_in",
            "rvs_dest_packets_out",
            "rvs_dest_bytes_in",
            "rvs_dest_bytes_out",
            "rvs_dest_rate_connections_per_second",
            "rvs_dest_rate_packets_in_per_second",
            "rvs_dest_rate_packets_out_per_second",
            "rvs_dest_rate_bytes_in_per_second",
            "rvs_dest_rate_bytes_out_per_second",
        ),
    };
    b.counter(conns, "Connections scheduled (ipvsadm --stats Conns).", l, s.conns);
    b.counter(pin, "Packets client to server.", l, s.inpkts);
    b.counter(pout, "Packets server to client (NAT, FULLNAT).", l, s.outpkts);
    b.counter(bin, "Bytes client to server.", l, s.inbytes);
    b.counter(bout, "Bytes server to client (NAT, FULLNAT).", l, s.outbytes);
    b.gauge(rc, "IPVS rate estimator: connections per second (ipvsadm --rate CPS).", l, r.cps as f64);
    b.gauge(rpin, "IPVS rate estimator: packets per second in.", l, r.inpps as f64);
    b.gauge(rpout, "IPVS rate estimator: packets per second out.", l, r.outpps as f64);
    b.gauge(rbin, "IPVS rate estimator: bytes per second in.", l, r.inbps as f64);
    b.gauge(rbout, "IPVS rate estimator: bytes per second out.", l, r.outbps as f64);
}

/// The forwarding method as the YAML names it.
fn fwd_name(f: FwdMethod) -> &'static str {
    match f {
        FwdMethod::Nat => "nat",
        FwdMethod::Dr => "dr",
        FwdMethod::Tun => "tun",
        FwdMethod::FullNat => "fullnat",
    }
}

#[derive(Clone, Copy)]
enum Which {
    Service,
    Dest,
}

/// The text of one scrape.
/// A checked dest's verdict and check counters (the sorry server has no
/// checks: only its `up`).
fn health(b: &mut Builder, l: &Labels, h: &crate::adm::view::HealthView) {
    let up = h.state != "down";
    b.gauge(
        "rvs_dest_health_up",
        "1 while the health check says the dest is up (sorry server: 1).",
        l,
        f64::from(u8::from(up)),
    );
    if h.state != "sorry" {
        b.counter("rvs_dest_health_checks", "Health checks run.", l, h.checks);
        b.counter("rvs_dest_health_failures", "Health checks that failed.", l, h.failures);
        b.counter("rvs_dest_health_transitions", "Up/down flips.", l, h.transitions);
    }
}

pub fn render(s: &Sample) -> String {
    let mut b = Builder { reg: Registry::default(), counters: Vec::new(), gauges: Vec::new() };
    for svc in &s.table.services {
        let sl = service_labels(&svc.conf.key);
        let l = labels(&sl);
        stats_and_rates(&mut b, Which::Service, &l, &svc.stats, &svc.rate);
        b.gauge("rvs_service_dests", "Real servers of the service.", &l, svc.dests.len() as f64);
        for d in &svc.dests {
            let mut dl = sl.clone();
            dl.push(("remote_address", d.conf.addr.to_string()));
            dl.push(("remote_port", d.conf.port.to_string()));
            dl.push(("forward", fwd_name(d.conf.fwd).to_string()));
            let l = labels(&dl);
            stats_and_rates(&mut b, Which::Dest, &l, &d.stats, &d.rate);
            b.gauge("rvs_dest_connections_active", "ActiveConn (ipvsadm -L).", &l, f64::from(d.active));
            b.gauge("rvs_dest_connections_inactive", "InActConn (ipvsadm -L).", &l, f64::from(d.inactive));
            b.gauge(
                "rvs_dest_connections_persistent",
                "PersistConn: templates pinning clients.",
                &l,
                f64::from(d.persist),
            );
            b.gauge(
                "rvs_dest_weight",
                "Weight the workers use (0: quiesced, by rvsadm or a failed health check).",
                &l,
                f64::from(d.conf.weight),
            );
            if let Some(h) = &d.health {
                health(&mut b, &l, h);
            }
        }
        for d in &svc.removed {
            let mut dl = sl.clone();
            dl.push(("remote_address", d.conf.addr.to_string()));
            dl.push(("remote_port", d.conf.port.to_string()));
            dl.push(("forward", fwd_name(d.conf.fwd).to_string()));
            if let Some(h) = &d.health {
                health(&mut b, &labels(&dl), h);
            }
        }
        if let Some(up) = svc.quorum_up {
            b.gauge(
                "rvs_service_quorum_up",
                "1 while the service's healthy weight holds its quorum.",
                &l,
                f64::from(u8::from(up)),
            );
        }
    }
    let (cap4, cap6) = s.capacity;
    for w in &s.workers.workers {
        let l = labels(&[("worker", w.id.to_string())]);
        b.counter("rvs_worker_rx_packets", "Packets received by the worker.", &l, w.rx_pkts);
        b.counter("rvs_worker_rx_bytes", "Bytes received by the worker.", &l, w.rx_bytes);
        b.counter("rvs_worker_tx_packets", "Packets transmitted by the worker.", &l, w.tx_pkts);
        b.counter("rvs_worker_tx_bytes", "Bytes transmitted by the worker.", &l, w.tx_bytes);
        b.counter("rvs_worker_polls", "Rx polls.", &l, w.polls);
        b.counter("rvs_worker_idle_polls", "Rx polls that found nothing.", &l, w.idle_polls);
        b.counter("rvs_worker_busy_cycles", "TSC cycles spent in polls that found work.", &l, w.busy_cycles);
        b.counter("rvs_worker_redirect_in", "Packets handed to this worker by others.", &l, w.redirect_in);
        b.counter("rvs_worker_redirect_out", "Packets this worker handed to others.", &l, w.redirect_out);
        b.counter("rvs_worker_kernel_up", "Packets passed up to the kernel (exception path).", &l, w.kernel_up);
        b.counter("rvs_worker_kernel_down", "Packets the kernel sent out through the port.", &l, w.kernel_down);
        b.counter("rvs_worker_connections_created", "Connections created.", &l, w.conns_created);
        b.counter("rvs_worker_connections_expired", "Connections expired.", &l, w.conns_expired);
        b.counter("rvs_worker_sync_queued", "Connections queued for the sync daemon (master).", &l, w.sync_queued);
        b.counter("rvs_worker_sync_lost", "Connections not synced: the sync ring was full.", &l, w.sync_lost);
        b.counter("rvs_worker_sync_installed", "Synced connections installed (backup).", &l, w.sync_installed);
        b.counter(
            "rvs_worker_sync_refused",
            "Synced connections refused (no service or dest, table full).",
            &l,
            w.sync_refused,
        );
        b.counter(
            "rvs_worker_sync_promoted",
            "Synced connections promoted by their first packet here.",
            &l,
            w.sync_promoted,
        );
        b.gauge("rvs_worker_connections", "Entries in the worker's connection tables.", &l, w.conns as f64);
        b.gauge(
            "rvs_worker_connection_capacity",
            "Capacity of the worker's IPv4 and IPv6 tables.",
            &l,
            (cap4 + cap6) as f64,
        );
        b.gauge("rvs_worker_generation", "Configuration generation the worker runs.", &l, w.generation as f64);
        for (reason, v) in &w.drops {
            let l = labels(&[("worker", w.id.to_string()), ("reason", reason.clone())]);
            b.counter("rvs_worker_drops", "Packets dropped, by reason.", &l, *v);
        }
    }
    for p in &s.workers.ports {
        let l = labels(&[("port", p.name.clone())]);
        b.counter("rvs_port_rx_packets", "Packets received (DPDK ipackets).", &l, p.ipackets);
        b.counter("rvs_port_tx_packets", "Packets sent (DPDK opackets).", &l, p.opackets);
        b.counter("rvs_port_rx_bytes", "Bytes received (DPDK ibytes).", &l, p.ibytes);
        b.counter("rvs_port_tx_bytes", "Bytes sent (DPDK obytes).", &l, p.obytes);
        b.counter("rvs_port_rx_missed", "Packets the NIC dropped for lack of rx descriptors (imissed).", &l, p.imissed);
        b.counter("rvs_port_rx_errors", "Erroneous packets received (ierrors).", &l, p.ierrors);
        b.counter("rvs_port_tx_errors", "Failed transmissions (oerrors).", &l, p.oerrors);
        b.counter("rvs_port_rx_nombuf", "Rx allocation failures (rx_nombuf).", &l, p.rx_nombuf);
        b.gauge("rvs_port_link_up", "1 when the link is up.", &l, if p.link_up { 1.0 } else { 0.0 });
    }
    let none = Labels::new();
    let m = &s.workers.mempool;
    b.gauge("rvs_mempool_free_mbufs", "Free packet buffers now.", &none, m.free as f64);
    b.gauge("rvs_mempool_baseline_mbufs", "Free packet buffers after boot (leak check).", &none, m.baseline as f64);
    b.gauge("rvs_mempool_size_mbufs", "Packet buffers in the pool.", &none, m.size as f64);
    b.gauge("rvs_config_generation", "Generation of the published configuration.", &none, s.workers.generation as f64);
    let t = s.last_change.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    b.gauge("rvs_config_last_change_timestamp_seconds", "When the configuration was last published.", &none, t);
    if let Some(vips) = &s.announced {
        for (vip, up) in vips {
            let l = labels(&[("vip", vip.to_string())]);
            b.gauge(
                "rvs_vip_announced",
                "1 while BIRD announces the VIP for this director.",
                &l,
                f64::from(u8::from(*up)),
            );
        }
    }
    b.gauge("rvs_draining", "1 once a drain began (routes withdrawn).", &none, f64::from(u8::from(s.draining)));
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = encode(&mut out, &b.reg);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adm::view::{DestView, MempoolView, PortView, ServiceView, WorkerView};
    use rvs_conf::{DestConf, Proto, ServiceConf};
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn sample() -> Sample {
        let key = ServiceKey::Inet { proto: Proto::Tcp, addr: "10.0.0.1".parse().unwrap(), port: 80 };
        let mut svc = ServiceView::from_conf(&ServiceConf::new(key));
        svc.stats = Stats { conns: 7, inpkts: 70, outpkts: 60, inbytes: 7000, outbytes: 6000 };
        let mut d = DestView::new(DestConf::new("192.168.0.10".parse().unwrap(), 8080, FwdMethod::Nat, 3));
        d.stats.inpkts = 41;
        d.active = 2;
        d.rate.inpps = 5;
        d.health = Some(crate::adm::view::HealthView {
            state: "down".into(),
            check: "http".into(),
            last_failure: Some("refused".into()),
            since_secs: 3,
            checks: 12,
            failures: 2,
            transitions: 1,
            pending: 0,
        });
        svc.dests.push(d);
        svc.quorum_up = Some(false);
        let mut fw = ServiceView::from_conf(&ServiceConf::new(ServiceKey::Fwmark(9)));
        fw.stats.conns = 1;
        let w = WorkerView {
            id: 0,
            rx_pkts: 100,
            kernel_up: 6,
            sync_promoted: 4,
            drops: BTreeMap::from([("no_service".into(), 3)]),
            ..Default::default()
        };
        Sample {
            table: TableView { size: 4096, services: vec![svc, fw] },
            workers: WorkersView {
                generation: 4,
                workers: vec![w],
                mempool: MempoolView { free: 10, baseline: 10, size: 16 },
                ports: vec![PortView { name: "client".into(), ipackets: 9, link_up: true, ..Default::default() }],
            },
            capacity: (4096, 1024),
            last_change: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            announced: Some(vec![("10.0.0.1".parse().unwrap(), true), ("10.0.0.2".parse().unwrap(), false)]),
            draining: false,
        }
    }

    /// The value of the sample line that starts with `series` (name and
    /// labels as rendered).
    fn value(text: &str, series: &str) -> f64 {
        let line = text.lines().find(|l| l.starts_with(series)).unwrap_or_else(|| panic!("{series} missing:\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    }

    #[test]
    fn renders_services_dests_workers_ports_and_pool_in_openmetrics() {
        let t = render(&sample());
        let svc = "proto=\"TCP\",local_address=\"10.0.0.1\",local_port=\"80\",local_mark=\"\"";
        assert_eq!(value(&t, &format!("rvs_service_packets_in_total{{{svc}}}")), 70.0);
        assert_eq!(value(&t, &format!("rvs_service_connections_total{{{svc}}}")), 7.0);
        let dest = format!("{svc},remote_address=\"192.168.0.10\",remote_port=\"8080\",forward=\"nat\"");
        assert_eq!(value(&t, &format!("rvs_dest_packets_in_total{{{dest}}}")), 41.0);
        assert_eq!(value(&t, &format!("rvs_dest_connections_active{{{dest}}}")), 2.0);
        assert_eq!(value(&t, &format!("rvs_dest_rate_packets_in_per_second{{{dest}}}")), 5.0);
        assert_eq!(value(&t, &format!("rvs_dest_weight{{{dest}}}")), 3.0);
        assert_eq!(value(&t, &format!("rvs_dest_health_up{{{dest}}}")), 0.0);
        assert_eq!(value(&t, &format!("rvs_dest_health_failures_total{{{dest}}}")), 2.0);
        assert_eq!(value(&t, &format!("rvs_service_quorum_up{{{svc}}}")), 0.0);
        assert_eq!(value(&t, "rvs_worker_kernel_up_total{worker=\"0\"}"), 6.0);
        assert_eq!(value(&t, "rvs_worker_sync_promoted_total{worker=\"0\"}"), 4.0);
        assert_eq!(value(&t, "rvs_worker_sync_lost_total{worker=\"0\"}"), 0.0);
        let fwm = "proto=\"FWM\",local_address=\"\",local_port=\"0\",local_mark=\"9\"";
        assert_eq!(value(&t, &format!("rvs_service_connections_total{{{fwm}}}")), 1.0);
        assert_eq!(value(&t, "rvs_worker_rx_packets_total{worker=\"0\"}"), 100.0);
        assert_eq!(value(&t, "rvs_worker_drops_total{worker=\"0\",reason=\"no_service\"}"), 3.0);
        assert_eq!(value(&t, "rvs_worker_connection_capacity{worker=\"0\"}"), 5120.0);
        assert_eq!(value(&t, "rvs_port_rx_packets_total{port=\"client\"}"), 9.0);
        assert_eq!(value(&t, "rvs_mempool_size_mbufs "), 16.0);
        assert_eq!(value(&t, "rvs_config_generation "), 4.0);
        assert_eq!(value(&t, "rvs_vip_announced{vip=\"10.0.0.1\"}"), 1.0);
        assert_eq!(value(&t, "rvs_vip_announced{vip=\"10.0.0.2\"}"), 0.0);
        assert_eq!(value(&t, "rvs_draining "), 0.0);
        assert_eq!(value(&t, "rvs_config_last_change_timestamp_seconds "), 1.7e9);
        // One TYPE line per family, counters typed as such, and the end mark.
        assert_eq!(t.matches("# TYPE rvs_dest_packets_in counter").count(), 1, "{t}");
        assert!(t.trim_end().ends_with("# EOF"));
    }

    /// The Grafana dashboard shipped in docs/ queries only series this
    /// module renders (a renamed metric would leave a panel empty).
    #[test]
    fn the_grafana_dashboard_uses_only_rendered_metrics() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/grafana/rvs-director.json");
        let dash: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let text = render(&sample());
        let names: Vec<&str> =
            text.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split(['{', ' ']).next()).collect();
        let mut exprs: Vec<String> = Vec::new();
        for p in dash["panels"].as_array().unwrap() {
            exprs.extend(p["targets"].as_array().unwrap().iter().map(|t| t["expr"].as_str().unwrap().to_string()));
        }
        exprs
            .extend(dash["annotations"]["list"].as_array().unwrap().iter().map(|a| a["expr"].as_str().unwrap().into()));
        let mut used = 0;
        for e in &exprs {
            for (i, _) in e.match_indices("rvs_") {
                let name: String = e[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                assert!(names.contains(&name.as_str()), "dashboard query {e:?} uses {name}, which is not rendered");
                used += 1;
            }
        }
        assert!(used >= 15, "{used} metric references");
    }
}
