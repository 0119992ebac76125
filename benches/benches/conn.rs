//! Connection table costs: lookup hit and miss at 1k and 1M connections
//! (10M with `RVS_BENCH_10M=1`), the hashbrown map it replaced as a
//! reference, a packet on an established connection, and the insert +
//! idle-expire cycle a short connection pays. Prints bytes per connection
//! (from the structures' sizes and from the process RSS).
//!
//! `cargo bench -p rvs-benches --bench conn`

#![forbid(unsafe_code)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rvs_conf::FwdMethod;
use rvs_dataplane::conn::{secs, BuildFastHasher, Conn, ConnKey, ConnTable, Dir, State, Timeouts};
use std::hint::black_box;

const TCP: u8 = 6;
const VIP: u32 = 0x0a00_0001;

/// The i-th client: 2^16 ports per address, addresses from 172.16.0.0.
fn conn(i: u32) -> Conn {
    let caddr = 0xac10_0000 + (i >> 16);
    let rip = 0xc0a8_0000 + (i % 64);
    let mut c = Conn::new(FwdMethod::Nat, ConnKey::new(TCP, caddr, i as u16, VIP, 80), rip, 8080);
    c.state = State::Established;
    c
}

/// `n` numbers 0..n in a scrambled order (a fixed odd-multiplier walk),
/// so consecutive lookups hit unrelated buckets and slots.
fn scrambled(n: u32) -> Vec<u32> {
    let mut v: Vec<u32> = (0..n).collect();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

fn rss_bytes() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = s.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn filled(n: u32) -> ConnTable {
    let mut t = ConnTable::new(n as usize);
    for i in 0..n {
        t.insert(conn(i), 0).expect("insert");
    }
    t
}

fn lookups(c: &mut Criterion, n: u32, label: &str) {
    let rss0 = rss_bytes();
    let t = filled(n);
    let rss = rss_bytes().saturating_sub(rss0);
    eprintln!(
        "conn table {label}: {} bytes/conn from sizes, {} bytes/conn RSS delta",
        t.mem_bytes() / n as usize,
        rss / n as usize
    );
    let order = scrambled(n);
    let hits: Vec<ConnKey> = order.iter().map(|&i| conn(i).request_key()).collect();
    let misses: Vec<ConnKey> = order.iter().map(|&i| ConnKey { dport: 443, ..conn(i).request_key() }).collect();

    let mut g = c.benchmark_group(format!("conn_{label}"));
    let mut k = 0usize;
    let mut t = t;
    g.bench_function("lookup_hit", |b| {
        b.iter(|| {
            k = if k + 1 == hits.len() { 0 } else { k + 1 };
            black_box(t.lookup(black_box(&hits[k])))
        })
    });
    g.bench_function("lookup_miss", |b| {
        b.iter(|| {
            k = if k + 1 == misses.len() { 0 } else { k + 1 };
            black_box(t.lookup(black_box(&misses[k])))
        })
    });
    // 32 keys per call, as a worker looks up an rx burst; time per burst.
    let mut out = vec![None; 32];
    g.bench_function("lookup_hit_burst32", |b| {
        b.iter(|| {
            k = if k + 64 > hits.len() { 0 } else { k + 32 };
            t.lookup_burst(black_box(&hits[k..k + 32]), &mut out);
            black_box(&out);
        })
    });
    // The per-packet work on an established connection: find it and
    // apply the packet (state unchanged, expiry pushed out lazily).
    let mut now = 0u64;
    g.bench_function("lookup_and_on_packet", |b| {
        b.iter(|| {
            k = if k + 1 == hits.len() { 0 } else { k + 1 };
            now += 1;
            let (id, dir) = t.lookup(&hits[k]).unwrap();
            black_box(t.on_packet(id, dir, 0x10, now))
        })
    });
    drop(t);

    // Reference: hashbrown with the same fast hasher, key → (slot, dir).
    let rss0 = rss_bytes();
    let mut m: hashbrown::HashMap<ConnKey, (u32, Dir), BuildFastHasher> =
        hashbrown::HashMap::with_capacity_and_hasher(2 * n as usize, BuildFastHasher::random());
    for i in 0..n {
        let c = conn(i);
        m.insert(c.request_key(), (i, Dir::Input));
        m.insert(c.reply_key().unwrap(), (i, Dir::Output));
    }
    let rss = rss_bytes().saturating_sub(rss0);
    eprintln!(
        "hashbrown index alone {label}: {} bytes/conn from sizes, {} bytes/conn RSS delta",
        m.capacity().next_power_of_two() * (16 + 8 + 1) / n as usize,
        rss / n as usize
    );
    g.bench_function("hashbrown_lookup_hit", |b| {
        b.iter(|| {
            k = if k + 1 == hits.len() { 0 } else { k + 1 };
            black_box(m.get(black_box(&hits[k])))
        })
    });
    // What a worker would pay with that map: the entry is read next.
    let slab = vec![conn(0); n as usize];
    g.bench_function("hashbrown_lookup_hit_then_entry", |b| {
        b.iter(|| {
            k = if k + 1 == hits.len() { 0 } else { k + 1 };
            let (id, _) = m.get(black_box(&hits[k])).unwrap();
            black_box(slab[*id as usize].state)
        })
    });
    g.finish();
}

fn lookup_1k(c: &mut Criterion) {
    lookups(c, 1_000, "1k");
}

fn lookup_1m(c: &mut Criterion) {
    lookups(c, 1_000_000, "1M");
}

fn lookup_10m(c: &mut Criterion) {
    if std::env::var_os("RVS_BENCH_10M").is_some() {
        lookups(c, 10_000_000, "10M");
    }
}

/// A short connection's table cost: insert, then (10 s later, in CLOSE)
/// idle expiry through the wheel, in a table already holding 1M
/// established connections (with a timeout long enough that they stay for
/// the whole run, their deadlines spread over all wheel slots, so their
/// once-per-revolution revisits are part of the cost). The clock advances
/// one tick (1/64 s) every 64 iterations, i.e. 4096 new connections per
/// simulated second; each iteration inserts one entry and runs `expire`,
/// which finds the entries inserted 640 ticks before.
fn insert_expire(c: &mut Criterion) {
    let base = 1_000_000u32;
    let mut to = Timeouts::default();
    to.set_ipvsadm(1_000_000, 0, 0);
    let mut t = ConnTable::with_timeouts(base as usize + 100_000, &to, 0);
    for i in 0..base {
        t.insert(conn(i), u64::from(i % 65_536)).unwrap();
    }
    let mut now = 65_536u64;
    let mut it = 0u64;
    let mut i = base;
    let mut g = c.benchmark_group("conn_1M");
    g.bench_function("insert_and_expire", |b| {
        b.iter(|| {
            it += 1;
            now += u64::from(it & 63 == 0);
            i = if i == base + 90_000 { base } else { i + 1 };
            let mut x = conn(i);
            x.state = State::Close;
            let id = t.insert(x, now).unwrap();
            let n = t.expire(now, 64, |c| {
                black_box(c);
            });
            black_box((id, n))
        })
    });
    assert!(now < secs(1_000_000), "the established base must not start expiring");
    eprintln!("insert_and_expire: {} iterations, {} live at the end", it, t.len());
    // Insert + remove without the wheel's help: the cost of conn reuse.
    g.bench_function("insert_and_remove", |b| {
        b.iter_batched(
            || {
                i = if i == base + 90_000 { base } else { i + 1 };
                conn(i + 5_000_000)
            },
            |x| {
                let id = t.insert(x, now).unwrap();
                black_box(t.remove(id))
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, lookup_1k, lookup_1m, lookup_10m, insert_expire);
criterion_main!(benches);
