//! Proxy Protocol (HAProxy's `proxy-protocol.txt`) per service: how a
//! FULLNAT TCP service tells its real servers the client's address in the
//! byte stream itself, for servers that read a PROXY header (nginx
//! `proxy_protocol`, HAProxy `accept-proxy`, Envoy) rather than a TOA
//! option.

use crate::model::{FwdMethod, Proto, ServiceConf, ServiceKey};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which PROXY header, if any, the director puts at the start of each
/// connection's client → server stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProxyProtocol {
    /// No header (the client address still goes in TOA).
    #[default]
    Off,
    /// The text line `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n`.
    V1,
    /// The binary header: 12-byte signature, version 2 PROXY, TCP over
    /// IPv4 or IPv6, addresses and ports.
    V2,
}

impl ProxyProtocol {
    /// The word YAML and rvsadm use.
    pub fn name(self) -> &'static str {
        match self {
            ProxyProtocol::Off => "off",
            ProxyProtocol::V1 => "v1",
            ProxyProtocol::V2 => "v2",
        }
    }

    pub fn is_off(&self) -> bool {
        *self == ProxyProtocol::Off
    }
}

impl fmt::Display for ProxyProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ProxyProtocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "off" | "none" => ProxyProtocol::Off,
            "v1" | "1" => ProxyProtocol::V1,
            "v2" | "2" => ProxyProtocol::V2,
            _ => return Err(format!("unknown proxy_protocol '{s}' (valid: v1, v2, off)")),
        })
    }
}

