//! A service in the YAML file's spelling, for `--json`, `-S --yaml` and
//! the views rvsd sends to rvsadm.
//!
//! `rvs_conf::ServiceConf` serializes with its derived layout
//! (`key: {Inet: {...}}`, `sched_flags: 3`) but deserializes from the YAML
//! schema (`vip`, `port`, `sched_flags: "sh-port"`, and a fwmark service
//! must have a `match` list). The two do not meet, so a `ServiceConf`
//! written as JSON cannot be read back. This module gives listings one
//! symmetric spelling — the YAML file's, which operators already know —
//! and reads it back without the file loader's extra rules (a fwmark
//! service restored from an ipvsadm file has no `match` yet).

use rvs_conf::{
    DestConf, FwdMethod, FwmarkMatch, Proto, ProxyProtocol, SchedFlags, SchedKind, ServiceConf, ServiceKey, TunType,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::net::IpAddr;

/// A service as the YAML file spells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<Proto>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    #[serde(rename = "match", default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<FwmarkMatch>,
    pub scheduler: SchedKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sched_flags: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent: Option<u32>,
    /// Omitted when it is the model's default (the IPv4 full mask).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netmask: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub laddrs: Vec<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mhb_c: Option<f64>,
    #[serde(default, skip_serializing_if = "ProxyProtocol::is_off")]
    pub proxy_protocol: ProxyProtocol,
    #[serde(default)]
    pub dests: Vec<DestWire>,
}

/// A real server as the YAML file spells it; defaults left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestWire {
    pub addr: IpAddr,
    #[serde(default)]
    pub port: u16,
    pub weight: u32,
    pub fwd: FwdMethod,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub upper: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lower: u32,
    #[serde(default, skip_serializing_if = "is_ipip")]
    pub tun_type: TunType,
    #[serde(default, skip_serializing_if = "is_zero16")]
    pub tun_port: u16,
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

impl From<&ServiceConf> for ServiceWire {
    fn from(s: &ServiceConf) -> Self {
        let (proto, vip, port, fwmark) = match s.key {
            ServiceKey::Inet { proto, addr, port } => (Some(proto), Some(addr), Some(port), None),
            ServiceKey::Fwmark(m) => (None, None, None, Some(m)),
        };
        let default = ServiceConf::new(s.key);
        ServiceWire {
            proto,
            vip,
            port,
            fwmark,
            matches: s.matches.clone(),
            scheduler: s.scheduler,
            sched_flags: (s.sched_flags.0 != 0).then(|| s.sched_flags.names(s.scheduler).join(",")),
            persistent: s.persistent,
            netmask: (s.netmask != default.netmask).then_some(s.netmask),
            laddrs: s.laddrs.clone(),
            mhb_c: (s.mhb_c != default.mhb_c).then_some(s.mhb_c),
            proxy_protocol: s.proxy_protocol,
            dests: s
                .dests
                .iter()
                .map(|d| DestWire {
                    addr: d.addr,
                    port: d.port,
                    weight: d.weight,
                    fwd: d.fwd,
                    upper: d.upper,
                    lower: d.lower,
                    tun_type: d.tun_type,
                    tun_port: d.tun_port,
                })
                .collect(),
        }
    }
}

impl TryFrom<ServiceWire> for ServiceConf {
    type Error = String;
    fn try_from(w: ServiceWire) -> Result<Self, String> {
        let key = match (w.fwmark, w.vip, w.port) {
            (Some(m), None, None) => ServiceKey::Fwmark(m),
            (None, Some(addr), Some(port)) => ServiceKey::Inet { proto: w.proto.unwrap_or(Proto::Tcp), addr, port },
            _ => return Err("a service has vip and port, or fwmark".into()),
        };
        let mut s = ServiceConf::new(key);
        s.scheduler = w.scheduler;
        if let Some(f) = &w.sched_flags {
            s.sched_flags = SchedFlags::parse(f)?;
        }
        s.persistent = w.persistent;
        if let Some(m) = w.netmask {
            s.netmask = m;
        }
        s.matches = w.matches;
        s.laddrs = w.laddrs;
        if let Some(c) = w.mhb_c {
            s.mhb_c = c;
        }
        s.proxy_protocol = w.proxy_protocol;
        s.dests = w
            .dests
            .into_iter()
            .map(|d| DestConf {
                addr: d.addr,
                port: d.port,
                weight: d.weight,
                fwd: d.fwd,
                upper: d.upper,
                lower: d.lower,
                tun_type: d.tun_type,
                tun_port: d.tun_port,
                health: None,
            })
            .collect();
        Ok(s)
    }
}

/// `#[serde(with = "...")]` adapter: a `ServiceConf` field in the wire
/// spelling.
pub mod service {
    use super::*;

    pub fn serialize<S: Serializer>(s: &ServiceConf, ser: S) -> Result<S::Ok, S::Error> {
        ServiceWire::from(s).serialize(ser)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<ServiceConf, D::Error> {
        ServiceWire::deserialize(de)?.try_into().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut s = ServiceConf::new(ServiceKey::Fwmark(9));
        s.scheduler = SchedKind::Mh;
        s.sched_flags = SchedFlags(3);
        s.netmask = "ffff:ffff::".parse().unwrap();
        s.mhb_c = 2.0;
        let mut d = DestConf::new("10.0.0.1".parse().unwrap(), 0, FwdMethod::Tun, 4);
        d.tun_type = TunType::Gre;
        s.dests.push(d);
        let w = ServiceWire::from(&s);
        let j = serde_json::to_string(&w).unwrap();
        let back: ServiceWire = serde_json::from_str(&j).unwrap();
        assert_eq!(ServiceConf::try_from(back).unwrap(), s);
        let y = serde_yaml_ng::to_string(&w).unwrap();
        assert!(y.contains("sched_flags: mh-fallback,mh-port"), "{y}");
    }
}
