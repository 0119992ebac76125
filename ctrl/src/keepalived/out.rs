//! The translated services as YAML, in rvsd's spelling, each one checked
//! by rvs's own loader first.
//!
//! A fwmark service cannot be loaded as it comes from keepalived: rvs
//! needs its `match` list (the packets keepalived's iptables rule marks),
//! which keepalived.conf does not say. Such services are written commented
//! out, with `match: []` and a note, for the operator to complete; they are
//! checked with a stand-in match so that nothing else is wrong with them.

use super::service::Key;
use super::Ctx;
use rvs_conf::{FwdMethod, FwmarkMatch, HealthCheck, Proto, SchedFlags, SchedKind, ServiceConf, SorryServer, TunType};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A service without its key (one virtual server may have many keys, from
/// a group).
#[derive(Debug, Clone)]
pub struct ServiceOut {
    pub proto: Proto,
    pub scheduler: SchedKind,
    pub flags: SchedFlags,
    pub persistent: Option<u32>,
    pub netmask: Option<serde_yaml_ng::Value>,
    pub health: Option<HealthCheck>,
    pub sorry_server: Option<SorryServer>,
    pub quorum: Option<u32>,
    pub hysteresis: Option<u32>,
    pub dests: Vec<DestOut>,
}

impl ServiceOut {
    pub fn new() -> Self {
        ServiceOut {
            proto: Proto::Tcp,
            scheduler: SchedKind::Wlc,
            flags: SchedFlags::default(),
            persistent: None,
            netmask: None,
            health: None,
            sorry_server: None,
            quorum: None,
            hysteresis: None,
            dests: Vec::new(),
        }
    }
}

/// A dest as the YAML file spells it, defaults left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DestOut {
    pub addr: IpAddr,
    #[serde(skip_serializing_if = "is_zero16")]
    pub port: u16,
    pub weight: u32,
    pub fwd: FwdMethod,
    #[serde(skip_serializing_if = "is_zero")]
    pub upper: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub lower: u32,
    #[serde(skip_serializing_if = "is_ipip")]
    pub tun_type: TunType,
    #[serde(skip_serializing_if = "is_zero16")]
    pub tun_port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthCheck>,
}

impl DestOut {
    pub fn new(addr: IpAddr, port: u16) -> Self {
        DestOut {
            addr,
            port,
            weight: 1,
            fwd: FwdMethod::Nat,
            upper: 0,
            lower: 0,
            tun_type: TunType::Ipip,
            tun_port: 0,
            health: None,
        }
    }
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

fn is_zero16(v: &u16) -> bool {
    *v == 0
}

fn is_ipip(t: &TunType) -> bool {
    *t == TunType::Ipip
}

/// One service to write: where it came from and its key.
#[derive(Debug, Clone)]
pub struct Built {
    pub line: usize,
    pub origin: String,
    pub key: Key,
    pub svc: ServiceOut,
}

/// A service in the YAML file's spelling.
#[derive(Serialize)]
struct Emit<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    proto: Option<Proto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fwmark: Option<u32>,
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    matches: Option<Vec<FwmarkMatch>>,
    scheduler: SchedKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    sched_flags: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    persistent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    netmask: Option<&'a serde_yaml_ng::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<&'a HealthCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sorry_server: Option<&'a SorryServer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quorum: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hysteresis: Option<u32>,
    dests: &'a [DestOut],
}

fn emit(key: Key, s: &ServiceOut, matches: Option<Vec<FwmarkMatch>>) -> Emit<'_> {
    let (proto, vip, port, fwmark) = match key {
        Key::Inet(a, p) => (Some(s.proto), Some(a), Some(p), None),
        Key::Fwmark(m) => (None, None, None, Some(m)),
    };
    Emit {
        proto,
        vip,
        port,
        fwmark,
        matches,
        scheduler: s.scheduler,
        sched_flags: (s.flags.0 != 0).then(|| s.flags.names(s.scheduler).join(",")),
        persistent: s.persistent,
        netmask: s.netmask.as_ref(),
        health: s.health.as_ref(),
        sorry_server: s.sorry_server.as_ref(),
        quorum: s.quorum,
        hysteresis: s.hysteresis,
        dests: &s.dests,
    }
}