impl Serialize for ProxyProtocol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ProxyProtocol {
    /// A word (`v1`, `v2`, `off`); also `false`, which is what a YAML 1.1
    /// reader makes of a bare `off`, so either reading of the file works.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Word {
            Bool(bool),
            Num(u8),
            Str(String),
        }
        match Word::deserialize(d)? {
            Word::Bool(false) => Ok(ProxyProtocol::Off),
            Word::Bool(true) => Err(serde::de::Error::custom("proxy_protocol: say v1 or v2, not true")),
            Word::Num(n) => n.to_string().parse().map_err(serde::de::Error::custom),
            Word::Str(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl ServiceConf {
    /// A PROXY header is inserted by FULLNAT's TCP sequence rewrite, so a
    /// service that has one must be TCP (a fwmark service: every match
    /// TCP) and every dest FULLNAT: the data path could not honour it for
    /// UDP, or for NAT/DR/TUN, where rvs does not own both halves of the
    /// sequence space. Refused rather than silently ignored.
    pub(crate) fn check_proxy_protocol(&self) -> Result<(), String> {
        let pp = self.proxy_protocol;
        if pp.is_off() {
            return Ok(());
        }
        let tcp = match self.key {
            ServiceKey::Inet { proto, .. } => proto == Proto::Tcp,
            ServiceKey::Fwmark(_) => self.matches.iter().all(|m| m.proto == Proto::Tcp),
        };
        if !tcp {
            return Err(format!(
                "proxy_protocol {pp} needs a TCP service (the header goes at the start of a TCP stream); {} is not",
                self.key
            ));
        }
        if let Some(d) = self.dests.iter().find(|d| d.fwd != FwdMethod::FullNat) {
            return Err(format!(
                "proxy_protocol {pp}: dest {} is {}, but the header is inserted by FULLNAT only (every dest must be \
                 fullnat)",
                crate::family::bracketed(&d.addr),
                d.fwd.ipvs_name()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load_str;

    const BASE: &str = r#"
interfaces:
  - name: client
    device: net_tap0,iface=rvs-c
    addresses: [172.25.254.100/24]
services:
  - vip: 172.25.254.100
    port: 80
    laddrs: [192.168.0.101]
    PP
    dests:
      - { addr: 192.168.0.10, fwd: fullnat }
"#;

    fn load(pp: &str) -> Result<crate::Config, crate::ConfError> {
        load_str("pp.yaml", &BASE.replace("PP", pp))
    }

    #[test]
    fn yaml_words_load() {
        for (word, want) in [
            ("proxy_protocol: v1", ProxyProtocol::V1),
            ("proxy_protocol: v2", ProxyProtocol::V2),
            ("proxy_protocol: off", ProxyProtocol::Off),
            ("proxy_protocol: 2", ProxyProtocol::V2),
            ("proxy_protocol: \"V1\"", ProxyProtocol::V1),
            ("scheduler: rr", ProxyProtocol::Off),
        ] {
            let c = load(word).unwrap_or_else(|e| panic!("{word}: {e}"));
            assert_eq!(c.services[0].proxy_protocol, want, "{word}");
        }
    }

    #[test]
    fn sctp_services_load_but_take_no_proxy_protocol() {
        let c = load("proto: sctp").unwrap();
        assert_eq!(
            c.services[0].key,
            ServiceKey::Inet { proto: Proto::Sctp, addr: "172.25.254.100".parse().unwrap(), port: 80 }
        );
        assert_eq!((Proto::Sctp.number(), Proto::Sctp.name()), (132, "SCTP"));
        let e = load("proto: sctp\n    proxy_protocol: v1").unwrap_err();
        assert!(e.message.contains("proxy_protocol v1 needs a TCP service"), "{e}");
    }

    #[test]
    fn unknown_word_is_located() {
        let e = load("proxy_protocol: v3").unwrap_err();
        assert!(e.message.contains("unknown proxy_protocol 'v3' (valid: v1, v2, off)"), "{e}");
        assert!(e.to_string().starts_with("pp.yaml:"), "{e}");
        // At the service (the mapping whose check failed) or the value.
        assert!((7..=10).contains(&e.line), "{e}");
    }

    #[test]
    fn udp_services_and_non_fullnat_dests_are_refused() {
        let udp = BASE.replace("PP", "proxy_protocol: v2\n    proto: udp");
        let e = load_str("pp.yaml", &udp).unwrap_err();
        assert!(e.message.contains("proxy_protocol v2 needs a TCP service"), "{e}");
        assert!(e.message.contains("UDP 172.25.254.100:80"), "{e}");
        assert!(e.line >= 7, "{e}");
        for fwd in ["nat", "dr", "tun"] {
            let t = BASE.replace("PP", "proxy_protocol: v1").replace("fwd: fullnat }", &format!("fwd: {fwd} }}"));
            let e = load_str("pp.yaml", &t).unwrap_err();
            assert!(e.message.contains("proxy_protocol v1: dest 192.168.0.10 is"), "{fwd}: {e}");
            assert!(e.message.contains("every dest must be fullnat"), "{fwd}: {e}");
            assert!(e.line >= 7, "{e}");
            // The same service without the header is fine.
            let t = BASE.replace("PP", "proxy_protocol: off").replace("fwd: fullnat }", &format!("fwd: {fwd} }}"));
            load_str("pp.yaml", &t).unwrap_or_else(|e| panic!("{fwd}: {e}"));
        }
    }

    #[test]
    fn rvsadm_edits_are_checked_by_validate() {
        let c = load("proxy_protocol: v2").unwrap();
        let mut s = c.services[0].clone();
        s.validate().unwrap();
        s.dests.push(crate::DestConf::new("192.168.0.20".parse().unwrap(), 0, FwdMethod::Nat, 1));
        assert!(s.validate().unwrap_err().contains("dest 192.168.0.20 is Masq"));
        s.proxy_protocol = ProxyProtocol::Off;
        s.validate().unwrap();
    }

    #[test]
    fn names_parse_back() {
        for p in [ProxyProtocol::Off, ProxyProtocol::V1, ProxyProtocol::V2] {
            assert_eq!(p.name().parse::<ProxyProtocol>(), Ok(p));
        }
        assert!("v9".parse::<ProxyProtocol>().is_err());
    }
}
