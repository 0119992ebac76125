//! RSS on real ports (`--no-huge`, vdevs): which PMDs run it, with the key
//! and RETA rvs asked for, read back from the device; and the fallback
//! (a multi-queue port that cannot run RSS starts without it and says so).
//!
//! Of the PMDs on this machine only net_null takes an RSS configuration
//! (key, 128-entry RETA, update and query) — but it makes up its packets,
//! so no PMD here can show real flows landing on the predicted queue.
//! net_tap has no RETA (reta_size 0: its RSS is an rte_flow action run by
//! a tc-BPF program with a hard-coded key); net_ring, net_memif,
//! net_af_packet, net_af_xdp and net_pcap offer no RSS types at all.
//!
//! EAL initialises once per process, so this is one test in its own binary.

use rvs_ffi::{Burst, Eal, Mempool, Port, PortConf, TxBatch, RSS_KEY_LEN};

/// `RTE_ETH_RSS_*` bits (rte_ethdev.h): the L4 types rvs needs, and
/// IPV6_EX, which it never asks for.
const NONFRAG_IPV4_TCP: u64 = 1 << 4;
const NONFRAG_IPV4_UDP: u64 = 1 << 5;
const NONFRAG_IPV6_TCP: u64 = 1 << 10;
const NONFRAG_IPV6_UDP: u64 = 1 << 11;
const IPV6_EX: u64 = 1 << 15;

mod common;
use common::rx_some;

#[test]
fn rss_where_the_device_can_and_a_fallback_where_it_cannot() {
    let prefix = format!("rvs-ffi-rss-{}", std::process::id());
    let mut args: Vec<String> = [
        "ffi-rss",
        "--no-huge",
        "-m",
        "128",
        "--no-pci",
        "-l",
        "0",
        "--file-prefix",
        &prefix,
        "--log-level",
        "*:error",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for v in ["net_null0", "net_null1", "net_null2", "net_ring0"] {
        args.extend(["--vdev".to_string(), v.to_string()]);
    }
    let eal = Eal::init(&args).expect("EAL init (--no-huge)");
    let pool = Mempool::new("rss_pool", 4095, 0).unwrap();
    // Not the PMD's default key, so the read-back shows ours arrived.
    let key: [u8; RSS_KEY_LEN] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let four =
        PortConf { rx_queues: 4, tx_queues: 4, rx_desc: 256, tx_desc: 256, rss_key: Some(key), ..Default::default() };

    // net_null: RSS on, with our key and a round-robin RETA over 4 queues.
    let mut null = Port::by_name("net_null0").unwrap();
    assert!(null.rss().is_none(), "no RSS before configure");
    let mut q = null.configure_and_start(&four, &pool).unwrap();
    let r = q.rss.as_ref().expect("net_null runs RSS").clone();
    assert_eq!(r.reta.len(), 128);
    assert_eq!(r.reta, (0..128).map(|i| (i % 4) as u16).collect::<Vec<_>>());
    assert_eq!(r.key, key, "the device reports our key");
    let l4 = NONFRAG_IPV4_TCP | NONFRAG_IPV4_UDP | NONFRAG_IPV6_TCP | NONFRAG_IPV6_UDP;
    assert_eq!(r.types & l4, l4, "types {:#x}", r.types);
    assert_eq!(r.types & IPV6_EX, 0, "never the extension-header types");
    assert_eq!(null.rss(), Some(&r));
    assert_eq!((q.rx.len(), q.tx.len()), (4, 4));
    let mut b = Burst::default();
    assert!(rx_some(&mut b, &mut q.rx[3]) > 0, "the last queue receives");
    drop(b);
    drop(q);

    // Asked for none, or one queue: RSS off, with the reason.
    let mut n1 = Port::by_name("net_null1").unwrap();
    let q1 = n1.configure_and_start(&PortConf { rss_key: None, ..four.clone() }, &pool).unwrap();
    assert_eq!(q1.rss.as_ref().unwrap_err(), "not asked for");
    assert!(n1.rss().is_none());
    let mut n2 = Port::by_name("net_null2").unwrap();
    let q2 = n2.configure_and_start(&PortConf { rx_queues: 1, tx_queues: 1, ..four.clone() }, &pool).unwrap();
    assert_eq!(q2.rss.as_ref().unwrap_err(), "one rx queue");

    // net_ring: four queues, no RSS types: it starts without RSS, and each
    // queue pair works (tx queue i loops back to rx queue i).
    let mut ring = Port::by_name("net_ring0").unwrap();
    let mut qr = ring.configure_and_start(&four, &pool).unwrap();
    let why = qr.rss.as_ref().unwrap_err();
    assert!(why.contains("not IPv4/IPv6 TCP/UDP"), "{why}");
    assert!(ring.rss().is_none());
    let mut tx = TxBatch::default();
    let mut m = pool.alloc().unwrap();
    assert!(m.set_len(60));
    tx.push(m);
    assert_eq!(tx.flush(&mut qr.tx[2]), (1, 0));
    let mut b = Burst::default();
    assert_eq!(rx_some(&mut b, &mut qr.rx[2]), 1);
    assert_eq!(b.rx(&mut qr.rx[0], 32), 0);
    drop(b);

    drop((q1, q2, qr));
    drop((null, n1, n2, ring));
    drop(pool);
    drop(eal);
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
}
