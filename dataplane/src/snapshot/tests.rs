use super::*;
use rvs_conf::DestConf;
use std::net::Ipv6Addr;

fn a6(s: &str) -> u128 {
    u128::from(s.parse::<Ipv6Addr>().unwrap())
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn iface(name: &str, port: u16, addrs: Vec<(u32, u8)>, addrs6: &[(&str, u8)]) -> Iface {
    Iface {
        name: name.into(),
        port_id: port,
        mac: [2, 0, 0, 0, 0, port as u8],
        addrs,
        addrs6: addrs6.iter().map(|(a, l)| (a6(a), *l)).collect(),
        mtu: 1500,
        rss: None,
        kernel: None,
    }
}

fn ifaces() -> Vec<Iface> {
    vec![
        iface("client", 0, vec![(0xac19_fe64, 24)], &[("fe80::1", 64), ("2001:db8:1::100", 64)]),
        iface("server", 1, vec![(0xc0a8_0064, 24)], &[("fe80::1", 64), ("2001:db8:2::100", 64)]),
    ]
}

fn inet(proto: Proto, vip: &str, port: u16, dests: &[(&str, FwdMethod)]) -> ServiceConf {
    let mut s = ServiceConf::new(ServiceKey::Inet { proto, addr: ip(vip), port });
    s.dests = dests.iter().map(|(a, f)| DestConf::new(ip(a), 0, *f, 1)).collect();
    s
}

fn snapshot(confs: &[ServiceConf]) -> Snapshot {
    let list = confs.iter().map(|c| Service::build(c, 1, None)).collect();
    Snapshot::new(1, 1, ifaces(), &[]).with_services(ServiceTable::new(list))
}

#[test]
fn source_for6_prefers_the_peers_prefix_then_a_global_address() {
    let i = &ifaces()[0];
    assert_eq!(i.source_for6(a6("2001:db8:1::7")), Some(a6("2001:db8:1::100")));
    assert_eq!(i.source_for6(a6("fe80::abcd")), Some(a6("fe80::1")), "link-local peer, link-local source");
    // Off-link: the first global address, not the link-local one listed first.
    assert_eq!(i.source_for6(a6("2001:db8:99::1")), Some(a6("2001:db8:1::100")));
    let only_ll = iface("x", 0, vec![], &[("fe80::9", 64)]);
    assert_eq!(only_ll.source_for6(a6("2001:db8:99::1")), None);
    assert_eq!(only_ll.source_for6(a6("fe80::2")), Some(a6("fe80::9")));
    assert_eq!(iface("y", 0, vec![], &[]).source_for6(1), None);
}

#[test]
fn routes6_are_connected_plus_static() {
    let s = Snapshot::new(1, 1, ifaces(), &[])
        .with_routes6(&[(a6("2001:db8:100::"), 48, 1, Some(a6("2001:db8:2::1"))), (0, 0, 0, Some(a6("fe80::fe")))]);
    assert_eq!(s.routes6.lookup(a6("2001:db8:2::10")), Some((1, a6("2001:db8:2::10"))));
    assert_eq!(s.routes6.lookup(a6("2001:db8:1::10")), Some((0, a6("2001:db8:1::10"))));
    assert_eq!(s.routes6.lookup(a6("2001:db8:100:5::1")), Some((1, a6("2001:db8:2::1"))));
    assert_eq!(s.routes6.lookup(a6("2a00::1")), Some((0, a6("fe80::fe"))));
    // IPv4 routes are untouched by IPv6 addresses.
    assert_eq!(s.routes.routes().len(), 2);
    assert_eq!(s.routes.lookup(0xc0a8_000a), Some((1, 0xc0a8_000a)));
    assert_eq!(Snapshot::new(1, 1, vec![], &[]).routes6.lookup(1), None);
}

#[test]
fn class6_marks_our_addresses_vips_and_lips() {
    let mut fnat = inet(Proto::Tcp, "2001:db8:1::80", 80, &[("2001:db8:2::10", FwdMethod::FullNat)]);
    fnat.laddrs = vec![ip("2001:db8:2::101")];
    let dr = inet(Proto::Tcp, "2001:db8:1::81", 80, &[("2001:db8:2::10", FwdMethod::Dr)]);
    let tun = inet(Proto::Udp, "2001:db8:1::81", 53, &[("10.0.0.1", FwdMethod::Tun)]);
    let s = snapshot(&[fnat, dr, tun]);
    assert_eq!(s.class6(a6("2001:db8:1::100")), class::LOCAL);
    assert_eq!(s.class6(a6("fe80::1")), class::LOCAL);
    assert_eq!(s.class6(a6("2001:db8:1::80")), class::VIP, "fullnat replies come back: two-way");
    assert_eq!(s.class6(a6("2001:db8:1::81")), class::VIP | class::ONE_WAY, "DR and TUN only");
    assert_eq!(s.class6(a6("2001:db8:2::101")), class::LIP);
    assert_eq!(s.class6(a6("2001:db8:2::10")), 0, "a real server is not ours");
    // IPv4 classes are not affected, and no IPv6 address leaks into them.
    assert_eq!(s.class(0xac19_fe64), class::LOCAL);
    assert_eq!(s.class(a6("2001:db8:1::80") as u32), 0);
    // The filter never hides one of ours; everything else is 0 whatever it says.
    let ours = [a6("2001:db8:1::80"), a6("2001:db8:1::81"), a6("2001:db8:2::101")];
    let mut x = 0x1234_5678_9abc_def0u64;
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for a in [a6("2001:db8:1::") | u128::from(x & 0xffff), (u128::from(x) << 64) | u128::from(x.rotate_left(7))] {
            if !ours.contains(&a) && !s.local6.contains_key(&a) {
                assert_eq!(s.class6(a), 0, "{a:#x}");
            }
        }
    }
}

