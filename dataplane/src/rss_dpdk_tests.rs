//! The software Toeplitz against DPDK's own (`rte_softrss`, through
//! `rvs_ffi::softrss`; a pure function: no EAL needed), over many random
//! IPv4 and IPv6 TCP/UDP tuples and random keys; and the port buckets and
//! RETA lookup against the plain hash.

use super::*;

/// splitmix64: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn u32(&mut self) -> u32 {
        self.next() as u32
    }
    fn u16(&mut self) -> u16 {
        self.next() as u16
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.next() as u8)
    }
}

/// `rte_thash_tuple` for IPv4 L4: host-order words, then
/// `sport << 16 | dport` (the union's `dport, sport` on a little-endian
/// CPU), which is the wire order sport, dport once taken big-endian.
fn v4_words(src: u32, dst: u32, sport: u16, dport: u16) -> [u32; 3] {
    [src, dst, (u32::from(sport) << 16) | u32::from(dport)]
}

/// As `rte_thash_load_v6_addrs` fills it: each address as four
/// big-endian words in host order, then the ports.
fn v6_words(src: &[u8; 16], dst: &[u8; 16], sport: u16, dport: u16) -> [u32; 9] {
    let w = |a: &[u8; 16], i: usize| u32::from_be_bytes([a[4 * i], a[4 * i + 1], a[4 * i + 2], a[4 * i + 3]]);
    let mut out = [0u32; 9];
    for i in 0..4 {
        out[i] = w(src, i);
        out[4 + i] = w(dst, i);
    }
    out[8] = (u32::from(sport) << 16) | u32::from(dport);
    out
}

#[test]
fn toeplitz_matches_rte_softrss_on_the_specification_key() {
    let t = Toeplitz::new(&DEFAULT_KEY);
    let mut r = Rng(1);
    for _ in 0..20_000 {
        let (src, dst, sport, dport) = (r.u32(), r.u32(), r.u16(), r.u16());
        let dpdk = rvs_ffi::softrss(&v4_words(src, dst, sport, dport), &DEFAULT_KEY);
        assert_eq!(t.ipv4_l4(src, dst, sport, dport), dpdk, "{src:#x}:{sport} -> {dst:#x}:{dport}");
        // Addresses only (RTE_THASH_V4_L3_LEN), as for fragments.
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&src.to_be_bytes());
        b[4..].copy_from_slice(&dst.to_be_bytes());
        assert_eq!(t.hash(&b), rvs_ffi::softrss(&[src, dst], &DEFAULT_KEY));

        let (s6, d6): ([u8; 16], [u8; 16]) = (r.bytes(), r.bytes());
        let dpdk = rvs_ffi::softrss(&v6_words(&s6, &d6, sport, dport), &DEFAULT_KEY);
        assert_eq!(t.ipv6_l4(&s6, &d6, sport, dport), dpdk, "{s6:x?}:{sport} -> {d6:x?}:{dport}");
    }
    // A known value through both: the specification's first vector.
    let spec = v4_words(u32::from_be_bytes([66, 9, 149, 187]), u32::from_be_bytes([161, 142, 100, 80]), 2794, 1766);
    assert_eq!(rvs_ffi::softrss(&spec, &DEFAULT_KEY), 0x51cc_c178);
}

#[test]
fn toeplitz_matches_rte_softrss_on_random_keys() {
    let mut r = Rng(2);
    for _ in 0..200 {
        let key: [u8; 40] = r.bytes();
        let t = Toeplitz::new(&key);
        for _ in 0..100 {
            let (src, dst, sport, dport) = (r.u32(), r.u32(), r.u16(), r.u16());
            assert_eq!(t.ipv4_l4(src, dst, sport, dport), rvs_ffi::softrss(&v4_words(src, dst, sport, dport), &key));
            let (s6, d6): ([u8; 16], [u8; 16]) = (r.bytes(), r.bytes());
            assert_eq!(t.ipv6_l4(&s6, &d6, sport, dport), rvs_ffi::softrss(&v6_words(&s6, &d6, sport, dport), &key));
        }
    }
}

/// FULLNAT's port choice rests on these: a port's bucket is the low bits
/// of its hash contribution, and for a reply RIP:rport → LIP:lport the
/// RETA index DPDK's hash selects is `bucket_of(lport) ^ (base & mask)`.
#[test]
fn port_buckets_and_queue_of_agree_with_rte_softrss() {
    let t = Toeplitz::new(&DEFAULT_KEY);
    let reta = default_reta(128, 3);
    let pb = PortBuckets::new(&t, reta.len(), false);
    let rss = PortRss::new(&DEFAULT_KEY, reta.clone());
    for p in 0..=u16::MAX {
        let h = rvs_ffi::softrss(&v4_words(0, 0, 0, p), &DEFAULT_KEY);
        assert_eq!(pb.bucket_of(p), (h & pb.mask()) as usize, "port {p}");
    }
    let mut r = Rng(3);
    for _ in 0..20_000 {
        let (rip, lip, rport, lport) = (r.u32(), r.u32(), r.u16(), r.u16());
        let h = rvs_ffi::softrss(&v4_words(rip, lip, rport, lport), &DEFAULT_KEY);
        let j = (h & pb.mask()) as usize;
        let base = t.ipv4_l4(rip, lip, rport, 0);
        assert_eq!(pb.bucket_for(base, j), pb.bucket_of(lport));
        assert_eq!(queue_of(&reta, h), reta[j]);
        assert_eq!(rss.queue_for_v4(rip, rport, lip, lport), reta[j]);
    }
}

/// The same for IPv6 tuples (the port at byte 34 of the hashed input), on
/// which IPv6 LIPs' port choice rests.
#[test]
fn ipv6_port_buckets_agree_with_rte_softrss() {
    let t = Toeplitz::new(&DEFAULT_KEY);
    let reta = default_reta(128, 3);
    let pb = PortBuckets::new(&t, reta.len(), true);
    for p in (0..=u16::MAX).step_by(7) {
        let h = rvs_ffi::softrss(&v6_words(&[0; 16], &[0; 16], 0, p), &DEFAULT_KEY);
        assert_eq!(pb.bucket_of(p), (h & pb.mask()) as usize, "port {p}");
    }
    let mut r = Rng(5);
    for _ in 0..5_000 {
        let (rip, lip) = ((u128::from(r.u32()) << 96) | u128::from(r.u32()), (u128::from(r.u32()) << 64) | 7);
        let (rport, lport) = (r.u16(), r.u16());
        let (rb, lb) = (rip.to_be_bytes(), lip.to_be_bytes());
        let h = rvs_ffi::softrss(&v6_words(&rb, &lb, rport, lport), &DEFAULT_KEY);
        let j = (h & pb.mask()) as usize;
        assert_eq!(pb.bucket_for(t.ipv6_l4(&rb, &lb, rport, 0), j), pb.bucket_of(lport));
    }
}
