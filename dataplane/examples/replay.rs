//! A fixed replay of established flows through one sans-IO engine, for
//! counting instructions per packet with callgrind (repeatable on a noisy
//! machine, unlike time):
//!
//! ```text
//! cargo build --release -p rvs-dataplane --features testkit --example replay
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     target/release/examples/replay nat 1000 100000
//! ```
//!
//! Arguments: mode (nat, dr, tun, fullnat), flows, packets. One UDP
//! packet per flow first creates the connections (not measured); then
//! `packets` packets of those flows, in a scattered order, go through
//! `Engine::handle_burst` in bursts of 32 (measured). Prints what it did,
//! so the instructions can be divided by the packet count.

use rvs_dataplane::conn::HZ;
use rvs_dataplane::engine::{Ctx, Engine, Io};
use rvs_dataplane::l3::neigh::NeighSnapshot;
use rvs_dataplane::redirect::Redirected;
use rvs_dataplane::service_path::{new_templates, ServicePath};
use rvs_dataplane::stats::WorkerStats;
use rvs_dataplane::testkit::{self, CLIENT, GATEWAY, GATEWAY_MAC, RS1, RS1_MAC, RS2, RS2_MAC, SERVER};
use std::sync::Arc;

/// Transmitted buffers come back for the next packets (no allocation in
/// the measured loop once warm).
#[derive(Default)]
struct ReplayIo {
    sent: u64,
    pool: Vec<Vec<u8>>,
}

impl Io<Vec<u8>> for ReplayIo {
    fn alloc(&mut self) -> Option<Vec<u8>> {
        Some(self.pool.pop().unwrap_or_default())
    }
    fn tx(&mut self, _port_id: u16, pkt: Vec<u8>) {
        self.sent += 1;
        self.pool.push(pkt);
    }
    fn redirect(&mut self, _worker: usize, r: Redirected<Vec<u8>>) -> Result<(), Redirected<Vec<u8>>> {
        Err(r)
    }
    fn to_neigh_owner(&mut self, _: u16, _: u32, pkt: Vec<u8>) -> Result<(), Vec<u8>> {
        Err(pkt)
    }
}

/// A UDP datagram (18 bytes of payload: a 64-byte frame with the FCS)
/// from client `i` to `vip`:53.
fn frame(i: u32, vip: [u8; 4]) -> Vec<u8> {
    let c = 0x0a00_0000 + (i >> 14);
    let mut v = Vec::new();
    etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 1, 0xfe], testkit::CLIENT_MAC)
        .ipv4(c.to_be_bytes(), vip, 64)
        .udp(1024 + (i & 0x3fff) as u16, 53)
        .write(&mut v, &[0u8; 18])
        .unwrap();
    v
}

#[inline(never)]
fn measured(e: &mut Engine<Vec<u8>>, cx: &mut Ctx<'_, ReplayIo>, frames: &[Vec<u8>], order: &[u32]) {
    for burst in order.chunks(32) {
        let pkts: Vec<_> = burst
            .iter()
            .map(|&i| {
                let mut b = cx.io.pool.pop().unwrap_or_default();
                b.clear();
                b.extend_from_slice(&frames[i as usize]);
                (b, CLIENT)
            })
            .collect();
        e.handle_burst(cx, pkts);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: replay nat|dr|tun|fullnat FLOWS PACKETS";
    let mode = args.get(1).expect(usage).as_str();
    let flows: u32 = args.get(2).and_then(|a| a.parse().ok()).expect(usage);
    let packets: usize = args.get(3).and_then(|a| a.parse().ok()).expect(usage);
    let vip = match mode {
        "nat" => testkit::VIP_NAT,
        "dr" => testkit::VIP_DR,
        "tun" => testkit::VIP_TUN,
        "fullnat" => testkit::VIP_FULLNAT,
        _ => panic!("{usage}"),
    };
    let cfg = rvs_conf::load_str("replay", testkit::LAB_YAML).expect("the lab configuration");
    let snap = testkit::snapshot_of(&cfg, 1);
    let sp = ServicePath::new(0, 1, flows as usize + 64, new_templates(64), 0);
    let mut e = Engine::new(0, Arc::new(WorkerStats::default()), sp);
    let t = e.neigh.as_mut().unwrap();
    for (port, ip, mac) in [(CLIENT, GATEWAY, GATEWAY_MAC), (SERVER, RS1, RS1_MAC), (SERVER, RS2, RS2_MAC)] {
        t.learn(port, u32::from_be_bytes(ip), mac, 0);
    }
    let frames: Vec<Vec<u8>> = (0..flows).map(|i| frame(i, vip)).collect();
    let mut io = ReplayIo::default();
    let neigh = NeighSnapshot::default();
    let mut cx = Ctx { snap: &snap, neigh: &neigh, io: &mut io, now: HZ };
    let all: Vec<u32> = (0..flows).collect();
    warm_up(&mut e, &mut cx, &frames, &all);
    // A scattered order: consecutive packets belong to far-apart flows.
    let order: Vec<u32> = (0..packets as u64).map(|k| ((k * 2_654_435_761) % flows as u64) as u32).collect();
    let before = cx.io.sent;
    measured(&mut e, &mut cx, &frames, &order);
    let sent = cx.io.sent - before;
    println!(
        "mode {mode} flows {flows} packets {packets} sent {sent} conns {} drops {:?}",
        e.svc.conns.len(),
        e.stats.drop_list()
    );
    assert_eq!(sent, packets as u64, "every measured packet forwarded");
}

/// One packet per flow, not measured: creates the connections.
#[inline(never)]
fn warm_up(e: &mut Engine<Vec<u8>>, cx: &mut Ctx<'_, ReplayIo>, frames: &[Vec<u8>], order: &[u32]) {
    for burst in order.chunks(32) {
        let pkts: Vec<_> = burst.iter().map(|&i| (frames[i as usize].clone(), CLIENT)).collect();
        e.handle_burst(cx, pkts);
    }
}
