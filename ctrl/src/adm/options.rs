//! The option table and the command/option legality rules.
//!
//! ipvsadm's grammar is a flat set of options of which exactly one is a
//! command; a table says which options each command requires, allows, or
//! refuses, and which are mutually exclusive. The messages ("You need to
//! supply the 'real-server' option for the 'add-server' command", ...)
//! and the order in which options are checked (the order of [`Opt`]) are
//! ipvsadm 1.31's, so the first complaint for a wrong line is the same.

use rvs_conf::FwdMethod;

/// A command, as the option that selects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    Add,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    SetTimeout,
    StartDaemon,
    StopDaemon,
    Restore,
    Save,
    Zero,
    Help,
    Version,
}

impl Cmd {
    /// ipvsadm's `cmdnames[]`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Cmd::Add => "add-service",
            Cmd::Edit => "edit-service",
            Cmd::Del => "delete-service",
            Cmd::Flush => "flush",
            Cmd::List => "list",
            Cmd::AddDest => "add-server",
            Cmd::DelDest => "delete-server",
            Cmd::EditDest => "edit-server",
            Cmd::SetTimeout => "set",
            Cmd::StartDaemon => "start-daemon",
            Cmd::StopDaemon => "stop-daemon",
            Cmd::Restore => "restore",
            Cmd::Save => "save",
            Cmd::Zero => "zero",
            Cmd::Help => "help",
            Cmd::Version => "version",
        }
    }
}

/// A non-command option. The order is ipvsadm's `optnames[]` (it decides
/// which violation is reported first), followed by rvs's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opt {
    Numeric,
    Connection,
    Service,
    Scheduler,
    Persistent,
    Netmask,
    Server,
    Forward,
    Weight,
    UThreshold,
    LThreshold,
    McastIf,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    SyncId,
    Exact,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNoCsum,
    TunCsum,
    TunRemCsum,
    // rvs extensions (long options only) and ipvsadm's -6, which ipvsadm
    // does not track as an option bit.
    Laddr,
    Match,
    Json,
    DryRun,
    Yaml,
    MhbC,
    ProxyProtocol,
    Workers,
    Health,
    Ipv6,
}

pub(crate) const N_OPT: usize = Opt::Ipv6 as usize + 1;

/// The set of options given on a command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OptSet(u64);

impl OptSet {
    pub(crate) fn has(self, o: Opt) -> bool {
        self.0 & (1 << o as u32) != 0
    }
    pub(crate) fn insert(&mut self, o: Opt) {
        self.0 |= 1 << o as u32;
    }
}

pub(crate) const ALL_OPTS: [Opt; N_OPT] = [
    Opt::Numeric,
    Opt::Connection,
    Opt::Service,
    Opt::Scheduler,
    Opt::Persistent,
    Opt::Netmask,
    Opt::Server,
    Opt::Forward,
    Opt::Weight,
    Opt::UThreshold,
    Opt::LThreshold,
    Opt::McastIf,
    Opt::Timeout,
    Opt::Daemon,
    Opt::Stats,
    Opt::Rate,
    Opt::Thresholds,
    Opt::PersistentConn,
    Opt::NoSort,
    Opt::SyncId,
    Opt::Exact,
    Opt::Ops,
    Opt::Pe,
    Opt::SchedFlags,
    Opt::McastGroup,
    Opt::McastPort,
    Opt::McastTtl,
    Opt::SyncMaxlen,
    Opt::TunInfo,
    Opt::TunType,
    Opt::TunPort,
    Opt::TunNoCsum,
    Opt::TunCsum,
    Opt::TunRemCsum,
    Opt::Laddr,
    Opt::Match,
    Opt::Json,
    Opt::DryRun,
    Opt::Yaml,
    Opt::MhbC,
    Opt::ProxyProtocol,
    Opt::Workers,
    Opt::Health,
    Opt::Ipv6,
];

