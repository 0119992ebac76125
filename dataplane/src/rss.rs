//! Receive-side scaling in software: the Toeplitz hash a NIC computes over
//! a packet's tuple, and the redirection table (RETA) that maps the hash to
//! an rx queue.
//!
//! rvs computes the same hash to know, before a packet exists, which queue
//! (and so which worker) a NIC will deliver it to. FULLNAT uses it to pick
//! local ports whose *reply* lands on the worker that owns the connection,
//! so replies need no redirect and no `rte_flow` rule (DPVS lists this as
//! an open item); the redirect ring stays the fallback for devices without
//! RSS, where the same function names the owner.
//!
//! The hash is linear over XOR: `h(a ⊕ b) = h(a) ⊕ h(b)` for inputs of the
//! same length. So the reply tuple's hash splits into a part fixed by the
//! connection (RIP, LIP, rport) and a part that depends on the local port
//! alone, which [`PortBuckets`] precomputes once per key.

/// The key Microsoft's RSS specification uses in its verification suite,
/// and DPDK's default for many PMDs (40 bytes). rvs programs it on every
/// port that runs RSS: its hashes are checked against published vectors,
/// and it spreads flows well. Not a symmetric key (`6d5a` repeated): both
/// directions of a connection hashing alike buys rvs nothing, since the
/// reply tuple differs from the request anyway (VIP vs RIP, CIP vs LIP),
/// and such keys spread poorly (the hash then depends on `src ^ dst`).
pub const DEFAULT_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b,
    0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac,
    0x01, 0xfa,
];

/// A Toeplitz hash with a given key.
#[derive(Debug, Clone)]
pub struct Toeplitz {
    key: Vec<u8>,
}

impl Toeplitz {
    /// `key` must be at least 4 bytes longer than the longest input
    /// hashed (40 bytes covers IPv6 with ports: 36).
    pub fn new(key: &[u8]) -> Self {
        Toeplitz { key: key.to_vec() }
    }

    /// The hash of `input` (bytes in network order, as on the wire):
    /// for every set bit of the input, XOR in the 32-bit window of the key
    /// that starts at that bit.
    pub fn hash(&self, input: &[u8]) -> u32 {
        let mut h = 0u32;
        for (i, byte) in input.iter().enumerate() {
            // The key window for bit 0 of this byte is key bits 8i..8i+32;
            // the next 8 key bits slide it for the byte's lower bits.
            let mut win = self.window32(i);
            let mut next = self.key.get(i + 4).copied().unwrap_or(0);
            for bit in (0..8).rev() {
                if byte & (1 << bit) != 0 {
                    h ^= win;
                }
                win = (win << 1) | u32::from(next >> 7);
                next <<= 1;
            }
        }
        h
    }

    fn window32(&self, byte: usize) -> u32 {
        let k = |j: usize| u32::from(self.key.get(byte + j).copied().unwrap_or(0));
        (k(0) << 24) | (k(1) << 16) | (k(2) << 8) | k(3)
    }

    /// The hash of an IPv4 TCP/UDP tuple as NICs hash it (source address,
    /// destination address, source port, destination port).
    pub fn ipv4_l4(&self, src: u32, dst: u32, sport: u16, dport: u16) -> u32 {
        let mut b = [0u8; 12];
        b[0..4].copy_from_slice(&src.to_be_bytes());
        b[4..8].copy_from_slice(&dst.to_be_bytes());
        b[8..10].copy_from_slice(&sport.to_be_bytes());
        b[10..12].copy_from_slice(&dport.to_be_bytes());
        self.hash(&b)
    }

    /// The hash of an IPv6 TCP/UDP tuple as NICs hash it (addresses in
    /// network order, then source and destination port).
    pub fn ipv6_l4(&self, src: &[u8; 16], dst: &[u8; 16], sport: u16, dport: u16) -> u32 {
        let mut b = [0u8; 36];
        b[0..16].copy_from_slice(src);
        b[16..32].copy_from_slice(dst);
        b[32..34].copy_from_slice(&sport.to_be_bytes());
        b[34..36].copy_from_slice(&dport.to_be_bytes());
        self.hash(&b)
    }
}

/// The RSS a port runs with (its key and RETA, as read back from the
/// device), so software knows which rx queue a NIC gives a flow.
#[derive(Debug, Clone)]
pub struct PortRss {
    toeplitz: Toeplitz,
    reta: Vec<u16>,
}

