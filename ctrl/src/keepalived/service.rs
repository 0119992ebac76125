//! `virtual_server`, `virtual_server_group` and `real_server` blocks as
//! rvs services and dests.

use super::check::{self, Layer};
use super::out::{Built, DestOut, ServiceOut};
use super::{Ctx, Node};
use rvs_conf::{FwdMethod, HealthCheck, Proto, SchedFlags, SchedKind, SorryServer, TunType};
use std::collections::HashMap;
use std::net::IpAddr;

/// What a virtual server is addressed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Inet(IpAddr, u16),
    Fwmark(u32),
}

/// Largest address range of a group member that is expanded.
const MAX_RANGE: u32 = 256;

/// `virtual_server_group NAME { IP [PORT]; IP-RANGE [PORT]; fwmark N }`,
/// by name: each member with its line.
pub fn groups(nodes: &[Node], ctx: &mut Ctx) -> HashMap<String, Vec<(Key, usize)>> {
    let mut out = HashMap::new();
    for g in nodes.iter().filter(|n| n.key == "virtual_server_group") {
        let Some(name) = g.arg() else {
            ctx.warn(g.line, "virtual_server_group without a name; skipped");
            continue;
        };
        let mut members = Vec::new();
        for m in g.children() {
            if m.key == "fwmark" {
                match ctx.uint(m) {
                    Some(v) => members.push((Key::Fwmark(v), m.line)),
                    None => continue,
                }
                if m.args.len() > 1 {
                    ctx.warn(m.line, "fwmark's address family is taken from the real servers");
                }
                continue;
            }
            let port = match m.arg().map(str::parse::<u16>) {
                None => 0,
                Some(Ok(p)) => p,
                Some(Err(_)) => {
                    ctx.warn(m.line, &format!("bad port '{}'; member skipped", m.args[0]));
                    continue;
                }
            };
            match range(&m.key) {
                Some(addrs) => members.extend(addrs.into_iter().map(|a| (Key::Inet(a, port), m.line))),
                None => ctx.warn(
                    m.line,
                    &format!("'{}' is not an address or a range of at most {MAX_RANGE} (A.B.C.D-E); skipped", m.key),
                ),
            }
        }
        if out.insert(name.to_string(), members).is_some() {
            ctx.warn(g.line, &format!("virtual_server_group {name} is defined again; the last one is used"));
        }
    }
    out
}

/// An address, `A.B.C.D-E` (last part up to E, IPv6: last group, hex) or
/// `A.B.C.D/NN`: the addresses it holds.
fn range(s: &str) -> Option<Vec<IpAddr>> {
    if let Ok(a) = s.parse::<IpAddr>() {
        return Some(vec![a]);
    }
    if let Some((net, len)) = s.split_once('/') {
        let net: ipnet::IpNet = format!("{net}/{len}").parse().ok()?;
        let v: Vec<IpAddr> = net.hosts().take(MAX_RANGE as usize + 1).collect();
        return (v.len() <= MAX_RANGE as usize).then_some(v);
    }
    let (first, last) = s.split_once('-')?;
    let first: IpAddr = first.parse().ok()?;
    let (lo, hi, v6) = match first {
        IpAddr::V4(a) => (a.octets()[3] as u32, last.parse::<u32>().ok()?, false),
        IpAddr::V6(a) => (a.segments()[7] as u32, u32::from_str_radix(last, 16).ok()?, true),
    };
    if hi < lo || hi - lo >= MAX_RANGE || (!v6 && hi > 255) || hi > 0xffff {
        return None;
    }
    Some(
        (lo..=hi)
            .map(|x| match first {
                IpAddr::V4(a) => {
                    let o = a.octets();
                    IpAddr::from([o[0], o[1], o[2], x as u8])
                }
                IpAddr::V6(a) => {
                    let mut g = a.segments();
                    g[7] = x as u16;
                    IpAddr::from(g)
                }
            })
            .collect(),
    )
}

