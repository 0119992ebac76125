//! Listings with names (no `-n`), with a table resolver in place of the
//! C library's: what ipvsadm's `addrport_to_anyname` prints, widths,
//! truncation and IPv6 text included; and the `-S` details that follow
//! ipvsadm's print code (scheduler flag names, no thresholds).

use crate::adm::cmd::{ListOpts, ListTarget, SaveOpts};
use crate::adm::format::{connections, list, save, ConnView, Numeric, TableView};
use crate::adm::names::Table;
use rvs_conf::{DestConf, FwdMethod, Proto, SchedFlags, SchedKind, ServiceConf, ServiceKey};

fn svc(proto: Proto, a: &str, port: u16) -> ServiceConf {
    ServiceConf::new(ServiceKey::Inet { proto, addr: a.parse().unwrap(), port })
}

fn dest(a: &str, port: u16) -> DestConf {
    DestConf::new(a.parse().unwrap(), port, FwdMethod::Nat, 1)
}

fn body(out: &str) -> Vec<String> {
    out.lines().skip(3).map(str::to_string).collect()
}

#[test]
fn listing_prints_names_and_numbers_with_n() {
    let mut t = svc(Proto::Tcp, "10.0.0.1", 80);
    t.dests = vec![dest("127.0.0.1", 22), dest("192.0.2.7", 8080)];
    let mut u = svc(Proto::Udp, "2001:db8::1", 53);
    u.dests = vec![dest("::1", 53), dest("::1.2.3.4", 53)];
    let mut f = ServiceConf::new(ServiceKey::Fwmark(7));
    f.dests = vec![dest("127.0.0.1", 80)];
    let model = [t, u, f];
    let v = TableView::from_model(4096, &model);
    let names = Table::sample();
    let out = list(&v, &ListOpts::default(), &names).unwrap();
    assert_eq!(
        body(&out),
        [
            "TCP  web1.example:http wlc",
            "  -> localhost:ssh                Masq    1      0          0         ",
            "  -> 192.0.2.7:8080               Masq    1      0          0         ",
            "UDP  [v6host.example]:domain wlc",
            // IPv6 keeps its brackets around a name; ::1.2.3.4 is
            // glibc's text, not Rust's ::102:304.
            "  -> [localhost]:domain           Masq    1      0          0         ",
            "  -> [::1.2.3.4]:domain           Masq    1      0          0         ",
            "FWM  7 wlc",
            // A fwmark service has protocol 0 in ipvsadm: numeric ports.
            "  -> localhost:80                 Masq    1      0          0         ",
        ]
    );
    // -n: no lookups, whatever resolver is given.
    let n = list(&v, &ListOpts { numeric: true, ..ListOpts::default() }, &names).unwrap();
    assert_eq!(n, list(&v, &ListOpts::default(), &Numeric).unwrap());
    assert!(n.contains("TCP  10.0.0.1:80 wlc\n") && n.contains("[::1.2.3.4]:53"), "{n}");
}

#[test]
fn long_names_are_cut_like_ipvsadm() {
    let mut t = svc(Proto::Tcp, "192.168.1.100", 443);
    t.dests = vec![dest("192.168.1.100", 443)];
    let v = TableView::from_model(1, &[t.clone()]);
    let names = Table::sample();
    let out = body(&list(&v, &ListOpts::default(), &names).unwrap());
    // The service column is cut at 33 bytes, the real server at 28.
    assert_eq!(out[0], "TCP  a-very-long-host-name-that-d wlc");
    assert_eq!(out[1], "  -> a-very-long-host-name-that-d Masq    1      0          0         ");
    // -S is not cut but for addrport_to_anyname's 60-byte buffer.
    let s = save(&[t], &SaveOpts::default(), &names).unwrap();
    let host = "a-very-long-host-name-that-does-not-fit.example.org:https";
    assert_eq!(s, format!("-A -t {host} -s wlc\n-a -t {host} -r {host} -m -w 1\n"));
    let mut long = Table::sample();
    long.hosts.insert(0, ("x123456789x123456789x123456789x123456789x123456789x123456789", "10.9.9.9".parse().unwrap()));
    let s = save(&[svc(Proto::Tcp, "10.9.9.9", 80)], &SaveOpts::default(), &long).unwrap();
    assert_eq!(s, "-A -t x123456789x123456789x123456789x123456789x123456789x12345678 -s wlc\n");
}

