//! Parsers for option values (addresses, ports, numbers, masks, matches)
//! and the address-family helpers shared by parse, apply and format.
//!
//! They return a short reason on failure; the caller wraps it into
//! ipvsadm's message for the option (e.g. "illegal weight specified").

use crate::adm::names::{self, Names};
use rvs_conf::{FwmarkMatch, Proto, ServiceConf, ServiceKey};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// ipvsadm's `string_to_number`: a whole base-10 integer (strtol allows
/// leading blanks and a sign) within `min..=max`.
pub(crate) fn number(s: &str, min: i64, max: i64) -> Option<i64> {
    let t = s.trim_start();
    if t.is_empty() {
        return None;
    }
    let n: i64 = t.parse().ok()?;
    (min..=max).contains(&n).then_some(n)
}

/// An address with an optional port, as `-t`, `-u` and `-r` take it,
/// following ipvsadm's `parse_service`: `1.2.3.4`, `1.2.3.4:80`,
/// `2001:db8::1` (no port), `[2001:db8::1]:80`, and names: the host by
/// `inet_aton` (`10.1`, `010.000.000.001`) then the resolver (IPv4
/// only), the port by number (`080`) then by service name for `proto`
/// (`:http`; no protocol yet, as for `-r` before `-t`, finds none).
/// Quirks kept: a whole number is no address, and brackets around
/// something that is not IPv6 drop the port after them
/// (`[1.2.3.4]:80` is 1.2.3.4 with no port).
pub(crate) fn addr_port(s: &str, proto: Option<&str>) -> Result<(IpAddr, Option<u16>), String> {
    addr_port_with(s, proto, names::parsing())
}

pub(crate) fn addr_port_with(s: &str, proto: Option<&str>, n: &dyn Names) -> Result<(IpAddr, Option<u16>), String> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(if s.is_empty() { "empty address".into() } else { format!("'{s}' is not an address") });
    }
    let (buf, bracket_port) = match s.strip_prefix('[') {
        Some(rest) => {
            let (inner, after) = rest.split_once(']').ok_or_else(|| format!("missing ']' in '{s}'"))?;
            let p = after.strip_prefix(':').ok_or_else(|| format!("'{s}' needs a port after ']:'"))?;
            (inner, Some(p))
        }
        None => (s, None),
    };
    if let Ok(a) = buf.parse::<Ipv6Addr>() {
        return Ok((IpAddr::V6(a), bracket_port.map(|p| port_with(p, proto, n)).transpose()?));
    }
    let (host, p) = match buf.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (buf, None),
    };
    let a = inet_aton(host)
        .or_else(|| n.host_v4(host))
        .ok_or_else(|| format!("'{host}' is neither an IPv4 address nor a host name with one"))?;
    Ok((IpAddr::V4(a), p.map(|p| port_with(p, proto, n)).transpose()?))
}

/// A port: ipvsadm's `string_to_number(p, 0, 65535)`, else the service
/// name for `proto`.
fn port_with(p: &str, proto: Option<&str>, n: &dyn Names) -> Result<u16, String> {
    if let Some(v) = number(p, 0, 65535) {
        return Ok(v as u16);
    }
    if let Some(v) = proto.and_then(|proto| n.service_port(p, proto)) {
        return Ok(v);
    }
    if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
        Err(format!("port {p} is out of range 0..65535"))
    } else {
        Err(format!("'{p}' is neither a port number nor a {} service name", proto.unwrap_or("known")))
    }
}

/// An IPv4 persistence mask, as ipvsadm's `parse_netmask`: `inet_aton`,
/// else a host name's address.
pub(crate) fn netmask_v4(s: &str) -> Option<Ipv4Addr> {
    inet_aton(s).or_else(|| names::parsing().host_v4(s))
}

