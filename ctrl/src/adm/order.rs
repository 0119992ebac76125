//! The order in which `-L`, `-S` and `--json` list services and real
//! servers: ipvsadm 1.31's sort, or with `--nosort` the order in which
//! IPVS hands them out.
//!
//! **Sorted** (the default). ipvsadm sorts with `qsort` and libipvs'
//! `ipvs_cmp_services` / `ipvs_cmp_dests`. Those compare fwmark, then
//! address family (AF_INET 2 before AF_INET6 10), then protocol number,
//! then the address in 32-bit words, then the port, each by subtracting
//! the two values and returning the difference as a C `int`. For the
//! 32-bit quantities (fwmark, address words) the unsigned difference wraps
//! into a signed one, so the order is "signed" in a peculiar way:
//! `192.168.1.100` lists before `10.0.0.1` (0xC0A80164 − 0x0A000001
//! is negative as an `int`), and a fwmark of 2³¹ or more lists before the
//! address services (fwmark 0). Such a comparison is not even transitive,
//! so the result depends on the sorting algorithm: glibc's `qsort` is a
//! top-down merge sort ([`c_qsort`]), reproduced here step by step so that
//! every table lists exactly as ipvsadm lists it, provided it starts
//! from what ipvsadm starts from: the kernel's dump order (the
//! `--nosort` order below), so callers put the table in that order
//! first ([`kernel_services`], [`kernel_dests`]). Fwmark services carry
//! protocol 0 and address 0 (libipvs zeroes what the netlink dump leaves
//! out); ports subtract as `int` after promotion, which is plain order.
//!
//! **`--nosort`**. IPVS dumps its address-service hash table bucket by
//! bucket (256 buckets, `ip_vs_svc_hashkey`), then its fwmark table; a
//! bucket is a list with the newest service first; a service's real
//! servers are a list with the newest first. rvs keeps its table in the
//! order services and servers were added (edits keep the place), so it
//! can replay that walk. One input cannot be reproduced: the kernel mixes
//! the address of its per-namespace `netns_ipvs` structure into the hash
//! (`ahash ^= (size_t)ipvs >> 8`, and the same for fwmarks), a value that
//! changes with every boot. rvs takes it as 0, so `--nosort` gives the
//! order of an IPVS whose namespace structure has zeroes in those bits:
//! the same grouping by bucket, the same newest-first lists, not
//! necessarily the same bucket sequence as a given kernel.

use rvs_conf::{DestConf, ServiceConf, ServiceKey};
use std::net::IpAddr;

const AF_INET: i32 = 2;
const AF_INET6: i32 = 10;

/// IP_VS_SVC_TAB_BITS: the service hash tables have 256 buckets.
const SVC_TAB_BITS: u32 = 8;
const SVC_TAB_MASK: u32 = (1 << SVC_TAB_BITS) - 1;

/// `(a - b)` of two 32-bit unsigned values, as ipvsadm's `int r = a - b`.
fn wrapped(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// The four host-order 32-bit words of an address as libipvs holds it in
/// `union nf_inet_addr` (an IPv4 address fills the first word).
fn words(a: IpAddr) -> [u32; 4] {
    match a {
        IpAddr::V4(a) => [u32::from(a), 0, 0, 0],
        IpAddr::V6(a) => {
            let o = a.octets();
            std::array::from_fn(|i| u32::from_be_bytes([o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3]]))
        }
    }
}

/// The address comparison both comparators share: four words when the
/// *first* entry is IPv6, one word otherwise (libipvs looks at `d1->af`
/// only, which matters for mixed-family real servers).
fn cmp_addr(a: IpAddr, b: IpAddr) -> i32 {
    let (wa, wb) = (words(a), words(b));
    let n = if a.is_ipv6() { 4 } else { 1 };
    (0..n).map(|i| wrapped(wa[i], wb[i])).find(|&r| r != 0).unwrap_or(0)
}

/// The fields `ipvs_cmp_services` reads, as libipvs fills them in.
struct SvcFields {
    fwmark: u32,
    af: i32,
    protocol: i32,
    addr: IpAddr,
    port: u16,
}

