//! `parse_args`: an rvsadm/ipvsadm command line → [`AdmCommand`].
//!
//! Hand-written over the option table in `options.rs` rather than clap:
//! ipvsadm's grammar (popt) has a command that is itself an option, short
//! options clustered with their command (`-Ln`, `-At 1.2.3.4:80`), `-p`
//! with an *optional* value that is taken from the next word only when it
//! does not start with '-', positional values only for `--set`, and
//! specific messages for every kind of mistake. Reproducing that on top
//! of clap would take more code than the parser itself.
//!
//! Behaviour kept from ipvsadm 1.31:
//! - every option once ("multiple 'weight' options specified"), except
//!   the repeatable extensions `--laddr` and `--match`;
//! - one command ("multiple commands specified"); `-h`/`-v` as the first
//!   command print help/version whatever follows;
//! - the legality table and its messages ("Illegal 'real-server' option
//!   with the 'add-service' command", "You need to supply ...");
//! - value checks with ipvsadm's wording ("illegal weight specified"),
//!   followed by what exactly is wrong;
//! - defaults: scheduler `wlc`, `-p` alone = 360 s, weight 1, gatewaying;
//! - the real-server port defaults to the service port, and is forced to
//!   it for `-g`/`-i` on non-fwmark services (DR and TUN cannot map ports);
//! - zero-port services must be persistent.
//!
//! - the first option is the command; popt's errors and ipvsadm's texts
//!   and exit codes (see `AdmError::text`), rvs's detail behind `--verbose`.
//!
//! Decided differently:
//! - `-r`, `-M` and `-b` are resolved after all options are read, so
//!   `-a -r 10.0.0.1 -t 1.2.3.4:80` gets the service port (ipvsadm uses the
//!   service as parsed so far and would take port 0);
//! - options rvs cannot honour yet (`--pe`) are
//!   read and checked as ipvsadm checks them, then refused where IPVS would
//!   answer (after the service lookup) with the reason in the detail.

use crate::adm::cmd::{
    AdmCommand, DestOpts, DestRef, ListOpts, ListTarget, RestoreOpts, SaveOpts, ServiceOpts, TunCsum,
};
use crate::adm::error::AdmError;
use crate::adm::options::{self, Arg, Cmd, Opt, OptSet, Spec, SvcKind, Tag};
use crate::adm::values;
use crate::adm::view::Timeouts;
use rvs_conf::{
    DestConf, FwdMethod, FwmarkMatch, Proto, ProxyProtocol, SchedFlags, SchedKind, ServiceKey, SyncRole, TunType,
};
use std::net::IpAddr;

/// IPVS_SVC_PERSISTENT_TIMEOUT (libipvs.h: `6*60`): what a bare `-p`
/// means.
pub const DEFAULT_PERSISTENT_TIMEOUT: u32 = 360;
/// ipvsadm's MAX_TIMEOUT: 31 days.
pub const MAX_TIMEOUT: u32 = 86400 * 31;

/// Parse a command line; `argv` excludes the program name. No arguments
/// at all lists the table, like a bare `ipvsadm`.
pub fn parse_args(argv: &[String]) -> Result<AdmCommand, AdmError> {
    if argv.is_empty() {
        return Ok(AdmCommand::List(ListOpts::default()));
    }
    let mut p = Parsed::default();
    if let Some(early) = p.read(argv)? {
        return Ok(early);
    }
    p.build().map_err(AdmError::Usage)
}

/// A service option's value, checked.
#[derive(Debug, Clone, Copy)]
enum SvcArg {
    Inet(Proto, IpAddr, Option<u16>),
    Mark(u32),
}

#[derive(Default)]
struct Parsed {
    cmd: Option<Cmd>,
    given: OptSet,
    svc: Option<SvcArg>,
    fwd: Option<FwdMethod>,
    scheduler: Option<String>,
    persistent: Option<u32>,
    netmask: Option<String>,
    server: Option<(IpAddr, Option<u16>)>,
    weight: Option<u32>,
    upper: Option<u32>,
    lower: Option<u32>,
    sched_flags: Option<String>,
    tun_type: Option<TunType>,
    tun_port: Option<u16>,
    laddrs: Vec<IpAddr>,
    matches: Vec<FwmarkMatch>,
    mhb_c: Option<f64>,
    proxy_protocol: Option<ProxyProtocol>,
    /// `--pe`.
    pe: Option<String>,
    /// `--start-daemon`/`--stop-daemon`'s role, and the daemon options.
    role: Option<SyncRole>,
    daemon: DaemonArgs,
    positional: Vec<String>,
}

/// The daemon options as given (checked as ipvsadm checks them).
#[derive(Default)]
struct DaemonArgs {
    interface: Option<String>,
    syncid: Option<u8>,
    group: Option<IpAddr>,
    port: Option<u16>,
    ttl: Option<u8>,
    maxlen: Option<u16>,
}

/// A usage error back to the text (with its detail) `build` returns.
fn usage_text(e: AdmError) -> String {
    match e {
        AdmError::Usage(s) => s,
        e => e.to_string(),
    }
}

/// ipvsadm's "illegal X specified", and (after the newline, printed only
/// with `--verbose`) what exactly is wrong.
fn illegal(what: &str, why: impl std::fmt::Display) -> String {
    format!("illegal {what} specified\n{why}")
}

fn num_arg(v: &str, min: i64, max: i64, what: &str) -> Result<u32, String> {
    values::number(v, min, max)
        .map(|n| n as u32)
        .ok_or_else(|| illegal(what, format_args!("'{v}' is not a number in {min}..{max}")))
}