impl Opt {
    /// ipvsadm's `optnames[]` (and our long names for the extensions).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Opt::Numeric => "numeric",
            Opt::Connection => "connection",
            Opt::Service => "service-address",
            Opt::Scheduler => "scheduler",
            Opt::Persistent => "persistent",
            Opt::Netmask => "netmask",
            Opt::Server => "real-server",
            Opt::Forward => "forwarding-method",
            Opt::Weight => "weight",
            Opt::UThreshold => "u-threshold",
            Opt::LThreshold => "l-threshold",
            Opt::McastIf => "mcast-interface",
            Opt::Timeout => "timeout",
            Opt::Daemon => "daemon",
            Opt::Stats => "stats",
            Opt::Rate => "rate",
            Opt::Thresholds => "thresholds",
            Opt::PersistentConn => "persistent-conn",
            Opt::NoSort => "nosort",
            Opt::SyncId => "syncid",
            Opt::Exact => "exact",
            Opt::Ops => "ops",
            Opt::Pe => "pe",
            Opt::SchedFlags => "sched-flags",
            Opt::McastGroup => "mcast-group",
            Opt::McastPort => "mcast-port",
            Opt::McastTtl => "mcast-ttl",
            Opt::SyncMaxlen => "sync-maxlen",
            Opt::TunInfo => "tun-info",
            Opt::TunType => "tun-type",
            Opt::TunPort => "tun-port",
            Opt::TunNoCsum => "tun-nocsum",
            Opt::TunCsum => "tun-csum",
            Opt::TunRemCsum => "tun-remcsum",
            Opt::Laddr => "laddr",
            Opt::Match => "match",
            Opt::Json => "json",
            Opt::DryRun => "dry-run",
            Opt::Yaml => "yaml",
            Opt::MhbC => "mhb-c",
            Opt::ProxyProtocol => "proxy-protocol",
            Opt::Workers => "workers",
            Opt::Health => "health",
            Opt::Ipv6 => "ipv6",
        }
    }

    /// Options that may be given more than once (each adds a value).
    pub(crate) fn repeatable(self) -> bool {
        matches!(self, Opt::Laddr | Opt::Match)
    }
}

/// How a command treats an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    Required,
    Optional,
    Illegal,
    /// At most one of the command's exclusive options.
    Exclusive,
}

/// The legality table. Facts from ipvsadm 1.31's `commands_v_options`,
/// plus where rvs's extensions belong.
pub(crate) fn rule(cmd: Cmd, opt: Opt) -> Rule {
    use Opt::*;
    use Rule::*;
    match cmd {
        Cmd::Add | Cmd::Edit => match opt {
            Service => Required,
            Scheduler | Persistent | Netmask | Ops | Pe | SchedFlags | Laddr | Match | MhbC | ProxyProtocol | Ipv6 => {
                Optional
            }
            _ => Illegal,
        },
        Cmd::Del => match opt {
            Service => Required,
            Ipv6 => Optional,
            _ => Illegal,
        },
        Cmd::List => match opt {
            Connection | Service | Timeout | Daemon | Workers => Exclusive,
            Numeric | Stats | Rate | Thresholds | PersistentConn | NoSort | SyncId | Exact | TunInfo | Json
            | Health | Ipv6 => Optional,
            _ => Illegal,
        },
        Cmd::AddDest | Cmd::EditDest => match opt {
            Service | Server => Required,
            Forward | Weight | UThreshold | LThreshold | TunType | TunPort | TunNoCsum | TunCsum | TunRemCsum
            | Ipv6 => Optional,
            _ => Illegal,
        },
        Cmd::DelDest => match opt {
            Service | Server => Required,
            Ipv6 => Optional,
            _ => Illegal,
        },
        Cmd::StartDaemon => match opt {
            McastIf | SyncId | McastGroup | McastPort | McastTtl | SyncMaxlen => Optional,
            _ => Illegal,
        },
        Cmd::StopDaemon => match opt {
            SyncId => Optional,
            _ => Illegal,
        },
        Cmd::Save => match opt {
            Numeric | Yaml => Optional,
            _ => Illegal,
        },
        Cmd::Restore => match opt {
            DryRun => Optional,
            _ => Illegal,
        },
        Cmd::Zero => match opt {
            Service | Ipv6 => Optional,
            _ => Illegal,
        },
        Cmd::Flush | Cmd::SetTimeout | Cmd::Help | Cmd::Version => Illegal,
    }
}