/// Forwarding of a dest: keepalived's `lvs_method` (`lb_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fwd {
    method: FwdMethod,
    tun: TunType,
    tun_port: u16,
}

const NAT: Fwd = Fwd { method: FwdMethod::Nat, tun: TunType::Ipip, tun_port: 0 };

/// `NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
fn lvs_method(n: &Node, ctx: &mut Ctx) -> Option<Fwd> {
    let method = match n.arg().map(str::to_ascii_uppercase).as_deref() {
        Some("NAT") => FwdMethod::Nat,
        Some("DR") => FwdMethod::Dr,
        Some("TUN") => FwdMethod::Tun,
        other => {
            ctx.warn(n.line, &format!("{}: unknown method {other:?} (NAT, DR, TUN); ignored", n.key));
            return None;
        }
    };
    let mut f = Fwd { method, ..NAT };
    let mut words = n.args.iter().skip(1).map(String::as_str);
    while let Some(w) = words.next() {
        match w {
            "type" => match words.next() {
                Some("ipip") => f.tun = TunType::Ipip,
                Some("gre") => f.tun = TunType::Gre,
                Some("gue") => f.tun = TunType::Gue,
                t => ctx.warn(n.line, &format!("tunnel type {t:?} is not known; ipip used")),
            },
            "port" => f.tun_port = words.next().and_then(|p| p.parse().ok()).unwrap_or(0),
            "nocsum" => {}
            "csum" | "remcsum" => {
                ctx.warn(n.line, &format!("'{w}' is not supported: rvs sends tunnels without checksums"))
            }
            _ => ctx.warn(n.line, &format!("{}: '{w}' is not translated", n.key)),
        }
    }
    Some(f)
}

