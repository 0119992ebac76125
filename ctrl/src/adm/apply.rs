//! The meaning of each editing command on the service model, as IPVS
//! gives it (`ip_vs_ctl.c` semantics, libipvs' error texts).
//!
//! Behaviour kept from IPVS/ipvsadm:
//! - `-A` of an existing service: "Service already exists"; `-E`, `-D`,
//!   `-Z` of a missing one: "No such service"; `-a`, `-e`, `-d` on a
//!   missing service: "Service not defined"; `-a` of a present real server:
//!   "Destination already exists"; `-e`/`-d` of an absent one: "No such
//!   destination". A real server is identified by (address, port).
//! - `-E` *replaces* the service's scheduler, flags, persistence and
//!   netmask with the command's values, so options left out fall back to
//!   ipvsadm's defaults (`-E -t VIP:80 -s rr` on a persistent service
//!   makes it non-persistent). Real servers are kept.
//! - `-e` likewise replaces weight, forwarding method, thresholds and
//!   tunnel settings: `-e ... -w 5` on a `-m` server makes it `-g` (DR),
//!   since ipvsadm sends its defaults (weight 1, gatewaying) for what is
//!   not given. Scripts written for ipvsadm pass every option to `-e`.
//! - New services and servers go to the end of the table; listings sort.
//! - A fwmark service is named by mark *and* family (`-6`), as IPVS keys
//!   it: `-E -f 2` does not find (nor convert) the IPv6 service 2, and
//!   `-a`/`-e`/`-d` on it say "Service not defined". rvs still keys its
//!   table by mark alone, so the IPv4 and IPv6 services of one mark
//!   cannot coexist (IPVS allows it); `-A` of the second says why.
//!
//! rvs additions:
//! - every edit ends in `ServiceConf::validate()`; an invalid result is
//!   refused and leaves the model untouched;
//! - the extension fields (`--laddr`, `--match`, `--mhb-c`,
//!   `--proxy-protocol`) are kept by
//!   `-E` when not given, since they have no ipvsadm default to reset to;
//! - two fwmark services may not take the same packets (overlapping
//!   `--match`): rvs has no iptables rule order to break the tie.
//! - `-a` on a fwmark service without `--match` is allowed (a file saved
//!   by ipvsadm restores); such a service takes no packets until
//!   `-E -f MARK --match ...` gives it some.

use crate::adm::cmd::{AdmCommand, DestOpts, ServiceOpts, TunCsum};
use crate::adm::error::AdmError;
use crate::adm::values;
use crate::adm::view::Timeouts;
use rvs_conf::{ConnConf, DestConf, FwmarkMatch, ServiceConf, ServiceKey};
use std::collections::HashMap;
use std::net::IpAddr;

/// Apply one command to the service table. On error the model is
/// unchanged. `-Z` only checks that the service exists and `--set` does
/// nothing here (counters and timeouts live outside the service model:
/// see [`apply_timeouts`]). Listing commands are refused.
pub fn apply(model: &mut Vec<ServiceConf>, cmd: &AdmCommand) -> Result<(), AdmError> {
    let mut ix = Index::new(model);
    apply_indexed(model, &mut ix, cmd)
}

/// Apply numbered commands (from [`crate::adm::restore::parse_restore`])
/// as one transaction: the new table, or the 1-based line number of the
/// first command that failed and its error, with nothing applied.
///
/// ipvsadm -R applies line by line and carries on after a failure; rvs
/// reloads are all-or-nothing (DESIGN.md), so a broken file cannot leave
/// half a table behind. `--set` lines pass through: the caller applies
/// them with [`apply_timeouts`] once this succeeded.
///
/// Services are found through a key index, so restoring a file of `n`
/// lines into a table of `m` services costs O(n + m), not O(n·m): a
/// 10,000-service file would otherwise spend seconds in linear scans.
pub fn apply_all(model: &[ServiceConf], cmds: &[(usize, AdmCommand)]) -> Result<Vec<ServiceConf>, (usize, AdmError)> {
    let mut next = model.to_vec();
    let mut ix = Index::new(&next);
    for (line, cmd) in cmds {
        apply_indexed(&mut next, &mut ix, cmd).map_err(|e| (*line, e))?;
    }
    Ok(next)
}

