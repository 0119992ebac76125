//! Per-packet rewrite costs of each forwarding mode on a 64-byte TCP
//! frame, as the worker applies them (incremental checksums, in place):
//! NAT request/reply, FULLNAT request/reply and its TOA insertion, TUN's
//! IPIP encapsulation, DR's Ethernet rewrite, and the IPv4 validation
//! every packet pays first. The packet lives in a buffer with headroom,
//! like an mbuf, so encapsulation is a pointer move, not a memmove.
//!
//! `cargo bench -p rvs-benches --bench modes` (a few seconds).

#![forbid(unsafe_code)]

use criterion::{criterion_group, criterion_main, Criterion};
use rvs_benches::frame::{self, tcp_flags, Endpoints, Seg};
use rvs_conf::TunType;
use rvs_dataplane::modes::{fullnat, nat, tun, L4At};
use rvs_dataplane::packet::{ipv4, PacketBuf};
use std::hint::black_box;
use std::time::Duration;

/// A frame at offset `off` of a fixed buffer (an mbuf's headroom model).
#[derive(Clone)]
struct Frame {
    buf: [u8; 256],
    off: usize,
    len: usize,
}

impl Frame {
    fn tcp(flags: u8) -> Frame {
        let ep = Endpoints {
            smac: [2, 0, 0, 0, 0, 1],
            dmac: [2, 0, 0, 0, 0, 2],
            src: 0x0a01_0001,
            sport: 40000,
            dst: 0xac19_fe64,
            dport: 80,
        };
        let mut f = Frame { buf: [0; 256], off: 128, len: 0 };
        f.len = frame::tcp(&mut f.buf[128..], &ep, Seg { seq: 1, ack: 1, flags }, 6, frame::MIN_FRAME);
        f
    }
}

impl PacketBuf for Frame {
    fn data(&self) -> &[u8] {
        &self.buf[self.off..self.off + self.len]
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.off..self.off + self.len]
    }
    fn prepend(&mut self, n: usize) -> bool {
        if n > self.off {
            return false;
        }
        self.off -= n;
        self.len += n;
        true
    }
    fn adj(&mut self, n: usize) -> bool {
        if n > self.len {
            return false;
        }
        self.off += n;
        self.len -= n;
        true
    }
    fn set_len(&mut self, n: usize) -> bool {
        if self.off + n > self.buf.len() {
            return false;
        }
        if n > self.len {
            self.buf[self.off + self.len..self.off + n].fill(0);
        }
        self.len = n;
        true
    }
}

fn at(f: &Frame) -> L4At {
    let info = ipv4::validate(f.data(), 14).expect("valid frame");
    L4At { l3: 14, l4: 14 + info.hdr_len, proto: info.proto }
}

const RIP: [u32; 2] = [0xc0a8_000a, 0xc0a8_000b];

fn rewrites(c: &mut Criterion) {
    let mut g = c.benchmark_group("rewrite");
    let mut f = Frame::tcp(tcp_flags::ACK);
    let a = at(&f);
    let mut i = 0usize;
    g.bench_function("ipv4_validate", |b| b.iter(|| black_box(ipv4::validate(black_box(f.data()), 14).is_ok())));
    g.bench_function("dr_eth", |b| {
        b.iter(|| {
            // What DR changes: the destination MAC (and our source MAC).
            i += 1;
            let d = f.data_mut();
            d[0..6].copy_from_slice(&[2, 0, 0, 0, 1, i as u8]);
            d[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
            black_box(d[5])
        })
    });
    g.bench_function("nat_request", |b| {
        b.iter(|| {
            i += 1;
            nat::request(f.data_mut(), a, RIP[i & 1], 8080).expect("rewrite");
        })
    });
    g.bench_function("nat_reply", |b| {
        b.iter(|| {
            i += 1;
            nat::reply(f.data_mut(), a, RIP[i & 1], 80).expect("rewrite");
        })
    });
    g.bench_function("fullnat_request", |b| {
        b.iter(|| {
            i += 1;
            fullnat::request(f.data_mut(), a, 0xc0a8_0080, 1024 + (i as u16 & 1), RIP[i & 1], 8080).expect("rewrite");
        })
    });
    g.bench_function("fullnat_reply", |b| {
        b.iter(|| {
            i += 1;
            fullnat::reply(f.data_mut(), a, 0xac19_fe64, 80, 0x0a01_0001 + (i as u32 & 1), 40000).expect("rewrite");
        })
    });
    // Insertion and encapsulation change the frame: each iteration starts
    // from a fresh copy, whose cost `copy_frame` shows on its own.
    let syn = Frame::tcp(tcp_flags::SYN);
    let sa = at(&syn);
    g.bench_function("copy_frame", |b| b.iter(|| black_box(syn.clone()).len));
    g.bench_function("fullnat_toa_syn", |b| {
        b.iter(|| {
            let mut p = syn.clone();
            black_box(fullnat::add_toa(&mut p, sa, 0x0a01_0001, 40000, 1500))
        })
    });
    let plain = Frame::tcp(tcp_flags::ACK);
    g.bench_function("tun_ipip_encap", |b| {
        b.iter(|| {
            let mut p = plain.clone();
            black_box(tun::encap(&mut p, TunType::Ipip, 0, 0xc0a8_0064, RIP[0], 1500).is_ok())
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(700))
        .sample_size(20);
    targets = rewrites
}
criterion_main!(benches);

#[cfg(test)]
mod tests {
    #[test]
    fn frames_parse() {
        let f = super::Frame::tcp(rvs_benches::frame::tcp_flags::SYN);
        assert_eq!(super::at(&f).l4, 34);
    }
}
