//! Turning runtime state into the views rvsadm prints.
//!
//! Counters are per-worker cells (one writer each, no shared atomics on
//! the packet path); a listing sums them here, on the Control side. The
//! snapshot is the source of the listing, not the model: it is what the
//! workers run, and its services carry the counters.

use crate::adm::view::{ConnView, DestView, ServiceView, Stats, TableView, WorkerView};
use crate::ctl::estimator::{EstKey, Estimator};
use rvs_conf::Proto;
use rvs_dataplane::addr::Addr;
use rvs_dataplane::conn::{Conn, HZ};
use rvs_dataplane::snapshot::{Service, Snapshot, SvcRt};
use rvs_dataplane::stats::WorkerStats;
use rvs_dataplane::svc::DestRt;

/// A service's totals, summed over workers.
pub fn svc_stats(rt: &SvcRt) -> Stats {
    Stats {
        conns: rt.sum(|c| &c.conns),
        inpkts: rt.sum(|c| &c.in_pkts),
        outpkts: rt.sum(|c| &c.out_pkts),
        inbytes: rt.sum(|c| &c.in_bytes),
        outbytes: rt.sum(|c| &c.out_bytes),
    }
}

/// A dest's totals, summed over workers.
pub fn dest_stats(rt: &DestRt) -> Stats {
    Stats {
        conns: rt.sum(|c| &c.conns),
        inpkts: rt.sum(|c| &c.in_pkts),
        outpkts: rt.sum(|c| &c.out_pkts),
        inbytes: rt.sum(|c| &c.in_bytes),
        outbytes: rt.sum(|c| &c.out_bytes),
    }
}

/// Every service's and dest's counters, keyed for the estimator.
pub fn samples(snap: &Snapshot) -> Vec<(EstKey, Stats)> {
    let mut out = Vec::new();
    for s in &snap.services.list {
        let k = s.conf.key;
        out.push((EstKey::Service(k), svc_stats(&s.rt)));
        for d in &s.dests {
            out.push((EstKey::Dest(k, d.addr, d.port), dest_stats(&d.rt)));
        }
    }
    out
}

/// `-L`: the table the workers run, with counters and rates.
pub fn table(snap: &Snapshot, est: &Estimator, size: u32) -> TableView {
    TableView { size, services: snap.services.list.iter().map(|s| service(s, est)).collect() }
}

fn service(s: &Service, est: &Estimator) -> ServiceView {
    let k = s.conf.key;
    let mut v = ServiceView::from_conf(&s.conf);
    v.stats = svc_stats(&s.rt);
    v.rate = est.rates(&EstKey::Service(k));
    // The snapshot's dests are built from `conf.dests` in order.
    for (dv, d) in v.dests.iter_mut().zip(&s.dests) {
        *dv = DestView {
            active: d.active(),
            inactive: d.inactive(),
            persist: d.rt.persist() as u32,
            stats: dest_stats(&d.rt),
            rate: est.rates(&EstKey::Dest(k, d.addr, d.port)),
            ..dv.clone()
        };
    }
    v
}

/// `-c`: one entry as ipvsadm shows it, of either family; `now` is the
/// worker's clock when it copied the entry.
pub fn conn<A: Addr>(c: &Conn<A>, now: u64) -> ConnView {
    let ip = |a: A| a.to_ip();
    ConnView {
        proto: match c.proto {
            6 => Some(Proto::Tcp),
            17 => Some(Proto::Udp),
            132 => Some(Proto::Sctp),
            _ => None,
        },
        expire_secs: (c.expires.saturating_sub(now) / HZ).min(u32::MAX as u64) as u32,
        state: c.state.name().to_string(),
        caddr: ip(c.caddr),
        cport: c.cport,
        vaddr: ip(c.vaddr),
        vport: c.vport,
        daddr: c.daddr_ip(),
        dport: c.dport,
    }
}