impl Parsed {
    /// Read the words. Returns `Some` for `-h`/`-v`, which end parsing.
    ///
    /// Like ipvsadm under popt: the first option must be a command (else
    /// only the "Try" line, exit 255); a word popt cannot read after it is
    /// `WORD: popt's message` (exit 255); a command after the first is an
    /// "invalid option" (popt names the whole word, so `-LA` is reported
    /// as `-LA`). Words that are not options are kept for `--set` and for
    /// "unexpected argument".
    fn read(&mut self, argv: &[String]) -> Result<Option<AdmCommand>, AdmError> {
        let mut i = 0;
        let mut only_positional = false;
        let mut first = true;
        while i < argv.len() {
            let w = &argv[i];
            i += 1;
            if only_positional || w == "-" || !w.starts_with('-') {
                self.positional.push(w.clone());
                continue;
            }
            if w == "--" {
                only_positional = true;
                continue;
            }
            let popt =
                |first: bool, msg: &str| if first { AdmError::TryHelp } else { AdmError::Popt(format!("{w}: {msg}")) };
            if let Some(long) = w.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (long, None),
                };
                let spec = options::by_long(name).ok_or_else(|| popt(first, "unknown option"))?;
                let value = match spec.arg {
                    Arg::None if inline.is_some() => return Err(popt(first, "option does not take an argument")),
                    Arg::None => None,
                    Arg::Required => match inline {
                        Some(v) => Some(v),
                        None => Some(take_next(argv, &mut i, false).ok_or_else(|| popt(first, "missing argument"))?),
                    },
                    Arg::Optional => match inline {
                        Some(v) => Some(v),
                        None => take_next(argv, &mut i, true),
                    },
                };
                if let Some(done) = self.on(spec, value, w, first)? {
                    return Ok(Some(done));
                }
                first = false;
                continue;
            }
            let chars: Vec<char> = w[1..].chars().collect();
            let mut j = 0;
            while j < chars.len() {
                let c = chars[j];
                j += 1;
                let spec = options::by_short(c).ok_or_else(|| popt(first, "unknown option"))?;
                let rest: String = chars[j..].iter().collect();
                let value = match spec.arg {
                    Arg::None => None,
                    Arg::Required | Arg::Optional if !rest.is_empty() => {
                        j = chars.len();
                        Some(rest)
                    }
                    Arg::Required => {
                        Some(take_next(argv, &mut i, false).ok_or_else(|| popt(first, "missing argument"))?)
                    }
                    Arg::Optional => take_next(argv, &mut i, true),
                };
                if let Some(done) = self.on(spec, value, w, first)? {
                    return Ok(Some(done));
                }
                first = false;
            }
        }
        if first {
            // No option at all (`ipvsadm foo`): popt has nothing to give.
            return Err(AdmError::TryHelp);
        }
        Ok(None)
    }

    fn set(&mut self, opt: Opt) -> Result<(), AdmError> {
        if self.given.has(opt) && !opt.repeatable() {
            return Err(AdmError::usage(format!("multiple '{}' options specified", opt.name())));
        }
        self.given.insert(opt);
        Ok(())
    }

    /// One option with its value (checked here when the check needs no
    /// other option, so that errors come in argv order like ipvsadm's).
    /// `word` is the argv word the option came from, `first` whether it
    /// is the command position.
    fn on(
        &mut self,
        spec: &Spec,
        value: Option<String>,
        word: &str,
        first: bool,
    ) -> Result<Option<AdmCommand>, AdmError> {
        let bare = value.is_none();
        let v = value.unwrap_or_default();
        let e = AdmError::Usage;
        match spec.tag {
            Tag::Cmd(c) if first => {
                if matches!(c, Cmd::Help | Cmd::Version) {
                    return Ok(Some(if c == Cmd::Help { AdmCommand::Help } else { AdmCommand::Version }));
                }
                // ipvsadm checks the daemon's role with the command (its
                // two messages differ by one character: kept).
                if !matches!(v.as_str(), "master" | "backup") {
                    match c {
                        Cmd::StartDaemon => return Err(AdmError::usage("illegal start-daemon parameter specified")),
                        Cmd::StopDaemon => return Err(AdmError::usage("illegal start_daemon specified")),
                        _ => {}
                    }
                }
                if matches!(c, Cmd::StartDaemon | Cmd::StopDaemon) {
                    self.role = Some(if v == "master" { SyncRole::Master } else { SyncRole::Backup });
                }
                self.cmd = Some(c);
            }
            Tag::Cmd(_) => return Err(AdmError::usage(format!("invalid option `{word}'"))),
            // `rvsadm --workers` is a listing of its own (an rvs command).
            Tag::Opt(Opt::Workers) if first => {
                self.set(Opt::Workers)?;
                self.cmd = Some(Cmd::List);
            }
            _ if first => return Err(AdmError::TryHelp),
            Tag::Service(kind) => {
                self.set(Opt::Service)?;
                self.svc = Some(match kind {
                    SvcKind::Fwmark => SvcArg::Mark(
                        values::number(&v, 1, i64::from(u32::MAX))
                            .map(|n| n as u32)
                            .ok_or_else(|| AdmError::usage(format!("invalid fwmark value `{v}' specified")))?,
                    ),
                    SvcKind::Tcp | SvcKind::Udp | SvcKind::Sctp => {
                        let proto = match kind {
                            SvcKind::Udp => "udp",
                            SvcKind::Sctp => "sctp",
                            _ => "tcp",
                        };
                        let (a, p) = values::addr_port(&v, Some(proto))
                            .map_err(|why| e(illegal("virtual server address[:port]", why)))?;
                        let proto = match kind {
                            SvcKind::Udp => Proto::Udp,
                            SvcKind::Sctp => Proto::Sctp,
                            _ => Proto::Tcp,
                        };
                        SvcArg::Inet(proto, a, p)
                    }
                });
            }
            Tag::Fwd(m) => {
                self.set(Opt::Forward)?;
                self.fwd = Some(m);
            }
            Tag::Sort => {}
            Tag::Opt(opt) => {
                self.set(opt)?;
                match opt {
                    // ipvsadm: an empty name is the default scheduler, an
                    // empty flag list no flags; `--persistent=` (an empty
                    // value, unlike a bare -p) is an invalid timeout.
                    Opt::Scheduler => self.scheduler = Some(v).filter(|s| !s.is_empty()),
                    Opt::Persistent => {
                        self.persistent = Some(if bare { DEFAULT_PERSISTENT_TIMEOUT } else { timeout(&v, 1)? })
                    }
                    Opt::Netmask => self.netmask = Some(v),
                    Opt::Server => {
                        // Port names by the service's protocol as parsed so
                        // far, as ipvsadm (fwmark: tcp; none yet: no name).
                        let proto = match self.svc {
                            Some(SvcArg::Inet(Proto::Udp, ..)) => Some("udp"),
                            Some(SvcArg::Inet(Proto::Sctp, ..)) => Some("sctp"),
                            Some(_) => Some("tcp"),
                            None => None,
                        };
                        self.server = Some(
                            values::addr_port(&v, proto)
                                .map_err(|why| e(illegal("real server address[:port]", why)))?,
                        )
                    }
                    Opt::Weight => self.weight = Some(num_arg(&v, 0, 65535, "weight").map_err(e)?),
                    Opt::UThreshold => {
                        self.upper = Some(num_arg(&v, 0, i64::from(i32::MAX), "u_threshold").map_err(e)?)
                    }
                    Opt::LThreshold => {
                        self.lower = Some(num_arg(&v, 0, i64::from(i32::MAX), "l_threshold").map_err(e)?)
                    }
                    // ipvsadm takes -6 only after -f (it sets the family
                    // of the fwmark service parsed so far).
                    Opt::Ipv6 if !matches!(self.svc, Some(SvcArg::Mark(_))) => return Err(AdmError::SixBeforeF),
                    Opt::Pe => self.pe = Some(v),
                    Opt::McastIf => self.daemon.interface = Some(v),
                    Opt::SyncId => self.daemon.syncid = Some(num_arg(&v, 0, 255, "syncid").map_err(e)? as u8),
                    Opt::McastPort => self.daemon.port = Some(num_arg(&v, 1, 65535, "mcast-port").map_err(e)? as u16),
                    Opt::McastTtl => self.daemon.ttl = Some(num_arg(&v, 1, 255, "mcast-ttl").map_err(e)? as u8),
                    Opt::SyncMaxlen => {
                        self.daemon.maxlen = Some(num_arg(&v, 1, 65535 - 20 - 8, "sync-maxlen").map_err(e)? as u16)
                    }
                    Opt::McastGroup => self.daemon.group = Some(values::mcast_group(&v).map_err(AdmError::usage)?),
                    Opt::SchedFlags => self.sched_flags = Some(v).filter(|f| !f.is_empty()),
                    Opt::TunType => {
                        self.tun_type = Some(match v.as_str() {
                            "ipip" => TunType::Ipip,
                            "gue" => TunType::Gue,
                            "gre" => TunType::Gre,
                            _ => return Err(e(illegal("tunnel type", format_args!("'{v}' (valid: ipip, gue, gre)")))),
                        })
                    }
                    Opt::TunPort => self.tun_port = Some(num_arg(&v, 1, 65535, "tunnel port").map_err(e)? as u16),
                    Opt::Laddr => {
                        let a: IpAddr = v
                            .parse()
                            .map_err(|_| e(illegal("local address", format_args!("'{v}' is not an IP address"))))?;
                        if self.laddrs.contains(&a) {
                            return Err(e(format!("--laddr {a} is given twice")));
                        }
                        self.laddrs.push(a);
                    }
                    Opt::Match => {
                        let m = values::fwmark_match(&v).map_err(|why| e(illegal("fwmark match", why)))?;
                        self.matches.push(m);
                    }
                    Opt::MhbC => {
                        let c: f64 = v
                            .parse()
                            .ok()
                            .filter(|c: &f64| c.is_finite() && *c >= 1.0)
                            .ok_or_else(|| e(illegal("mhb-c", format_args!("'{v}' is not a number >= 1.0"))))?;
                        self.mhb_c = Some(c);
                    }
                    Opt::ProxyProtocol => {
                        let p = v
                            .parse()
                            .map_err(|_| e(illegal("proxy protocol", format_args!("'{v}' (valid: v1, v2, off)"))))?;
                        self.proxy_protocol = Some(p);
                    }
                    _ => {}
                }
            }
        }
        Ok(None)
    }

    fn svc_is_v6(&self) -> bool {
        match self.svc {
            Some(SvcArg::Inet(_, a, _)) => a.is_ipv6(),
            Some(SvcArg::Mark(_)) => self.given.has(Opt::Ipv6),
            None => false,
        }
    }

    fn key(&self) -> Option<ServiceKey> {
        self.svc.map(|s| match s {
            SvcArg::Inet(proto, addr, port) => ServiceKey::Inet { proto, addr, port: port.unwrap_or(0) },
            SvcArg::Mark(m) => ServiceKey::Fwmark(m),
        })
    }

    fn has(&self, o: Opt) -> bool {
        self.given.has(o)
    }

    fn build(self) -> Result<AdmCommand, String> {
        let cmd = self.cmd.expect("read: the first option is a command");
        let v6 = self.svc_is_v6();
        let netmask = match &self.netmask {
            None => values::full_mask(v6),
            // ipvsadm: atoi for IPv6, inet_aton (then a host name) for IPv4 (`-M 64` on an
            // IPv4 service is the mask 0.0.0.64, not a /64).
            Some(m) if v6 => match values::atoi(m) {
                n @ 1..=128 => values::v6_mask(n as u8),
                _ => return Err(format!("illegal ipv6 netmask specified\n'{m}' is not in 1..128")),
            },
            Some(m) => match values::netmask_v4(m) {
                Some(a) => IpAddr::V4(a),
                None => {
                    return Err(illegal(
                        "virtual server persistent mask",
                        format_args!("'{m}' is not an IPv4 mask (inet_aton: a.b.c.d, or a number)"),
                    ))
                }
            },
        };
        let mut positional = self.positional.iter();
        let mut timeouts = Timeouts::default();
        if cmd == Cmd::SetTimeout {
            match (positional.next(), positional.next(), positional.next()) {
                (Some(a), Some(b), Some(c)) => {
                    timeouts = Timeouts {
                        tcp: timeout(a, 0).map_err(usage_text)?,
                        tcpfin: timeout(b, 0).map_err(usage_text)?,
                        udp: timeout(c, 0).map_err(usage_text)?,
                    }
                }
                _ => return Err("--set option requires 3 timeout values".into()),
            }
        }
        if let Some(extra) = positional.next() {
            return Err(format!("unexpected argument {extra}"));
        }
        let scheduler = self.scheduler.as_deref().and_then(|s| s.parse::<SchedKind>().ok());
        let unknown_scheduler = self.scheduler.clone().filter(|_| scheduler.is_none());
        let sched_flags = match &self.sched_flags {
            Some(f) => sched_flags(self.scheduler.as_deref().unwrap_or("wlc"), f)?,
            None => SchedFlags::default(),
        };
        options::check(cmd, self.given)?;

        let key = self.key();
        Ok(match cmd {
            Cmd::Add | Cmd::Edit => {
                let key = key.expect("checked: service required");
                if let ServiceKey::Inet { port: 0, .. } = key {
                    if self.persistent.is_none() {
                        return Err("Zero port specified for non-persistent service".into());
                    }
                }
                if self.has(Opt::Ops)
                    && !matches!(key, ServiceKey::Fwmark(_) | ServiceKey::Inet { proto: Proto::Udp, .. })
                {
                    return Err("One-Packet Scheduling is only for UDP virtual services".into());
                }
                let matches = if self.has(Opt::Match) {
                    if !matches!(key, ServiceKey::Fwmark(_)) {
                        return Err("--match is only valid with a fwmark service (-f)".into());
                    }
                    for m in &self.matches {
                        if m.vip.is_ipv6() != v6 {
                            return Err(format!(
                                "--match address {} is {} but fwmark service {} is {}{}",
                                m.vip,
                                if m.vip.is_ipv6() { "IPv6" } else { "IPv4" },
                                key_mark(key),
                                if v6 { "IPv6" } else { "IPv4" },
                                if v6 { "" } else { " (add -6)" }
                            ));
                        }
                    }
                    Some(self.matches.clone())
                } else {
                    None
                };
                let o = ServiceOpts {
                    key,
                    scheduler: scheduler.unwrap_or(SchedKind::Wlc),
                    sched_flags,
                    persistent: self.persistent,
                    netmask,
                    laddrs: self.has(Opt::Laddr).then(|| self.laddrs.clone()),
                    matches,
                    mhb_c: self.mhb_c,
                    proxy_protocol: self.proxy_protocol,
                    unknown_scheduler,
                    ops: self.has(Opt::Ops),
                    pe: self.pe.clone(),
                };
                if cmd == Cmd::Add {
                    AdmCommand::AddService(o)
                } else {
                    AdmCommand::EditService(o)
                }
            }
            Cmd::Del => AdmCommand::DelService(key.expect("checked: service required")),
            Cmd::Flush => AdmCommand::Clear,
            Cmd::AddDest | Cmd::EditDest => {
                let key = key.expect("checked: service required");
                let o = self.dest(key, v6)?;
                if cmd == Cmd::AddDest {
                    AdmCommand::AddDest(o)
                } else {
                    AdmCommand::EditDest(o)
                }
            }
            Cmd::DelDest => {
                let key = key.expect("checked: service required");
                let (addr, port) = self.server.expect("checked: real server required");
                AdmCommand::DelDest(DestRef { service: key, svc_v6: v6, addr, port: port.unwrap_or(svc_port(key)) })
            }
            Cmd::Zero => AdmCommand::Zero(key),
            Cmd::SetTimeout => AdmCommand::SetTimeouts(timeouts),
            Cmd::List => {
                let h = |o| self.has(o);
                if ((h(Opt::Connection) || h(Opt::Timeout) || h(Opt::Daemon) || h(Opt::Workers))
                    && (h(Opt::Stats) || h(Opt::Rate) || h(Opt::Thresholds)))
                    || ((h(Opt::Timeout) || h(Opt::Daemon)) && h(Opt::PersistentConn))
                {
                    return Err("options conflicts in the list command".into());
                }
                let target = if h(Opt::Connection) {
                    ListTarget::Connections
                } else if let Some(k) = key {
                    ListTarget::Service(k)
                } else if h(Opt::Timeout) {
                    ListTarget::Timeout
                } else if h(Opt::Daemon) {
                    ListTarget::Daemon
                } else if h(Opt::Workers) {
                    ListTarget::Workers
                } else {
                    ListTarget::All
                };
                AdmCommand::List(ListOpts {
                    target,
                    numeric: h(Opt::Numeric),
                    stats: h(Opt::Stats),
                    rate: h(Opt::Rate),
                    thresholds: h(Opt::Thresholds),
                    persistent_conn: h(Opt::PersistentConn),
                    tun_info: h(Opt::TunInfo),
                    exact: h(Opt::Exact),
                    nosort: h(Opt::NoSort),
                    json: h(Opt::Json),
                    health: h(Opt::Health),
                })
            }
            Cmd::Save => AdmCommand::Save(SaveOpts { numeric: self.has(Opt::Numeric), yaml: self.has(Opt::Yaml) }),
            Cmd::Restore => AdmCommand::Restore(RestoreOpts { dry_run: self.has(Opt::DryRun) }),
            Cmd::StopDaemon => AdmCommand::StopDaemon(self.role.expect("read: the role comes with the command")),
            Cmd::StartDaemon => AdmCommand::StartDaemon(self.daemon_conf()?),
            Cmd::Help => AdmCommand::Help,
            Cmd::Version => AdmCommand::Version,
        })
    }

    /// `--start-daemon`'s daemon: ipvsadm's defaults (interface `eth0`,
    /// syncid 0) and the kernel's (group 224.0.0.81, port 8848, TTL 1)
    /// for what is not given.
    fn daemon_conf(&self) -> Result<rvs_conf::SyncConf, String> {
        let d = &self.daemon;
        let role = self.role.expect("read: the role comes with the command");
        let mut c = rvs_conf::SyncConf::new(role, d.interface.clone().unwrap_or_else(|| "eth0".into()));
        match d.group {
            Some(IpAddr::V4(g)) => c.group = g,
            Some(IpAddr::V6(g)) => {
                return Err(format!(
                    "Operation not supported with specified address family\nrvs syncs over IPv4 only; {g} is IPv6"
                ))
            }
            None => {}
        }
        c.syncid = d.syncid.unwrap_or(0);
        c.port = d.port.unwrap_or(c.port);
        c.ttl = d.ttl.unwrap_or(c.ttl);
        c.maxlen = d.maxlen;
        Ok(c)
    }

    /// `-a`/`-e`: ipvsadm's resolution of the real server.
    fn dest(&self, key: ServiceKey, svc_v6: bool) -> Result<DestOpts, String> {
        let (addr, rport) = self.server.expect("checked: real server required");
        let fwd = self.fwd.unwrap_or(FwdMethod::Dr);
        let sport = svc_port(key);
        let mut port = rport.unwrap_or(sport);
        // DR and TUN cannot change the port: ipvsadm silently uses the
        // service's (fwmark services have none, so theirs is kept).
        if matches!(key, ServiceKey::Inet { .. }) && matches!(fwd, FwdMethod::Dr | FwdMethod::Tun) {
            port = sport;
        }
        // ipvsadm allows a different family for tunnels only; FULLNAT
        // translates the source too, so it can cross families (NAT64) as
        // DPVS's does.
        if addr.is_ipv6() != svc_v6 && !matches!(fwd, FwdMethod::Tun | FwdMethod::FullNat) {
            return Err("Different address family is allowed only for tunneling servers\n\
                        (and, in rvs, FULLNAT servers: --fullnat)"
                .into());
        }
        let tun_opts = [Opt::TunType, Opt::TunPort, Opt::TunNoCsum, Opt::TunCsum, Opt::TunRemCsum];
        if tun_opts.iter().any(|&o| self.has(o)) && fwd != FwdMethod::Tun {
            return Err("Tunnel options conflict with forward method".into());
        }
        let tun_type = self.tun_type.unwrap_or(TunType::Ipip);
        self.check_tunnel(tun_type)?;
        let tun_csum = if self.has(Opt::TunCsum) {
            TunCsum::Csum
        } else if self.has(Opt::TunRemCsum) {
            TunCsum::RemCsum
        } else {
            TunCsum::NoCsum
        };
        Ok(DestOpts {
            service: key,
            svc_v6,
            dest: DestConf {
                addr,
                port,
                weight: self.weight.unwrap_or(1),
                fwd,
                upper: self.upper.unwrap_or(0),
                lower: self.lower.unwrap_or(0),
                tun_type,
                tun_port: self.tun_port.unwrap_or(0),
                health: None,
            },
            tun_csum,
        })
    }

    /// Which tunnel options each encapsulation takes (ipvsadm's
    /// `tunnel_types_v_options`): GUE needs a port and takes one checksum
    /// option; GRE takes `--tun-nocsum` or `--tun-csum`; IPIP none.
    fn check_tunnel(&self, t: TunType) -> Result<(), String> {
        use options::Rule::{self, *};
        let name = match t {
            TunType::Ipip => "ipip",
            TunType::Gue => "gue",
            TunType::Gre => "gre",
        };
        let rules: [(Opt, Rule); 4] = match t {
            TunType::Ipip => [
                (Opt::TunPort, Illegal),
                (Opt::TunNoCsum, Illegal),
                (Opt::TunCsum, Illegal),
                (Opt::TunRemCsum, Illegal),
            ],
            TunType::Gue => [
                (Opt::TunPort, Required),
                (Opt::TunNoCsum, Exclusive),
                (Opt::TunCsum, Exclusive),
                (Opt::TunRemCsum, Exclusive),
            ],
            TunType::Gre => [
                (Opt::TunPort, Illegal),
                (Opt::TunNoCsum, Exclusive),
                (Opt::TunCsum, Exclusive),
                (Opt::TunRemCsum, Illegal),
            ],
        };
        let mut first: Option<Opt> = None;
        for (o, r) in rules {
            if !self.has(o) {
                if r == Required {
                    return Err(format!("You need to supply the '{}' option for the '{name}' tunnel type", o.name()));
                }
                continue;
            }
            match r {
                Illegal => return Err(format!("Illegal '{}' option with the '{name}' tunnel type", o.name())),
                Exclusive => match first {
                    None => first = Some(o),
                    Some(f) => {
                        return Err(format!(
                            "The option '{}' conflicts with the '{}' option in the '{name}' tunnel type",
                            o.name(),
                            f.name()
                        ))
                    }
                },
                _ => {}
            }
        }
        Ok(())
    }
}