#[test]
fn save_prints_names_without_n() {
    let mut t = svc(Proto::Udp, "10.0.0.1", 53);
    t.dests = vec![dest("127.0.0.1", 0)];
    let names = Table::sample();
    assert_eq!(
        save(std::slice::from_ref(&t), &SaveOpts::default(), &names).unwrap(),
        "-A -u web1.example:domain -s wlc\n-a -u web1.example:domain -r localhost:domain -m -w 1\n"
    );
    assert_eq!(
        save(&[t], &SaveOpts { numeric: true, yaml: false }, &names).unwrap(),
        "-A -u 10.0.0.1:53 -s wlc\n-a -u 10.0.0.1:53 -r 127.0.0.1:53 -m -w 1\n"
    );
}

#[test]
fn connections_print_names_without_n() {
    let c = ConnView {
        proto: Some(Proto::Tcp),
        expire_secs: 61,
        state: "ESTABLISHED".into(),
        caddr: "::1".parse().unwrap(),
        cport: 40000,
        vaddr: "2001:db8::1".parse().unwrap(),
        vport: 443,
        daddr: "::ffff:10.0.0.1".parse().unwrap(),
        dport: 22,
    };
    let o = ListOpts { target: ListTarget::Connections, ..ListOpts::default() };
    let out = connections(std::slice::from_ref(&c), &o, &Table::sample());
    assert_eq!(
        out.lines().nth(2).unwrap(),
        "TCP 01:01  ESTABLISHED [localhost]:40000  [v6host.example]:https [::ffff:10.0.0.1]:ssh"
    );
    let n = connections(&[c], &ListOpts { numeric: true, ..o }, &Table::sample());
    assert_eq!(
        n.lines().nth(2).unwrap(),
        "TCP 01:01  ESTABLISHED [::1]:40000        [2001:db8::1]:443  [::ffff:10.0.0.1]:22"
    );
}

#[test]
fn scheduler_flags_as_ipvsadm_names_them() {
    let with = |sched: SchedKind, bits: u32| {
        let mut s = svc(Proto::Tcp, "10.0.0.1", 80);
        s.scheduler = sched;
        s.sched_flags = SchedFlags(bits);
        let l =
            body(&list(&TableView::from_model(1, std::slice::from_ref(&s)), &ListOpts::default(), &Numeric).unwrap());
        (l[0].clone(), save(&[s], &SaveOpts::default(), &Numeric).unwrap())
    };
    // sh and mh have no name for flag 3.
    assert_eq!(with(SchedKind::Mh, 4), ("TCP  10.0.0.1:80 mh ()".into(), "-A -t 10.0.0.1:80 -s mh -b \n".into()));
    assert_eq!(with(SchedKind::Sh, 7).0, "TCP  10.0.0.1:80 sh (sh-fallback,sh-port)");
    assert_eq!(with(SchedKind::Mh, 6).1, "-A -t 10.0.0.1:80 -s mh -b mh-port\n");
    assert_eq!(with(SchedKind::Rr, 5).0, "TCP  10.0.0.1:80 rr (flag-1,flag-3)");
    assert_eq!(with(SchedKind::Rr, 0).1, "-A -t 10.0.0.1:80 -s rr\n");
}

#[test]
fn save_writes_no_thresholds() {
    // ipvsadm 1.31's -S has no -x/-y (print_service_entry never prints
    // them); -S --yaml keeps them.
    let mut t = svc(Proto::Tcp, "10.0.0.1", 80);
    let mut d = dest("10.0.0.2", 80);
    d.upper = 100;
    d.lower = 10;
    t.dests = vec![d];
    let s = save(std::slice::from_ref(&t), &SaveOpts::default(), &Numeric).unwrap();
    assert_eq!(s, "-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n");
    let y = save(&[t], &SaveOpts { numeric: true, yaml: true }, &Numeric).unwrap();
    assert!(y.contains("100") && y.contains("10"), "{y}");
}
