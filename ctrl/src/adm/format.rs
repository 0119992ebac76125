//! Output in ipvsadm 1.31's exact formats, from the [`view`] structs.
//!
//! Column widths, headers, number scaling and sort order follow
//! ipvsadm.c's printf formats, so tools that parse `ipvsadm -Ln` output
//! (keepalived checks, monitoring scripts) parse ours. `FullNat` appears
//! in the Forward column for rvs's FULLNAT method (as in DPVS).
//!
//! Without `-n`, addresses and ports are printed as names where the
//! resolver has one, as ipvsadm's `addrport_to_anyname` does (host by
//! `gethostbyaddr`, port by `getservbyport` for the service's protocol;
//! a fwmark service's real servers get numeric ports, as its protocol is
//! 0 in ipvsadm). The resolver is passed in ([`Names`]): rvsadm gives
//! the C library's, so that names are looked up in the operator's
//! namespace, never in rvsd; tests give a table. IPv6 addresses are
//! printed as glibc's `inet_ntop` prints them ([`names::ntop`]).
//!
//! Services and real servers come in ipvsadm's order, quirks included,
//! or with `--nosort` in IPVS's: see [`crate::adm::order`].
//!
//! `-S` writes what ipvsadm 1.31 writes: no `-x`/`-y` (ipvsadm's save
//! loses thresholds; `-S --yaml` keeps them), plus the rvs extensions
//! (`--fullnat`, `--laddr`, `--match`, `--mhb-c`, `--proxy-protocol`)
//! when used, so that `-S | -R` gives back the same table. A table that
//! uses no extension is saved exactly as ipvsadm saves it.

pub use crate::adm::view::{ConnView, DestView, Rates, ServiceView, Stats, TableView, Timeouts};

use crate::adm::cmd::{ListOpts, ListTarget, SaveOpts};
use crate::adm::error::AdmError;
use crate::adm::names::{self};
pub use crate::adm::names::{Names, Numeric, System};
use crate::adm::order;
use crate::adm::values;
use crate::adm::wire::ServiceWire;
use rvs_conf::{DestConf, FwdMethod, Proto, SchedFlags, SchedKind, ServiceConf, ServiceKey, TunType};
use serde::Serialize;
use std::fmt::Write;
use std::net::IpAddr;

/// The IPVS version ipvsadm prints in its header; rvs implements the
/// same user-visible model, so it reports the same one.
pub const IPVS_VERSION: &str = "1.2.1";

/// Which per-dest columns a listing shows, in ipvsadm's precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    Plain,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    TunInfo,
}

fn detail(o: &ListOpts) -> Detail {
    if o.stats {
        Detail::Stats
    } else if o.rate {
        Detail::Rate
    } else if o.thresholds {
        Detail::Thresholds
    } else if o.persistent_conn {
        Detail::PersistentConn
    } else if o.tun_info {
        Detail::TunInfo
    } else {
        Detail::Plain
    }
}