fn svc_fields(s: &ServiceConf) -> SvcFields {
    let af = if s.is_ipv6() { AF_INET6 } else { AF_INET };
    match s.key {
        ServiceKey::Fwmark(m) => {
            let zero = if af == AF_INET6 { IpAddr::from([0u16; 8]) } else { IpAddr::from([0u8; 4]) };
            SvcFields { fwmark: m, af, protocol: 0, addr: zero, port: 0 }
        }
        ServiceKey::Inet { proto, addr, port } => {
            SvcFields { fwmark: 0, af, protocol: i32::from(proto.number()), addr, port }
        }
    }
}

/// libipvs' `ipvs_cmp_services`, with its C arithmetic.
pub(crate) fn ipvs_cmp_services(a: &ServiceConf, b: &ServiceConf) -> i32 {
    let (x, y) = (svc_fields(a), svc_fields(b));
    let r = wrapped(x.fwmark, y.fwmark);
    if r != 0 {
        return r;
    }
    let r = x.af - y.af;
    if r != 0 {
        return r;
    }
    let r = x.protocol - y.protocol;
    if r != 0 {
        return r;
    }
    let r = cmp_addr(x.addr, y.addr);
    if r != 0 {
        return r;
    }
    i32::from(x.port) - i32::from(y.port)
}

/// libipvs' `ipvs_cmp_dests` (`port` is the resolved real-server port).
pub(crate) fn ipvs_cmp_dests(a: &DestConf, b: &DestConf) -> i32 {
    let r = cmp_addr(a.addr, b.addr);
    if r != 0 {
        return r;
    }
    i32::from(a.port) - i32::from(b.port)
}

/// glibc's `qsort`: the top-down merge sort of `msort.c` (first half
/// `n / 2`; on a tie or "less or equal" the left run's element goes
/// first). With a comparator that is not a total order (ipvsadm's), only
/// this exact sequence of comparisons gives glibc's result.
pub(crate) fn c_qsort<T: Clone>(v: &mut [T], cmp: &impl Fn(&T, &T) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    c_qsort(&mut v[..n1], cmp);
    c_qsort(&mut v[n1..], cmp);
    let mut merged = Vec::with_capacity(n);
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) <= 0 {
            merged.push(v[i].clone());
            i += 1;
        } else {
            merged.push(v[j].clone());
            j += 1;
        }
    }
    merged.extend_from_slice(&v[i..n1]);
    merged.extend_from_slice(&v[j..n]);
    v.clone_from_slice(&merged);
}

/// `ip_vs_svc_hashkey` with the namespace term taken as 0 (see the module
/// doc): protocol, address folded to 32 bits, port.
fn svc_bucket(proto: u8, addr: IpAddr, port: u16) -> u32 {
    let w = words(addr);
    let fold = if addr.is_ipv6() { w[0] ^ w[1] ^ w[2] ^ w[3] } else { w[0] };
    let porth = u32::from(port);
    (u32::from(proto) ^ fold ^ (porth >> SVC_TAB_BITS) ^ porth) & SVC_TAB_MASK
}

/// Where IPVS's dump puts a service: address table before fwmark table,
/// then the bucket.
fn kernel_slot(s: &ServiceConf) -> (u8, u32) {
    match s.key {
        ServiceKey::Inet { proto, addr, port } => (0, svc_bucket(proto.number(), addr, port)),
        ServiceKey::Fwmark(m) => (1, m & SVC_TAB_MASK),
    }
}

/// `--nosort` order of services, from the table order (oldest first):
/// bucket by bucket, newest first within a bucket.
pub(crate) fn kernel_services<T>(table: &mut [T], conf: impl Fn(&T) -> &ServiceConf) {
    table.reverse();
    // A stable sort by slot keeps the newest-first order inside a bucket.
    table.sort_by_key(|s| kernel_slot(conf(s)));
}