#[test]
fn a_vip_shared_by_both_kinds_of_service_is_two_way() {
    let nat = inet(Proto::Tcp, "2001:db8:1::80", 80, &[("2001:db8:2::10", FwdMethod::Nat)]);
    let dr = inet(Proto::Tcp, "2001:db8:1::80", 443, &[("2001:db8:2::10", FwdMethod::Dr)]);
    assert_eq!(snapshot(&[nat, dr]).class6(a6("2001:db8:1::80")), class::VIP);
}

#[test]
fn lookup6_in_ipvs_order_and_apart_from_ipv4() {
    let exact = inet(Proto::Tcp, "2001:db8:1::80", 80, &[]);
    let mut all = inet(Proto::Tcp, "2001:db8:1::80", 0, &[]);
    all.persistent = Some(300);
    let v4 = inet(Proto::Tcp, "172.25.254.80", 80, &[]);
    let mut fw = ServiceConf::new(ServiceKey::Fwmark(5));
    fw.netmask = ip("ffff:ffff:ffff:ffff::");
    fw.matches = vec![rvs_conf::FwmarkMatch { proto: Proto::Udp, vip: ip("2001:db8:1::80"), ports: vec![53] }];
    let s = snapshot(&[exact, all, v4, fw]);
    let t = &s.services;
    let vip = a6("2001:db8:1::80");
    assert_eq!(t.lookup6(6, vip, 80), Some(0));
    assert_eq!(t.lookup6(6, vip, 8080), Some(1), "the port-0 service");
    assert_eq!(t.lookup6(17, vip, 53), Some(3), "fwmark first");
    assert_eq!(t.lookup6(17, vip, 54), None);
    assert_eq!(t.lookup6(6, a6("2001:db8:1::81"), 80), None);
    assert_eq!(t.lookup(6, 0xac19_fe50, 80), Some(2));
    assert_eq!(t.lookup6(6, 0xac19_fe50, 80), None, "an IPv4 VIP is not an IPv6 one");
    assert!(t.is_vip6(vip) && !t.is_vip6(0xac19_fe50) && t.is_vip(0xac19_fe50));
    assert_eq!(s.class6(vip), class::VIP, "a fwmark match is two-way");
}