/// `-L`: the whole table (with the `IP Virtual Server version` header),
/// one service (`-L -t ...`: no header, like ipvsadm; "No such service"
/// if absent) or, for `--daemon`, nothing (rvs has no sync daemon).
/// `-c` and `--timeout` have their own data: see [`connections`] and
/// [`timeouts`]. With `--json`, the (sorted, possibly filtered) view as
/// JSON. `names` resolves addresses and ports unless `-n`.
pub fn list(view: &TableView, opts: &ListOpts, names: &dyn Names) -> Result<String, AdmError> {
    let names: &dyn Names = if opts.numeric { &Numeric } else { names };
    let mut services: Vec<&ServiceView> = match opts.target {
        // `--workers` has its own data: see [`crate::adm::workers`].
        ListTarget::Daemon | ListTarget::Workers => return Ok(String::new()),
        ListTarget::Service(k) => {
            vec![view.services.iter().find(|s| s.conf.key == k).ok_or(AdmError::NoSuchService)?]
        }
        ListTarget::All | ListTarget::Connections | ListTarget::Timeout => view.services.iter().collect(),
    };
    // ipvsadm sorts the kernel's dump: the walk order first, then (unless
    // --nosort) its sort, which is not a total order.
    order::kernel_services(&mut services, |s| &s.conf);
    if !opts.nosort {
        order::c_qsort(&mut services, &|a: &&ServiceView, b: &&ServiceView| order::ipvs_cmp_services(&a.conf, &b.conf));
    }
    let nosort = opts.nosort;
    fn sorted_dests(s: &ServiceView, nosort: bool) -> Vec<&DestView> {
        let mut d: Vec<&DestView> = s.dests.iter().collect();
        order::kernel_dests(&mut d);
        if !nosort {
            order::c_qsort(&mut d, &|a: &&DestView, b: &&DestView| order::ipvs_cmp_dests(&a.conf, &b.conf));
        }
        d
    }
    if opts.json {
        let v = TableView {
            size: view.size,
            services: services
                .iter()
                .map(|s| ServiceView { dests: sorted_dests(s, nosort).into_iter().cloned().collect(), ..(*s).clone() })
                .collect(),
        };
        return Ok(json(&v));
    }
    let mut out = String::new();
    if matches!(opts.target, ListTarget::All) {
        let _ = writeln!(out, "IP Virtual Server version {IPVS_VERSION} (size={})", view.size);
    }
    let d = detail(opts);
    match opts.health {
        false => out.push_str(title(d)),
        true => {
            out.push_str(title(d).trim_end_matches('\n'));
            out.push_str(" Health\n");
        }
    }
    for s in services {
        service_line(&mut out, s, d, opts.exact, names);
        if let (true, Some(up)) = (opts.health, s.quorum_up) {
            last_column(&mut out, if up { "quorum:up" } else { "quorum:down" });
        }
        for dv in sorted_dests(s, nosort) {
            dest_line(&mut out, dv, d, opts.exact, svc_proto(&s.conf), names);
            if opts.health {
                last_column(&mut out, &dv.health.as_ref().map_or("-".into(), |h| h.column()));
            }
        }
        for dv in s.removed.iter().filter(|_| opts.health) {
            dest_line(&mut out, dv, d, opts.exact, svc_proto(&s.conf), names);
            let h = dv.health.as_ref().map_or("down".into(), |h| h.column());
            last_column(&mut out, &format!("{h},removed"));
        }
    }
    Ok(out)
}

/// `--health`: a last column on the line just written.
fn last_column(out: &mut String, text: &str) {
    out.pop();
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out.push_str(text);
    out.push('\n');
}

fn title(d: Detail) -> &'static str {
    match d {
        Detail::Stats => concat!(
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
            "  -> RemoteAddress:Port\n"
        ),
        Detail::Rate => concat!(
            "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n",
            "  -> RemoteAddress:Port\n"
        ),
        Detail::Thresholds => concat!(
            "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n",
            "  -> RemoteAddress:Port\n"
        ),
        Detail::PersistentConn => concat!(
            "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n",
            "  -> RemoteAddress:Port\n"
        ),
        Detail::TunInfo => concat!(
            "Prot LocalAddress:Port Scheduler Flags\n",
            "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n"
        ),
        Detail::Plain => concat!(
            "Prot LocalAddress:Port Scheduler Flags\n",
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
        ),
    }
}

/// ipvsadm's `addrport_to_anyname`: `host:port`, IPv6 in brackets (even
/// a host name), each a name when `names` has one (the port only for a
/// protocol), at most 59 bytes (ipvsadm's 60-byte buffer).
fn addrport(a: IpAddr, port: u16, proto: Option<&str>, names: &dyn Names) -> String {
    let host = names.addr_host(a).unwrap_or_else(|| names::addr_text(a));
    let port = proto.and_then(|p| names.port_service(port, p)).unwrap_or_else(|| port.to_string());
    let mut s = match a {
        IpAddr::V4(_) => format!("{host}:{port}"),
        IpAddr::V6(_) => format!("[{host}]:{port}"),
    };
    truncate_bytes(&mut s, 59);
    s
}

/// C's `buf[n] = '\0'` on a string (at a character boundary).
fn truncate_bytes(s: &mut String, n: usize) {
    if s.len() > n {
        let mut n = n;
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s.truncate(n);
    }
}