/// The services of one `virtual_server` block (one per group member).
pub fn virtual_server(n: &Node, groups: &HashMap<String, Vec<(Key, usize)>>, ctx: &mut Ctx) -> Vec<Built> {
    let origin = format!("virtual_server {}", n.args.join(" "));
    let keys: Vec<Key> = match n.args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["fwmark", m] => match m.parse::<u32>() {
            Ok(m) => vec![Key::Fwmark(m)],
            Err(_) => return skip(n, ctx, &format!("bad fwmark '{m}'")),
        },
        ["group", g] => match groups.get(g) {
            Some(members) if !members.is_empty() => members.iter().map(|(k, _)| *k).collect(),
            Some(_) => return skip(n, ctx, &format!("virtual_server_group {g} has no members")),
            None => return skip(n, ctx, &format!("no virtual_server_group {g}")),
        },
        [addr] | [addr, _] => {
            let port = match n.args.get(1).map(|p| p.parse::<u16>()) {
                None => 0,
                Some(Ok(p)) => p,
                Some(Err(_)) => return skip(n, ctx, &format!("bad port '{}'", n.args[1])),
            };
            match addr.parse() {
                Ok(a) => vec![Key::Inet(a, port)],
                Err(_) => return skip(n, ctx, &format!("'{addr}' is not an IP address (names are not resolved)")),
            }
        }
        _ => return skip(n, ctx, "expected 'IP [PORT]', 'fwmark N' or 'group NAME'"),
    };
    let mut svc = ServiceOut::new();
    let mut fwd = NAT;
    let mut layer = Layer::default();
    let mut sorry: Option<(SorryServer, usize)> = None;
    let mut sorry_fwd: Option<Fwd> = None;
    let mut real = Vec::new();
    for k in n.children() {
        if layer.read(k, ctx) {
            continue;
        }
        match k.key.as_str() {
            "lb_algo" | "lvs_sched" => match k.arg().map(str::parse::<SchedKind>) {
                Some(Ok(s)) => svc.scheduler = s,
                Some(Err(e)) => ctx.warn(k.line, &format!("{e}; wlc used")),
                None => ctx.warn(k.line, "lvs_sched without a scheduler; wlc used"),
            },
            "lb_kind" | "lvs_method" => fwd = lvs_method(k, ctx).unwrap_or(fwd),
            f @ ("flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback" | "mh-port" | "mh-fallback") => {
                svc.flags.0 |= SchedFlags::parse(f).map(|f| f.0).unwrap_or(0)
            }
            "ops" => ctx.warn(k.line, "ops (one-packet scheduling) is not translated; UDP is scheduled per flow (say one_packet: true in the YAML service)"),
            "persistence_engine" => ctx.warn(k.line, "persistence engines are not supported by rvs"),
            "persistence_timeout" => {
                svc.persistent = if k.args.is_empty() { Some(360) } else { ctx.uint(k).or(svc.persistent) }
            }
            "persistence_granularity" => svc.netmask = k.arg().map(netmask),
            "protocol" => match k.arg().map(str::to_ascii_uppercase).as_deref() {
                Some("TCP") => svc.proto = Proto::Tcp,
                Some("UDP") => svc.proto = Proto::Udp,
                Some("SCTP") => svc.proto = Proto::Sctp,
                p => ctx.warn(k.line, &format!("protocol {p:?} is not TCP, UDP or SCTP; TCP used")),
            },
            "ha_suspend" => {
                ctx.warn(k.line, "ha_suspend is not translated: rvs checks whether or not it holds the VIP")
            }
            "omega" => ctx.warn(k.line, "omega is not translated: rvs runs no scripts at shutdown"),
            "quorum" => svc.quorum = ctx.uint(k),
            "hysteresis" => svc.hysteresis = ctx.uint(k),
            "quorum_up" | "quorum_down" => ctx.warn(k.line, &format!("{}: rvs runs no notify scripts", k.key)),
            "ip_family" => {}
            "sorry_server" => match (k.arg().map(str::parse::<IpAddr>), k.args.get(1).map(|p| p.parse::<u16>())) {
                (Some(Ok(addr)), None | Some(Ok(_))) => {
                    let port = k.args.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
                    sorry = Some((SorryServer { addr, port, fwd: None }, k.line))
                }
                _ => ctx.warn(k.line, "sorry_server: expected 'IP [PORT]'; ignored"),
            },
            "sorry_server_inhibit" => ctx.warn(
                k.line,
                "sorry_server_inhibit is not translated: rvs adds the sorry server while the service is down \
                 and removes it after",
            ),
            "sorry_server_lvs_method" => sorry_fwd = lvs_method(k, ctx),
            "real_server" => real.push(k),
            key => ctx.warn(k.line, &format!("'{key}' in virtual_server is not translated")),
        }
    }
    if svc.netmask.is_some() && svc.persistent.is_none() {
        svc.persistent = Some(360); // keepalived: a granularity makes the service persistent
    }
    let service_port = |key: Key| match key {
        Key::Inet(_, p) => p,
        Key::Fwmark(_) => 0,
    };
    let port0 = service_port(keys[0]);
    for r in real {
        if let Some(d) = real_server(r, fwd, &layer, port0, ctx) {
            svc.dests.push(d);
        }
    }
    if let Some((mut s, line)) = sorry {
        let f = sorry_fwd.unwrap_or(fwd);
        s.fwd = Some(f.method);
        if f.tun != TunType::Ipip {
            ctx.warn(line, "the sorry server's tunnel type is not kept: rvs tunnels to it with ipip");
        }
        if matches!(f.method, FwdMethod::Dr | FwdMethod::Tun) && s.port != 0 {
            if port0 != 0 && s.port != port0 {
                ctx.warn(line, "sorry_server port dropped: DR and TUN cannot map ports");
            }
            s.port = 0;
        }
        svc.sorry_server = Some(s);
    }
    hoist_health(&mut svc);
    keys.into_iter().map(|key| Built { line: n.line, origin: origin.clone(), key, svc: svc.clone() }).collect()
}

fn skip(n: &Node, ctx: &mut Ctx, why: &str) -> Vec<Built> {
    ctx.warn(n.line, &format!("virtual_server {} skipped: {why}", n.args.join(" ")));
    Vec::new()
}