/// `--workers`: one worker's counters.
pub fn worker(id: usize, s: &WorkerStats) -> WorkerView {
    WorkerView {
        id,
        generation: s.generation.get(),
        rx_pkts: s.rx_pkts.get(),
        rx_bytes: s.rx_bytes.get(),
        tx_pkts: s.tx_pkts.get(),
        tx_bytes: s.tx_bytes.get(),
        redirect_in: s.redirect_in.get(),
        redirect_out: s.redirect_out.get(),
        arp_replies: s.arp_replies.get(),
        arp_requests: s.arp_requests.get(),
        arp_learned: s.arp_learned.get(),
        icmp_echo: s.icmp_echo.get(),
        icmp_err_sent: s.icmp_err_sent.get(),
        icmp_err_suppressed: s.icmp_err_suppressed.get(),
        frags_out: s.frags_out.get(),
        kernel_up: s.kernel_up.get(),
        kernel_down: s.kernel_down.get(),
        conns: s.conns.get(),
        conns_created: s.conns_created.get(),
        conns_expired: s.conns_expired.get(),
        polls: s.polls.get(),
        idle_polls: s.idle_polls.get(),
        busy_cycles: s.busy_cycles.get(),
        sync_queued: s.sync_queued.get(),
        sync_lost: s.sync_lost.get(),
        sync_installed: s.sync_installed.get(),
        sync_refused: s.sync_refused.get(),
        sync_promoted: s.sync_promoted.get(),
        // Every reason, zeros too: a reader can tell "none" from "absent".
        drops: rvs_dataplane::drop::DropReason::ALL.iter().map(|r| (r.name().to_string(), s.drops(*r))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_conf::{DestConf, FwdMethod, ServiceConf, ServiceKey};
    use rvs_dataplane::conn::State;
    use rvs_dataplane::drop::DropReason;
    use rvs_dataplane::snapshot::ServiceTable;
    use std::time::Duration;

    fn snap() -> Snapshot {
        let key = ServiceKey::Inet { proto: Proto::Tcp, addr: "10.0.0.100".parse().unwrap(), port: 80 };
        let mut c = ServiceConf::new(key);
        c.dests.push(DestConf::new("10.0.0.10".parse().unwrap(), 0, FwdMethod::Nat, 1));
        c.dests.push(DestConf::new("10.0.0.11".parse().unwrap(), 8080, FwdMethod::Nat, 2));
        let s = Service::build(&c, 2, None);
        Snapshot::new(1, 2, vec![], &[]).with_services(ServiceTable::new(vec![s]))
    }

    #[test]
    fn counters_are_summed_over_workers() {
        let snap = snap();
        let s = &snap.services.list[0];
        s.rt.cell(0).conns.add(2);
        s.rt.cell(1).conns.add(3);
        s.rt.cell(1).in_bytes.add(100);
        s.dests[1].rt.cell(0).active.add(1);
        s.dests[1].rt.cell(1).inactive.add(4);
        s.dests[1].rt.cell(1).out_pkts.add(9);
        let mut est = Estimator::default();
        est.sample(Duration::from_secs(2), samples(&snap));
        s.dests[1].rt.cell(0).conns.add(20);
        est.sample(Duration::from_secs(2), samples(&snap));
        let v = table(&snap, &est, 4096);
        assert_eq!(v.size, 4096);
        let sv = &v.services[0];
        assert_eq!((sv.stats.conns, sv.stats.inbytes), (5, 100));
        let d = &sv.dests[1];
        assert_eq!((d.conf.port, d.conf.weight, d.active, d.inactive), (8080, 2, 1, 4));
        assert_eq!(d.stats.outpkts, 9);
        // 20 conns in 2 s, first round of averaging: 10 / 4.
        assert_eq!(d.rate.cps, 3);
        assert_eq!(sv.dests[0].conf.port, 80, "port resolved from the service");
    }

    #[test]
    fn conn_entries_and_workers() {
        let mut c = Conn::new(
            FwdMethod::Nat,
            rvs_dataplane::conn::ConnKey::new(6, 0xac19_fec8, 40000, 0xac19_fe64, 80),
            0xc0a8_000a,
            80,
        );
        c.state = State::Established;
        c.expires = 1000 + 900 * HZ + HZ / 2;
        let v = conn(&c, 1000);
        assert_eq!((v.proto, v.expire_secs, v.state.as_str()), (Some(Proto::Tcp), 900, "ESTABLISHED"));
        assert_eq!(v.caddr.to_string(), "172.25.254.200");
        assert_eq!((v.daddr.to_string(), v.dport), ("192.168.0.10".into(), 80));
        c.expires = 10;
        assert_eq!(conn(&c, 1000).expire_secs, 0, "an overdue entry shows 0");
        // IPv6 entries list with IPv6 addresses (ipvsadm brackets them).
        let a6 = |s: &str| u128::from(s.parse::<std::net::Ipv6Addr>().unwrap());
        let k6 = rvs_dataplane::conn::ConnKey::of(17, a6("2001:db8::5"), 40000, a6("2001:db8::1"), 53);
        let v = conn(&Conn::new(FwdMethod::Nat, k6, a6("2001:db8::10"), 53), 0);
        assert_eq!((v.proto, v.caddr.to_string(), v.cport), (Some(Proto::Udp), "2001:db8::5".into(), 40000));
        assert_eq!((v.vaddr.to_string(), v.daddr.to_string()), ("2001:db8::1".into(), "2001:db8::10".into()));
        let s = WorkerStats::default();
        s.rx_pkts.add(7);
        s.generation.set(3);
        s.count_drop(DropReason::NoService);
        let w = worker(1, &s);
        assert_eq!((w.id, w.rx_pkts, w.generation), (1, 7, 3));
        assert_eq!(w.drops.get("no_service"), Some(&1));
    }
}