/// The protocol name `getservbyport` is asked with; none for fwmark
/// services (ipvsadm's protocol 0 there).
fn svc_proto(s: &ServiceConf) -> Option<&'static str> {
    match s.key {
        ServiceKey::Inet { proto, .. } => Some(proto_name(proto)),
        ServiceKey::Fwmark(_) => None,
    }
}

fn proto_name(p: Proto) -> &'static str {
    match p {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
        Proto::Sctp => "sctp",
    }
}

/// The service column of listings: `TCP  1.2.3.4:80`, `FWM  66`.
fn list_name(s: &ServiceConf, names: &dyn Names) -> String {
    let v6 = values::service_is_v6(s);
    match s.key {
        ServiceKey::Fwmark(m) if v6 => format!("FWM  {m} IPv6"),
        ServiceKey::Fwmark(m) => format!("FWM  {m}"),
        ServiceKey::Inet { proto, addr, port } => {
            // ipvsadm's "%-4s %s": "TCP  ...", "SCTP ...".
            let mut n = format!("{:<4} {}", proto.name(), addrport(addr, port, Some(proto_name(proto)), names));
            if !v6 {
                truncate_bytes(&mut n, 33);
            }
            n
        }
    }
}

/// The service arguments of `-S` lines: `-t 1.2.3.4:80`, `-f 66 -6`.
fn rule_name(s: &ServiceConf, names: &dyn Names) -> String {
    match s.key {
        ServiceKey::Fwmark(m) if values::service_is_v6(s) => format!("-f {m} -6"),
        ServiceKey::Fwmark(m) => format!("-f {m}"),
        ServiceKey::Inet { proto, addr, port } => {
            let flag = match proto {
                Proto::Tcp => "-t",
                Proto::Udp => "-u",
                Proto::Sctp => "--sctp-service",
            };
            format!("{flag} {}", addrport(addr, port, Some(proto_name(proto)), names))
        }
    }
}

/// Scheduler flags as ipvsadm's `print_sched_flags` spells them, or None
/// when no flag bit is set: `sh-fallback`/`sh-port` for sh,
/// `mh-fallback`/`mh-port` for mh (and rvs's mhb), `flag-1..3` for
/// the others. sh and mh have no name for flag 3: it is set but not
/// named (`-b ` in `-S`, `()` in `-L`), as in ipvsadm.
fn flags(s: &ServiceConf) -> Option<String> {
    let f = s.sched_flags.0;
    if f & (SchedFlags::FLAG1 | SchedFlags::FLAG2 | SchedFlags::FLAG3) == 0 {
        return None;
    }
    let names: [Option<&str>; 3] = match s.scheduler {
        SchedKind::Sh => [Some("sh-fallback"), Some("sh-port"), None],
        SchedKind::Mh | SchedKind::Mhb => [Some("mh-fallback"), Some("mh-port"), None],
        _ => [Some("flag-1"), Some("flag-2"), Some("flag-3")],
    };
    let bits = [SchedFlags::FLAG1, SchedFlags::FLAG2, SchedFlags::FLAG3];
    let set: Vec<&str> = bits.iter().zip(names).filter(|(b, _)| f & **b != 0).filter_map(|(_, n)| n).collect();
    Some(set.join(","))
}

/// The persistence netmask as ipvsadm prints it, or None when it is the
/// family's full mask (then nothing is printed).
fn mask(s: &ServiceConf) -> Option<String> {
    let v6 = values::service_is_v6(s);
    if values::is_full_mask(v6, s.netmask) {
        None
    } else if v6 {
        Some(values::v6_prefix(s.netmask).to_string())
    } else {
        Some(s.netmask.to_string())
    }
}