/// `persistence_granularity`: a mask, or an IPv6 prefix length.
fn netmask(s: &str) -> serde_yaml_ng::Value {
    match s.trim_start_matches('/').parse::<u64>() {
        Ok(p) => serde_yaml_ng::Value::Number(p.into()),
        Err(_) => serde_yaml_ng::Value::String(s.to_string()),
    }
}

/// One `real_server IP [PORT] { ... }`.
fn real_server(n: &Node, vs_fwd: Fwd, vs_layer: &Layer, service_port: u16, ctx: &mut Ctx) -> Option<DestOut> {
    let Some(Ok(addr)) = n.arg().map(str::parse::<IpAddr>) else {
        ctx.warn(n.line, "real_server: expected 'IP [PORT]' (names are not resolved); skipped");
        return None;
    };
    let mut port = match n.args.get(1).map(|p| p.parse::<u16>()) {
        None => 0,
        Some(Ok(p)) => p,
        Some(Err(_)) => {
            ctx.warn(n.line, &format!("real_server: bad port '{}'; skipped", n.args[1]));
            return None;
        }
    };
    let mut d = DestOut::new(addr, port);
    let mut fwd = vs_fwd;
    let mut layer = Layer::default();
    let mut checkers = Vec::new();
    for k in n.children() {
        if layer.read(k, ctx) {
            continue;
        }
        match k.key.as_str() {
            "weight" => d.weight = ctx.uint(k).unwrap_or(1),
            "lvs_method" | "lb_kind" => fwd = lvs_method(k, ctx).unwrap_or(fwd),
            "uthreshold" => d.upper = ctx.uint(k).unwrap_or(0),
            "lthreshold" => d.lower = ctx.uint(k).unwrap_or(0),
            "notify_up" | "notify_down" => ctx.warn(k.line, &format!("{}: rvs runs no notify scripts", k.key)),
            key if check::is_checker(key) => checkers.push(k),
            key => ctx.warn(k.line, &format!("'{key}' in real_server is not translated")),
        }
    }
    (d.fwd, d.tun_type, d.tun_port) = (fwd.method, fwd.tun, fwd.tun_port);
    // DR and TUN keep the packet's port: the dest's is the service's (0),
    // but keepalived checks the port written, so the check keeps it.
    let mut keep_check_port = 0;
    if matches!(fwd.method, FwdMethod::Dr | FwdMethod::Tun) && port != 0 {
        if service_port != 0 && port != service_port {
            ctx.warn(n.line, &format!("real_server port {port} dropped: DR and TUN cannot map ports"));
        }
        keep_check_port = port;
        port = 0;
    }
    d.port = port;
    let layer = layer.over(vs_layer);
    let mut chosen: Option<HealthCheck> = None;
    for c in &checkers {
        match check::checker(c, &layer, ctx) {
            Some(_) if chosen.is_some() => {
                ctx.warn(c.line, &format!("{} not used: rvs runs one check per dest (the first is kept)", c.key))
            }
            Some(h) => chosen = Some(h),
            None => {}
        }
    }
    if chosen.is_none() && !checkers.is_empty() {
        ctx.warn(n.line, &format!("real_server {addr}: no check rvs can run; it is not checked (always up)"));
    }
    if let Some(h) = &mut chosen {
        if h.port == 0 && !matches!(h.kind, rvs_conf::CheckKind::Icmp | rvs_conf::CheckKind::Exec) {
            h.port = keep_check_port; // keepalived checks the real server's own port
        }
    }
    d.health = chosen;
    Some(d)
}

/// A check every dest has the same of belongs on the service.
fn hoist_health(svc: &mut ServiceOut) {
    let Some(first) = svc.dests.first().and_then(|d| d.health.clone()) else { return };
    if svc.dests.iter().all(|d| d.health.as_ref() == Some(&first)) {
        for d in &mut svc.dests {
            d.health = None;
        }
        svc.health = Some(first);
    }
}
