//! Issue 2: rvsd boots on DPDK, answers ARP and ping in the lab, drops
//! malformed frames with the right counters, validates its config.

#![forbid(unsafe_code)]

use etherparse::PacketBuilder;
use rvs_tests::{counters, lab::Lab, pcap, rvsd};
use std::process::Command;
use std::time::Duration;

#[test]
fn lab_ping_both_sides() {
    let lab = Lab::up("p", "nat", 1, Some("none"));
    let out = lab.sh("cli", &["ping", "-c", "3", "-i", "0.2", "-W", "2", "172.25.254.100"]);
    assert!(out.contains("3 received"), "{out}");
    let out = lab.sh("rs1", &["ping", "-c", "3", "-i", "0.2", "-W", "2", "192.168.0.100"]);
    assert!(out.contains("3 received"), "{out}");
    // A transit packet (client → real server, no service): dropped, counted.
    let o = lab.exec("cli", &["ping", "-c", "1", "-W", "1", "192.168.0.10"]);
    assert!(!o.status.success(), "director must not forward transit traffic");
    // Live (rvsadm --workers --json) once traffic settled, then the final
    // block at shutdown: both strict, both must tell the same story.
    let live = lab.settled();
    let (c, log) = lab.down_counters();
    for (c, what) in [(&live, "live"), (&c, "final")] {
        assert!(c.get("icmp_echo") >= 6, "{what}: {}", c.source);
        assert!(c.get("arp_replies") >= 2, "{what}: {}", c.source);
        assert!(c.drop("ip_not_for_us") >= 1, "{what}: {}", c.source);
        assert!(c.mempool_at_baseline(), "{what}: mbuf leak:\n{}", c.source);
    }
    assert!(c.get("rx_pkts") >= live.get("rx_pkts"), "{log}");
}

/// net_pcap has no MAC option: DPDK gives its first device 02:70:63:61:70:00
/// ("pcap", index 0); the test checks rvsd reports that MAC.
const OUR_MAC: [u8; 6] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

fn udp(src: [u8; 4], dst: [u8; 4], ttl: u8) -> Vec<u8> {
    let mut b = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, OUR_MAC).ipv4(src, dst, ttl).udp(1000, 2000).write(&mut b, &[0u8; 18]).unwrap();
    b
}