fn service_line(out: &mut String, sv: &ServiceView, d: Detail, exact: bool, names: &dyn Names) {
    let s = &sv.conf;
    let name = list_name(s, names);
    match d {
        Detail::Stats => {
            let _ = write!(out, "{name:<33}");
            let t = &sv.stats;
            for n in [t.conns, t.inpkts, t.outpkts, t.inbytes, t.outbytes] {
                largenum(out, n, exact);
            }
        }
        Detail::Rate => {
            let _ = write!(out, "{name:<33}");
            let r = &sv.rate;
            for n in [r.cps, r.inpps, r.outpps, r.inbps, r.outbps] {
                largenum(out, n, exact);
            }
        }
        _ => {
            let _ = write!(out, "{name} {}", s.scheduler);
            if let Some(f) = flags(s) {
                let _ = write!(out, " ({f})");
            }
            if let Some(t) = s.persistent {
                let _ = write!(out, " persistent {t}");
                if let Some(m) = mask(s) {
                    let _ = write!(out, " mask {m}");
                }
            }
            if s.one_packet {
                out.push_str(" ops");
            }
        }
    }
    out.push('\n');
}

fn dest_line(out: &mut String, dv: &DestView, d: Detail, exact: bool, proto: Option<&str>, names: &dyn Names) {
    let c = &dv.conf;
    let mut name = addrport(c.addr, c.port, proto, names);
    if c.addr.is_ipv4() {
        truncate_bytes(&mut name, 28);
    }
    let fwd = c.fwd.ipvs_name();
    let _ = match d {
        Detail::Stats => {
            let _ = write!(out, "  -> {name:<28}");
            let t = &dv.stats;
            for n in [t.conns, t.inpkts, t.outpkts, t.inbytes, t.outbytes] {
                largenum(out, n, exact);
            }
            writeln!(out)
        }
        Detail::Rate => {
            // ipvsadm scales only the byte rates of real servers.
            let r = &dv.rate;
            let _ = write!(out, "  -> {name:<28} {:>8} {:>8} {:>8}", r.cps, r.inpps, r.outpps);
            largenum(out, r.inbps, exact);
            largenum(out, r.outbps, exact);
            writeln!(out)
        }
        Detail::Thresholds => {
            writeln!(out, "  -> {name:<28} {:<10} {:<10} {:<10} {:<10}", c.upper, c.lower, dv.active, dv.inactive)
        }
        Detail::PersistentConn => {
            writeln!(out, "  -> {name:<28} {:<9} {:<11} {:<10} {:<10}", c.weight, dv.persist, dv.active, dv.inactive)
        }
        Detail::TunInfo => writeln!(
            out,
            "  -> {name:<28} {fwd:<7} {:<13} {:<6} {:<10} {:<10}",
            tun_info(c).unwrap_or_else(|| "n/a".into()),
            c.weight,
            dv.active,
            dv.inactive
        ),
        Detail::Plain => {
            writeln!(out, "  -> {name:<28} {fwd:<7} {:<6} {:<10} {:<10}", c.weight, dv.active, dv.inactive)
        }
    };
}

/// `--tun-info` column: `ipip`, `gue:PORT:-c`, `gre:-c` (rvs tunnels
/// carry no checksum, ipvsadm's `-c`).
fn tun_info(c: &DestConf) -> Option<String> {
    (c.fwd == FwdMethod::Tun).then(|| match c.tun_type {
        TunType::Ipip => "ipip".to_string(),
        TunType::Gue => format!("gue:{}:-c", c.tun_port),
        TunType::Gre => "gre:-c".to_string(),
    })
}

/// ipvsadm's `print_largenum`: 9 columns, scaled to K/M/G/T (by powers of
/// 1000) when the number does not fit, unless `--exact`.
fn largenum(out: &mut String, i: u64, exact: bool) {
    let _ = if exact {
        let len = i.to_string().len();
        let w = if len <= 8 { 9 } else { len + 1 };
        write!(out, "{i:>w$}")
    } else if i < 100_000_000 {
        write!(out, "{i:>9}")
    } else if i < 1_000_000_000 {
        write!(out, "{:>8}K", i / 1_000)
    } else if i < 100_000_000_000 {
        write!(out, "{:>8}M", i / 1_000_000)
    } else if i < 100_000_000_000_000 {
        write!(out, "{:>8}G", i / 1_000_000_000)
    } else {
        write!(out, "{:>8}T", i / 1_000_000_000_000)
    };
}