/// The header a director's file needs for the document to load on its own
/// (used to check it; the operator merges the services into theirs).
pub const CHECK_HEADER: &str =
    "interfaces: [ { name: check, device: net_null0, addresses: [10.0.0.1/8], kernel: {} } ]\n";

/// Check each service with rvs's loader and write the document; the
/// number of services written.
pub fn document(file: &str, built: Vec<Built>, ctx: &mut Ctx) -> Result<(String, usize), String> {
    let mut text = format!(
        "# rvs services translated from {file} by rvsadm --import-keepalived.\n\
         # Merge them into rvsd's configuration, beside its interfaces: (and routes:);\n\
         # what was not translated was printed as warnings.\n"
    );
    let (mut active, mut commented) = (String::new(), String::new());
    let mut seen: Vec<Key> = Vec::new();
    let mut count = 0;
    for b in built {
        let here = format!("{}:{}: {}", file, b.line, b.origin);
        if seen.contains(&b.key) {
            ctx.warn(b.line, &format!("{}: {} is defined twice; the second is skipped", b.origin, name(b.key, &b.svc)));
            continue;
        }
        let stand_in = match b.key {
            Key::Inet(..) => None,
            Key::Fwmark(_) => Some(vec![stand_in_match(&b.svc)]),
        };
        let value = serde_yaml_ng::to_value(emit(b.key, &b.svc, stand_in)).map_err(|e| e.to_string())?;
        if let Err(e) = serde_yaml_ng::from_value::<ServiceConf>(value) {
            ctx.warn(b.line, &format!("{}: rvs refuses {}: {e}; skipped", b.origin, name(b.key, &b.svc)));
            continue;
        }
        seen.push(b.key);
        count += 1;
        match b.key {
            Key::Inet(..) => {
                let y = serde_yaml_ng::to_string(&[emit(b.key, &b.svc, None)]).map_err(|e| e.to_string())?;
                active.push_str(&format!("# {here}\n{y}"));
            }
            Key::Fwmark(m) => {
                ctx.warn(
                    b.line,
                    &format!(
                        "{}: fwmark {m} is written commented out: rvs needs the 'match' list of the packets \
                         the firewall marks (proto, vip, ports); fill it in and uncomment",
                        b.origin
                    ),
                );
                let y =
                    serde_yaml_ng::to_string(&[emit(b.key, &b.svc, Some(Vec::new()))]).map_err(|e| e.to_string())?;
                commented.push_str(&format!("# {here}\n"));
                for l in y.lines() {
                    let note = if l.trim() == "match: []" {
                        format!(
                            "  # TODO: e.g. [{{ proto: {}, vip: VIP, ports: [80, 443] }}]",
                            b.svc.proto.name().to_ascii_lowercase()
                        )
                    } else {
                        String::new()
                    };
                    commented.push_str(&format!("#{l}{note}\n"));
                }
            }
        }
    }
    if active.is_empty() {
        text.push_str("services: []\n");
        if !commented.is_empty() {
            text.push_str("# (replace 'services: []' by 'services:' when uncommenting the services below)\n");
        }
    } else {
        text.push_str("services:\n");
        text.push_str(&active);
    }
    text.push_str(&commented);
    // What is printed must load: a failure here is a bug of the importer.
    if let Err(e) = rvs_conf::load_str(file, &format!("{CHECK_HEADER}{text}")) {
        return Err(format!("{file}: internal error, the YAML written does not load: {e}"));
    }
    Ok((text, count))
}

/// How a service is named in messages.
fn name(key: Key, s: &ServiceOut) -> String {
    match key {
        Key::Inet(a @ IpAddr::V6(_), p) => format!("{} [{a}]:{p}", s.proto.name()),
        Key::Inet(a, p) => format!("{} {a}:{p}", s.proto.name()),
        Key::Fwmark(m) => format!("fwmark {m}"),
    }
}

/// A match of the dests' family, to check a fwmark service with.
fn stand_in_match(s: &ServiceOut) -> FwmarkMatch {
    let v6 = s.dests.first().map(|d| d.addr.is_ipv6()).unwrap_or(false);
    let vip = if v6 { IpAddr::V6(Ipv6Addr::LOCALHOST) } else { IpAddr::V4(Ipv4Addr::LOCALHOST) };
    FwmarkMatch { proto: s.proto, vip, ports: Vec::new() }
}