/// Position of each service in the table, by key.
struct Index(HashMap<ServiceKey, usize>);

impl Index {
    fn new(model: &[ServiceConf]) -> Self {
        Index(model.iter().enumerate().map(|(i, s)| (s.key, i)).collect())
    }
    fn find(&self, key: &ServiceKey) -> Option<usize> {
        self.0.get(key).copied()
    }
}

/// What IPVS checks once it found (or did not find) the service: the
/// scheduler and persistence engine exist (ENOENT), and, rvs's part, what
/// the data path does not do yet (EINVAL, saying so in the detail).
fn unsupported(o: &ServiceOpts) -> Result<(), AdmError> {
    if let Some(name) = &o.unknown_scheduler {
        return Err(AdmError::NoScheduler(name.clone()));
    }
    match o.pe.as_deref() {
        None => {}
        Some("sip") => return Err(AdmError::Invalid("the sip persistence engine (--pe sip) is not in rvs yet".into())),
        Some(other) => return Err(AdmError::NoScheduler(other.to_string())),
    }
    Ok(())
}

fn apply_indexed(model: &mut Vec<ServiceConf>, ix: &mut Index, cmd: &AdmCommand) -> Result<(), AdmError> {
    match cmd {
        AdmCommand::AddService(o) => {
            if let Some(i) = ix.find(&o.key) {
                if !same_family(&model[i], values::key_is_v6(&o.key, o.netmask)) {
                    return Err(AdmError::Invalid(format!(
                        "{} exists as an {} service: rvs keys fwmark services by mark alone, so the {} one \
                         cannot be added beside it (IPVS, which keys them by mark and family, would)",
                        o.key,
                        family(values::service_is_v6(&model[i])),
                        family(!values::service_is_v6(&model[i]))
                    )));
                }
                return Err(AdmError::ServiceExists);
            }
            unsupported(o)?;
            let mut s = ServiceConf::new(o.key);
            set_service(&mut s, o);
            s.laddrs = o.laddrs.clone().unwrap_or_default();
            s.matches = o.matches.clone().unwrap_or_default();
            if let Some(c) = o.mhb_c {
                s.mhb_c = c;
            }
            s.proxy_protocol = o.proxy_protocol.unwrap_or_default();
            check(model, &s)?;
            ix.0.insert(s.key, model.len());
            model.push(s);
        }
        AdmCommand::EditService(o) => {
            let i = ix.find(&o.key).ok_or(AdmError::NoSuchService)?;
            // `-E -f 2` names the IPv4 service 2: it never converts an
            // IPv6 one (IPVS does not find it: "No such service").
            if !same_family(&model[i], values::key_is_v6(&o.key, o.netmask)) {
                return Err(AdmError::NoSuchService);
            }
            unsupported(o)?;
            let mut s = model[i].clone();
            set_service(&mut s, o);
            if let Some(l) = &o.laddrs {
                s.laddrs = l.clone();
            }
            if let Some(m) = &o.matches {
                s.matches = m.clone();
            }
            if let Some(c) = o.mhb_c {
                s.mhb_c = c;
            }
            if let Some(p) = o.proxy_protocol {
                s.proxy_protocol = p;
            }
            check(model, &s)?;
            model[i] = s;
        }
        AdmCommand::DelService(k) => {
            let i = ix.find(k).ok_or(AdmError::NoSuchService)?;
            // Keep the table order (`--nosort` shows it); the positions
            // after `i` move down by one.
            model.remove(i);
            *ix = Index::new(model);
        }
        AdmCommand::Clear => {
            model.clear();
            ix.0.clear();
        }
        AdmCommand::AddDest(o) => {
            let i =
                ix.find(&o.service).filter(|&i| same_family(&model[i], o.svc_v6)).ok_or(AdmError::ServiceNotDefined)?;
            check_tun_csum(o)?;
            check_thresholds(&o.dest)?;
            let mut s = model[i].clone();
            if find_dest(&s, o.dest.addr, o.dest.port).is_some() {
                return Err(AdmError::DestExists);
            }
            if !rvs_conf::is_real_server_addr(o.dest.addr) {
                return Err(AdmError::InvalidOperation);
            }
            s.dests.push(o.dest.clone());
            check(model, &s)?;
            model[i] = s;
        }
        AdmCommand::EditDest(o) => {
            let i =
                ix.find(&o.service).filter(|&i| same_family(&model[i], o.svc_v6)).ok_or(AdmError::ServiceNotDefined)?;
            check_tun_csum(o)?;
            check_thresholds(&o.dest)?;
            let mut s = model[i].clone();
            let j = find_dest(&s, o.dest.addr, o.dest.port).ok_or(AdmError::NoSuchDest)?;
            // rvsadm has no words for a health check: the dest keeps its own.
            let health = s.dests[j].health.take();
            s.dests[j] = DestConf { health, ..o.dest.clone() };
            check(model, &s)?;
            model[i] = s;
        }
        AdmCommand::DelDest(r) => {
            let i =
                ix.find(&r.service).filter(|&i| same_family(&model[i], r.svc_v6)).ok_or(AdmError::ServiceNotDefined)?;
            let j = find_dest(&model[i], r.addr, r.port).ok_or(AdmError::NoSuchDest)?;
            model[i].dests.remove(j);
        }
        AdmCommand::Zero(Some(k)) => {
            ix.find(k).ok_or(AdmError::NoSuchService)?;
        }
        AdmCommand::Zero(None) | AdmCommand::SetTimeouts(_) => {}
        AdmCommand::List(_)
        | AdmCommand::Save(_)
        | AdmCommand::Restore(_)
        | AdmCommand::StartDaemon(_)
        | AdmCommand::StopDaemon(_)
        | AdmCommand::Help
        | AdmCommand::Version => return Err(AdmError::usage(format!("'{}' is not an editing command", cmd.name()))),
    }
    Ok(())
}