/// Services in ipvsadm's sorted order (`-S` has no `--nosort`), sorted
/// from the kernel's dump order as ipvsadm sorts it.
fn sorted_services(services: &[ServiceConf]) -> Vec<&ServiceConf> {
    let mut sorted: Vec<&ServiceConf> = services.iter().collect();
    order::kernel_services(&mut sorted, |s| *s);
    order::c_qsort(&mut sorted, &|a: &&ServiceConf, b: &&ServiceConf| order::ipvs_cmp_services(a, b));
    sorted
}

/// `-S`: the table as `-R` input, one command per line, sorted like `-L`.
/// With `--yaml`, the `services:` section of rvsd's configuration file
/// instead. `names` resolves addresses and ports unless `-n`.
pub fn save(services: &[ServiceConf], opts: &SaveOpts, names: &dyn Names) -> Result<String, AdmError> {
    if opts.yaml {
        return save_yaml(services);
    }
    let names: &dyn Names = if opts.numeric { &Numeric } else { names };
    let sorted = sorted_services(services);
    let mut out = String::new();
    for s in sorted {
        let name = rule_name(s, names);
        let _ = write!(out, "-A {name} -s {}", s.scheduler);
        if let Some(t) = s.persistent {
            let _ = write!(out, " -p {t}");
            if let Some(m) = mask(s) {
                let _ = write!(out, " -M {m}");
            }
        }
        if s.one_packet {
            out.push_str(" -o");
        }
        if let Some(f) = flags(s) {
            let _ = write!(out, " -b {f}");
        }
        for a in &s.laddrs {
            let _ = write!(out, " --laddr {}", names::addr_text(*a));
        }
        for m in &s.matches {
            let _ = write!(out, " --match {}", values::match_to_string(m));
        }
        if s.mhb_c != ServiceConf::new(s.key).mhb_c {
            let _ = write!(out, " --mhb-c {}", s.mhb_c);
        }
        if !s.proxy_protocol.is_off() {
            let _ = write!(out, " --proxy-protocol {}", s.proxy_protocol);
        }
        out.push('\n');
        let mut dests: Vec<DestConf> = s.dests.iter().map(|d| DestConf { port: s.dest_port(d), ..d.clone() }).collect();
        order::kernel_dests(&mut dests);
        order::c_qsort(&mut dests, &order::ipvs_cmp_dests);
        for d in &dests {
            let switch = match d.fwd {
                FwdMethod::Nat => "-m",
                FwdMethod::Dr => "-g",
                FwdMethod::Tun => "-i",
                FwdMethod::FullNat => "--fullnat",
            };
            let dname = addrport(d.addr, d.port, svc_proto(s), names);
            let _ = write!(out, "-a {name} -r {dname} {switch} -w {}", d.weight);
            if d.fwd == FwdMethod::Tun {
                let _ = match d.tun_type {
                    TunType::Ipip => write!(out, " --tun-type ipip"),
                    TunType::Gue => write!(out, " --tun-type gue --tun-port {} --tun-nocsum", d.tun_port),
                    TunType::Gre => write!(out, " --tun-type gre --tun-nocsum"),
                };
            }
            out.push('\n');
        }
    }
    Ok(out)
}

/// What `-S` keeps of a service, that is what `-S | -R` gives back:
/// ipvsadm's save format has no thresholds, and no name for flag 3 of
/// sh and mh. None when the saved lines do not restore at all (flag 3
/// alone there is written as an empty `-b `, as ipvsadm writes it).
pub fn as_saved(s: &ServiceConf) -> Option<ServiceConf> {
    let mut s = s.clone();
    if matches!(s.scheduler, SchedKind::Sh | SchedKind::Mh | SchedKind::Mhb) {
        if s.sched_flags.0 & 7 == SchedFlags::FLAG3 {
            return None;
        }
        s.sched_flags.0 &= !SchedFlags::FLAG3;
    }
    for d in &mut s.dests {
        (d.upper, d.lower) = (0, 0);
    }
    Some(s)
}

