//! Scheduler costs: one `pick` per scheduler over 16 dests (what a new
//! connection pays), and the Maglev table build for 1000 dests × 65537
//! slots (what Control pays when a mh/mhb service's dest list changes).
//!
//! `cargo bench -p rvs-benches --bench sched`

#![forbid(unsafe_code)]

use criterion::{criterion_group, criterion_main, Criterion};
use rvs_conf::{DestConf, FwdMethod, SchedFlags, SchedKind};
use rvs_dataplane::sched::{self, maglev::MaglevTable, PickCtx};
use rvs_dataplane::svc::{Dest, DestRt};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

const WORKERS: usize = 4;

/// `n` dests 10.0.x.y:80 with weights 1..=4 and some connections.
fn dests(n: usize) -> Vec<Dest> {
    (0..n)
        .map(|i| {
            let addr = IpAddr::V4(Ipv4Addr::new(10, 0, (i >> 8) as u8, i as u8));
            let conf = DestConf::new(addr, 80, FwdMethod::Nat, 1 + (i % 4) as u32);
            let d = Dest::from_conf(&conf, 80, DestRt::new(WORKERS));
            for w in 0..WORKERS {
                d.rt.cell(w).active.add((i * 7 + w) as u64 % 13);
                d.rt.cell(w).inactive.add((i * 3 + w) as u64 % 5);
            }
            d
        })
        .collect()
}

/// A different client (and destination address for dh/lblc) per call.
fn ctx(i: u64) -> PickCtx {
    let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    PickCtx {
        caddr: IpAddr::V4(Ipv4Addr::from((x >> 32) as u32)),
        cport: x as u16,
        vaddr: IpAddr::V4(Ipv4Addr::new(10, 1, 0, (i % 64) as u8)),
        vport: 80,
        rand: x,
        now: i / 1_000_000,
        worker: 0,
    }
}

fn picks(c: &mut Criterion) {
    let ds = dests(16);
    let mut g = c.benchmark_group("pick16");
    for kind in SchedKind::ALL {
        let spec = sched::Spec { kind, flags: SchedFlags(SchedFlags::FLAG1), mhb_c: 1.25, workers: WORKERS };
        let s = sched::build(&spec, &ds);
        let mut i = 0u64;
        g.bench_function(kind.name(), |b| {
            b.iter(|| {
                i += 1;
                black_box(s.pick(&ctx(i), black_box(&ds)))
            })
        });
    }
    g.finish();
}

fn maglev_build(c: &mut Criterion) {
    let ds = dests(1000);
    let mut g = c.benchmark_group("maglev_build");
    g.sample_size(20);
    g.bench_function("1000x65537", |b| b.iter(|| MaglevTable::with_size(black_box(&ds), 65537)));
    g.finish();
}

criterion_group!(benches, picks, maglev_build);
criterion_main!(benches);
