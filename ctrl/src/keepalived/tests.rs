//! Fixture-driven tests: each keepalived.conf in ctrl/tests/keepalived is
//! translated, the YAML loaded back with rvs's loader, and the services
//! and warnings checked.

use super::*;
use rvs_conf::{CheckKind, FwdMethod, Proto, SchedKind, ServiceConf, ServiceKey, TunType};
use std::net::IpAddr;

const DR_TCP: &str = include_str!("../../tests/keepalived/dr_tcp.conf");
const NAT_HTTP: &str = include_str!("../../tests/keepalived/nat_http.conf");
const GROUPS: &str = include_str!("../../tests/keepalived/groups.conf");
const SORRY: &str = include_str!("../../tests/keepalived/sorry_quorum.conf");
const BROKEN: &str = include_str!("../../tests/keepalived/broken.conf");

/// The import, its services as rvsd loads them, and its warnings.
fn run(file: &str, text: &str) -> (Import, Vec<ServiceConf>) {
    let imp = import(text, file).unwrap_or_else(|e| panic!("{e}"));
    let cfg = rvs_conf::load_str(file, &format!("{}{}", out::CHECK_HEADER, imp.yaml))
        .unwrap_or_else(|e| panic!("{e}\n{}", imp.yaml));
    (imp, cfg.services)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn inet(proto: Proto, a: &str, port: u16) -> ServiceKey {
    ServiceKey::Inet { proto, addr: ip(a), port }
}

fn warned(imp: &Import, needle: &str) -> bool {
    imp.warnings.iter().any(|w| w.contains(needle))
}

#[test]
fn dr_with_tcp_checks() {
    let (imp, s) = run("dr.conf", DR_TCP);
    assert_eq!((s.len(), imp.translated), (1, 1), "{}", imp.yaml);
    let svc = &s[0];
    assert_eq!(svc.key, inet(Proto::Tcp, "192.168.200.100", 80));
    assert_eq!(svc.scheduler, SchedKind::Wrr);
    assert_eq!(
        svc.dests.iter().map(|d| (d.addr, d.weight, d.fwd)).collect::<Vec<_>>(),
        [(ip("192.168.200.11"), 3, FwdMethod::Dr), (ip("192.168.200.12"), 1, FwdMethod::Dr)]
    );
    // The same check on every dest is the service's; keepalived's values.
    let h = svc.health.as_ref().expect("service health");
    assert!(svc.dests.iter().all(|d| d.health.is_none()));
    assert_eq!((h.kind, h.interval.0, h.timeout.0, h.fall, h.rise), (CheckKind::Tcp, 6000, 3000, 3, 1));
    assert!(!h.inhibit_on_failure, "keepalived removes a failed dest");
    assert_eq!(h.port, 80, "keepalived checks the real server's port");
    assert!(svc.dests.iter().all(|d| d.port == 0), "DR keeps the service port");
    // One warning per skipped block, each with FILE:LINE.
    assert!(warned(&imp, "dr.conf:3: warning: 'global_defs' skipped"), "{:?}", imp.warnings);
    assert!(warned(&imp, "dr.conf:10: warning: 'vrrp_instance' skipped: rvs does not do VRRP"));
    assert!(warned(&imp, "dr.conf:32: warning: delay_before_retry is not translated"));
    assert_eq!(imp.warnings.len(), 4, "{:?}", imp.warnings);
    assert!(imp.yaml.starts_with("# rvs services translated from dr.conf"), "{}", imp.yaml);
    assert!(imp.yaml.contains("# dr.conf:21: virtual_server 192.168.200.100 80\n"), "{}", imp.yaml);
}

#[test]
fn nat_http_and_ssl() {
    let (imp, s) = run("nat.conf", NAT_HTTP);
    assert_eq!(s.len(), 2, "{}", imp.yaml);
    let web = &s[0];
    assert_eq!((web.scheduler, web.persistent), (SchedKind::Rr, None));
    assert!(web.health.is_none(), "the two checks differ: per dest");
    let (a, b) = (web.dests[0].health.as_ref().unwrap(), web.dests[1].health.as_ref().unwrap());
    assert_eq!(
        (web.dests[0].port, web.dests[0].fwd, web.dests[0].upper, web.dests[0].lower),
        (8080, FwdMethod::Nat, 1000, 800)
    );
    assert_eq!(a.kind, CheckKind::Http);
    assert_eq!((a.path.as_deref(), a.host.as_deref()), (Some("/health"), Some("www.example.com")));
    assert_eq!(a.digest.as_deref(), Some("9b3a0c85a887a256d6939da88aabd8cd"));
    assert_eq!(a.status, [200, 201, 202, 203, 204, 301]);
    assert_eq!((a.fall, a.timeout.0, a.interval.0, a.inhibit_on_failure), (4, 2000, 10_000, true));
    assert_eq!((b.fall, b.inhibit_on_failure), (4, false));
    assert!(warned(&imp, "nat.conf:20: warning: only the first url is checked"), "{:?}", imp.warnings);
    assert!(warned(&imp, "nat.conf:31: warning: notify_down: rvs runs no notify scripts"));
    let tls = &s[1];
    assert_eq!(tls.persistent, Some(600));
    assert_eq!(tls.netmask, ip("255.255.255.0"));
    let h = tls.health.as_ref().expect("same SSL_GET on both: the service's");
    assert_eq!(
        (h.kind, h.path.as_deref(), h.host.as_deref(), h.port),
        (CheckKind::Https, Some("/ping"), Some("secure.example.com"), 8443)
    );
    assert!(warned(&imp, "'enable_sni' in SSL_GET is not translated"));
}

#[test]
fn groups_expand_and_fwmarks_are_commented_out() {
    let (imp, s) = run("groups.conf", GROUPS);
    assert_eq!(s.len(), 2, "{}", imp.yaml);
    assert_eq!(s[0].key, inet(Proto::Tcp, "192.168.50.10", 80));
    assert_eq!(s[1].key, inet(Proto::Tcp, "192.168.50.11", 80));
    for svc in &s {
        assert_eq!((svc.scheduler, svc.sched_flags.0), (SchedKind::Sh, 3));
        assert_eq!(svc.dests.len(), 2);
        assert_eq!(svc.health.as_ref().map(|h| (h.kind, h.port, h.interval.0)), Some((CheckKind::Tcp, 8080, 3000)));
    }
    // Two fwmark services, written but commented out until 'match' is given.
    assert_eq!(imp.translated, 4);
    assert!(warned(&imp, "groups.conf:30: warning: virtual_server fwmark 5: fwmark 5 is written commented out"));
    assert!(warned(&imp, "groups.conf:42: warning: virtual_server group MARKS: fwmark 7"), "{:?}", imp.warnings);
    assert!(imp.yaml.contains("#- fwmark: 5\n"), "{}", imp.yaml);
    assert!(imp.yaml.contains("#  match: []  # TODO"), "{}", imp.yaml);
    // Uncommented with a match, the fwmark services load.
    let fixed: String = imp
        .yaml
        .lines()
        .map(|l| {
            let l = l.strip_prefix('#').filter(|l| l.starts_with('-') || l.starts_with("  ")).unwrap_or(l);
            let l = if l.starts_with("  match: []") { "  match: [{ proto: tcp, vip: 192.168.50.10 }]" } else { l };
            format!("{l}\n")
        })
        .collect();
    let cfg =
        rvs_conf::load_str("g", &format!("{}{fixed}", out::CHECK_HEADER)).unwrap_or_else(|e| panic!("{e}\n{fixed}"));
    assert_eq!(cfg.services.len(), 4, "{fixed}");
    let fw5 = cfg.services.iter().find(|s| s.key == ServiceKey::Fwmark(5)).unwrap();
    assert_eq!(
        (fw5.persistent, fw5.dests[0].fwd, fw5.health.as_ref().map(|h| h.kind)),
        (Some(300), FwdMethod::Dr, Some(CheckKind::Icmp))
    );
}

#[test]
fn sorry_quorum_misc_and_untranslatable_checks() {
    let (imp, s) = run("sq.conf", SORRY);
    assert_eq!(s.len(), 2, "{}", imp.yaml);
    assert_eq!(s[1].key, inet(Proto::Sctp, "10.20.0.6", 5060), "protocol SCTP");
    let svc = &s[0];
    assert_eq!(svc.key, inet(Proto::Udp, "10.20.0.5", 53));
    assert_eq!((svc.quorum, svc.hysteresis), (3, 1));
    let sorry = svc.sorry_server.as_ref().unwrap();
    assert_eq!((sorry.addr, sorry.port, sorry.fwd), (ip("10.20.1.99"), 53, Some(FwdMethod::Nat)));
    let misc = svc.dests[0].health.as_ref().unwrap();
    assert_eq!(misc.kind, CheckKind::Exec);
    assert_eq!(
        (misc.command.as_deref(), misc.timeout.0, misc.fall),
        (Some("/usr/local/bin/check_dns 10.20.1.1"), 4000, 1)
    );
    assert!(misc.alpha, "alpha from the virtual server");
    assert!(svc.dests[1].health.is_none(), "DNS_CHECK: unchecked");
    let udp = svc.dests[2].health.as_ref().unwrap();
    assert_eq!((udp.kind, udp.send.as_deref(), udp.expect.as_deref()), (CheckKind::Udp, Some("ping"), Some("pong")));
    for w in [
        "sq.conf:10: warning: quorum_up: rvs runs no notify scripts",
        "sq.conf:12: warning: sorry_server_inhibit is not translated",
        "sq.conf:13: warning: ops (one-packet scheduling) is not translated",
        "sq.conf:20: warning: misc_dynamic is not translated",
        "sq.conf:25: warning: DNS_CHECK cannot be translated",
        "sq.conf:23: warning: real_server 10.20.1.2: no check rvs can run; it is not checked",
        "sq.conf:36: warning: PING_CHECK not used: rvs runs one check per dest",
    ] {
        assert!(warned(&imp, w), "{w} missing from {:#?}", imp.warnings);
    }
}

#[test]
fn syntax_errors_have_their_line() {
    assert_eq!(import(BROKEN, "b.conf").unwrap_err(), "b.conf:7: unbalanced '}': no block is open here");
    let e = import("virtual_server 10.0.0.1 80 {\n  real_server 10.0.1.1 80 {\n  }\n", "c.conf").unwrap_err();
    assert_eq!(e, "c.conf:1: the block opened on this line is never closed (missing '}')");
    assert!(import("x \"open\n", "q.conf").unwrap_err().starts_with("q.conf:1: unterminated"));
}

#[test]
fn small_cases() {
    // Port omitted: all ports, persistent by default (360 s); TUN with GUE.
    let (imp, s) = run(
        "s.conf",
        "virtual_server 10.1.0.1 {\n persistence_timeout\n lvs_method TUN type gue port 6080 nocsum\n \
         real_server 10.2.0.1 { weight 0 }\n}\ninclude /etc/keepalived/more.conf\n",
    );
    assert_eq!((s[0].key, s[0].persistent), (inet(Proto::Tcp, "10.1.0.1", 0), Some(360)));
    assert_eq!(
        (s[0].dests[0].fwd, s[0].dests[0].tun_type, s[0].dests[0].tun_port, s[0].dests[0].weight),
        (FwdMethod::Tun, TunType::Gue, 6080, 0)
    );
    assert!(warned(&imp, "s.conf:6: warning: 'include' skipped: include is not followed"), "{:?}", imp.warnings);
    // Granularity alone makes the service persistent, as in keepalived; a
    // prefix length for IPv6.
    let (_, s) = run("g.conf", "virtual_server 10.1.0.1 80 {\n persistence_granularity 255.255.0.0\n}\n");
    assert_eq!((s[0].persistent, s[0].netmask), (Some(360), ip("255.255.0.0")));
    // What rvs refuses is skipped with rvs's reason; nothing translated.
    let imp = import("virtual_server 10.1.0.1 80 {\n quorum 1\n hysteresis 2\n}\n", "h.conf").unwrap();
    assert_eq!(imp.translated, 0);
    assert!(
        warned(&imp, "h.conf:1: warning: virtual_server 10.1.0.1 80: rvs refuses TCP 10.1.0.1:80: hysteresis"),
        "{:?}",
        imp.warnings
    );
    assert!(imp.yaml.contains("services: []"));
    // Ranges in a group.
    let (_, s) = run("r.conf", "virtual_server_group G {\n 10.3.0.1-3 80\n}\nvirtual_server group G {\n}\n");
    assert_eq!(
        s.iter().map(|s| s.key).collect::<Vec<_>>(),
        [inet(Proto::Tcp, "10.3.0.1", 80), inet(Proto::Tcp, "10.3.0.2", 80), inet(Proto::Tcp, "10.3.0.3", 80)]
    );
}
