//! The safe layer's handles on a real EAL (`--no-huge`, net_ring and
//! net_null vdevs): queue tokens, the single ring consumer, SPSC rings
//! and burst moves, pool and EAL
//! lifetime, lcore launch checks, jumbo MTU against the pool.
//!
//! EAL initialises once per process, so this is one test in its own binary.

use rvs_ffi::{Burst, Eal, Mempool, Port, PortConf, Ring, TxBatch, HEADROOM};

fn frame(m: &mut rvs_ffi::Mbuf, len: usize, tag: u8) {
    assert!(m.set_len(len));
    m.data_mut().fill(tag);
}

mod common;
use common::rx_some;

#[test]
fn handles_on_a_real_eal() {
    // Nothing works before the EAL: constructors fail instead of touching
    // an uninitialised DPDK.
    assert!(Mempool::new("early", 63, 0).is_err());
    assert!(Ring::<rvs_ffi::Mbuf>::new("early", 16).is_err());
    assert!(Port::by_name("net_null0").is_err());
    assert!(rvs_ffi::launch(1, || 0).is_err());

    let prefix = format!("rvs-ffi-test-{}", std::process::id());
    let args: Vec<String> = [
        "ffi-test",
        "--no-huge",
        "-m",
        "256",
        "--no-pci",
        "-l",
        "0,1",
        "--file-prefix",
        &prefix,
        "--vdev",
        "net_ring0",
        "--vdev",
        "net_null0",
        "--log-level",
        "lib.eal:error",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let eal = Eal::init(&args).expect("EAL init (--no-huge)");
    assert!(Eal::init(&args).is_err(), "a second EAL init must fail");

    let pool = Mempool::new("test_pool", 1023, 0).unwrap();
    let base = pool.avail();
    assert_eq!(base, pool.size());

    // --- Ports and queue tokens ---
    let mut ring_port = Port::by_name("net_ring0").unwrap();
    assert!(Port::by_name("net_ring0").is_err(), "a port has one Port value");
    let mut q = ring_port.configure_and_start(&PortConf::default(), &pool).unwrap();
    assert_eq!((q.rx.len(), q.tx.len()), (1, 1));
    assert_eq!((q.rx[0].port_id(), q.rx[0].queue_id()), (ring_port.id(), 0));
    assert!(ring_port.configure_and_start(&PortConf::default(), &pool).is_err(), "configured once");
    assert!(!ring_port.stop(), "no stop while queue tokens live");

    // net_ring is a loopback: tx queue 0 feeds rx queue 0.
    let mut tx = TxBatch::default();
    for i in 0..3u8 {
        let mut m = pool.alloc().unwrap();
        frame(&mut m, 60 + i as usize, 0xa0 + i);
        tx.push(m);
    }
    assert_eq!(tx.flush(&mut q.tx[0]), (3, 0));
    let mut b = Burst::default();
    assert_eq!(rx_some(&mut b, &mut q.rx[0]), 3);
    let got: Vec<(usize, u8)> = b.by_ref().map(|m| (m.len(), m.data()[0])).collect();
    assert_eq!(got, vec![(60, 0xa0), (61, 0xa1), (62, 0xa2)]);
    // A burst refilled before it is drained frees what it still held.
    for _ in 0..2 {
        let mut m = pool.alloc().unwrap();
        frame(&mut m, 64, 1);
        tx.push(m);
    }
    tx.flush(&mut q.tx[0]);
    assert_eq!(rx_some(&mut b, &mut q.rx[0]), 2);
    let _first = b.next().unwrap();
    b.rx(&mut q.rx[0], 32);
    drop(_first);
    assert_eq!(pool.avail(), base, "the untaken packet was freed");

    // Lengths DPDK's u16 cannot carry are refused, never truncated.
    let mut m = pool.alloc().unwrap();
    assert!(!m.append(70_000));
    assert!(!m.prepend(65_536 + 8));
    assert!(!m.adj(1 << 20));
    assert!(m.set_len(100) && m.len() == 100);
    // Shrinking a single segment (done in Rust): both lengths follow, the
    // data before the cut stays, and more than there is is refused.
    m.data_mut()[..4].copy_from_slice(&[1, 2, 3, 4]);
    assert!(m.trim(40) && m.len() == 60 && m.pkt_len() == 60);
    assert!(m.set_len(20) && m.len() == 20 && m.pkt_len() == 20);
    assert_eq!(&m.data()[..4], &[1, 2, 3, 4]);
    assert!(!m.trim(21) && m.len() == 20);
    // A fresh mbuf carries no checksum verdict from a NIC.
    assert_eq!(m.rx_ip_csum(), None);
    drop(m);

    // A worker takes its tokens to its lcore (Send); EAL refuses lcores
    // that are not workers.
    let main = rvs_ffi::main_lcore();
    assert_eq!(rvs_ffi::worker_lcores(), vec![1]);
    assert!(rvs_ffi::launch(main, || 0).is_err(), "never on the main lcore");
    assert!(rvs_ffi::launch(4096, || 0).is_err(), "out of range");
    assert_eq!(rvs_ffi::wait_lcore(4096), None);
    let mut rxq = q.rx.pop().unwrap();
    let mut txq = q.tx.pop().unwrap();
    let p2 = pool.clone();
    rvs_ffi::launch(1, move || {
        let mut tx = TxBatch::default();
        let mut m = p2.alloc().unwrap();
        frame(&mut m, 70, 7);
        tx.push(m);
        let (sent, _) = tx.flush(&mut txq);
        let mut b = Burst::default();
        let n = rx_some(&mut b, &mut rxq);
        (sent * 10 + n) as i32
    })
    .unwrap();
    assert_eq!(rvs_ffi::wait_lcore(1), Some(11), "sent 1, received 1 on the worker lcore");
    rvs_ffi::launch(1, || panic!("job panics")).unwrap();
    assert_eq!(rvs_ffi::wait_lcore(1), Some(-1), "a panic is reported, not unwound into C");
    // The job's tokens were dropped with it: the port can stop now.
    assert!(ring_port.stop());
    assert_eq!(pool.avail(), base);

    // --- The ring: producers anywhere, one consumer ---
    let (prod, mut cons) = Ring::<rvs_ffi::Mbuf>::new("test_ring", 8).unwrap();
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let prod = prod.clone();
            let p = pool.clone();
            std::thread::spawn(move || {
                for _ in 0..3 {
                    let mut m = p.alloc().unwrap();
                    frame(&mut m, 64, t);
                    prod.enqueue(m).map_err(|_| "ring full").unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(prod.count(), 6);
    // Full (8 slots hold 7): the item comes back to the producer.
    let mut m = pool.alloc().unwrap();
    frame(&mut m, 64, 9);
    prod.enqueue(m).unwrap();
    let mut m = pool.alloc().unwrap();
    frame(&mut m, 64, 9);
    assert!(prod.enqueue(m).is_err());
    // The consumer moves to another thread and dequeues there.
    let cons_thread = std::thread::spawn(move || {
        let mut b = Burst::default();
        let n = b.from_ring(&mut cons, 64);
        drop(b);
        (n, cons)
    });
    let (n, mut cons) = cons_thread.join().unwrap();
    assert_eq!(n, 7);
    assert!(cons.dequeue().is_none());
    // Items left in a ring are freed with it.
    let mut m = pool.alloc().unwrap();
    frame(&mut m, 64, 9);
    prod.enqueue(m).unwrap();
    drop(prod);
    drop(cons);
    assert_eq!(pool.avail(), base, "every mbuf back after the ring tests");

    // --- SPSC ring: one producer, one consumer, whole bursts per call ---
    let (mut sp, mut sc) = Ring::<rvs_ffi::Mbuf>::new_spsc("test_spsc", 64).unwrap();
    assert!(Ring::<rvs_ffi::Mbuf>::new_spsc("test_spsc", 64).is_err(), "ring names are unique");
    let tagged = |from: u8, n: u8| -> Vec<rvs_ffi::Mbuf> {
        (from..from + n)
            .map(|t| {
                let mut m = pool.alloc().unwrap();
                frame(&mut m, 64, t);
                m
            })
            .collect()
    };
    let tags = |v: &[rvs_ffi::Mbuf]| v.iter().map(|m| m.data()[0]).collect::<Vec<u8>>();
    // The producer moves to another thread (Send) and fills the ring in
    // two bursts, more than one chunk of pointers each; 64 slots hold 63.
    let mut first = tagged(0, 40);
    let mut second = tagged(40, 30);
    let producer = std::thread::spawn(move || {
        let a = sp.enqueue_burst(&mut first);
        let b = sp.enqueue_burst(&mut second);
        (a, b, first, second, sp)
    });
    let (a, b, first, mut second, mut sp) = producer.join().unwrap();
    assert_eq!((a, b, first.len(), sp.count()), (40, 23, 0, 63));
    // What did not fit stays with the producer, in order.
    assert_eq!(tags(&second), (63..70).collect::<Vec<u8>>());
    let extra = tagged(99, 1).pop().unwrap();
    let back = sp.enqueue(extra).expect_err("full: the item comes back");
    assert_eq!(back.data()[0], 99);
    drop(back);
    // The consumer takes everything, in order, one call per burst size.
    let mut out = Vec::with_capacity(128);
    assert_eq!(sc.dequeue_burst(&mut out, 10), 10);
    assert_eq!(sc.dequeue_burst(&mut out, 100), 53);
    assert_eq!(sc.dequeue_burst(&mut out, 100), 0);
    assert_eq!(tags(&out), (0..63).collect::<Vec<u8>>());
    out.clear();
    assert_eq!(sp.enqueue_burst(&mut second), 7);
    assert!(second.is_empty());
    assert_eq!(sc.dequeue_burst(&mut out, 3), 3);
    assert_eq!(tags(&out), vec![63, 64, 65]);
    // A Burst drains an SPSC ring too; what is left is freed with it.
    let mut b = Burst::default();
    assert_eq!(b.from_ring(&mut sc, 2), 2);
    drop(b);
    drop(out);
    assert_eq!(sc.count(), 2);
    drop(sp);
    drop(sc);
    // The MP ring moves bursts as well.
    let (mp, mut mc) = Ring::<rvs_ffi::Mbuf>::new("test_mp_burst", 16).unwrap();
    let mut v = tagged(0, 20);
    assert_eq!(mp.enqueue_burst(&mut v), 15);
    assert_eq!(tags(&v), (15..20).collect::<Vec<u8>>());
    let mut out = Vec::with_capacity(32);
    assert_eq!(mc.dequeue_burst(&mut out, 32), 15);
    assert_eq!(tags(&out), (0..15).collect::<Vec<u8>>());
    drop((v, out, mp, mc));
    assert_eq!(pool.avail(), base, "every mbuf back after the SPSC tests");

    // --- Jumbo MTU: the pool must hold the frame; the device must take it ---
    let mut null = Port::by_name("net_null0").unwrap();
    let jumbo = PortConf { mtu: 9000, ..Default::default() };
    let e = null.configure_and_start(&jumbo, &pool).unwrap_err();
    assert!(e.contains("the pool's mbufs hold 2048"), "{e}");
    let big = Mempool::with_data_room("jumbo_pool", 511, 0, 9216 + HEADROOM).unwrap();
    assert_eq!(big.max_frame(), 9216);
    let nq = null.configure_and_start(&jumbo, &big).unwrap();
    assert_eq!(null.mtu().unwrap(), 9000);
    drop(nq);
    drop(null);

    // --- Pool lifetime ---
    // Freed when every mbuf is back: the name is free again.
    let p = Mempool::new("lifetime", 63, 0).unwrap();
    drop(p);
    let p = Mempool::new("lifetime", 63, 0).expect("the first pool was freed");
    // Not freed under a live mbuf (leaked with a warning): the name stays
    // taken, and the mbuf is still usable after the last pool handle went.
    let mut m = p.alloc().unwrap();
    drop(p);
    assert!(Mempool::new("lifetime", 63, 0).is_err(), "pool freed under a live mbuf");
    frame(&mut m, 128, 5);
    assert_eq!(m.data()[127], 5);
    drop(m);

    // Dropping the Eal first defers the cleanup to the last object.
    drop(eal);
    let late = Mempool::new("late", 63, 0).expect("EAL still up while a pool lives");
    drop(late);
    drop(big);
    drop(ring_port);
    drop(pool);
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
}
