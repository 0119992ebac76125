//! Host and service names, and IPv6 text, as ipvsadm 1.31 handles them.
//!
//! ipvsadm resolves names through the C library: `gethostbyname` (IPv4
//! only) for a host that `inet_aton` does not take, `getservbyname` for
//! a port that is not a number, and for listings without `-n`
//! `gethostbyaddr` and `getservbyport`, falling back to the numbers. So
//! `/etc/hosts`, `/etc/services` and nsswitch are honoured. rvsadm does
//! the same lookups in its own process (the one in the operator's
//! namespace, never in rvsd), through [`Names`]: [`System`] asks the C
//! library, [`Numeric`] never resolves (`-n`), and unit tests use a
//! table so that they never touch the network.
//!
//! [`System`] goes through `getaddrinfo`/`getnameinfo` (the `dns-lookup`
//! crate), which glibc answers from the same NSS sources as the old
//! calls. Where they could differ, it is steered to the old calls'
//! answer: host lookups ask for IPv4 only (like `gethostbyname`), a
//! service "name" that `getaddrinfo` would read as a number is refused
//! (`getservbyname` finds no such name), and a v4-mapped or
//! v4-compatible IPv6 address is not looked up (`getnameinfo` would look
//! up the embedded IPv4 address; `gethostbyaddr` from `/etc/hosts` finds
//! nothing for it). Two known gaps: SCTP port names are not printed
//! (`getnameinfo` knows only tcp and udp), and a DNS reverse lookup of a
//! mapped address, which `gethostbyaddr` would unmap, is not made.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The four lookups ipvsadm makes. `proto` is `"tcp"`, `"udp"` or
/// `"sctp"` (the second argument of `getservbyname`/`getservbyport`).
pub trait Names {
    /// `gethostbyname`: the first IPv4 address of a host name.
    fn host_v4(&self, name: &str) -> Option<Ipv4Addr>;
    /// `getservbyname(name, proto)`: the port of a service name.
    fn service_port(&self, name: &str, proto: &str) -> Option<u16>;
    /// `gethostbyaddr`: the official name of an address.
    fn addr_host(&self, addr: IpAddr) -> Option<String>;
    /// `getservbyport(port, proto)`: the official name of a port.
    fn port_service(&self, port: u16, proto: &str) -> Option<String>;
}

/// No lookups at all: what `-n` prints, and what tests and tools that
/// must not block on DNS use.
pub struct Numeric;

impl Names for Numeric {
    fn host_v4(&self, _: &str) -> Option<Ipv4Addr> {
        None
    }
    fn service_port(&self, _: &str, _: &str) -> Option<u16> {
        None
    }
    fn addr_host(&self, _: IpAddr) -> Option<String> {
        None
    }
    fn port_service(&self, _: u16, _: &str) -> Option<String> {
        None
    }
}

/// The C library's resolver (see the module doc for how it is kept to
/// the answers of the calls ipvsadm makes).
pub struct System;

/// What `strtoul(s, &end, 10)` consumes entirely (blanks, a sign,
/// digits): glibc's getaddrinfo takes such a service as a port number.
fn strtoul_whole(s: &str) -> bool {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
}

fn proto_hints(proto: &str) -> Option<(i32, i32)> {
    match proto {
        "tcp" => Some((libc::SOCK_STREAM, libc::IPPROTO_TCP)),
        "udp" => Some((libc::SOCK_DGRAM, libc::IPPROTO_UDP)),
        "sctp" => Some((libc::SOCK_STREAM, libc::IPPROTO_SCTP)),
        _ => None,
    }
}

/// IPv6 addresses that getnameinfo would look up as IPv4 (module doc).
fn embeds_v4(a: &Ipv6Addr) -> bool {
    let s = a.segments();
    s[..5] == [0; 5] && (s[5] == 0xffff || (s[5] == 0 && u128::from(*a) > 1))
}

impl Names for System {
    fn host_v4(&self, name: &str) -> Option<Ipv4Addr> {
        if name.is_empty() {
            return None;
        }
        let hints =
            dns_lookup::AddrInfoHints { address: libc::AF_INET, socktype: libc::SOCK_STREAM, ..Default::default() };
        let mut it = dns_lookup::getaddrinfo(Some(name), None, Some(hints)).ok()?;
        match it.next()?.ok()?.sockaddr {
            SocketAddr::V4(a) => Some(*a.ip()),
            SocketAddr::V6(_) => None,
        }
    }