/// `--nosort` order of a service's real servers: newest first.
pub(crate) fn kernel_dests<T>(dests: &mut [T]) {
    dests.reverse();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adm::cmd::{ListOpts, SaveOpts};
    use crate::adm::format;
    use crate::adm::view::TableView;
    use rvs_conf::{FwdMethod, Proto};

    fn tcp(a: &str, port: u16) -> ServiceConf {
        ServiceConf::new(ServiceKey::Inet { proto: Proto::Tcp, addr: a.parse().unwrap(), port })
    }

    fn dest(a: &str, port: u16) -> DestConf {
        DestConf::new(a.parse().unwrap(), port, FwdMethod::Nat, 1)
    }

    #[test]
    fn addresses_compare_as_wrapped_ints() {
        // 0xC0A80164 - 0x0A000001 = 0xB6A80163: negative as an int.
        assert!(ipvs_cmp_services(&tcp("192.168.1.100", 80), &tcp("10.0.0.1", 80)) < 0);
        assert!(ipvs_cmp_services(&tcp("10.0.0.1", 80), &tcp("10.0.0.2", 80)) < 0);
        // Less than 2^31 apart: the plain order.
        assert!(ipvs_cmp_services(&tcp("10.0.0.1", 80), &tcp("127.0.0.1", 80)) < 0);
        assert!(ipvs_cmp_dests(&dest("192.168.1.100", 80), &dest("10.0.0.1", 80)) < 0);
        assert!(ipvs_cmp_dests(&dest("2001:db8::1", 80), &dest("2001:db8::2", 80)) < 0);
        assert!(ipvs_cmp_dests(&dest("fd00::1", 80), &dest("2001:db8::1", 80)) < 0);
        assert!(ipvs_cmp_dests(&dest("10.0.0.1", 80), &dest("10.0.0.1", 443)) < 0);
    }

    #[test]
    fn qsort_is_glibc_merge_sort() {
        // A comparator that is not transitive: a < b, b < c, c < a.
        let order = |x: &u8, y: &u8| match (x, y) {
            (a, b) if a == b => 0,
            (0, 1) | (1, 2) | (2, 0) => -1,
            _ => 1,
        };
        // msort: [0] [1 2] -> [1 2] sorted as (1,2); merge [0] with [1,2]:
        // cmp(0,1) <= 0 takes 0, then 1, 2.
        let mut v = vec![0u8, 1, 2];
        c_qsort(&mut v, &order);
        assert_eq!(v, [0, 1, 2]);
        // [2] [0 1]: cmp(2,0) < 0 takes 2, then 0, 1.
        let mut v = vec![2u8, 0, 1];
        c_qsort(&mut v, &order);
        assert_eq!(v, [2, 0, 1]);
        // [1] [2 0] -> right run sorts to [2 0]; cmp(1,2) takes 1 first.
        let mut v = vec![1u8, 2, 0];
        c_qsort(&mut v, &order);
        assert_eq!(v, [1, 2, 0]);
        let mut v: Vec<i32> = vec![5, -1, 3, 3, 0, 9, -7];
        c_qsort(&mut v, &|a: &i32, b: &i32| a - b);
        assert_eq!(v, [-7, -1, 0, 3, 3, 5, 9]);
    }

    #[test]
    fn kernel_buckets_of_services() {
        // TCP (6) ^ 10.0.0.1 ^ (80 >> 8) ^ 80, low 8 bits: 6 ^ 1 ^ 80 = 0x57.
        assert_eq!(svc_bucket(6, "10.0.0.1".parse().unwrap(), 80), 0x57);
        // Port 0x1234 folds its high byte in: 6 ^ 1 ^ 0x12 ^ 0x34.
        assert_eq!(svc_bucket(6, "10.0.0.1".parse().unwrap(), 0x1234), 6 ^ 1 ^ 0x12 ^ 0x34);
        // IPv6 folds the four words.
        assert_eq!(svc_bucket(17, "2001:db8::1:2".parse().unwrap(), 53), (17 ^ 0x2001_0db8 ^ 0x0001_0002 ^ 53) & 255);
    }

    /// The service lines of a listing (header and dests left out) and
    /// the dest lines, in order.
    fn listed(out: &str) -> (Vec<String>, Vec<String>) {
        let body = out.lines().skip(3);
        let (d, s): (Vec<&str>, Vec<&str>) = body.partition(|l| l.starts_with("  ->"));
        let first =
            |v: Vec<&str>| v.into_iter().map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" ")).collect();
        (first(s), first(d))
    }

    fn mixed_table() -> Vec<ServiceConf> {
        let udp =
            |a: &str, port| ServiceConf::new(ServiceKey::Inet { proto: Proto::Udp, addr: a.parse().unwrap(), port });
        let mut a = tcp("10.0.0.1", 80);
        a.dests = vec![dest("10.0.0.1", 80), dest("192.168.1.100", 80)];
        let b = tcp("192.168.1.100", 80);
        let c = udp("10.0.0.1", 53);
        let d = tcp("10.0.0.1", 443);
        let e = tcp("2001:db8::1", 80);
        let mut f = tcp("fd00::1", 80);
        f.dests = vec![dest("2001:db8::10", 80), dest("fd00::10", 80)];
        let g = ServiceConf::new(ServiceKey::Fwmark(2));
        let mut h = ServiceConf::new(ServiceKey::Fwmark(3));
        h.netmask = crate::adm::values::full_mask(true);
        let i = udp("2001:db8::1", 53);
        vec![a, b, c, d, e, f, g, h, i]
    }

    #[test]
    fn listing_is_ipvsadm_sorted() {
        let table = mixed_table();
        let out = format::list(&TableView::from_model(4096, &table), &ListOpts::default(), &format::Numeric).unwrap();
        let (svcs, dests) = listed(&out);
        assert_eq!(
            svcs,
            [
                "TCP 192.168.1.100:80",
                "TCP 10.0.0.1:80",
                "TCP 10.0.0.1:443",
                "UDP 10.0.0.1:53",
                "TCP [fd00::1]:80",
                "TCP [2001:db8::1]:80",
                "UDP [2001:db8::1]:53",
                "FWM 2",
                "FWM 3",
            ]
        );
        assert_eq!(dests, ["-> 192.168.1.100:80", "-> 10.0.0.1:80", "-> [fd00::10]:80", "-> [2001:db8::10]:80"]);
        // Every -L variant goes through the same order.
        for o in [
            ListOpts { stats: true, ..ListOpts::default() },
            ListOpts { rate: true, ..ListOpts::default() },
            ListOpts { thresholds: true, ..ListOpts::default() },
            ListOpts { persistent_conn: true, ..ListOpts::default() },
            ListOpts { tun_info: true, ..ListOpts::default() },
        ] {
            let (s, d) = listed(&format::list(&TableView::from_model(4096, &table), &o, &format::Numeric).unwrap());
            assert_eq!((s, d), (svcs.clone(), dests.clone()), "{o:?}");
        }
        // -S too.
        let saved = format::save(&table, &SaveOpts::default(), &format::Numeric).unwrap();
        let adds: Vec<&str> =
            saved.lines().filter(|l| l.starts_with("-A")).map(|l| l.split(" -s").next().unwrap()).collect();
        assert_eq!(
            adds,
            [
                "-A -t 192.168.1.100:80",
                "-A -t 10.0.0.1:80",
                "-A -t 10.0.0.1:443",
                "-A -u 10.0.0.1:53",
                "-A -t [fd00::1]:80",
                "-A -t [2001:db8::1]:80",
                "-A -u [2001:db8::1]:53",
                "-A -f 2",
                "-A -f 3 -6",
            ]
        );
        assert!(
            saved.contains("-a -t 10.0.0.1:80 -r 192.168.1.100:80 -m -w 1\n-a -t 10.0.0.1:80 -r 10.0.0.1:80 -m -w 1\n")
        );
        // --json lists the same order.
        let j = format::list(
            &TableView::from_model(4096, &table),
            &ListOpts { json: true, ..ListOpts::default() },
            &format::Numeric,
        )
        .unwrap();
        let v: TableView = serde_json::from_str(&j).unwrap();
        assert_eq!(v.services[0].conf.key, table[1].key);
        assert_eq!(v.services[0].dests.len(), 0);
        assert_eq!(v.services[1].dests[0].conf.addr, "192.168.1.100".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn non_transitive_order_depends_on_the_table_like_glibc() {
        // 10.0.0.1 < 100.0.0.1 < 192.168.0.1 < 10.0.0.1 under ipvsadm's
        // comparison: what lists first depends on the order ipvsadm gets
        // them in, the kernel's dump: all three share bucket 0x57, so
        // newest first.
        let s = |order: &[&str]| {
            let t: Vec<ServiceConf> = order.iter().map(|a| tcp(a, 80)).collect();
            listed(&format::list(&TableView::from_model(1, &t), &ListOpts::default(), &format::Numeric).unwrap()).0
        };
        // Sorted from [192, 100, 10]: [192] + sort([100, 10]) = [10, 100];
        // the merge takes 192 first (192 - 10 is negative as an int).
        assert_eq!(
            s(&["10.0.0.1", "100.0.0.1", "192.168.0.1"]),
            ["TCP 192.168.0.1:80", "TCP 10.0.0.1:80", "TCP 100.0.0.1:80"]
        );
        // Sorted from [100, 10, 192]: [100] + [192, 10]; 100 < 192.
        assert_eq!(
            s(&["192.168.0.1", "10.0.0.1", "100.0.0.1"]),
            ["TCP 100.0.0.1:80", "TCP 192.168.0.1:80", "TCP 10.0.0.1:80"]
        );
        // Real servers too: sorted from the newest-first list.
        let mut one = tcp("1.1.1.1", 80);
        one.dests = ["10.0.0.1", "100.0.0.1", "192.168.0.1"].iter().map(|a| dest(a, 80)).collect();
        let o = ListOpts { tun_info: true, ..ListOpts::default() };
        let (_, d) = listed(&format::list(&TableView::from_model(1, &[one.clone()]), &o, &format::Numeric).unwrap());
        assert_eq!(d, ["-> 192.168.0.1:80", "-> 10.0.0.1:80", "-> 100.0.0.1:80"]);
        let saved = format::save(&[one], &SaveOpts::default(), &format::Numeric).unwrap();
        let rs: Vec<&str> = saved.lines().skip(1).map(|l| l.split(" -r ").nth(1).unwrap()).collect();
        assert_eq!(rs, ["192.168.0.1:80 -m -w 1", "10.0.0.1:80 -m -w 1", "100.0.0.1:80 -m -w 1"]);
        // A fwmark of 2^31 or more lists before the address services.
        let t = vec![tcp("10.0.0.1", 80), ServiceConf::new(ServiceKey::Fwmark(0x8000_0001))];
        let out = format::list(&TableView::from_model(1, &t), &ListOpts::default(), &format::Numeric).unwrap();
        assert_eq!(listed(&out).0, ["FWM 2147483649", "TCP 10.0.0.1:80"]);
    }

    #[test]
    fn nosort_is_the_kernel_walk() {
        let table = mixed_table();
        let o = ListOpts { nosort: true, ..ListOpts::default() };
        let (svcs, dests) = listed(&format::list(&TableView::from_model(4096, &table), &o, &format::Numeric).unwrap());
        // Buckets (salt 0): UDP 10.0.0.1:53 37, TCP 192.168.1.100:80 50,
        // TCP [fd00::1]:80 and TCP 10.0.0.1:80 87 (newest first), UDP
        // [2001:db8::1]:53 157, TCP 10.0.0.1:443 189, TCP [2001:db8::1]:80
        // 239; then the fwmark table.
        assert_eq!(
            svcs,
            [
                "UDP 10.0.0.1:53",
                "TCP 192.168.1.100:80",
                "TCP [fd00::1]:80",
                "TCP 10.0.0.1:80",
                "UDP [2001:db8::1]:53",
                "TCP 10.0.0.1:443",
                "TCP [2001:db8::1]:80",
                "FWM 2",
                "FWM 3",
            ]
        );
        // Real servers newest first.
        assert_eq!(dests, ["-> [fd00::10]:80", "-> [2001:db8::10]:80", "-> 192.168.1.100:80", "-> 10.0.0.1:80"]);
    }
}
