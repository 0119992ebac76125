//! Health checks of real servers, as keepalived's `TCP_CHECK`, `HTTP_GET`,
//! `SSL_GET`, `UDP_CHECK`, `PING_CHECK` and `MISC_CHECK` say them.
//!
//! A service's `health:` is the check of each of its dests; a dest's own
//! `health:` replaces it whole (`{ type: none }` turns checking off for
//! that dest). The checks run on rvsd's control side, through the
//! exception path, so they leave from the director's own address as
//! keepalived's do. What a failed check does (quiesce or remove), the
//! sorry server and the quorum are the service's and the check's
//! business here; the checker in rvs-ctrl carries them out.
//!
//! Every key belongs to one kind of check: `path` on a TCP check, or
//! `command` on an HTTP one, is refused rather than ignored.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// What a check does to learn whether a real server is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// Connect (keepalived `TCP_CHECK`).
    Tcp,
    /// GET a URL, check the status and optionally the body (`HTTP_GET`).
    Http,
    /// The same over TLS, certificates not verified (`SSL_GET`).
    Https,
    /// Send a datagram, expect a reply (`UDP_CHECK`).
    Udp,
    /// ICMP echo (`PING_CHECK`).
    Icmp,
    /// A command's exit status, 0 = alive (`MISC_CHECK`).
    Exec,
    /// No check: the dest is always up.
    None,
}

impl CheckKind {
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Tcp => "tcp",
            CheckKind::Http => "http",
            CheckKind::Https => "https",
            CheckKind::Udp => "udp",
            CheckKind::Icmp => "icmp",
            CheckKind::Exec => "exec",
            CheckKind::None => "none",
        }
    }
}

/// A duration written in seconds (`1`, `0.5`), kept in milliseconds so
/// configurations compare exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Secs(pub u64);

impl Secs {
    pub fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
}

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1000) {
            write!(f, "{}", self.0 / 1000)
        } else {
            write!(f, "{}", self.0 as f64 / 1000.0)
        }
    }
}

impl Serialize for Secs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_multiple_of(1000) {
            s.serialize_u64(self.0 / 1000)
        } else {
            s.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

/// Longest interval or timeout accepted: a day.
const MAX_SECS: f64 = 86_400.0;

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if !(v.is_finite() && (0.001..=MAX_SECS).contains(&v)) {
            return Err(serde::de::Error::custom(format!("{v} is not a duration in seconds from 0.001 to {MAX_SECS}")));
        }
        Ok(Secs((v * 1000.0).round() as u64))
    }
}

/// One check, with keepalived's knobs under rvs names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawCheck")]
pub struct HealthCheck {
    #[serde(rename = "type")]
    pub kind: CheckKind,
    /// Time between two checks (keepalived `delay_loop`).
    pub interval: Secs,
    /// How long one check may take (`connect_timeout`; an exec check's
    /// `misc_timeout`).
    pub timeout: Secs,
    /// Failed checks in a row before an up dest goes down (`retry`).
    pub fall: u32,
    /// Good checks in a row before a down dest comes up.
    pub rise: u32,
    /// Start down and wait for `rise` good checks (`alpha`); otherwise a
    /// dest starts up.
    pub alpha: bool,
    /// On failure set the weight to 0, so its connections go on and it
    /// takes no new ones (keepalived `inhibit_on_failure`); `false`
    /// removes the dest from the service until it recovers.
    pub inhibit_on_failure: bool,
    /// Address to check instead of the dest's (`connect_ip`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<IpAddr>,
    /// Port to check instead of the dest's (`connect_port`); 0 = the dest's.
    pub port: u16,
    /// Source address of the check (`bindto`); unset: the kernel's choice,
    /// the director's address on the way to the dest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<IpAddr>,
    /// HTTP(S): the path to GET.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// HTTP(S): the Host header (and TLS server name); default the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// HTTP(S): status codes that mean alive; empty: any 2xx.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<u16>,
    /// HTTP(S): MD5 of the body, 32 hex digits (keepalived `digest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// HTTP(S): a string the body must contain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// UDP: the datagram to send (default empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// UDP: a string the reply must contain; unset: any reply will do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// Exec: the command, run by `/bin/sh -c`; exit 0 = alive. The
    /// environment carries the dest as `RVS_DEST_ADDR` and `RVS_DEST_PORT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

impl HealthCheck {
    /// A check of `kind` with every other knob at its default.
    pub fn new(kind: CheckKind) -> Self {
        HealthCheck {
            kind,
            interval: Secs(5000),
            timeout: Secs(3000),
            fall: 3,
            rise: 1,
            alpha: false,
            inhibit_on_failure: true,
            addr: None,
            port: 0,
            bind: None,
            path: None,
            host: None,
            status: Vec::new(),
            digest: None,
            contains: None,
            send: None,
            expect: None,
            command: None,
        }
    }