impl PortRss {
    /// `key` at least 40 bytes; `reta` (entry → queue) a power of two
    /// long, as NICs index it by the hash's low bits.
    pub fn new(key: &[u8], reta: Vec<u16>) -> Self {
        assert!(key.len() >= 40, "RSS key of {} bytes, IPv6 L4 needs 40", key.len());
        assert!(reta.len().is_power_of_two(), "RETA of {} entries", reta.len());
        PortRss { toeplitz: Toeplitz::new(key), reta }
    }

    pub fn key(&self) -> &[u8] {
        &self.toeplitz.key
    }

    pub fn reta(&self) -> &[u16] {
        &self.reta
    }

    pub fn toeplitz(&self) -> &Toeplitz {
        &self.toeplitz
    }

    /// The rx queue of an IPv4 TCP/UDP packet `src:sport → dst:dport`
    /// (not fragmented: fragments hash on the addresses alone).
    pub fn queue_for_v4(&self, src: u32, sport: u16, dst: u32, dport: u16) -> u16 {
        queue_of(&self.reta, self.toeplitz.ipv4_l4(src, dst, sport, dport))
    }

    /// The rx queue of an IPv6 TCP/UDP packet `src:sport → dst:dport`
    /// (without extension headers).
    pub fn queue_for_v6(&self, src: &[u8; 16], sport: u16, dst: &[u8; 16], dport: u16) -> u16 {
        queue_of(&self.reta, self.toeplitz.ipv6_l4(src, dst, sport, dport))
    }
}

/// Local ports grouped by the RETA index their hash contribution selects.
///
/// For a reply RIP:rport → LIP:lport the hash is
/// `base(RIP, LIP, rport) ⊕ port_part(lport)`; its RETA index is the low
/// bits. A worker wanting replies on its queue looks for an index `j` it
/// owns and takes a port from bucket `(base ⊕ j) & mask`.
#[derive(Debug, Clone)]
pub struct PortBuckets {
    mask: u32,
    /// Bucket of each port (`port_part(port) & mask`).
    bucket_of: Vec<u16>,
}

impl PortBuckets {
    /// For a RETA of `reta_size` entries (a power of two), and IPv4 or
    /// IPv6 tuples (`v6`: the destination port is hashed at byte 34, not 10).
    pub fn new(t: &Toeplitz, reta_size: usize, v6: bool) -> Self {
        assert!(reta_size.is_power_of_two() && reta_size <= 1 << 16);
        let mask = reta_size as u32 - 1;
        let part = |p| if v6 { t.ipv6_l4(&[0; 16], &[0; 16], 0, p) } else { t.ipv4_l4(0, 0, 0, p) };
        let bucket_of = (0..=u16::MAX).map(|p| (part(p) & mask) as u16).collect();
        PortBuckets { mask, bucket_of }
    }

    pub fn mask(&self) -> u32 {
        self.mask
    }

    pub fn bucket_of(&self, port: u16) -> usize {
        self.bucket_of[port as usize] as usize
    }

    /// The bucket whose ports make a tuple with hash part `base` select
    /// RETA index `j`.
    pub fn bucket_for(&self, base: u32, j: usize) -> usize {
        ((base ^ j as u32) & self.mask) as usize
    }
}

/// The queue a NIC with redirection table `reta` gives a packet of hash `h`.
pub fn queue_of(reta: &[u16], h: u32) -> u16 {
    if reta.is_empty() {
        return 0;
    }
    reta[h as usize & (reta.len() - 1)]
}

/// A RETA spreading `queues` rx queues evenly, as PMDs default to.
pub fn default_reta(size: usize, queues: u16) -> Vec<u16> {
    (0..size).map(|i| (i % queues.max(1) as usize) as u16).collect()
}

