//! Issue 11: a SYN flood against a full connection table. Established
//! flows keep flowing; every new SYN the table cannot hold is dropped and
//! counted `conn_table_full`; nothing else is lost. Frames replayed
//! through rvsd by net_pcap, the output read back from its tx pcap.

#![forbid(unsafe_code)]

use etherparse::PacketBuilder;
use rvs_tests::{counters, pcap, rvsd};
use std::time::Duration;

/// net_pcap's MAC for the first device (see foundation.rs).
const OUR_MAC: [u8; 6] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const RS_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x10];
const VIP: [u8; 4] = [10, 0, 0, 1];
const RIP: [u8; 4] = [10, 0, 0, 10];
const TABLE: usize = 1024;
const ESTABLISHED: usize = 64;
const FLOOD: usize = 6000;
const ROUNDS: usize = 20;

fn client(i: usize) -> ([u8; 4], u16) {
    ([10, 1 + (i >> 16) as u8, (i >> 8) as u8, i as u8], 1024 + (i % 50_000) as u16)
}

fn tcp(i: usize, syn: bool, seq: u32) -> Vec<u8> {
    let (src, sport) = client(i);
    let b = PacketBuilder::ethernet2(PEER_MAC, OUR_MAC).ipv4(src, VIP, 64).tcp(sport, 80, seq, 65535);
    let b = if syn { b.syn() } else { b.ack(1).psh() };
    let payload: &[u8] = if syn { &[] } else { b"GET / HTTP/1.0\r\n\r\n" };
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

/// A gratuitous ARP reply from the real server, so rvsd knows its MAC.
fn arp_reply() -> Vec<u8> {
    let mut a = vec![0u8; 42];
    a[0..6].copy_from_slice(&OUR_MAC);
    a[6..12].copy_from_slice(&RS_MAC);
    a[12..14].copy_from_slice(&[0x08, 0x06]);
    a[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
    a[22..28].copy_from_slice(&RS_MAC);
    a[28..32].copy_from_slice(&RIP);
    a[32..38].copy_from_slice(&OUR_MAC);
    a[38..42].copy_from_slice(&[10, 0, 0, 1]);
    a
}

#[test]
fn syn_flood_on_a_full_table_spares_established_flows() {
    rvs_tests::require_root();
    let dir = std::env::temp_dir().join(format!("rvs-flood-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Established flows first, then the flood with the established flows'
    // next segments interleaved all through it.
    let mut frames = vec![arp_reply()];
    for i in 0..ESTABLISHED {
        frames.push(tcp(i, true, 1000));
    }
    let per_round = FLOOD / ROUNDS;
    for r in 0..ROUNDS {
        for j in 0..per_round {
            frames.push(tcp(ESTABLISHED + r * per_round + j, true, 1000));
        }
        for i in 0..ESTABLISHED {
            frames.push(tcp(i, false, 1001 + r as u32));
        }
    }
    let rx = dir.join("rx.pcap");
    let tx = dir.join("tx.pcap");
    pcap::write(&rx, &frames).unwrap();
    let cfg = dir.join("rvsd.yaml");
    std::fs::write(
        &cfg,
        format!(
            "dpdk: {{ memory_mb: 256, mbufs: 8191, file_prefix: rvs-flood-{pid} }}\ncontrol: {{ socket: {sock} }}\nconn: {{ table_size: {TABLE} }}\ninterfaces:\n  - {{ name: p0, device: 'net_pcap0,rx_pcap={rx},tx_pcap={tx}', addresses: [10.0.0.1/24] }}\nservices:\n  - {{ vip: 10.0.0.1, port: 80, scheduler: rr, dests: [ {{ addr: 10.0.0.10, fwd: nat }} ] }}\n",
            pid = std::process::id(),
            rx = rx.display(),
            tx = tx.display(),
            sock = dir.join("rvsd.sock").display()
        ),
    )
    .unwrap();
    let mut d = rvsd::Rvsd::start(&cfg, &dir.join("rvsd.log"));
    let n = frames.len() as u64;
    let live = counters::wait_for(&dir.join("rvsd.sock"), Duration::from_secs(30), "all frames handled", |c| {
        c.get("rx_pkts") >= n && c.mempool_at_baseline()
    });
    assert!(d.alive(), "{}", d.output());
    let (code, out) = d.stop();
    assert_eq!(code, 0, "{out}");
    let fin = rvsd::final_counters(&out);
    let est_segments = (ESTABLISHED * ROUNDS) as u64;
    // The table holds TABLE entries: the established flows and the first
    // flood SYNs; every later SYN is refused, by name.
    let admitted_flood = (TABLE - ESTABLISHED) as u64;
    let refused = FLOOD as u64 - admitted_flood;
    for c in [&live, &fin] {
        assert_eq!(c.get("rx_pkts"), n, "{}", c.source);
        assert_eq!(c.get("conns_created"), TABLE as u64, "{}", c.source);
        assert_eq!(c.drop("conn_table_full"), refused, "{}", c.source);
        assert_eq!(c.total_drops(), refused, "only refused SYNs are dropped:\n{}", c.source);
        // Everything else was forwarded: the first SYNs and every segment
        // of the established flows.
        assert_eq!(c.get("tx_pkts"), ESTABLISHED as u64 + admitted_flood + est_segments, "{}", c.source);
        assert!(c.mempool_at_baseline(), "{}", c.source);
    }
    // Each established flow's segments left rewritten to the real server.
    let sent = pcap::read(&tx).unwrap();
    for i in 0..ESTABLISHED {
        let (src, sport) = client(i);
        let got = sent
            .iter()
            .filter(|f| f.len() > 54 && f[26..30] == src && f[30..34] == RIP && f[34..36] == sport.to_be_bytes())
            .filter(|f| f[47] & 0x02 == 0) // not the SYN
            .count();
        assert_eq!(got, ROUNDS, "flow {i}: {got} of {ROUNDS} segments forwarded during the flood");
    }
    assert!(sent.iter().all(|f| f[0..6] == RS_MAC), "a frame left to another MAC than the real server's");
    eprintln!(
        "flood: table {TABLE}, {ESTABLISHED} established flows x {ROUNDS} segments all forwarded; {refused} of {FLOOD} flood SYNs refused (conn_table_full)"
    );
    std::fs::remove_dir_all(&dir).ok();
}