/// glibc's `inet_aton`, which ipvsadm's `-M` uses for an IPv4 service:
/// one to four parts separated by dots, each decimal, octal (leading `0`)
/// or hex (`0x`), the last part filling the bytes left (`64` is
/// 0.0.0.64, `1.2.3` is 1.2.0.3, `0xffffff00` is 255.255.255.0); after
/// the number, the end of the string or whitespace (what follows a blank
/// is ignored, as glibc does).
pub(crate) fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    const MAX: [u64; 4] = [0xffff_ffff, 0x00ff_ffff, 0xffff, 0xff];
    let b = s.as_bytes();
    let mut i = 0;
    let mut parts: Vec<u8> = Vec::with_capacity(3);
    let last = loop {
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let (val, used) = c_ulong(&b[i..])?;
        i += used;
        if b.get(i) == Some(&b'.') {
            if parts.len() > 2 || val > 0xff {
                return None;
            }
            parts.push(val as u8);
            i += 1;
        } else {
            break val;
        }
    };
    if b.get(i).is_some_and(|c| !c.is_ascii_whitespace()) || last > MAX[parts.len()] {
        return None;
    }
    let high = parts.iter().enumerate().fold(0u32, |w, (k, &p)| w | (u32::from(p) << (24 - 8 * k)));
    Some(Ipv4Addr::from(high | last as u32))
}

/// `strtoul(s, &end, 0)` on a string that starts with a digit: the value
/// (None past 32 bits, where inet_aton gives up) and the bytes used.
fn c_ulong(b: &[u8]) -> Option<(u64, usize)> {
    let (radix, start) = match b {
        [b'0', b'x' | b'X', h, ..] if h.is_ascii_hexdigit() => (16, 2),
        [b'0', ..] => (8, 0),
        _ => (10, 0),
    };
    let mut v: u64 = 0;
    let mut i = start;
    while let Some(d) = b.get(i).and_then(|&c| (c as char).to_digit(radix)) {
        v = v * u64::from(radix) + u64::from(d);
        if v > 0xffff_ffff {
            return None;
        }
        i += 1;
    }
    Some((v, i))
}

/// C's `atoi`, which ipvsadm's `-M` uses for an IPv6 service: leading
/// blanks, a sign, then digits up to the first non-digit (`64x` is 64,
/// `x` is 0).
pub(crate) fn atoi(s: &str) -> i64 {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| n.saturating_mul(10).saturating_add(i64::from(d - b'0')));
    if neg {
        -n
    } else {
        n
    }
}

/// The full persistence mask of a family (ipvsadm's default: /32, /128).
pub(crate) fn full_mask(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(u128::MAX))
    } else {
        IpAddr::V4(Ipv4Addr::BROADCAST)
    }
}

/// An IPv6 prefix length as a mask address.
pub(crate) fn v6_mask(prefix: u8) -> IpAddr {
    let bits = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
    IpAddr::V6(Ipv6Addr::from(bits))
}

/// The prefix length IPVS stores for an IPv6 service's netmask. The
/// model's default netmask is the IPv4 broadcast address even for IPv6
/// services (YAML files omit it), which means /128.
pub(crate) fn v6_prefix(mask: IpAddr) -> u32 {
    match mask {
        IpAddr::V6(m) => u128::from(m).leading_ones(),
        IpAddr::V4(m) if m == Ipv4Addr::BROADCAST => 128,
        IpAddr::V4(m) => u32::from(m).leading_ones(),
    }
}

/// Whether a service is IPv6. A fwmark service has no address in its key;
/// its family is recorded by its netmask (`-6` sets an IPv6 one).
pub(crate) fn service_is_v6(s: &ServiceConf) -> bool {
    key_is_v6(&s.key, s.netmask)
}

pub(crate) fn key_is_v6(key: &ServiceKey, netmask: IpAddr) -> bool {
    match key {
        ServiceKey::Inet { addr, .. } => addr.is_ipv6(),
        ServiceKey::Fwmark(_) => netmask.is_ipv6(),
    }
}