/// `--set tcp tcpfin udp` on the connection settings. Like IPVS, a zero
/// leaves that timeout unchanged.
pub fn apply_timeouts(conn: &mut ConnConf, t: &Timeouts) {
    if t.tcp != 0 {
        conn.tcp_timeout = t.tcp;
    }
    if t.tcpfin != 0 {
        conn.tcpfin_timeout = t.tcpfin;
    }
    if t.udp != 0 {
        conn.udp_timeout = t.udp;
    }
}

/// The timeouts `--timeout` reports for the connection settings.
pub fn timeouts_of(conn: &ConnConf) -> Timeouts {
    Timeouts { tcp: conn.tcp_timeout, tcpfin: conn.tcpfin_timeout, udp: conn.udp_timeout }
}

/// Whether a command for a service of family `v6` names `s`: always for
/// address services (the address says the family), and for fwmark
/// services when the family (`-6`) agrees, since IPVS keys them by mark
/// and family.
fn same_family(s: &ServiceConf, v6: bool) -> bool {
    !matches!(s.key, ServiceKey::Fwmark(_)) || values::service_is_v6(s) == v6
}

fn family(v6: bool) -> &'static str {
    if v6 {
        "IPv6"
    } else {
        "IPv4"
    }
}

fn find_dest(s: &ServiceConf, addr: IpAddr, port: u16) -> Option<usize> {
    s.dests.iter().position(|d| d.addr == addr && s.dest_port(d) == port)
}

/// The ipvsadm options of `-A`/`-E`: all of them replace.
fn set_service(s: &mut ServiceConf, o: &ServiceOpts) {
    s.scheduler = o.scheduler;
    s.sched_flags = o.sched_flags;
    s.persistent = o.persistent;
    s.netmask = o.netmask;
    // ipvsadm -E sends the whole flag word: no -o clears it.
    s.one_packet = o.ops;
}

fn check_tun_csum(o: &DestOpts) -> Result<(), AdmError> {
    match o.tun_csum {
        TunCsum::NoCsum => Ok(()),
        TunCsum::Csum | TunCsum::RemCsum => Err(AdmError::Invalid(
            "tunnel checksums (--tun-csum, --tun-remcsum) are not supported by rvs; use --tun-nocsum".into(),
        )),
    }
}