/// Check a command's options against [`rule`], reporting the first
/// violation in option order with ipvsadm's wording.
pub(crate) fn check(cmd: Cmd, given: OptSet) -> Result<(), String> {
    let mut exclusive: Option<Opt> = None;
    for opt in ALL_OPTS {
        let r = rule(cmd, opt);
        if !given.has(opt) {
            if r == Rule::Required {
                return Err(format!("You need to supply the '{}' option for the '{}' command", opt.name(), cmd.name()));
            }
            continue;
        }
        match r {
            Rule::Illegal => return Err(format!("Illegal '{}' option with the '{}' command", opt.name(), cmd.name())),
            Rule::Exclusive => match exclusive {
                None => exclusive = Some(opt),
                Some(first) => {
                    return Err(format!(
                        "The option '{}' conflicts with the '{}' option in the '{}' command",
                        opt.name(),
                        first.name(),
                        cmd.name()
                    ))
                }
            },
            Rule::Required | Rule::Optional => {}
        }
    }
    Ok(())
}

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arg {
    None,
    Required,
    /// `-p [timeout]`: the value is taken from the same word (`-p600`,
    /// `--persistent=600`) or from the next word unless that starts
    /// with '-' (popt's POPT_ARGFLAG_OPTIONAL).
    Optional,
}

/// The kind of service a service option names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SvcKind {
    Tcp,
    Udp,
    Sctp,
    Fwmark,
}

/// What an option word does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    Cmd(Cmd),
    Service(SvcKind),
    Fwd(FwdMethod),
    Opt(Opt),
    /// `--sort`: accepted and ignored (sorting is the default).
    Sort,
}

pub(crate) struct Spec {
    pub long: &'static str,
    pub short: Option<char>,
    pub arg: Arg,
    pub tag: Tag,
}

const fn spec(long: &'static str, short: Option<char>, arg: Arg, tag: Tag) -> Spec {
    Spec { long, short, arg, tag }
}