#[cfg(all(test, feature = "dpdk"))]
#[path = "rss_dpdk_tests.rs"]
mod dpdk_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(a: [u8; 4]) -> u32 {
        u32::from_be_bytes(a)
    }

    /// Microsoft's RSS verification suite (IPv4 with TCP ports).
    #[test]
    fn matches_the_specification_vectors() {
        let t = Toeplitz::new(&DEFAULT_KEY);
        let cases = [
            ([66, 9, 149, 187], 2794, [161, 142, 100, 80], 1766, 0x51cc_c178u32, 0x323e_8fc2u32),
            ([199, 92, 111, 2], 14230, [65, 69, 140, 83], 4739, 0xc626_b0ea, 0xd718_262a),
            ([24, 19, 198, 95], 12898, [12, 22, 207, 184], 38024, 0x5c2b_394a, 0xd2d0_a5de),
            ([38, 27, 205, 30], 48228, [209, 142, 163, 6], 2217, 0xafc7_327f, 0x8298_9176),
            ([153, 39, 163, 191], 44251, [202, 188, 127, 2], 1303, 0x10e8_28a2, 0x5d18_09c5),
        ];
        for (src, sport, dst, dport, with_ports, addrs_only) in cases {
            assert_eq!(t.ipv4_l4(ip(src), ip(dst), sport, dport), with_ports, "{src:?}");
            let mut b = [0u8; 8];
            b[..4].copy_from_slice(&src);
            b[4..].copy_from_slice(&dst);
            assert_eq!(t.hash(&b), addrs_only, "{src:?} addresses only");
        }
    }

    #[test]
    fn the_hash_is_linear_so_the_port_part_separates() {
        let t = Toeplitz::new(&DEFAULT_KEY);
        for (a, b, sp, dp) in [(1u32, 2u32, 3u16, 4u16), (0xc0a8_000a, 0xc0a8_0065, 8080, 40001)] {
            assert_eq!(t.ipv4_l4(a, b, sp, dp), t.ipv4_l4(a, b, sp, 0) ^ t.ipv4_l4(0, 0, 0, dp));
        }
    }

    #[test]
    fn buckets_steer_replies_to_the_chosen_queue() {
        let t = Toeplitz::new(&DEFAULT_KEY);
        let reta = default_reta(128, 2);
        let pb = PortBuckets::new(&t, reta.len(), false);
        let (rip, lip, rport) = (0xc0a8_000a, 0xc0a8_0065, 80);
        let base = t.ipv4_l4(rip, lip, rport, 0);
        for want in 0..2u16 {
            // Every RETA index of queue `want`, every port of its bucket.
            for j in (0..reta.len()).filter(|&j| reta[j] == want) {
                let b = pb.bucket_for(base, j);
                let port = (1024..=u16::MAX).find(|&p| pb.bucket_of(p) == b).expect("a port per bucket");
                assert_eq!(queue_of(&reta, t.ipv4_l4(rip, lip, rport, port)), want);
            }
        }
    }

    #[test]
    fn port_rss_predicts_with_its_key_and_reta() {
        let reta = default_reta(128, 4);
        let r = PortRss::new(&DEFAULT_KEY, reta.clone());
        let t = Toeplitz::new(&DEFAULT_KEY);
        // The specification's first vector: hash 0x51ccc178, entry 0x78.
        let (src, dst) = (ip([66, 9, 149, 187]), ip([161, 142, 100, 80]));
        assert_eq!(r.queue_for_v4(src, 2794, dst, 1766), reta[0x78]);
        assert_eq!(r.queue_for_v4(src, 2794, dst, 1766), queue_of(&reta, t.ipv4_l4(src, dst, 2794, 1766)));
        // Queues follow the RETA, not a fixed formula.
        let r1 = PortRss::new(&DEFAULT_KEY, vec![3; 128]);
        assert_eq!(r1.queue_for_v4(src, 2794, dst, 1766), 3);
        assert_eq!(r1.queue_for_v6(&[1; 16], 1, &[2; 16], 2), 3);
    }

    /// Microsoft's RSS verification suite, IPv6 with TCP ports.
    #[test]
    fn matches_the_ipv6_specification_vectors() {
        let t = Toeplitz::new(&DEFAULT_KEY);
        let v6 = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap().octets();
        let cases = [
            ("3ffe:2501:200:1fff::7", 2794, "3ffe:2501:200:3::1", 1766, 0x4020_7d3du32),
            ("3ffe:501:8::260:97ff:fe40:efab", 14230, "ff02::1", 4739, 0xdde5_1bbf),
            ("3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, "fe80::200:f8ff:fe21:67cf", 38024, 0x02d1_feef),
        ];
        for (src, sport, dst, dport, want) in cases {
            assert_eq!(t.ipv6_l4(&v6(src), &v6(dst), sport, dport), want, "{src}");
        }
    }
}