    /// Whether `code` means alive for an HTTP(S) check.
    pub fn status_ok(&self, code: u16) -> bool {
        if self.status.is_empty() {
            (200..300).contains(&code)
        } else {
            self.status.contains(&code)
        }
    }

    /// The HTTP path, `/` by default.
    pub fn http_path(&self) -> &str {
        self.path.as_deref().unwrap_or("/")
    }

    fn check(&self) -> Result<(), String> {
        use CheckKind::*;
        let k = self.kind;
        let only = |ok: bool, key: &str, kinds: &str| -> Result<(), String> {
            if ok {
                Ok(())
            } else {
                Err(format!("'{key}' belongs to {kinds} checks, not to a {} check", k.name()))
            }
        };
        let web = matches!(k, Http | Https);
        only(web || self.path.is_none(), "path", "http and https")?;
        only(web || self.host.is_none(), "host", "http and https")?;
        only(web || self.status.is_empty(), "status", "http and https")?;
        only(web || self.digest.is_none(), "digest", "http and https")?;
        only(web || self.contains.is_none(), "contains", "http and https")?;
        only(k == Udp || self.send.is_none(), "send", "udp")?;
        only(k == Udp || self.expect.is_none(), "expect", "udp")?;
        only(k == Exec || self.command.is_none(), "command", "exec")?;
        only(!matches!(k, Icmp | Exec) || self.port == 0, "port", "tcp, http, https and udp")?;
        if k == Exec && self.command.as_deref().is_none_or(|c| c.trim().is_empty()) {
            return Err("an exec check needs 'command'".into());
        }
        if self.fall == 0 || self.rise == 0 {
            return Err("'fall' and 'rise' must be at least 1".into());
        }
        if let Some(p) = &self.path {
            if !p.starts_with('/') || p.bytes().any(|b| b <= b' ' || b == 0x7f) {
                return Err(format!("path '{p}' must start with '/' and hold no spaces or control characters"));
            }
        }
        if let Some(h) = &self.host {
            if h.is_empty() || h.bytes().any(|b| b <= b' ' || b == 0x7f) {
                return Err(format!("host '{h}' must be a non-empty name without spaces"));
            }
        }
        if let Some(d) = &self.digest {
            if d.len() != 32 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("digest '{d}' is not an MD5 sum (32 hex digits)"));
            }
        }
        if let Some(s) = self.status.iter().find(|s| !(100..=599).contains(*s)) {
            return Err(format!("status {s} is not an HTTP status code (100..599)"));
        }
        if let (Some(a), Some(b)) = (self.addr, self.bind) {
            if a.is_ipv4() != b.is_ipv4() {
                return Err(format!("bind {b} and addr {a} are of different address families"));
            }
        }
        Ok(())
    }
}

/// What a service does besides checking: its sorry server and quorum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SorryServer {
    pub addr: IpAddr,
    /// 0 or absent: the service port.
    #[serde(default)]
    pub port: u16,
    /// How it is reached; default the service's first dest's method, NAT
    /// when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwd: Option<crate::FwdMethod>,
}

/// The YAML spelling of a check; every key optional but `type`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    #[serde(rename = "type")]
    kind: CheckKind,
    #[serde(default)]
    interval: Option<Secs>,
    #[serde(default)]
    timeout: Option<Secs>,
    #[serde(default)]
    fall: Option<u32>,
    #[serde(default)]
    rise: Option<u32>,
    #[serde(default)]
    alpha: bool,
    #[serde(default)]
    inhibit_on_failure: Option<bool>,
    #[serde(default)]
    addr: Option<IpAddr>,
    #[serde(default)]
    port: u16,
    #[serde(default)]
    bind: Option<IpAddr>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    status: Vec<u16>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    contains: Option<String>,
    #[serde(default)]
    send: Option<String>,
    #[serde(default)]
    expect: Option<String>,
    #[serde(default)]
    command: Option<String>,
}