/// Every option word rvsadm knows: ipvsadm 1.31's long and short names,
/// then the rvs extensions (long only).
pub(crate) static SPECS: &[Spec] = &[
    spec("add-service", Some('A'), Arg::None, Tag::Cmd(Cmd::Add)),
    spec("edit-service", Some('E'), Arg::None, Tag::Cmd(Cmd::Edit)),
    spec("delete-service", Some('D'), Arg::None, Tag::Cmd(Cmd::Del)),
    spec("clear", Some('C'), Arg::None, Tag::Cmd(Cmd::Flush)),
    spec("list", Some('L'), Arg::None, Tag::Cmd(Cmd::List)),
    spec("list", Some('l'), Arg::None, Tag::Cmd(Cmd::List)),
    spec("zero", Some('Z'), Arg::None, Tag::Cmd(Cmd::Zero)),
    spec("add-server", Some('a'), Arg::None, Tag::Cmd(Cmd::AddDest)),
    spec("edit-server", Some('e'), Arg::None, Tag::Cmd(Cmd::EditDest)),
    spec("delete-server", Some('d'), Arg::None, Tag::Cmd(Cmd::DelDest)),
    spec("set", None, Arg::None, Tag::Cmd(Cmd::SetTimeout)),
    spec("help", Some('h'), Arg::None, Tag::Cmd(Cmd::Help)),
    spec("version", Some('v'), Arg::None, Tag::Cmd(Cmd::Version)),
    spec("restore", Some('R'), Arg::None, Tag::Cmd(Cmd::Restore)),
    spec("save", Some('S'), Arg::None, Tag::Cmd(Cmd::Save)),
    spec("start-daemon", None, Arg::Required, Tag::Cmd(Cmd::StartDaemon)),
    spec("stop-daemon", None, Arg::Required, Tag::Cmd(Cmd::StopDaemon)),
    spec("tcp-service", Some('t'), Arg::Required, Tag::Service(SvcKind::Tcp)),
    spec("udp-service", Some('u'), Arg::Required, Tag::Service(SvcKind::Udp)),
    spec("sctp-service", None, Arg::Required, Tag::Service(SvcKind::Sctp)),
    spec("fwmark-service", Some('f'), Arg::Required, Tag::Service(SvcKind::Fwmark)),
    spec("scheduler", Some('s'), Arg::Required, Tag::Opt(Opt::Scheduler)),
    spec("persistent", Some('p'), Arg::Optional, Tag::Opt(Opt::Persistent)),
    spec("netmask", Some('M'), Arg::Required, Tag::Opt(Opt::Netmask)),
    spec("real-server", Some('r'), Arg::Required, Tag::Opt(Opt::Server)),
    spec("masquerading", Some('m'), Arg::None, Tag::Fwd(FwdMethod::Nat)),
    spec("ipip", Some('i'), Arg::None, Tag::Fwd(FwdMethod::Tun)),
    spec("gatewaying", Some('g'), Arg::None, Tag::Fwd(FwdMethod::Dr)),
    spec("weight", Some('w'), Arg::Required, Tag::Opt(Opt::Weight)),
    spec("u-threshold", Some('x'), Arg::Required, Tag::Opt(Opt::UThreshold)),
    spec("l-threshold", Some('y'), Arg::Required, Tag::Opt(Opt::LThreshold)),
    spec("numeric", Some('n'), Arg::None, Tag::Opt(Opt::Numeric)),
    spec("connection", Some('c'), Arg::None, Tag::Opt(Opt::Connection)),
    spec("mcast-interface", None, Arg::Required, Tag::Opt(Opt::McastIf)),
    spec("syncid", None, Arg::Required, Tag::Opt(Opt::SyncId)),
    spec("timeout", None, Arg::None, Tag::Opt(Opt::Timeout)),
    spec("daemon", None, Arg::None, Tag::Opt(Opt::Daemon)),
    spec("stats", None, Arg::None, Tag::Opt(Opt::Stats)),
    spec("rate", None, Arg::None, Tag::Opt(Opt::Rate)),
    spec("thresholds", None, Arg::None, Tag::Opt(Opt::Thresholds)),
    spec("persistent-conn", None, Arg::None, Tag::Opt(Opt::PersistentConn)),
    spec("nosort", None, Arg::None, Tag::Opt(Opt::NoSort)),
    spec("sort", None, Arg::None, Tag::Sort),
    spec("exact", Some('X'), Arg::None, Tag::Opt(Opt::Exact)),
    spec("ipv6", Some('6'), Arg::None, Tag::Opt(Opt::Ipv6)),
    spec("ops", Some('o'), Arg::None, Tag::Opt(Opt::Ops)),
    spec("pe", None, Arg::Required, Tag::Opt(Opt::Pe)),
    spec("sched-flags", Some('b'), Arg::Required, Tag::Opt(Opt::SchedFlags)),
    spec("mcast-group", None, Arg::Required, Tag::Opt(Opt::McastGroup)),
    spec("mcast-port", None, Arg::Required, Tag::Opt(Opt::McastPort)),
    spec("mcast-ttl", None, Arg::Required, Tag::Opt(Opt::McastTtl)),
    spec("sync-maxlen", None, Arg::Required, Tag::Opt(Opt::SyncMaxlen)),
    spec("tun-info", None, Arg::None, Tag::Opt(Opt::TunInfo)),
    spec("tun-type", None, Arg::Required, Tag::Opt(Opt::TunType)),
    spec("tun-port", None, Arg::Required, Tag::Opt(Opt::TunPort)),
    spec("tun-nocsum", None, Arg::None, Tag::Opt(Opt::TunNoCsum)),
    spec("tun-csum", None, Arg::None, Tag::Opt(Opt::TunCsum)),
    spec("tun-remcsum", None, Arg::None, Tag::Opt(Opt::TunRemCsum)),
    // rvs extensions
    spec("fullnat", None, Arg::None, Tag::Fwd(FwdMethod::FullNat)),
    spec("laddr", None, Arg::Required, Tag::Opt(Opt::Laddr)),
    spec("match", None, Arg::Required, Tag::Opt(Opt::Match)),
    spec("json", None, Arg::None, Tag::Opt(Opt::Json)),
    spec("dry-run", None, Arg::None, Tag::Opt(Opt::DryRun)),
    spec("yaml", None, Arg::None, Tag::Opt(Opt::Yaml)),
    spec("mhb-c", None, Arg::Required, Tag::Opt(Opt::MhbC)),
    spec("proxy-protocol", None, Arg::Required, Tag::Opt(Opt::ProxyProtocol)),
    spec("workers", None, Arg::None, Tag::Opt(Opt::Workers)),
    spec("health", None, Arg::None, Tag::Opt(Opt::Health)),
];

pub(crate) fn by_long(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.long == name)
}

pub(crate) fn by_short(c: char) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.short == Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_order_matches_table() {
        for (i, o) in ALL_OPTS.iter().enumerate() {
            assert_eq!(*o as usize, i, "{o:?}");
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in SPECS.iter().enumerate() {
            for b in &SPECS[i + 1..] {
                if a.short.is_some() {
                    assert_ne!(a.short, b.short, "{}", a.long);
                }
                if a.long == b.long {
                    // `--list` is both -L and -l, as in ipvsadm.
                    assert_eq!(a.tag, b.tag);
                }
            }
        }
    }
}