/// Whether a netmask is the family's full mask (then ipvsadm prints no
/// `mask`/`-M`).
pub(crate) fn is_full_mask(v6: bool, mask: IpAddr) -> bool {
    if v6 {
        v6_prefix(mask) == 128
    } else {
        mask == IpAddr::V4(Ipv4Addr::BROADCAST)
    }
}

/// `--match tcp:VIP[:PORTS]` (rvs extension): PORTS is a comma list of
/// ports and `lo-hi` ranges; no PORTS means every port of the VIP. An
/// IPv6 VIP is written in brackets: `tcp:[2001:db8::1]:80,443`.
pub(crate) fn fwmark_match(s: &str) -> Result<FwmarkMatch, String> {
    let (proto, rest) = s.split_once(':').ok_or_else(|| format!("'{s}' is not PROTO:VIP[:PORT[,PORT...]]"))?;
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        "sctp" => Proto::Sctp,
        _ => return Err(format!("unknown protocol '{proto}' (valid: tcp, udp, sctp)")),
    };
    let (vip, ports) = if let Some(r) = rest.strip_prefix('[') {
        let (inner, after) = r.split_once(']').ok_or_else(|| format!("missing ']' in '{s}'"))?;
        let a: Ipv6Addr = inner.parse().map_err(|_| format!("'{inner}' is not an IPv6 address"))?;
        let ports = match after {
            "" => None,
            a => Some(a.strip_prefix(':').ok_or_else(|| format!("expected ':' after ']' in '{s}'"))?),
        };
        (IpAddr::V6(a), ports)
    } else {
        let (v, p) = match rest.split_once(':') {
            Some((v, p)) => (v, Some(p)),
            None => (rest, None),
        };
        let a: Ipv4Addr = v.parse().map_err(|_| format!("'{v}' is not an IPv4 address (write IPv6 as [addr])"))?;
        (IpAddr::V4(a), p)
    };
    let mut list = Vec::new();
    if let Some(ports) = ports {
        for item in ports.split(',') {
            let (lo, hi) = match item.split_once('-') {
                Some((a, b)) => (match_port(a)?, match_port(b)?),
                None => {
                    let p = match_port(item)?;
                    (p, p)
                }
            };
            if lo > hi {
                return Err(format!("empty port range '{item}'"));
            }
            for p in lo..=hi {
                if list.contains(&p) {
                    return Err(format!("port {p} is listed twice"));
                }
                list.push(p);
            }
        }
    }
    Ok(FwmarkMatch { proto, vip, ports: list })
}

fn match_port(p: &str) -> Result<u16, String> {
    match number(p, 1, 65535) {
        Some(n) => Ok(n as u16),
        None => Err(format!("illegal port '{p}' (1..65535)")),
    }
}

/// A `--match` value as `-S` writes it: consecutive ports folded into
/// `lo-hi` ranges, so that it parses back to the same list.
pub(crate) fn match_to_string(m: &FwmarkMatch) -> String {
    let proto = match m.proto {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
        Proto::Sctp => "sctp",
    };
    let vip = match m.vip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{}]", names::ntop(&a)),
    };
    if m.ports.is_empty() {
        return format!("{proto}:{vip}");
    }
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < m.ports.len() {
        let mut j = i;
        while j + 1 < m.ports.len() && m.ports[j + 1] == m.ports[j].wrapping_add(1) && m.ports[j] != u16::MAX {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!("{}-{}", m.ports[i], m.ports[j]));
        } else {
            for p in &m.ports[i..=j] {
                parts.push(p.to_string());
            }
        }
        i = j + 1;
    }
    format!("{proto}:{vip}:{}", parts.join(","))
}