impl TryFrom<RawCheck> for HealthCheck {
    type Error = String;
    fn try_from(r: RawCheck) -> Result<Self, String> {
        let d = HealthCheck::new(r.kind);
        let c = HealthCheck {
            kind: r.kind,
            interval: r.interval.unwrap_or(d.interval),
            timeout: r.timeout.unwrap_or(d.timeout),
            fall: r.fall.unwrap_or(d.fall),
            rise: r.rise.unwrap_or(d.rise),
            alpha: r.alpha,
            inhibit_on_failure: r.inhibit_on_failure.unwrap_or(d.inhibit_on_failure),
            addr: r.addr,
            port: r.port,
            bind: r.bind,
            path: r.path,
            host: r.host,
            status: r.status,
            digest: r.digest.map(|s| s.to_ascii_lowercase()),
            contains: r.contains,
            send: r.send,
            expect: r.expect,
            command: r.command,
        };
        c.check()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(y: &str) -> Result<HealthCheck, String> {
        serde_yaml_ng::from_str::<HealthCheck>(y).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_overrides() {
        let c = parse("{ type: http, interval: 1, fall: 2, path: /health, status: [200, 204] }").unwrap();
        assert_eq!(c.interval, Secs(1000));
        assert_eq!(c.timeout, Secs(3000));
        assert_eq!((c.fall, c.rise, c.alpha, c.inhibit_on_failure), (2, 1, false, true));
        assert!(c.status_ok(204) && !c.status_ok(201));
        assert!(parse("{ type: https }").unwrap().status_ok(201));
        assert_eq!(parse("{ type: tcp, interval: 0.25 }").unwrap().interval, Secs(250));
        let text = serde_yaml_ng::to_string(&c).unwrap();
        assert_eq!(parse(&text).unwrap(), c, "{text}");
    }

    #[test]
    fn keys_of_another_kind_are_refused() {
        let e = parse("{ type: tcp, path: / }").unwrap_err();
        assert!(e.contains("'path' belongs to http and https checks, not to a tcp check"), "{e}");
        assert!(parse("{ type: http, command: x }").unwrap_err().contains("'command' belongs to exec"));
        assert!(parse("{ type: icmp, port: 80 }").unwrap_err().contains("'port'"));
        assert!(parse("{ type: exec }").unwrap_err().contains("needs 'command'"));
        assert!(parse("{ type: tcp, fall: 0 }").unwrap_err().contains("at least 1"));
        assert!(parse("{ type: http, digest: abc }").unwrap_err().contains("MD5"));
        assert!(parse("{ type: http, status: [42] }").unwrap_err().contains("status 42"));
        assert!(parse("{ type: tcp, interval: 0 }").unwrap_err().contains("duration"));
        assert!(parse("{ type: tcp, intervall: 1 }").unwrap_err().contains("unknown field"));
        assert!(parse("{ type: http, path: 'a b' }").unwrap_err().contains("path"));
    }
}

#[cfg(test)]
mod service_tests {
    const HEAD: &str = "interfaces: [ { name: a, device: net_null0, addresses: [10.0.0.1/24], kernel: {} } ]\n";

    fn load(svc: &str) -> Result<crate::Config, String> {
        crate::load_str("t.yaml", &format!("{HEAD}services:\n  - {svc}\n")).map_err(|e| e.to_string())
    }

    #[test]
    fn service_health_sorry_and_quorum() {
        let c = load(
            "{ vip: 10.0.0.100, port: 80, health: { type: http, fall: 2 }, sorry_server: { addr: 10.0.0.30 }, \
             quorum: 2, hysteresis: 1, dests: [ { addr: 10.0.0.10 }, { addr: 10.0.0.20, health: { type: none } } ] }",
        )
        .unwrap();
        let s = &c.services[0];
        assert_eq!(s.check_of(&s.dests[0]).map(|c| c.fall), Some(2));
        assert!(s.check_of(&s.dests[1]).is_none());
        assert_eq!(
            s.sorry_dest().map(|d| (d.addr.to_string(), d.fwd)),
            Some(("10.0.0.30".into(), crate::FwdMethod::Nat))
        );
        assert_eq!((s.quorum, s.hysteresis), (2, 1));
        assert_eq!(c.interfaces[0].kernel_ifname(), Some("a"));
    }

    #[test]
    fn bad_sorry_servers_and_quorums_are_refused_with_a_place() {
        let e = load("{ vip: 10.0.0.100, port: 80, quorum: 0 }").unwrap_err();
        assert!(e.contains("quorum must be at least 1") && e.contains("t.yaml:"), "{e}");
        let e = load("{ vip: 10.0.0.100, port: 80, quorum: 1, hysteresis: 1 }").unwrap_err();
        assert!(e.contains("hysteresis"), "{e}");
        let e = load("{ vip: 10.0.0.100, port: 80, sorry_server: { addr: '2001:db8::1' } }").unwrap_err();
        assert!(e.contains("address family"), "{e}");
        let e =
            load("{ vip: 10.0.0.100, port: 80, sorry_server: { addr: 10.0.0.10 }, dests: [ { addr: 10.0.0.10 } ] }")
                .unwrap_err();
        assert!(e.contains("also a dest"), "{e}");
        let e = load("{ vip: 10.0.0.100, port: 80, sorry_server: { addr: 10.0.0.9, port: 81, fwd: dr } }").unwrap_err();
        assert!(e.contains("cannot map ports"), "{e}");
        let e = crate::load_str(
            "t.yaml",
            "interfaces: [ { name: a-very-long-interface, device: net_null0, kernel: { rate: 5 } } ]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("set kernel.ifname"), "{e}");
    }
}