fn key_mark(k: ServiceKey) -> u32 {
    match k {
        ServiceKey::Fwmark(m) => m,
        ServiceKey::Inet { .. } => 0,
    }
}

fn svc_port(k: ServiceKey) -> u16 {
    match k {
        ServiceKey::Inet { port, .. } => port,
        ServiceKey::Fwmark(_) => 0,
    }
}

/// The next word as an option value. For optional values, a word that
/// starts with '-' is the next option, not a value.
fn take_next(argv: &[String], i: &mut usize, optional: bool) -> Option<String> {
    match argv.get(*i) {
        Some(w) if optional && w.starts_with('-') => None,
        Some(w) => {
            *i += 1;
            Some(w.clone())
        }
        None => None,
    }
}

/// ipvsadm's `parse_timeout`.
fn timeout(v: &str, min: i64) -> Result<u32, AdmError> {
    values::number(v, min, i64::from(MAX_TIMEOUT))
        .map(|n| n as u32)
        .ok_or_else(|| AdmError::usage(format!("invalid timeout value `{v}' specified\n{min}..{MAX_TIMEOUT} seconds")))
}

/// `-b`: a comma list of flags. The named flags belong to their scheduler
/// (ipvsadm: "incompatible scheduler flag"); `mhb` (rvs's bounded-load
/// Maglev) takes `mh-*` like `mh`.
fn sched_flags(sched: &str, list: &str) -> Result<SchedFlags, String> {
    let mut v = 0;
    let words: Vec<&str> = list.split(',').filter(|w| !w.is_empty()).collect();
    if words.is_empty() {
        return Err(format!("invalid scheduler flag `{list}'"));
    }
    for w in words {
        let (bit, owner): (u32, &[&str]) = match w {
            "flag-1" => (SchedFlags::FLAG1, &[]),
            "flag-2" => (SchedFlags::FLAG2, &[]),
            "flag-3" => (SchedFlags::FLAG3, &[]),
            "sh-fallback" => (SchedFlags::FLAG1, &["sh"]),
            "sh-port" => (SchedFlags::FLAG2, &["sh"]),
            "mh-fallback" => (SchedFlags::FLAG1, &["mh", "mhb"]),
            "mh-port" => (SchedFlags::FLAG2, &["mh", "mhb"]),
            _ => {
                return Err(format!(
                    "invalid scheduler flag `{w}'\nvalid: flag-1, flag-2, flag-3, sh-fallback, sh-port, mh-fallback, mh-port"
                ))
            }
        };
        if !owner.is_empty() && !owner.contains(&sched) {
            return Err(format!("incompatible scheduler flag `{w}'\nit is for scheduler {}, not {sched}", owner[0]));
        }
        v |= bit;
    }
    Ok(SchedFlags(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn p(line: &str) -> Result<AdmCommand, AdmError> {
        let v: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse_args(&v)
    }

    fn err(line: &str) -> String {
        match p(line) {
            Ok(c) => panic!("{line}: parsed as {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn tcp(a: &str, port: u16) -> ServiceKey {
        ServiceKey::Inet { proto: Proto::Tcp, addr: a.parse().unwrap(), port }
    }

    #[test]
    fn empty_lists() {
        assert_eq!(parse_args(&[]).unwrap(), AdmCommand::List(ListOpts::default()));
    }

    #[test]
    fn add_service_defaults() {
        let AdmCommand::AddService(o) = p("-A -t 192.168.1.100:80").unwrap() else { panic!() };
        assert_eq!(o.key, tcp("192.168.1.100", 80));
        assert_eq!(o.scheduler, SchedKind::Wlc);
        assert_eq!(o.persistent, None);
        assert_eq!(o.netmask, IpAddr::V4(Ipv4Addr::BROADCAST));
        assert_eq!(o.laddrs, None);
    }

    #[test]
    fn persistent_optional_value() {
        let get = |l: &str| match p(l).unwrap() {
            AdmCommand::AddService(o) | AdmCommand::EditService(o) => o.persistent,
            c => panic!("{c:?}"),
        };
        assert_eq!(get("-A -t 1.1.1.1:80 -p"), Some(360));
        assert_eq!(get("-A -t 1.1.1.1:80 -p -s rr"), Some(360));
        assert_eq!(get("-A -t 1.1.1.1:80 -p 600 -s rr"), Some(600));
        assert_eq!(get("-A -t 1.1.1.1:80 -p600"), Some(600));
        assert_eq!(get("-A -t 1.1.1.1:80 --persistent=60"), Some(60));
        assert_eq!(get("-A -t 1.1.1.1:80 --persistent"), Some(360));
        assert_eq!(get("-E -p -t 1.1.1.1:0"), Some(360));
        assert!(err("-A -t 1.1.1.1:80 -p rr").starts_with("invalid timeout value `rr' specified"));
        assert!(err("-A -t 1.1.1.1:80 -p 0").contains("invalid timeout value"));
    }

    #[test]
    fn clustered_and_long_list() {
        for l in ["-Ln", "-ln", "--list --numeric", "-L -n", "-l --numeric"] {
            let AdmCommand::List(o) = p(l).unwrap() else { panic!("{l}") };
            assert!(o.numeric && o.target == ListTarget::All, "{l}");
        }
        let AdmCommand::List(o) = p("-Lnc").unwrap() else { panic!() };
        assert_eq!(o.target, ListTarget::Connections);
        let AdmCommand::List(o) = p("-L --timeout").unwrap() else { panic!() };
        assert_eq!(o.target, ListTarget::Timeout);
        for l in ["--workers", "-L --workers", "--workers --json"] {
            let AdmCommand::List(o) = p(l).unwrap() else { panic!("{l}") };
            assert_eq!(o.target, ListTarget::Workers, "{l}");
            assert_eq!(o.json, l.contains("json"));
        }
        assert!(err("-Lc --workers").contains("conflicts"));
        // The command comes first (popt under ipvsadm): else only "Try".
        assert!(matches!(p("-nL"), Err(AdmError::TryHelp)));
        assert!(err("-A -t 1.1.1.1:80 --workers").contains("Illegal 'workers' option"));
        let AdmCommand::List(o) = p("-L -n -t 10.0.0.1:80 --stats --exact").unwrap() else { panic!() };
        assert_eq!(o.target, ListTarget::Service(tcp("10.0.0.1", 80)));
        assert!(o.stats && o.exact);
        let AdmCommand::AddService(o) = p("-At 1.2.3.4:80 -s rr").unwrap() else { panic!() };
        assert_eq!(o.scheduler, SchedKind::Rr);
        let AdmCommand::AddService(o) = p("-At1.2.3.4:80").unwrap() else { panic!() };
        assert_eq!(o.key, tcp("1.2.3.4", 80));
        let AdmCommand::AddService(o) = p("--add-service --tcp-service=1.2.3.4:80 --scheduler=sh -b sh-port").unwrap()
        else {
            panic!()
        };
        assert_eq!(o.sched_flags, SchedFlags(SchedFlags::FLAG2));
    }

    #[test]
    fn add_dest_defaults_and_port_rules() {
        let AdmCommand::AddDest(o) = p("-a -t 192.168.1.100:80 -r 192.168.1.200").unwrap() else { panic!() };
        assert_eq!(o.dest.fwd, FwdMethod::Dr, "ipvsadm's default is gatewaying");
        assert_eq!(o.dest.weight, 1);
        assert_eq!(o.dest.port, 80);
        // DR cannot map ports: ipvsadm forces the service port.
        let AdmCommand::AddDest(o) = p("-a -t 1.1.1.1:80 -r 2.2.2.2:8080 -g").unwrap() else { panic!() };
        assert_eq!(o.dest.port, 80);
        let AdmCommand::AddDest(o) = p("-a -t 1.1.1.1:80 -r 2.2.2.2:8080 -m -w 3").unwrap() else { panic!() };
        assert_eq!((o.dest.port, o.dest.fwd, o.dest.weight), (8080, FwdMethod::Nat, 3));
        // Options in any order after the command.
        let AdmCommand::AddDest(o) = p("-a -r 2.2.2.2 -t 1.1.1.1:80 --fullnat").unwrap() else { panic!() };
        assert_eq!((o.dest.port, o.dest.fwd), (80, FwdMethod::FullNat));
        // fwmark services keep the given port (0 if none), even for DR.
        let AdmCommand::AddDest(o) = p("-a -f 66 -r 192.168.0.10 -g").unwrap() else { panic!() };
        assert_eq!(o.dest.port, 0);
        let AdmCommand::AddDest(o) = p("-a -f 66 -r 192.168.0.10:443 -g").unwrap() else { panic!() };
        assert_eq!(o.dest.port, 443);
        let AdmCommand::AddDest(o) =
            p("-a -t 1.1.1.1:80 -r 2.2.2.2 -i --tun-type gue --tun-port 6080 --tun-nocsum").unwrap()
        else {
            panic!()
        };
        assert_eq!((o.dest.tun_type, o.dest.tun_port), (TunType::Gue, 6080));
    }

    #[test]
    fn bad_weight() {
        assert!(err("-a -t 1.1.1.1:80 -r 2.2.2.2 -w 65536").starts_with("illegal weight specified"));
        assert!(err("-a -t 1.1.1.1:80 -r 2.2.2.2 -w x").starts_with("illegal weight specified"));
        assert!(err("-a -t 1.1.1.1:80 -r 2.2.2.2 -w -1").starts_with("illegal weight specified"));
        assert!(err("-a -t 1.1.1.1:80 -r 2.2.2.2 -x -5").starts_with("illegal u_threshold"));
    }

    #[test]
    fn unknown_scheduler_is_left_to_the_apply_step() {
        // IPVS, not ipvsadm, refuses it (ENOENT after the service lookup).
        let AdmCommand::AddService(o) = p("-A -t 1.1.1.1:80 -s fastest").unwrap() else { panic!() };
        assert_eq!(o.unknown_scheduler.as_deref(), Some("fastest"));
        let e = AdmError::NoScheduler("fastest".into());
        assert_eq!(e.text("ipvsadm"), "Scheduler or persistence engine not found");
        assert!(e.detail().unwrap().contains(&SchedKind::valid_list()));
        // ipvsadm checks -b against the name as given.
        let e = p("-A -t 1.1.1.1:80 -s fastest -b sh-port").unwrap_err();
        assert_eq!(e.text("ipvsadm"), "incompatible scheduler flag `sh-port'");
    }

    #[test]
    fn missing_service_and_server() {
        assert_eq!(err("-A -s rr"), "You need to supply the 'service-address' option for the 'add-service' command");
        assert_eq!(
            err("-a -t 1.1.1.1:80 -m"),
            "You need to supply the 'real-server' option for the 'add-server' command"
        );
        assert_eq!(err("-A -t 1.1.1.1:80 -r 2.2.2.2"), "Illegal 'real-server' option with the 'add-service' command");
        assert_eq!(
            err("-L -c -t 1.1.1.1:80"),
            "The option 'service-address' conflicts with the 'connection' option in the 'list' command"
        );
        assert_eq!(err("-L -c --stats"), "options conflicts in the list command");
    }

    #[test]
    fn port_out_of_range_and_names() {
        let e = err("-A -t 1.1.1.1:70000");
        assert!(e.starts_with("illegal virtual server address[:port] specified"), "{e}");
        assert!(e.contains("out of range"), "{e}");
        let e = err("-a -t 1.1.1.1:80 -r 2.2.2.2:99999");
        assert!(e.starts_with("illegal real server address[:port] specified"), "{e}");
        assert!(err("-A -t nosuchhost.example:80").starts_with("illegal virtual server address[:port] specified"));
        assert!(err("-A -t 1.1.1.1:nosuchservice").starts_with("illegal virtual server address[:port] specified"));
        assert!(err("-a -r 2.2.2.2:http -t 1.1.1.1:80").starts_with("illegal real server address[:port] specified"));
        assert!(err("-A -t 80").starts_with("illegal virtual server"));
    }

    #[test]
    fn zero_port_needs_persistence() {
        assert_eq!(err("-A -t 1.1.1.1"), "Zero port specified for non-persistent service");
        assert!(p("-A -t 1.1.1.1 -p").is_ok());
        assert!(p("-A -f 1").is_ok());
    }

    #[test]
    fn multiples_and_unknowns() {
        // A second command is an option popt knows but ipvsadm's option
        // loop does not take; popt names the whole word.
        assert_eq!(err("-A -D -t 1.1.1.1:80"), "invalid option `-D'");
        assert_eq!(err("-LZ"), "invalid option `-LZ'");
        assert_eq!(err("-a -t 1.1.1.1:80 -r 2.2.2.2 -w 1 -w 2"), "multiple 'weight' options specified");
        assert_eq!(err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m -g"), "multiple 'forwarding-method' options specified");
        assert_eq!(err("-L --bogus"), "--bogus: unknown option");
        assert_eq!(err("-Lq"), "-Lq: unknown option");
        assert_eq!(err("-A -t"), "-t: missing argument");
        assert_eq!(p("-A -t").unwrap_err().exit_code(), 255);
        assert_eq!(err("-L --numeric=1"), "--numeric=1: option does not take an argument");
        for l in ["-n", "--bogus -L", "-t 1.1.1.1:80 -A", "foo", "-qA"] {
            assert!(matches!(p(l), Err(AdmError::TryHelp)), "{l}");
        }
        assert_eq!(err("-C extra"), "unexpected argument extra");
    }

    #[test]
    fn set_timeouts() {
        assert_eq!(
            p("--set 900 120 300").unwrap(),
            AdmCommand::SetTimeouts(Timeouts { tcp: 900, tcpfin: 120, udp: 300 })
        );
        assert_eq!(err("--set 900 120"), "--set option requires 3 timeout values");
        assert_eq!(err("--set 1 2 3 4"), "unexpected argument 4");
        assert!(err("--set 1 2 x").starts_with("invalid timeout value `x'"));
    }

    #[test]
    fn netmasks() {
        let AdmCommand::AddService(o) = p("-A -t 1.1.1.1:80 -p -M 255.255.255.0").unwrap() else { panic!() };
        assert_eq!(o.netmask, "255.255.255.0".parse::<IpAddr>().unwrap());
        let AdmCommand::AddService(o) = p("-A -t [2001:db8::1]:80 -p -M 64").unwrap() else { panic!() };
        assert_eq!(values::v6_prefix(o.netmask), 64);
        let AdmCommand::AddService(o) = p("-A -f 7 -6").unwrap() else { panic!() };
        assert!(o.netmask.is_ipv6());
        // An IPv4 -M is inet_aton's: a bare number is the 32-bit value.
        let AdmCommand::AddService(o) = p("-A -t 1.1.1.1:80 -p -M 24").unwrap() else { panic!() };
        assert_eq!(o.netmask, "0.0.0.24".parse::<IpAddr>().unwrap());
        let AdmCommand::AddService(o) = p("-A -f 3 -p -M 0xffff0000").unwrap() else { panic!() };
        assert_eq!(o.netmask, "255.255.0.0".parse::<IpAddr>().unwrap());
        assert!(err("-A -t 1.1.1.1:80 -p -M 255.255.255.0/24").starts_with("illegal virtual server persistent mask"));
        assert!(err("-A -t 1.1.1.1:80 -p -M mask.example.com").starts_with("illegal virtual server persistent mask"));
        let AdmCommand::AddService(o) = p("-A -t [2001:db8::1]:80 -p -M 48x").unwrap() else { panic!() };
        assert_eq!(values::v6_prefix(o.netmask), 48);
        assert!(err("-A -t [::1]:80 -p -M 0").starts_with("illegal ipv6 netmask"));
        assert!(err("-A -t [::1]:80 -p -M 129").starts_with("illegal ipv6 netmask"));
        assert!(matches!(p("-A -t 1.1.1.1:80 -6"), Err(AdmError::SixBeforeF)));
        assert!(matches!(p("-A -6 -f 1"), Err(AdmError::SixBeforeF)), "-6 comes after -f");
    }

    #[test]
    fn sched_flag_rules() {
        assert!(err("-A -t 1.1.1.1:80 -b sh-port").starts_with("incompatible scheduler flag `sh-port'"));
        assert!(err("-A -t 1.1.1.1:80 -s sh -b bogus").starts_with("invalid scheduler flag `bogus'"));
        let AdmCommand::AddService(o) = p("-A -t 1.1.1.1:80 -s rr -b flag-1,flag-3").unwrap() else { panic!() };
        assert_eq!(o.sched_flags, SchedFlags(5));
    }

    #[test]
    fn tunnel_option_rules() {
        assert_eq!(err("-a -t 1.1.1.1:80 -r 2.2.2.2 -m --tun-type gre"), "Tunnel options conflict with forward method");
        assert_eq!(
            err("-a -t 1.1.1.1:80 -r 2.2.2.2 -i --tun-type gue"),
            "You need to supply the 'tun-port' option for the 'gue' tunnel type"
        );
        assert_eq!(
            err("-a -t 1.1.1.1:80 -r 2.2.2.2 -i --tun-port 5"),
            "Illegal 'tun-port' option with the 'ipip' tunnel type"
        );
        assert_eq!(
            err("-a -t 1.1.1.1:80 -r 2.2.2.2 -i --tun-type gre --tun-nocsum --tun-csum"),
            "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gre' tunnel type"
        );
        assert!(err("-a -t 1.1.1.1:80 -r 2.2.2.2 -i --tun-type vxlan").starts_with("illegal tunnel type"));
    }

    #[test]
    fn extensions() {
        let AdmCommand::AddService(o) =
            p("-A -t 10.0.0.1:80 -s rr --laddr 192.168.0.100 --laddr 192.168.0.101").unwrap()
        else {
            panic!()
        };
        assert_eq!(o.laddrs.unwrap().len(), 2);
        let AdmCommand::AddService(o) = p("-A -f 66 -s rr --match tcp:192.168.0.200:80,443").unwrap() else { panic!() };
        assert_eq!(o.matches.unwrap()[0].ports, vec![80, 443]);
        assert!(err("-A -t 1.1.1.1:80 --match tcp:1.1.1.1:80").contains("only valid with a fwmark"));
        assert!(err("-A -f 1 --match tcp:[::1]:80").contains("add -6"));
        assert!(p("-A -f 1 -6 --match tcp:[::1]:80").is_ok());
        assert!(err("-A -t 1.1.1.1:80 --laddr 1.1.1.2 --laddr 1.1.1.2").contains("twice"));
        assert_eq!(err("-a -t 1.1.1.1:80 -r 2.2.2.2 --json"), "Illegal 'json' option with the 'add-server' command");
        assert!(matches!(p("-R --dry-run").unwrap(), AdmCommand::Restore(RestoreOpts { dry_run: true })));
        assert!(matches!(p("-S -n --yaml").unwrap(), AdmCommand::Save(SaveOpts { yaml: true, numeric: true })));
    }

    #[test]
    fn help_version_and_unsupported() {
        assert_eq!(p("-h").unwrap(), AdmCommand::Help);
        assert_eq!(p("--help -n").unwrap(), AdmCommand::Help);
        assert_eq!(p("-v").unwrap(), AdmCommand::Version);
        assert_eq!(err("-L -h"), "invalid option `-h'");
        assert_eq!(err("--start-daemon x"), "illegal start-daemon parameter specified");
        assert_eq!(err("--stop-daemon x"), "illegal start_daemon specified");
        assert_eq!(err("-A -t 1.1.1.1:80 --ops"), "One-Packet Scheduling is only for UDP virtual services");
        // The rest is refused once the service was looked up, as IPVS does.
        let AdmCommand::AddService(o) = p("-A -u 1.1.1.1:53 --ops --pe sip").unwrap() else { panic!() };
        assert!(o.ops && o.pe.as_deref() == Some("sip"));
        let m = [rvs_conf::ServiceConf::new(tcp("1.1.1.1", 80))];
        let e = crate::adm::apply_all(&m, &[(0, p("-E -t 1.1.1.2:80 --pe foo").unwrap())]).unwrap_err();
        assert_eq!(e.1, AdmError::NoSuchService);
        let e = crate::adm::apply_all(&m, &[(0, p("-E -t 1.1.1.1:80 --pe foo").unwrap())]).unwrap_err();
        assert_eq!(e.1, AdmError::NoScheduler("foo".into()));
        let m2 = crate::adm::apply_all(&m, &[(0, p("-A -u 1.1.1.1:53 -o").unwrap())]).unwrap();
        assert!(m2[1].one_packet, "-o is one-packet scheduling");
        let e = crate::adm::apply_all(&m2, &[(0, p("-a -u 1.1.1.1:53 -r 10.0.0.1 -m").unwrap())]).unwrap_err();
        assert!(matches!(e.1, AdmError::Invalid(ref d) if d.contains("one-packet")), "{e:?}");
        let m3 = crate::adm::apply_all(&m2, &[(0, p("-a -u 1.1.1.1:53 -r 10.0.0.1 -g").unwrap())]).unwrap();
        assert_eq!(m3[1].dests.len(), 1);
        let m4 = crate::adm::apply_all(&m3, &[(0, p("-E -u 1.1.1.1:53 -s rr").unwrap())]).unwrap();
        assert!(!m4[1].one_packet, "-E without -o clears it, as ipvsadm's flag word does");
        let AdmCommand::StartDaemon(c) = p("--start-daemon master").unwrap() else { panic!() };
        assert_eq!(
            (c.state, c.interface.as_str(), c.syncid, c.port, c.ttl, c.maxlen),
            (SyncRole::Master, "eth0", 0, 8848, 1, None)
        );
        let AdmCommand::StartDaemon(c) = p(
            "--start-daemon backup --mcast-interface lan --syncid 9 --mcast-group 239.1.1.1 --mcast-port 9000 --mcast-ttl 3 --sync-maxlen 1200",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            (c.state, c.interface.as_str(), c.syncid, c.group.to_string(), c.port, c.ttl, c.maxlen),
            (SyncRole::Backup, "lan", 9, "239.1.1.1".into(), 9000, 3, Some(1200))
        );
        assert_eq!(p("--stop-daemon backup").unwrap(), AdmCommand::StopDaemon(SyncRole::Backup));
        assert_eq!(
            err("--start-daemon master --syncid 256"),
            "illegal syncid specified: '256' is not a number in 0..255"
        );
        assert_eq!(err("--start-daemon master --mcast-group 10.0.0.1"), "invalid IPv4 mcast-group `10.0.0.1'");
        assert_eq!(err("--start-daemon master --mcast-group ::1"), "invalid IPv6 mcast-group `::1'");
        assert_eq!(p("--start-daemon master --mcast-port 0").unwrap_err().text("x"), "illegal mcast-port specified");
        let AdmCommand::AddService(o) = p("-A --sctp-service 1.1.1.1:3868 -s rr").unwrap() else { panic!() };
        assert_eq!(o.key, ServiceKey::Inet { proto: Proto::Sctp, addr: "1.1.1.1".parse().unwrap(), port: 3868 });
        assert!(err("-a -t 1.1.1.1:80 -r [::1]:80 -m").starts_with("Different address family"));
        assert!(p("-a -t 1.1.1.1:80 -r [::1]:80 -i").is_ok());
    }
}
