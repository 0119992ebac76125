//! Issue 11, item 6 (configuration side): jumbo frames through rvsd.
//!
//! rvsd on a 9000-MTU `net_pcap` port with a NAT service: it sizes its
//! mbufs for the largest configured MTU and sets the port's MTU, so an
//! 8000-byte ping and 8000-byte TCP segments in both directions of a NAT
//! connection cross the director whole — answered or rewritten, never
//! dropped as `multi_seg` — and the mempool returns to its baseline.
//! (A pcap port because DPDK 22.11's net_tap cannot send frames beyond a
//! 1500 MTU: rvsd refuses such an MTU on it at boot.)
//!
//! Needs root and the binaries in target/release (`./scripts/test.sh`).

#![forbid(unsafe_code)]

use etherparse::PacketBuilder;
use rvs_tests::{pcap, rvsd};

/// net_pcap's first port's MAC (`02:70:63:61:70:<index>`, "pcap").
const OUR_MAC: [u8; 6] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];
const CLI_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const RS_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x10];
const DIR: [u8; 4] = [10, 0, 0, 1];
const CLI: [u8; 4] = [10, 0, 0, 2];
const RS: [u8; 4] = [10, 0, 0, 10];
const DATA: usize = 8000;

fn arp_request(mac: [u8; 6], ip: [u8; 4]) -> Vec<u8> {
    let mut a = vec![0u8; 60];
    a[0..6].copy_from_slice(&[0xff; 6]);
    a[6..12].copy_from_slice(&mac);
    a[12..14].copy_from_slice(&[0x08, 0x06]);
    a[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    a[22..28].copy_from_slice(&mac);
    a[28..32].copy_from_slice(&ip);
    a[38..42].copy_from_slice(&DIR);
    a
}

/// A TCP segment; `syn` opens, else ACK+PSH with `len` payload bytes.
fn tcp(src: ([u8; 6], [u8; 4], u16), dst: ([u8; 4], u16), seq: u32, ack: u32, syn: bool, len: usize) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src.0, OUR_MAC).ipv4(src.1, dst.0, 64).tcp(src.2, dst.1, seq, 64240);
    let b = if syn { b.syn() } else { b.ack(ack).psh() };
    let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let mut f = Vec::new();
    b.write(&mut f, &payload).unwrap();
    f
}

/// (src ip, dst ip, src port, dst port, TCP payload length) of a frame.
type Seg = ([u8; 4], [u8; 4], u16, u16, usize);

fn tcp_of(f: &[u8]) -> Option<Seg> {
    let p = etherparse::SlicedPacket::from_ethernet(f).ok()?;
    let Some(etherparse::NetSlice::Ipv4(ip)) = &p.net else { return None };
    let Some(etherparse::TransportSlice::Tcp(t)) = &p.transport else { return None };
    let h = ip.header();
    Some((h.source(), h.destination(), t.source_port(), t.destination_port(), t.payload().len()))
}

#[test]
fn jumbo_frames_cross_a_9000_mtu_nat_director() {
    rvs_tests::require_root();
    let dir = std::env::temp_dir().join(format!("rvs-jumbo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut frames = vec![arp_request(CLI_MAC, CLI), arp_request(RS_MAC, RS)];
    // An 8000-byte echo (8028-byte IP packet, one frame).
    let mut ping = Vec::new();
    PacketBuilder::ethernet2(CLI_MAC, OUR_MAC)
        .ipv4(CLI, DIR, 64)
        .icmpv4_echo_request(7, 1)
        .write(&mut ping, &vec![0x5a; DATA])
        .unwrap();
    frames.push(ping);
    // A NAT connection to VIP:80 and 8000-byte segments both ways.
    frames.push(tcp((CLI_MAC, CLI, 40000), (DIR, 80), 1000, 0, true, 0));
    frames.push(tcp((CLI_MAC, CLI, 40000), (DIR, 80), 1001, 5001, false, DATA));
    frames.push(tcp((RS_MAC, RS, 80), (CLI, 40000), 5001, 1001 + DATA as u32, false, DATA));
    let rx = dir.join("rx.pcap");
    let tx = dir.join("tx.pcap");
    pcap::write(&rx, &frames).unwrap();
    let cfg = dir.join("rvsd.yaml");
    std::fs::write(
        &cfg,
        format!(
            "dpdk: {{ memory_mb: 256, mbufs: 4095, file_prefix: rvs-jumbo-{pid} }}\n\
             control: {{ socket: {sock} }}\n\
             interfaces:\n\
             \x20 - {{ name: p0, device: 'net_pcap0,rx_pcap={rx},tx_pcap={tx}', addresses: [10.0.0.1/24], mtu: 9000 }}\n\
             services:\n\
             \x20 - {{ vip: 10.0.0.1, port: 80, scheduler: rr, dests: [ {{ addr: 10.0.0.10, fwd: nat }} ] }}\n",
            pid = std::process::id(),
            rx = rx.display(),
            tx = tx.display(),
            sock = dir.join("rvsd.sock").display()
        ),
    )
    .unwrap();
    let d = rvsd::Rvsd::start(&cfg, &dir.join("rvsd.log"));
    assert!(d.output().contains("mac 02:70:63:61:70:00 mtu 9000"), "port MAC/MTU not as expected:\n{}", d.output());
    // The pcap is replayed at once; give the director a moment to drain it.
    let t = std::time::Instant::now();
    while pcap::read(&tx).map(|s| s.len()).unwrap_or(0) < 5 && t.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (code, out) = d.stop();
    assert_eq!(code, 0, "{out}");
    let c = rvsd::final_counters(&out);
    assert!(c.get("rx_pkts") > 0, "no frames received:\n{out}");
    assert_eq!(c.drop("multi_seg"), 0, "jumbo frames were chained:\n{out}");
    assert_eq!(c.total_drops(), 0, "unexpected drops {:?}:\n{out}", c.drops());
    assert_eq!(c.get("icmp_echo"), 1, "{out}");
    assert!(c.mempool_at_baseline(), "mbuf leak:\n{out}");

    let sent = pcap::read(&tx).unwrap();
    // The echo reply: the whole 8028-byte IP packet came back.
    assert!(
        sent.iter().any(|f| f.len() == 14 + 20 + 8 + DATA && f[23] == 1 && f[34] == 0),
        "no 8000-byte echo reply; sent lengths {:?}",
        sent.iter().map(|f| f.len()).collect::<Vec<_>>()
    );
    let segs: Vec<_> = sent.iter().filter_map(|f| tcp_of(f)).collect();
    // Request: DNAT to the real server, payload intact in one frame.
    assert!(segs.contains(&(CLI, RS, 40000, 80, DATA)), "no 8000-byte segment to the RS: {segs:?}");
    // Reply: SNAT back to the VIP.
    assert!(segs.contains(&(DIR, CLI, 80, 40000, DATA)), "no 8000-byte segment back to the client: {segs:?}");
    std::fs::remove_dir_all(&dir).ok();
}