#[derive(Serialize)]
struct YamlDoc {
    services: Vec<ServiceWire>,
}

/// `-S --yaml`: the `services:` section of rvsd's file, in the loader's
/// spelling (dest ports resolved, defaults left out).
fn save_yaml(services: &[ServiceConf]) -> Result<String, AdmError> {
    let sorted = sorted_services(services);
    let doc = YamlDoc {
        services: sorted
            .into_iter()
            .map(|s| {
                let mut w = ServiceWire::from(s);
                for (wd, d) in w.dests.iter_mut().zip(&s.dests) {
                    wd.port = s.dest_port(d);
                }
                w
            })
            .collect(),
    };
    serde_yaml_ng::to_string(&doc).map_err(|e| AdmError::Invalid(format!("cannot write YAML: {e}")))
}

/// `-c`: the connection entries (`--persistent-conn` adds ipvsadm's pe
/// columns to the header; rvs has no persistence engine, so entries never
/// fill them). With `--json`, the entries as JSON. `names` resolves
/// addresses and ports unless `-n`.
pub fn connections(conns: &[ConnView], opts: &ListOpts, names: &dyn Names) -> String {
    if opts.json {
        return json(&conns);
    }
    let names: &dyn Names = if opts.numeric { &Numeric } else { names };
    let mut out = String::from("IPVS connection entries\n");
    // ipvsadm: "pro expire %-11s %-18s %-18s %s" (+ " %-18s %-16s %s"
    // for the pe columns), filled with the column names.
    out.push_str(if opts.persistent_conn {
        "pro expire state       source             virtual            destination        pe name          pe_data\n"
    } else {
        "pro expire state       source             virtual            destination\n"
    });
    for c in conns {
        let (proto, lookup) = match c.proto {
            Some(p) => (p.name(), Some(proto_name(p))),
            None => ("IP", None),
        };
        let ap = |a, p| addrport(a, p, lookup, names);
        let expire = format!("{:02}:{:02}", c.expire_secs / 60, c.expire_secs % 60);
        let _ = writeln!(
            out,
            "{proto:<3} {expire:<6} {:<11} {:<18} {:<18} {}",
            c.state,
            ap(c.caddr, c.cport),
            ap(c.vaddr, c.vport),
            ap(c.daddr, c.dport)
        );
    }
    out
}

/// `--timeout`.
pub fn timeouts(t: &Timeouts, opts: &ListOpts) -> String {
    if opts.json {
        return json(t);
    }
    format!("Timeout (tcp tcpfin udp): {} {} {}\n", t.tcp, t.tcpfin, t.udp)
}