/// `--mcast-group`, as ipvsadm reads it: IPv6 when it has a ':', and a
/// multicast address either way (its two messages).
pub fn mcast_group(v: &str) -> Result<IpAddr, String> {
    if v.contains(':') {
        match v.parse::<Ipv6Addr>() {
            Ok(a) if a.is_multicast() => Ok(IpAddr::V6(a)),
            _ => Err(format!("invalid IPv6 mcast-group `{v}'")),
        }
    } else {
        match v.parse::<Ipv4Addr>() {
            Ok(a) if a.is_multicast() => Ok(IpAddr::V4(a)),
            _ => Err(format!("invalid IPv4 mcast-group `{v}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_like_strtol() {
        assert_eq!(number("5", 0, 10), Some(5));
        assert_eq!(number(" +5", 0, 10), Some(5));
        assert_eq!(number("11", 0, 10), None);
        assert_eq!(number("5x", 0, 10), None);
        assert_eq!(number("", 0, 10), None);
        assert_eq!(number("-1", 0, 10), None);
    }

    #[test]
    fn addresses() {
        let ap = |s: &str| addr_port(s, Some("tcp"));
        assert_eq!(ap("1.2.3.4:80").unwrap(), ("1.2.3.4".parse().unwrap(), Some(80)));
        assert_eq!(ap("1.2.3.4").unwrap().1, None);
        assert_eq!(ap("[2001:db8::1]:443").unwrap(), ("2001:db8::1".parse().unwrap(), Some(443)));
        assert_eq!(ap("2001:db8::1").unwrap().1, None);
        assert!(ap("80").is_err());
        assert!(ap("").is_err());
        assert!(ap("[2001:db8::1]").is_err());
        assert!(ap("[2001:db8::1]80").is_err());
        assert!(ap("[2001:db8::1:80").is_err());
        assert!(ap("1.2.3.4:65536").unwrap_err().contains("out of range"));
        assert!(ap("1.2.3.4:").is_err());
        assert!(ap("1.2.3.4:-1").is_err());
    }

    #[test]
    fn hosts_like_inet_aton_then_the_resolver() {
        let t = names::Table::sample();
        let host = |s: &str| addr_port_with(s, Some("tcp"), &t).map(|(a, p)| (a.to_string(), p));
        assert_eq!(host("010.000.000.001").unwrap(), ("8.0.0.1".into(), None));
        assert_eq!(host("10.1:80").unwrap(), ("10.0.0.1".into(), Some(80)));
        assert_eq!(host("1.2.3").unwrap(), ("1.2.0.3".into(), None));
        assert_eq!(host("192.168.0").unwrap(), ("192.168.0.0".into(), None));
        assert_eq!(host("0x7f.1").unwrap(), ("127.0.0.1".into(), None));
        assert_eq!(host("localhost:22").unwrap(), ("127.0.0.1".into(), Some(22)));
        assert_eq!(host("web1").unwrap(), ("10.0.0.1".into(), None));
        // The resolver's IPv6-only names are no IPv4 host (gethostbyname).
        assert!(host("v6host.example:80").is_err());
        assert!(host("nosuchhost:80").unwrap_err().contains("host name"));
        assert!(host("256.1.1.1").is_err());
        // Brackets around an IPv4 address or a name: the port is dropped.
        assert_eq!(host("[1.2.3.4]:80").unwrap(), ("1.2.3.4".into(), None));
        assert_eq!(host("[localhost]:80").unwrap(), ("127.0.0.1".into(), None));
        assert_eq!(host("[1.2.3.4:81]:80").unwrap(), ("1.2.3.4".into(), Some(81)));
    }

    #[test]
    fn ports_like_string_to_number_then_getservbyname() {
        let t = names::Table::sample();
        let port = |s: &str, proto| addr_port_with(s, proto, &t).map(|(_, p)| p.unwrap());
        assert_eq!(port("1.2.3.4:080", Some("tcp")), Ok(80));
        assert_eq!(port("1.2.3.4:+80", Some("tcp")), Ok(80));
        assert_eq!(port("1.2.3.4: 80", Some("tcp")), Ok(80));
        assert_eq!(port("1.2.3.4:http", Some("tcp")), Ok(80));
        assert_eq!(port("1.2.3.4:www", Some("tcp")), Ok(80));
        assert_eq!(port("1.2.3.4:domain", Some("udp")), Ok(53));
        assert_eq!(port("[2001:db8::1]:https", Some("tcp")), Ok(443));
        assert_eq!(port("localhost:ssh", Some("tcp")), Ok(22));
        // Per protocol; none before the service's protocol is known.
        assert!(port("1.2.3.4:ssh", Some("udp")).is_err());
        assert!(port("1.2.3.4:http", None).is_err());
        assert!(port("1.2.3.4:0x50", Some("tcp")).is_err());
        assert!(port("1.2.3.4:HTTP", Some("tcp")).is_err());
    }

    #[test]
    fn masks_by_inet_aton_or_name() {
        assert_eq!(netmask_v4("255.255.255.0"), Some(Ipv4Addr::new(255, 255, 255, 0)));
        assert_eq!(netmask_v4("localhost"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(netmask_v4("nosuchmask"), None);
    }

    #[test]
    fn inet_aton_like_glibc() {
        let a = |s: &str| inet_aton(s).map(|a| a.to_string());
        assert_eq!(a("64").as_deref(), Some("0.0.0.64"));
        assert_eq!(a("255.255.255.0").as_deref(), Some("255.255.255.0"));
        assert_eq!(a("0xffffff00").as_deref(), Some("255.255.255.0"));
        assert_eq!(a("0XFFFF0000").as_deref(), Some("255.255.0.0"));
        assert_eq!(a("0377.0377.0377.0").as_deref(), Some("255.255.255.0"));
        assert_eq!(a("255.0xffff00").as_deref(), Some("255.255.255.0"));
        assert_eq!(a("1.2.3").as_deref(), Some("1.2.0.3"));
        assert_eq!(a("4294967295").as_deref(), Some("255.255.255.255"));
        assert_eq!(a("0").as_deref(), Some("0.0.0.0"));
        assert_eq!(a("24 trailing").as_deref(), Some("0.0.0.24"));
        for bad in [
            "",
            " 64",
            "-1",
            "+1",
            "256.0.0.0",
            "1.2.3.4.5",
            "1.2.3.256",
            "1.65536.0",
            "08",
            "0x",
            "0x1g",
            "4294967296",
            "1..2",
            "1.",
            ".1",
            "64x",
            "255.255.255.0/24",
            "ffff",
        ] {
            assert_eq!(inet_aton(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn atoi_like_c() {
        assert_eq!(atoi("64"), 64);
        assert_eq!(atoi(" +64x"), 64);
        assert_eq!(atoi("-3"), -3);
        assert_eq!(atoi("x"), 0);
        assert_eq!(atoi(""), 0);
    }

    #[test]
    fn masks() {
        assert_eq!(v6_prefix(v6_mask(64)), 64);
        assert_eq!(v6_prefix(v6_mask(128)), 128);
        assert_eq!(v6_prefix(full_mask(false)), 128);
        assert!(is_full_mask(true, full_mask(false)));
        assert!(!is_full_mask(false, "255.255.255.0".parse().unwrap()));
    }

    #[test]
    fn matches_round_trip() {
        for s in [
            "tcp:192.168.0.200:80,443",
            "udp:10.0.0.1",
            "tcp:[2001:db8::1]:80,8000-8010",
            "tcp:1.1.1.1:1,2,4-6,65534,65535",
        ] {
            let m = fwmark_match(s).unwrap();
            assert_eq!(match_to_string(&m), s);
            assert_eq!(fwmark_match(&match_to_string(&m)).unwrap(), m);
        }
        assert_eq!(fwmark_match("tcp:1.1.1.1:8000-8002").unwrap().ports, vec![8000, 8001, 8002]);
        assert_eq!(fwmark_match("sctp:1.1.1.1:80").unwrap().proto, Proto::Sctp);
        assert!(fwmark_match("tcp:1.1.1.1:0").is_err());
        assert!(fwmark_match("tcp:1.1.1.1:80,80").is_err());
        assert!(fwmark_match("tcp:2001:db8::1:80").is_err());
    }
}