    fn service_port(&self, name: &str, proto: &str) -> Option<u16> {
        if name.is_empty() || strtoul_whole(name) {
            return None;
        }
        let (socktype, protocol) = proto_hints(proto)?;
        let hints = dns_lookup::AddrInfoHints { address: libc::AF_INET, socktype, protocol, ..Default::default() };
        let mut it = dns_lookup::getaddrinfo(None, Some(name), Some(hints)).ok()?;
        Some(it.next()?.ok()?.sockaddr.port())
    }

    fn addr_host(&self, addr: IpAddr) -> Option<String> {
        if let IpAddr::V6(a) = addr {
            if embeds_v4(&a) {
                return None;
            }
        }
        let flags = libc::NI_NAMEREQD | libc::NI_NUMERICSERV;
        dns_lookup::getnameinfo(&SocketAddr::new(addr, 0), flags).ok().map(|(h, _)| h)
    }

    fn port_service(&self, port: u16, proto: &str) -> Option<String> {
        let flags = libc::NI_NUMERICHOST
            | match proto {
                "tcp" => 0,
                "udp" => libc::NI_DGRAM,
                _ => return None,
            };
        let sa = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        let (_, s) = dns_lookup::getnameinfo(&sa, flags).ok()?;
        // getnameinfo falls back to the number itself.
        (s != port.to_string()).then_some(s)
    }
}

/// A fixed table of names (unit tests, and the resolver that parsing
/// uses in test builds so that no test asks DNS).
#[derive(Default)]
pub struct Table {
    /// (name, address): forward and reverse; the first entry of an
    /// address is its reverse name.
    pub hosts: Vec<(&'static str, IpAddr)>,
    /// (name, port, proto).
    pub services: Vec<(&'static str, u16, &'static str)>,
}

impl Table {
    /// Like a small /etc/hosts and /etc/services.
    pub fn sample() -> Table {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        Table {
            hosts: vec![
                ("localhost", ip("127.0.0.1")),
                ("localhost", ip("::1")),
                ("web1.example", ip("10.0.0.1")),
                ("web1", ip("10.0.0.1")),
                ("v6host.example", ip("2001:db8::1")),
                ("a-very-long-host-name-that-does-not-fit.example.org", ip("192.168.1.100")),
            ],
            services: vec![
                ("http", 80, "tcp"),
                ("http", 80, "udp"),
                ("www", 80, "tcp"),
                ("https", 443, "tcp"),
                ("https", 443, "udp"),
                ("domain", 53, "tcp"),
                ("domain", 53, "udp"),
                ("ssh", 22, "tcp"),
            ],
        }
    }
}

impl Names for Table {
    fn host_v4(&self, name: &str) -> Option<Ipv4Addr> {
        self.hosts.iter().find_map(|&(n, a)| match a {
            IpAddr::V4(a) if n == name => Some(a),
            _ => None,
        })
    }
    fn service_port(&self, name: &str, proto: &str) -> Option<u16> {
        self.services.iter().find(|&&(n, _, p)| n == name && p == proto).map(|&(_, port, _)| port)
    }
    fn addr_host(&self, addr: IpAddr) -> Option<String> {
        self.hosts.iter().find(|&&(_, a)| a == addr).map(|&(n, _)| n.to_string())
    }
    fn port_service(&self, port: u16, proto: &str) -> Option<String> {
        self.services.iter().find(|&&(_, n, p)| n == port && p == proto).map(|&(s, _, _)| s.to_string())
    }
}

/// The resolver that option parsing uses: the C library's, except in
/// unit tests (the sample table: tests never ask DNS).
pub(crate) fn parsing() -> &'static dyn Names {
    #[cfg(not(test))]
    {
        &System
    }
    #[cfg(test)]
    {
        static SAMPLE: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
        SAMPLE.get_or_init(Table::sample)
    }
}

