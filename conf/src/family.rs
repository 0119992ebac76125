//! Address families in the configuration: which mixes of IPv4 and IPv6 a
//! service, a route and an interface may hold, and the one gate that keeps
//! IPv6 services away from a data path that cannot forward them yet.
//!
//! The family rules follow what each forwarding method can do to a packet:
//! NAT and DR keep the client's address as the source, so the real server
//! must be of the VIP's family; TUN encapsulates, so the outer family is
//! free (as the kernel allows mixed-family tunnels); FULLNAT replaces the
//! source with a LIP, so the real server must be of the LIPs' family — an
//! IPv6 VIP with IPv4 LIPs and real servers is NAT64, as in DPVS.

use crate::model::{FwdMethod, RouteConf, ServiceConf, ServiceKey};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The smallest MTU of a link that carries IPv6 (RFC 8200 §5).
pub const MIN_MTU_V6: u16 = 1280;

/// An address as ipvsadm prints it next to a port (`[v6]`, `v4`).
pub(crate) fn bracketed(a: &IpAddr) -> String {
    match a {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    }
}

fn family(v6: bool) -> &'static str {
    if v6 {
        "IPv6"
    } else {
        "IPv4"
    }
}

/// Whether IPVS takes `a` as a real server (`ip_vs_new_dest` answers
/// EINVAL otherwise). IPv4: `inet_addr_type` must say unicast or local,
/// so 0.0.0.0/8 and 255.255.255.255 (broadcast) and 224.0.0.0/4
/// (multicast) are refused. IPv6: `ipv6_addr_type` must say unicast and
/// not link-local, so `::`, ff00::/8, fe80::/10 and the IPv4-mapped
/// ::ffff:0:0/96 are refused. (IPVS also refuses a subnet's broadcast
/// address found in the routing table and accepts a link-local address
/// of the director itself; rvs forwards to neither.)
pub fn is_real_server_addr(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(a) => !(a.octets()[0] == 0 || a.is_broadcast() || a.is_multicast()),
        IpAddr::V6(a) => {
            let s = a.segments();
            let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
            !(a.is_unspecified() || a.is_multicast() || (s[0] & 0xffc0) == 0xfe80 || mapped)
        }
    }
}

/// The IPv6 netmask of an all-ones prefix: what a fwmark service's family
/// is recorded with (ipvsadm `-f MARK -6`), and /128 persistence.
pub(crate) const V6_FULL_MASK: IpAddr =
    IpAddr::V6(Ipv6Addr::new(0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff));

impl ServiceConf {
    /// Whether this is an IPv6 service: its VIP's family, or for a
    /// fwmark service (no address in the key) its netmask's, as ipvsadm
    /// records it (`-6`).
    pub fn is_ipv6(&self) -> bool {
        match self.key {
            ServiceKey::Inet { addr, .. } => addr.is_ipv6(),
            ServiceKey::Fwmark(_) => self.netmask.is_ipv6(),
        }
    }

    /// The persistence prefix length of an IPv6 service (`-M` is a prefix
    /// length there). The model's default netmask is the IPv4 broadcast
    /// address whatever the family (files omit it), which means /128.
    pub fn prefix_len_v6(&self) -> u8 {
        match self.netmask {
            IpAddr::V6(m) => u128::from(m).leading_ones() as u8,
            IpAddr::V4(m) if m == Ipv4Addr::BROADCAST => 128,
            IpAddr::V4(m) => u32::from(m).leading_ones() as u8,
        }
    }

    /// The family of the FULLNAT local addresses (`None`: there are none).
    pub fn laddr_family_v6(&self) -> Option<bool> {
        self.laddrs.first().map(IpAddr::is_ipv6)
    }