/// Pretty JSON with a final newline (`--json`).
pub fn json<T: Serialize + ?Sized>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(i: u64, exact: bool) -> String {
        let mut s = String::new();
        largenum(&mut s, i, exact);
        s
    }

    #[test]
    fn largenum_scaling() {
        assert_eq!(num(0, false), "        0");
        assert_eq!(num(99_999_999, false), " 99999999");
        assert_eq!(num(100_000_000, false), "  100000K");
        assert_eq!(num(999_999_999, false), "  999999K");
        assert_eq!(num(1_000_000_000, false), "    1000M");
        assert_eq!(num(99_999_999_999, false), "   99999M");
        assert_eq!(num(100_000_000_000, false), "     100G");
        assert_eq!(num(100_000_000_000_000, false), "     100T");
        assert_eq!(num(12_345_678_901, true), " 12345678901");
        assert_eq!(num(12, true), "       12");
    }

    fn opts() -> ListOpts {
        ListOpts::default()
    }

    #[test]
    fn ipv6_services() {
        let mut f = ServiceConf::new(ServiceKey::Fwmark(66));
        f.netmask = values::v6_mask(64);
        f.persistent = Some(300);
        let mut t =
            ServiceConf::new(ServiceKey::Inet { proto: Proto::Udp, addr: "2001:db8::1".parse().unwrap(), port: 53 });
        // The model's default netmask (IPv4 /32) means /128 for IPv6.
        t.persistent = Some(60);
        t.dests.push(DestConf::new("2001:db8::10".parse().unwrap(), 0, FwdMethod::Nat, 1));
        let v = TableView::from_model(1, &[f.clone(), t.clone()]);
        let out = list(&v, &opts(), &Numeric).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[3], "UDP  [2001:db8::1]:53 wlc persistent 60");
        assert_eq!(lines[4], "  -> [2001:db8::10]:53            Masq    1      0          0         ");
        assert_eq!(lines[5], "FWM  66 IPv6 wlc persistent 300 mask 64");
        let saved = save(&[f, t], &SaveOpts::default(), &Numeric).unwrap();
        assert_eq!(
            saved,
            "-A -u [2001:db8::1]:53 -s wlc -p 60\n\
             -a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -m -w 1\n\
             -A -f 66 -6 -s wlc -p 300 -M 64\n"
        );
    }

    #[test]
    fn one_packet_services_as_ipvsadm_prints_them() {
        let mut s =
            ServiceConf::new(ServiceKey::Inet { proto: Proto::Udp, addr: "10.0.0.1".parse().unwrap(), port: 53 });
        s.scheduler = rvs_conf::SchedKind::Rr;
        s.persistent = Some(30);
        s.one_packet = true;
        let v = TableView::from_model(1, std::slice::from_ref(&s));
        let out = list(&v, &opts(), &Numeric).unwrap();
        assert_eq!(out.lines().nth(3), Some("UDP  10.0.0.1:53 rr persistent 30 ops"));
        let saved = save(&[s], &SaveOpts::default(), &Numeric).unwrap();
        assert_eq!(saved, "-A -u 10.0.0.1:53 -s rr -p 30 -o\n");
    }

    #[test]
    fn sctp_services_and_connections_as_ipvsadm_prints_them() {
        let mut s =
            ServiceConf::new(ServiceKey::Inet { proto: Proto::Sctp, addr: "10.0.0.1".parse().unwrap(), port: 3868 });
        s.scheduler = rvs_conf::SchedKind::Rr;
        s.dests.push(DestConf::new("10.0.1.1".parse().unwrap(), 3869, FwdMethod::Nat, 1));
        let v = TableView::from_model(1, std::slice::from_ref(&s));
        let out = list(&v, &opts(), &Numeric).unwrap();
        assert_eq!(out.lines().nth(3), Some("SCTP 10.0.0.1:3868 rr"));
        let saved = save(&[s], &SaveOpts::default(), &Numeric).unwrap();
        assert_eq!(
            saved,
            "-A --sctp-service 10.0.0.1:3868 -s rr\n-a --sctp-service 10.0.0.1:3868 -r 10.0.1.1:3869 -m -w 1\n"
        );
        let c = ConnView {
            proto: Some(Proto::Sctp),
            expire_secs: 61,
            state: "S-ACK-SENT".into(),
            caddr: "192.0.2.7".parse().unwrap(),
            cport: 40000,
            vaddr: "10.0.0.1".parse().unwrap(),
            vport: 3868,
            daddr: "10.0.1.1".parse().unwrap(),
            dport: 3869,
        };
        let out = connections(&[c], &opts(), &Numeric);
        assert_eq!(
            out.lines().nth(2),
            Some("SCTP 01:01  S-ACK-SENT  192.0.2.7:40000    10.0.0.1:3868      10.0.1.1:3869")
        );
    }

    #[test]
    fn daemon_lists_nothing() {
        let o = ListOpts { target: ListTarget::Daemon, ..opts() };
        assert_eq!(list(&TableView::from_model(1, &[]), &o, &Numeric).unwrap(), "");
    }

    #[test]
    fn titles_have_ipvsadm_widths() {
        // The literal titles equal ipvsadm's printf("%-33s %8s ...").
        let stats = format!(
            "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        );
        assert_eq!(title(Detail::Stats), stats);
        let rate = format!(
            "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
        );
        assert_eq!(title(Detail::Rate), rate);
        let thr = format!(
            "{:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        );
        assert_eq!(title(Detail::Thresholds), thr);
        let pc = format!(
            "{:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn"
        );
        assert_eq!(title(Detail::PersistentConn), pc);
    }
}