/// glibc's `inet_ntop` for IPv6: the first longest run of two or more
/// zero words becomes `::`, words in lower-case hex without leading
/// zeros, and an IPv4-compatible (`::a.b.c.d`, but not `::` or `::1`) or
/// IPv4-mapped (`::ffff:a.b.c.d`) address ends in a dotted quad. Rust's
/// `Display` prints `::1.2.3.4` as `::102:304`, hence this.
pub fn ntop(a: &Ipv6Addr) -> String {
    let w = a.segments();
    // The first longest run of zero words.
    // (first word, length) of a run of zero words.
    type Run = Option<(usize, usize)>;
    let (mut best, mut cur): (Run, Run) = (None, None);
    for (i, &x) in w.iter().enumerate() {
        if x == 0 {
            let c = cur.map_or((i, 1), |(b, l)| (b, l + 1));
            cur = Some(c);
            if best.is_none_or(|(_, l)| c.1 > l) {
                best = Some(c);
            }
        } else {
            cur = None;
        }
    }
    let best = best.filter(|&(_, l)| l >= 2);
    let mut out = String::new();
    for i in 0..8 {
        if let Some((b, l)) = best {
            if (b..b + l).contains(&i) {
                if i == b {
                    out.push(':');
                }
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6 && best.is_some_and(|(b, l)| b == 0 && (l == 6 || (l == 5 && w[5] == 0xffff))) {
            let o = a.octets();
            out.push_str(&Ipv4Addr::new(o[12], o[13], o[14], o[15]).to_string());
            return out;
        }
        out.push_str(&format!("{:x}", w[i]));
    }
    if best.is_some_and(|(b, l)| b + l == 8) {
        out.push(':');
    }
    out
}

/// An address as ipvsadm prints it numerically (`inet_ntop`).
pub fn addr_text(a: IpAddr) -> String {
    match a {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => ntop(&a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        ntop(&s.parse().unwrap())
    }

    #[test]
    fn ntop_like_glibc() {
        assert_eq!(n("::"), "::");
        assert_eq!(n("::1"), "::1");
        // Seven zero words: not an IPv4 form.
        assert_eq!(n("::2"), "::2");
        assert_eq!(n("::0.0.1.0"), "::100");
        assert_eq!(n("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(n("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(n("::ffff:0:0"), "::ffff:0.0.0.0");
        assert_eq!(n("::0.1.0.0"), "::0.1.0.0");
        // Not IPv4 forms: the run is not at word 0, or has other lengths.
        assert_eq!(n("::1:0:0:0"), "::1:0:0:0");
        assert_eq!(n("::fffe:1.2.3.4"), "::fffe:102:304");
        assert_eq!(n("1::1.2.3.4"), "1::102:304");
        assert_eq!(n("::1:1.2.3.4"), "::1:102:304");
        assert_eq!(n("64:ff9b::1.2.3.4"), "64:ff9b::102:304");
        assert_eq!(n("2001:db8::1"), "2001:db8::1");
        assert_eq!(n("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        assert_eq!(n("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1");
        assert_eq!(n("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
        assert_eq!(n("fe80::"), "fe80::");
        assert_eq!(n("1:2:3:4:5:6:7:8"), "1:2:3:4:5:6:7:8");
        assert_eq!(n("1:0:0:0:0:0:0:0"), "1::");
        assert_eq!(n("0:0:1::"), "0:0:1::");
        assert_eq!(n("FFFF::ABCD"), "ffff::abcd");
        assert_eq!(addr_text("10.1.2.3".parse().unwrap()), "10.1.2.3");
    }

    #[test]
    fn ntop_agrees_with_display_outside_the_ipv4_forms() {
        // Pseudo-random addresses with many zero words.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let words: [u16; 8] = std::array::from_fn(|i| if (x >> (i * 3)) & 3 == 0 { (x >> 40) as u16 } else { 0 });
            let a = Ipv6Addr::from(words);
            let s = ntop(&a);
            assert_eq!(s.parse::<Ipv6Addr>().unwrap(), a, "{s}");
            if !s.contains('.') {
                assert_eq!(s, a.to_string());
            }
        }
    }

    #[test]
    fn numeric_services_are_not_names() {
        for s in ["80", "080", " 80", "+80", "-1", "99999999999"] {
            assert!(strtoul_whole(s), "{s:?}");
        }
        for s in ["", "+", "http", "80x", "0x50"] {
            assert!(!strtoul_whole(s), "{s:?}");
        }
        assert_eq!(System.service_port("80", "tcp"), None);
        assert_eq!(System.service_port("", "tcp"), None);
    }

    #[test]
    fn embedded_v4_forms() {
        let e = |s: &str| embeds_v4(&s.parse().unwrap());
        assert!(e("::ffff:127.0.0.1") && e("::1.2.3.4"));
        assert!(!e("::") && !e("::1") && !e("2001:db8::1"));
    }

    #[test]
    fn the_table() {
        let t = Table::sample();
        assert_eq!(t.host_v4("localhost"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(t.service_port("domain", "udp"), Some(53));
        assert_eq!(t.service_port("ssh", "udp"), None);
        assert_eq!(t.addr_host("10.0.0.1".parse().unwrap()).as_deref(), Some("web1.example"));
        assert_eq!(t.port_service(80, "tcp").as_deref(), Some("http"));
    }
}