/// IPVS checks the thresholds before it looks for the real server: a
/// lower one above the upper one is ERANGE, also when the upper one is
/// 0 ("none"), so `-y` needs an `-x` at least as large.
fn check_thresholds(d: &DestConf) -> Result<(), AdmError> {
    if d.lower > d.upper {
        return Err(AdmError::OutOfRange);
    }
    Ok(())
}

/// The rules an edited service must pass before it replaces the old one.
fn check(model: &[ServiceConf], s: &ServiceConf) -> Result<(), AdmError> {
    s.validate().map_err(AdmError::Invalid)?;
    let v6 = values::service_is_v6(s);
    for m in &s.matches {
        if m.vip.is_ipv6() != v6 {
            return Err(AdmError::Invalid(format!(
                "match {} is not in the address family of {}",
                values::match_to_string(m),
                s.key
            )));
        }
    }
    for (i, a) in s.matches.iter().enumerate() {
        for b in &s.matches[i + 1..] {
            if overlap(a, b) {
                return Err(AdmError::Invalid(format!(
                    "matches {} and {} of {} overlap",
                    values::match_to_string(a),
                    values::match_to_string(b),
                    s.key
                )));
            }
        }
    }
    if s.matches.is_empty() {
        // Nothing to overlap: skip the scan of the whole table.
        return Ok(());
    }
    for other in model.iter().filter(|o| o.key != s.key) {
        for a in &s.matches {
            if let Some(b) = other.matches.iter().find(|b| overlap(a, b)) {
                return Err(AdmError::Invalid(format!(
                    "match {} overlaps match {} of {}",
                    values::match_to_string(a),
                    values::match_to_string(b),
                    other.key
                )));
            }
        }
    }
    Ok(())
}