    /// Family rules (part of [`ServiceConf::validate`]): matches and the
    /// netmask are of the service's family, LIPs of one family, NAT/DR
    /// dests of the VIP's family, FULLNAT dests of the LIPs' family.
    pub(crate) fn check_families(&self) -> Result<(), String> {
        let v6 = self.is_ipv6();
        let svc = family(v6);
        if let Some(m) = self.matches.iter().find(|m| m.vip.is_ipv6() != v6) {
            return Err(format!(
                "match vip {} is {} but the service is {svc} (a fwmark service is IPv6 when its netmask is)",
                m.vip,
                family(m.vip.is_ipv6())
            ));
        }
        match self.netmask {
            IpAddr::V6(m) if !v6 => return Err(format!("netmask {m} is IPv6 but the service is IPv4")),
            IpAddr::V6(m) if u128::from(m).count_ones() != u128::from(m).leading_ones() => {
                return Err(format!("netmask {m} is not a prefix (IPv6 persistence masks are /0../128)"));
            }
            IpAddr::V4(m) if v6 && m != Ipv4Addr::BROADCAST => {
                return Err(format!("netmask {m} is IPv4 but the service is IPv6 (give a prefix length, e.g. 64)"));
            }
            _ => {}
        }
        let sorry = self.sorry_server.as_ref().map(|s| s.addr);
        if let Some(a) = self.dests.iter().map(|d| d.addr).chain(sorry).find(|a| !is_real_server_addr(*a)) {
            return Err(format!(
                "real server {a} is not a unicast address (IPVS refuses 0.0.0.0/8, broadcast, multicast, ::, \
                 IPv4-mapped and link-local real servers)"
            ));
        }
        let lv6 = self.laddr_family_v6();
        if let Some(l) = self.laddrs.iter().find(|l| Some(l.is_ipv6()) != lv6) {
            return Err(format!(
                "laddrs mix IPv4 and IPv6 ({} and {l}): a service's local addresses are of one family",
                self.laddrs[0]
            ));
        }
        for d in &self.dests {
            let dv6 = d.addr.is_ipv6();
            match d.fwd {
                FwdMethod::Nat | FwdMethod::Dr if dv6 != v6 => {
                    return Err(format!(
                        "dest {}: {} keeps the client's address, so the real server must be {svc} like the \
                         service (only tun and fullnat dests may differ)",
                        d.addr,
                        d.fwd.ipvs_name()
                    ));
                }
                FwdMethod::FullNat if lv6.is_some_and(|l| l != dv6) => {
                    return Err(format!(
                        "dest {}: fullnat sends from the laddrs, which are {}, so the real server must be too",
                        d.addr,
                        family(!dv6)
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// What the family rules above allow but the data path cannot do
    /// yet: tunnels between families (IPv4-in-IPv6 and the reverse) and
    /// FULLNAT from an IPv4 VIP to IPv6 servers (NAT46). NAT64 (an IPv6
    /// VIP, IPv4 LIPs and real servers) is forwarded. Refused rather than
    /// accepted and never forwarded.
    ///
    /// Not part of `validate`, so that rvsadm still reads and prints every
    /// ipvsadm file faithfully.
    pub fn refuse_unwired_families(&self) -> Result<(), String> {
        let v6 = self.is_ipv6();
        let nat64 = |fwd: FwdMethod| v6 && fwd == FwdMethod::FullNat;
        if let Some(d) = self.dests.iter().find(|d| d.addr.is_ipv6() != v6 && !nat64(d.fwd)) {
            let what = if d.fwd == FwdMethod::FullNat {
                "FULLNAT from an IPv4 service to IPv6 real servers (NAT46)"
            } else {
                "tunnelling between address families"
            };
            return Err(format!(
                "dest {}: {what} is not supported by the rvs data path yet (the service is {})",
                d.addr,
                family(v6)
            ));
        }
        if let Some(l) = self.laddrs.iter().find(|l| l.is_ipv6() != v6 && !v6) {
            return Err(format!(
                "laddr {l}: FULLNAT from an IPv4 service through IPv6 local addresses (NAT46) is not supported \
                 by the rvs data path yet"
            ));
        }
        Ok(())
    }
}

impl RouteConf {
    /// The gateway is of the prefix's family and a unicast address.
    pub(crate) fn check(&self) -> Result<(), String> {
        let Some(via) = self.via else { return Ok(()) };
        let p6 = matches!(self.prefix, ipnet::IpNet::V6(_));
        if via.is_ipv6() != p6 {
            return Err(format!(
                "route {}: gateway {via} is {} but the prefix is {}",
                self.prefix,
                family(via.is_ipv6()),
                family(p6)
            ));
        }
        if via.is_multicast() || via.is_unspecified() {
            return Err(format!("route {}: gateway {via} is not a unicast address", self.prefix));
        }
        Ok(())
    }
}

/// An interface's addresses: IPv6 ones must be unicast (a multicast,
/// unspecified or loopback address cannot be a director's), and a link
/// with IPv6 needs IPv6's minimum MTU.
pub(crate) fn check_iface_addrs(addrs: &[ipnet::IpNet], mtu: u16) -> Result<(), String> {
    for n in addrs {
        if let ipnet::IpNet::V6(n) = n {
            let a = n.addr();
            if a.is_multicast() || a.is_unspecified() || a.is_loopback() {
                return Err(format!("address {n} is not a unicast IPv6 address"));
            }
            if mtu < MIN_MTU_V6 {
                return Err(format!("mtu {mtu} is below {MIN_MTU_V6}, the minimum of a link with IPv6 ({n})"));
            }
        }
    }
    Ok(())
}

/// A service's `netmask` in YAML: a mask address (`255.255.255.0`,
/// `ffff:ffff:ffff:ffff::`) or a prefix length (`24`, `64`) of the
/// service's family — ipvsadm takes a prefix length for IPv6 (`-M 64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Netmask {
    Mask(IpAddr),
    Prefix(u64),
}

impl Netmask {
    /// The mask of a `prefix`-bit prefix in the service's family.
    pub(crate) fn of_prefix(v6: bool, prefix: u64) -> Result<IpAddr, String> {
        let bits = if v6 { 128 } else { 32 };
        if prefix > bits {
            return Err(format!("netmask /{prefix} is longer than an {} address ({bits} bits)", family(v6)));
        }
        let p = prefix as u32;
        Ok(if v6 {
            IpAddr::V6(Ipv6Addr::from(if p == 0 { 0 } else { u128::MAX << (128 - p) }))
        } else {
            IpAddr::V4(Ipv4Addr::from(if p == 0 { 0 } else { u32::MAX << (32 - p) }))
        })
    }
}

impl<'de> serde::Deserialize<'de> for Netmask {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Netmask;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a netmask address or a prefix length")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Netmask, E> {
                Ok(Netmask::Prefix(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Netmask, E> {
                u64::try_from(v).map(Netmask::Prefix).map_err(|_| E::custom(format!("netmask /{v} is negative")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Netmask, E> {
                let p = v.strip_prefix('/').unwrap_or(v);
                if let Ok(n) = p.parse::<u64>() {
                    return Ok(Netmask::Prefix(n));
                }
                v.parse().map(Netmask::Mask).map_err(|_| E::custom(format!("'{v}' is not a netmask or prefix length")))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use crate::model::*;
    use crate::yaml::load_str;
    use std::net::IpAddr;

    const BASE: &str = "
interfaces:
  - name: client
    device: net_null0
    addresses: [172.25.254.100/24, 2001:db8:1::100/64, fe80::1/64]
  - { name: server, device: net_null1, addresses: [192.168.0.100/24, 2001:db8:2::100/64] }
routes:
  - { prefix: 10.0.0.0/8, via: 192.168.0.1, dev: server }
  - { prefix: 2001:db8:100::/48, via: 2001:db8:2::1, dev: server }
  - { prefix: '::/0', via: 'fe80::fe', dev: client }
";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A service entry as YAML says it, validated but not gated.
    fn service(yaml: &str) -> Result<ServiceConf, String> {
        let raw: RawService = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
        ServiceConf::from_raw(raw)
    }

    #[test]
    fn ipv6_interface_addresses_and_routes_load() {
        let c = load_str("v6.yaml", BASE).unwrap();
        assert_eq!(c.interfaces[0].addresses.len(), 3);
        assert_eq!(c.routes[1].via, Some(ip("2001:db8:2::1")));
        assert_eq!(c.routes[2].prefix.prefix_len(), 0);
    }

    #[test]
    fn route_gateway_of_the_other_family_is_located() {
        let text = BASE.replace("via: 2001:db8:2::1", "via: 192.168.0.1");
        let e = load_str("v6.yaml", &text).unwrap_err();
        assert!(e.message.contains("gateway 192.168.0.1 is IPv4 but the prefix is IPv6"), "{e}");
        assert_eq!(e.line, 8, "{e}");
        let e = load_str("v6.yaml", &BASE.replace("via: 'fe80::fe'", "via: 'ff02::1'")).unwrap_err();
        assert!(e.message.contains("not a unicast"), "{e}");
    }

    #[test]
    fn interface_ipv6_must_be_unicast_on_an_ipv6_mtu() {
        let e = load_str("v6.yaml", &BASE.replace("fe80::1/64", "ff02::1/128")).unwrap_err();
        assert!(e.message.contains("ff02::1/128 is not a unicast IPv6 address"), "{e}");
        assert_eq!(e.line, 3, "{e}");
        let e =
            load_str("v6.yaml", &BASE.replace("device: net_null0", "device: net_null0\n    mtu: 1000")).unwrap_err();
        assert!(e.message.contains("mtu 1000 is below 1280"), "{e}");
        assert_eq!((e.line, e.column), (5, 10), "{e}");
        // IPv4 alone keeps IPv4's minimum.
        let v4 = "interfaces: [ { name: a, device: b, addresses: [10.0.0.1/24], mtu: 600 } ]\n";
        assert_eq!(load_str("v4.yaml", v4).unwrap().interfaces[0].mtu, 600);
    }

    #[test]
    fn nat_and_dr_dests_are_of_the_vip_family() {
        let s = service("{ vip: '2001:db8::1', port: 80, dests: [ { addr: '2001:db8::10', fwd: nat } ] }").unwrap();
        assert!(s.is_ipv6());
        for (fwd, name) in [("nat", "Masq"), ("dr", "Route")] {
            let e =
                service(&format!("{{ vip: '2001:db8::1', port: 80, dests: [ {{ addr: 10.0.0.1, fwd: {fwd} }} ] }}"))
                    .unwrap_err();
            assert!(e.contains(&format!("dest 10.0.0.1: {name} keeps the client's address")), "{e}");
            let e =
                service(&format!("{{ vip: 10.0.0.1, port: 80, dests: [ {{ addr: '2001:db8::10', fwd: {fwd} }} ] }}"))
                    .unwrap_err();
            assert!(e.contains("must be IPv4 like the service"), "{e}");
        }
        // A tunnel may cross families.
        service("{ vip: '2001:db8::1', port: 80, dests: [ { addr: 10.0.0.1, fwd: tun } ] }").unwrap();
    }

    #[test]
    fn fullnat_dests_are_of_the_laddrs_family() {
        // NAT64: an IPv6 VIP, IPv4 LIPs and real servers.
        let s = service(
            "{ vip: '2001:db8::1', port: 80, laddrs: [10.0.0.100], dests: [ { addr: 10.0.0.1, fwd: fullnat } ] }",
        )
        .unwrap();
        assert_eq!(s.laddr_family_v6(), Some(false));
        service(
            "{ vip: 10.0.0.2, port: 80, laddrs: ['2001:db8::100'], dests: [ { addr: '2001:db8::10', fwd: fullnat } ] }",
        )
        .unwrap();
        let e = service(
            "{ vip: '2001:db8::1', port: 80, laddrs: [10.0.0.100], dests: [ { addr: '2001:db8::10', fwd: fullnat } ] }",
        )
        .unwrap_err();
        assert!(e.contains("dest 2001:db8::10: fullnat sends from the laddrs, which are IPv4"), "{e}");
        let e = service("{ vip: 10.0.0.2, port: 80, laddrs: [10.0.0.100, '2001:db8::100'], dests: [] }").unwrap_err();
        assert!(e.contains("laddrs mix IPv4 and IPv6 (10.0.0.100 and 2001:db8::100)"), "{e}");
    }

    #[test]
    fn netmask_is_a_mask_or_a_prefix_of_the_service_family() {
        let v6 = |m: &str| service(&format!("{{ vip: '2001:db8::1', port: 80, persistent: 300, netmask: {m} }}"));
        let s = v6("64").unwrap();
        assert_eq!(s.netmask, ip("ffff:ffff:ffff:ffff::"));
        assert_eq!(s.prefix_len_v6(), 64);
        assert_eq!(v6("'ffff:ffff:ffff::'").unwrap().prefix_len_v6(), 48);
        assert_eq!(service("{ vip: '2001:db8::1', port: 80 }").unwrap().prefix_len_v6(), 128);
        assert!(v6("255.255.255.0").unwrap_err().contains("is IPv4 but the service is IPv6"));
        assert!(v6("129").unwrap_err().contains("longer than an IPv6 address"));
        assert!(v6("'ffff::ffff'").unwrap_err().contains("not a prefix"));
        let v4 = |m: &str| service(&format!("{{ vip: 10.0.0.1, port: 80, persistent: 300, netmask: {m} }}"));
        assert_eq!(v4("24").unwrap().netmask, ip("255.255.255.0"));
        assert_eq!(v4("255.255.0.0").unwrap().netmask, ip("255.255.0.0"));
        assert!(v4("'ffff::'").unwrap_err().contains("is IPv6 but the service is IPv4"));
        assert!(v4("33").unwrap_err().contains("longer than an IPv4 address"));
    }

    #[test]
    fn fwmark_family_comes_from_its_matches() {
        let s =
            service("{ fwmark: 7, match: [ { proto: tcp, vip: '2001:db8::1', ports: [80] } ], netmask: 64 }").unwrap();
        assert!(s.is_ipv6());
        assert_eq!(s.prefix_len_v6(), 64);
        let e = service("{ fwmark: 7, match: [ { proto: tcp, vip: '2001:db8::1' }, { proto: tcp, vip: 10.0.0.1 } ] }")
            .unwrap_err();
        assert!(e.contains("match vip 10.0.0.1 is IPv4 but the service is IPv6"), "{e}");
        assert!(!service("{ fwmark: 8, match: [ { proto: udp, vip: 10.0.0.1 } ] }").unwrap().is_ipv6());
    }

    #[test]
    fn ipv6_services_pass_and_cross_family_ones_are_refused_with_a_location() {
        let good = "{ vip: '2001:db8::1', port: 80, dests: [ { addr: '2001:db8::10', fwd: nat } ] }";
        assert_eq!(service(good).unwrap().refuse_unwired_families(), Ok(()));
        let text = format!("{BASE}services:\n  - {good}\n");
        assert!(load_str("v6.yaml", &text).is_ok());
        // Family errors come first: they are about the file, not the data path.
        let bad = text.replace("addr: '2001:db8::10'", "addr: 10.0.0.1");
        let e = load_str("v6.yaml", &bad).unwrap_err();
        assert!(e.message.contains("keeps the client's address"), "{e}");
        // NAT64 is forwarded; NAT46, which the configuration allows, is not.
        let nat64 =
            "{ vip: '2001:db8::1', port: 80, laddrs: [10.0.0.5], dests: [ { addr: 10.0.0.10, fwd: fullnat } ] }";
        assert!(load_str("v6.yaml", &format!("{BASE}services:\n  - {nat64}\n")).is_ok());
        let nat46 =
            "{ vip: 10.0.0.1, port: 80, laddrs: ['2001:db8::5'], dests: [ { addr: '2001:db8::10', fwd: fullnat } ] }";
        let e = load_str("v4.yaml", &format!("{BASE}services:\n  - {nat46}\n")).unwrap_err();
        assert!(e.message.contains("(NAT46) is not supported"), "{e}");
        assert_eq!(e.line, 12, "{e}");
        let tun = service("{ vip: 10.0.0.1, port: 80, dests: [ { addr: '2001:db8::10', fwd: tun } ] }").unwrap();
        assert!(tun.refuse_unwired_families().unwrap_err().starts_with("dest 2001:db8::10: tunnelling between"));
    }

    #[test]
    fn duplicate_ipv6_dest_is_named_with_brackets() {
        let e = service("{ vip: '2001:db8::1', port: 80, dests: [ { addr: '2001:db8::10', fwd: nat }, { addr: '2001:db8::10', port: 80 } ] }")
            .unwrap_err();
        assert!(e.contains("dest [2001:db8::10]:80 is listed twice"), "{e}");
    }
}