#[test]
fn laddrs_and_persistence_masks_per_family() {
    // NAT64: an IPv6 VIP, IPv4 LIPs and real servers.
    let mut nat64 = inet(Proto::Tcp, "2001:db8:1::80", 80, &[("192.168.0.10", FwdMethod::FullNat)]);
    nat64.laddrs = vec![ip("192.168.0.101")];
    nat64.persistent = Some(60);
    nat64.netmask = ip("ffff:ffff:ffff:ffff::");
    let mut v6 = inet(Proto::Tcp, "2001:db8:1::81", 80, &[("2001:db8:2::10", FwdMethod::FullNat)]);
    v6.laddrs = vec![ip("2001:db8:2::101"), ip("2001:db8:2::102")];
    let mut v4 = inet(Proto::Tcp, "172.25.254.80", 80, &[]);
    v4.netmask = ip("255.255.255.0");
    let s = snapshot(&[nat64, v6, v4]);
    let l = &s.services.list;
    assert_eq!((l[0].laddrs.as_slice(), l[0].laddrs6.len()), (&[0xc0a8_0065][..], 0));
    assert_eq!(l[0].netmask6, u128::MAX << 64);
    assert_eq!(l[1].laddrs6, vec![a6("2001:db8:2::101"), a6("2001:db8:2::102")]);
    assert!(l[1].laddrs.is_empty());
    assert_eq!(l[1].netmask6, u128::MAX, "the default is /128");
    assert_eq!((l[2].netmask, l[2].netmask6), (0xffff_ff00, u128::MAX));
    assert!(s.services.is_lip(0xc0a8_0065) && s.services.is_lip6(a6("2001:db8:2::102")));
    let mut lips6: Vec<u128> = s.services.lips6().collect();
    lips6.sort();
    assert_eq!(lips6, vec![a6("2001:db8:2::101"), a6("2001:db8:2::102")]);
    assert_eq!(s.services.lips().collect::<Vec<_>>(), vec![0xc0a8_0065]);
}

#[test]
fn answers_nd_for_our_port_addresses_vips_and_lips() {
    let mut fnat = inet(Proto::Tcp, "2001:db8:1::80", 80, &[("2001:db8:2::10", FwdMethod::FullNat)]);
    fnat.laddrs = vec![ip("2001:db8:2::101")];
    let s = snapshot(&[fnat]);
    assert!(s.answers_nd_for(0, a6("2001:db8:1::100")));
    assert!(!s.answers_nd_for(1, a6("2001:db8:1::100")), "another port's address");
    assert!(s.answers_nd_for(0, a6("fe80::1")) && s.answers_nd_for(1, a6("fe80::1")), "link-local on both");
    for port in [0, 1] {
        assert!(s.answers_nd_for(port, a6("2001:db8:1::80")), "VIP");
        assert!(s.answers_nd_for(port, a6("2001:db8:2::101")), "LIP");
        assert!(!s.answers_nd_for(port, a6("2001:db8:2::10")), "a real server");
    }
    assert!(!s.answers_nd_for(7, a6("2001:db8:1::100")), "no such port");
    assert_eq!(s.local6.get(&a6("2001:db8:2::100")), Some(&1));
}

/// What the engine does once per family, written once.
fn summary<A: SnapAddr>(s: &Snapshot, vip: A, ours: A) -> (u8, u8, Option<u32>, usize) {
    let i = A::lookup(&s.services, 6, vip, 80);
    let lips = i.map_or(0, |i| A::laddrs(&s.services.list[i as usize]).len());
    (A::class_of(s, vip), A::class_of(s, ours), i, lips + A::routes(s).routes().len())
}

#[test]
fn snap_addr_picks_the_family_tables() {
    let mut v6 = inet(Proto::Tcp, "2001:db8:1::80", 80, &[("2001:db8:2::10", FwdMethod::FullNat)]);
    v6.laddrs = vec![ip("2001:db8:2::101")];
    let mut v4 = inet(Proto::Tcp, "172.25.254.80", 80, &[("192.168.0.10", FwdMethod::FullNat)]);
    v4.laddrs = vec![ip("192.168.0.101"), ip("192.168.0.102")];
    let s = snapshot(&[v6, v4]);
    assert_eq!(summary(&s, a6("2001:db8:1::80"), a6("fe80::1")), (class::VIP, class::LOCAL, Some(0), 1 + 3));
    assert_eq!(summary(&s, 0xac19_fe50u32, 0xc0a8_0064), (class::VIP, class::LOCAL, Some(1), 2 + 2));
    assert!(<u128 as SnapAddr>::is_lip(&s.services, a6("2001:db8:2::101")));
    assert!(<u32 as SnapAddr>::is_vip(&s.services, 0xac19_fe50));
    let ifc = &s.ifaces[1];
    assert_eq!(u128::source_for(ifc, a6("2001:db8:2::10")), Some(a6("2001:db8:2::100")));
    assert_eq!(<u32 as SnapAddr>::source_for(ifc, 0xc0a8_000a), Some(0xc0a8_0064));
}