fn overlap(a: &FwmarkMatch, b: &FwmarkMatch) -> bool {
    a.proto == b.proto
        && a.vip == b.vip
        && (a.ports.is_empty() || b.ports.is_empty() || a.ports.iter().any(|p| b.ports.contains(p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adm::parse_args;
    use rvs_conf::{FwdMethod, SchedKind};

    fn cmd(line: &str) -> AdmCommand {
        let v: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse_args(&v).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn run(model: &mut Vec<ServiceConf>, line: &str) -> Result<(), AdmError> {
        apply(model, &cmd(line))
    }

    #[test]
    fn service_lifecycle() {
        let mut m = Vec::new();
        run(&mut m, "-A -t 10.0.0.1:80 -s rr -p 600").unwrap();
        assert_eq!(run(&mut m, "-A -t 10.0.0.1:80"), Err(AdmError::ServiceExists));
        run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.10 -m").unwrap();
        assert_eq!(run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.10:80 -g"), Err(AdmError::DestExists));
        // -E replaces the options (persistence goes), keeps the dests.
        run(&mut m, "-E -t 10.0.0.1:80 -s wrr").unwrap();
        assert_eq!(m[0].scheduler, SchedKind::Wrr);
        assert_eq!(m[0].persistent, None);
        assert_eq!(m[0].dests.len(), 1);
        assert_eq!(run(&mut m, "-E -t 10.0.0.2:80"), Err(AdmError::NoSuchService));
        assert_eq!(run(&mut m, "-D -t 10.0.0.2:80"), Err(AdmError::NoSuchService));
        assert_eq!(run(&mut m, "-Z -t 10.0.0.2:80"), Err(AdmError::NoSuchService));
        run(&mut m, "-Z -t 10.0.0.1:80").unwrap();
        run(&mut m, "-Z").unwrap();
        assert_eq!(run(&mut m, "-a -t 10.0.0.2:80 -r 1.1.1.1"), Err(AdmError::ServiceNotDefined));
        // -e replaces: without -m the server becomes DR, weight 1.
        run(&mut m, "-e -t 10.0.0.1:80 -r 192.168.0.10 -w 5").unwrap();
        assert_eq!((m[0].dests[0].fwd, m[0].dests[0].weight), (FwdMethod::Dr, 5));
        assert_eq!(run(&mut m, "-e -t 10.0.0.1:80 -r 192.168.0.11"), Err(AdmError::NoSuchDest));
        assert_eq!(run(&mut m, "-d -t 10.0.0.1:80 -r 192.168.0.11"), Err(AdmError::NoSuchDest));
        run(&mut m, "-d -t 10.0.0.1:80 -r 192.168.0.10").unwrap();
        assert!(m[0].dests.is_empty());
        run(&mut m, "-D -t 10.0.0.1:80").unwrap();
        assert!(m.is_empty());
    }

    #[test]
    fn nat_port_mapping_is_its_own_dest() {
        let mut m = Vec::new();
        run(&mut m, "-A -t 10.0.0.1:80").unwrap();
        run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.10:8080 -m").unwrap();
        run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.10:8081 -m").unwrap();
        assert_eq!(run(&mut m, "-d -t 10.0.0.1:80 -r 192.168.0.10"), Err(AdmError::NoSuchDest));
        run(&mut m, "-d -t 10.0.0.1:80 -r 192.168.0.10:8081").unwrap();
        assert_eq!(m[0].dests.len(), 1);
    }

    #[test]
    fn validate_refuses_and_leaves_model() {
        let mut m = Vec::new();
        run(&mut m, "-A -t 10.0.0.1:80").unwrap();
        let before = m.clone();
        let e = run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.10 --fullnat").unwrap_err();
        assert!(matches!(&e, AdmError::Invalid(s) if s.contains("laddrs")), "{e}");
        assert_eq!(m, before);
        run(&mut m, "-E -t 10.0.0.1:80 --laddr 192.168.0.100").unwrap();
        run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.10 --fullnat").unwrap();
        // -E without --laddr keeps the pool.
        run(&mut m, "-E -t 10.0.0.1:80 -s rr").unwrap();
        assert_eq!(m[0].laddrs.len(), 1);
        let e = run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.11 -m -x 5 -y 10").unwrap_err();
        assert_eq!(e, AdmError::OutOfRange);
    }

    #[test]
    fn fwmark_matches_must_not_overlap() {
        let mut m = Vec::new();
        run(&mut m, "-A -f 1 --match tcp:10.0.0.1:80,443").unwrap();
        let e = run(&mut m, "-A -f 2 --match tcp:10.0.0.1:443").unwrap_err();
        assert!(e.to_string().contains("overlaps"), "{e}");
        run(&mut m, "-A -f 2 --match udp:10.0.0.1:443").unwrap();
        let e = run(&mut m, "-A -f 3 --match tcp:10.0.0.1").unwrap_err();
        assert!(e.to_string().contains("overlaps"), "{e}");
        // Re-editing a service's own matches is fine.
        run(&mut m, "-E -f 1 --match tcp:10.0.0.1:80,443,8443").unwrap();
        assert_eq!(m[0].matches[0].ports.len(), 3);
        let e = run(&mut m, "-E -f 1 --match tcp:10.0.0.1:80 --match tcp:10.0.0.1:80").unwrap_err();
        assert!(e.to_string().contains("overlap"), "{e}");
    }

    #[test]
    fn tunnel_checksums_refused() {
        let mut m = Vec::new();
        run(&mut m, "-A -t 10.0.0.1:80").unwrap();
        let e =
            run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.10 -i --tun-type gue --tun-port 6080 --tun-csum").unwrap_err();
        assert!(e.to_string().contains("not supported"), "{e}");
        run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.10 -i --tun-type gue --tun-port 6080 --tun-nocsum").unwrap();
    }

    #[test]
    fn transaction_names_the_line() {
        let m = vec![];
        let cmds = vec![
            (1, cmd("-A -t 10.0.0.1:80")),
            (3, cmd("-a -t 10.0.0.1:80 -r 192.168.0.10")),
            (4, cmd("-a -t 10.0.0.1:80 -r 192.168.0.10")),
        ];
        assert_eq!(apply_all(&m, &cmds), Err((4, AdmError::DestExists)));
        assert_eq!(apply_all(&m, &cmds[..2]).unwrap().len(), 1);
        assert!(apply(&mut vec![], &cmd("-L")).is_err());
    }

    #[test]
    fn set_zero_keeps() {
        let mut c = ConnConf::default();
        apply_timeouts(&mut c, &Timeouts { tcp: 0, tcpfin: 0, udp: 60 });
        assert_eq!(timeouts_of(&c), Timeouts { tcp: 900, tcpfin: 120, udp: 60 });
    }
}