#[test]
fn malformed_frames_are_dropped_with_named_counters() {
    rvs_tests::require_root();
    let dir = std::env::temp_dir().join(format!("rvs-malformed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = udp([10, 0, 0, 2], [10, 0, 0, 1], 64);
    let mut frames: Vec<(Vec<u8>, &str)> = Vec::new();
    frames.push((good[..10].to_vec(), "eth_truncated"));
    frames.push((good[..14 + 12].to_vec(), "ip_truncated"));
    let mut v = good.clone();
    v[14] = 0x44; // IHL 4
    frames.push((v, "ip_bad_ihl"));
    let mut v = good.clone();
    v[14] = 0x65; // version 6 under an IPv4 ethertype
    frames.push((v, "ip_bad_version"));
    let mut v = good.clone();
    v[24] ^= 0x5a; // header checksum
    frames.push((v, "ip_bad_csum"));
    let mut v = good.clone();
    v[16] = 0x05; // total length 1280+ > frame
    frames.push((v, "ip_bad_len"));
    // TTL 1 on a packet we would have to forward.
    frames.push((udp([10, 0, 0, 2], [10, 0, 0, 99], 1), "ip_ttl_exceeded"));
    let mut v = good.clone();
    v[12] = 0x88;
    v[13] = 0xcc; // LLDP
    frames.push((v, "eth_unknown_type"));
    // UDP to our own address with no service.
    frames.push((good.clone(), "no_service"));
    // IPv4 to the broadcast MAC: not for our IP layer.
    let mut v = good.clone();
    v[0..6].copy_from_slice(&[0xff; 6]);
    frames.push((v, "eth_multicast"));
    // Then a valid ARP request and ping: rvsd must still be answering.
    let mut arp = vec![0u8; 60];
    arp[0..6].copy_from_slice(&[0xff; 6]);
    arp[6..12].copy_from_slice(&PEER_MAC);
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    arp[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    arp[22..28].copy_from_slice(&PEER_MAC);
    arp[28..32].copy_from_slice(&[10, 0, 0, 2]);
    arp[38..42].copy_from_slice(&[10, 0, 0, 1]);
    let mut ping = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, OUR_MAC)
        .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
        .icmpv4_echo_request(1, 1)
        .write(&mut ping, b"still alive?")
        .unwrap();
    let rx = dir.join("rx.pcap");
    let tx = dir.join("tx.pcap");
    let mut all: Vec<Vec<u8>> = frames.iter().map(|(f, _)| f.clone()).collect();
    all.push(arp);
    all.push(ping);
    pcap::write(&rx, &all).unwrap();
    let cfg = dir.join("rvsd.yaml");
    std::fs::write(
        &cfg,
        format!(
            "dpdk: {{ memory_mb: 256, mbufs: 4095, file_prefix: rvs-malformed-{pid} }}\ncontrol: {{ socket: {sock} }}\ninterfaces:\n  - {{ name: p0, device: 'net_pcap0,rx_pcap={rx},tx_pcap={tx}', addresses: [10.0.0.1/24] }}\n",
            pid = std::process::id(),
            rx = rx.display(),
            tx = tx.display(),
            sock = dir.join("rvsd.sock").display()
        ),
    )
    .unwrap();
    let runtime = std::path::PathBuf::from(format!("/var/run/dpdk/rvs-malformed-{}", std::process::id()));
    let mut d = rvsd::Rvsd::start(&cfg, &dir.join("rvsd.log"));
    // Until every frame of the file has been read and answered.
    let n = all.len() as u64;
    let live = counters::wait_for(&dir.join("rvsd.sock"), Duration::from_secs(10), "all frames handled", |c| {
        c.get("rx_pkts") >= n && c.get("icmp_echo") >= 1 && c.get("arp_replies") >= 1 && c.mempool_at_baseline()
    });
    assert!(d.alive(), "rvsd died on malformed input:\n{}", d.output());
    assert!(d.output().contains("mac 02:70:63:61:70:00"), "net_pcap's MAC changed:\n{}", d.output());
    assert!(runtime.is_dir(), "DPDK's runtime directory {} while rvsd runs", runtime.display());
    let (code, out) = d.stop();
    assert_eq!(code, 0, "{out}");
    // rvsd removes its DPDK runtime directory at exit.
    assert!(!runtime.exists(), "{} left behind", runtime.display());
    let fin = rvsd::final_counters(&out);
    for c in [&live, &fin] {
        for (_, name) in &frames {
            let want = frames.iter().filter(|(_, n)| n == name).count() as u64;
            assert_eq!(c.drop(name), want, "counter {name}:\n{}", c.source);
        }
        // Every frame accounted for: the malformed ones dropped by name,
        // the ARP request and the ping answered.
        assert_eq!(c.get("rx_pkts"), n, "{}", c.source);
        assert_eq!(c.total_drops(), frames.len() as u64, "{}", c.source);
        assert_eq!(c.get("arp_replies"), 1, "{}", c.source);
        assert_eq!(c.get("icmp_echo"), 1, "{}", c.source);
        assert!(c.mempool_at_baseline(), "mbuf leak:\n{}", c.source);
    }
    // The ARP reply and the echo reply were transmitted.
    let sent = pcap::read(&tx).unwrap();
    assert!(sent.iter().any(|f| f.len() >= 42 && f[12..14] == [8, 6] && f[20..22] == [0, 2]), "no ARP reply sent");
    assert!(sent.iter().any(|f| f.len() > 34 && f[23] == 1 && f[34] == 0), "no echo reply sent");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_reports_file_line_column() {
    let dir = std::env::temp_dir().join(format!("rvs-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "interfaces:\n  - name: a\n    device: net_null0\n    addresses: [10.0.0.1/33]\n").unwrap();
    let out = Command::new(rvsd::binary("rvsd")).arg("--check").arg("--config").arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:4:", bad.display())), "{err}");
    let good = dir.join("good.yaml");
    std::fs::write(&good, "interfaces:\n  - { name: a, device: net_null0, addresses: [10.0.0.1/24] }\n").unwrap();
    let out = Command::new(rvsd::binary("rvsd")).arg("--check").arg("--config").arg(&good).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&dir).ok();
    // Every shipped example validates.
    for e in std::fs::read_dir(rvs_tests::root().join("conf/examples")).unwrap() {
        let p = e.unwrap().path();
        let out = Command::new(rvsd::binary("rvsd")).arg("--check").arg("--config").arg(&p).output().unwrap();
        assert!(out.status.success(), "{}: {}", p.display(), String::from_utf8_lossy(&out.stderr));
    }
}
