//! A fixed replay of UDP flows through one sans-IO engine, for counting
//! instructions per packet with callgrind (repeatable on a noisy
//! machine, unlike time):
//!
//! ```text
//! cargo build --release -p rvs-dataplane --features testkit --example replay
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     target/release/examples/replay nat 1000 100000 [hit|miss]
//! ```
//!
//! Arguments: mode (nat, dr, tun, fullnat), flows, packets, and which
//! path is measured:
//! - `hit` (the default): one UDP packet per flow first creates the
//!   connections (not measured); then `packets` packets of those flows, in
//!   a scattered order, go through `Engine::handle_burst` in bursts of 32
//!   (measured): the established path.
//! - `miss`: the same `flows` connections first (not measured, so the
//!   table holds that many), then `packets` packets of as many fresh flows
//!   (measured): every measured packet misses, is scheduled and creates a
//!   connection. The table is sized for both, so nothing is refused.
//! - `both`: `hit`, then `miss`, after one warm-up (for timing; under
//!   callgrind the two would be collected together).
//!
//! Prints what it did, and the wall-clock nanoseconds per measured packet
//! (`ns_per_pkt`, meaningful only outside valgrind), so the instructions
//! can be divided by the packet count and the time converted to cycles.

use rvs_dataplane::conn::HZ;
use rvs_dataplane::engine::{Ctx, Engine, Io};
use rvs_dataplane::l3::neigh::Neighbours;
use rvs_dataplane::redirect::Redirected;
use rvs_dataplane::service_path::{new_templates, ServicePath};
use rvs_dataplane::stats::WorkerStats;
use rvs_dataplane::testkit::{self, CLIENT, GATEWAY, GATEWAY_MAC, RS1, RS1_MAC, RS2, RS2_MAC, SERVER};
use std::sync::Arc;
use std::time::Instant;

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
    fn to_neigh_owner(&mut self, _: u16, _: std::net::IpAddr, pkt: Vec<u8>) -> Result<(), Vec<u8>> {
        Err(pkt)
    }
}

/// A UDP datagram (18 bytes of payload: a 64-byte frame with the FCS;
/// 78 bytes over IPv6) from client `i` to `vip`:53.
fn frame(i: u32, vip: Vip) -> Vec<u8> {
    let c = 0x0a00_0000 + (i >> 14);
    let mut v = Vec::new();
    let eth = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 1, 0xfe], testkit::CLIENT_MAC);
    let ip = match vip {
        Vip::V4(a) => eth.ipv4(c.to_be_bytes(), a, 64),
        Vip::V6(a) => eth.ipv6(((0x2001_0db8_00ee_u128 << 80) | u128::from(c)).to_be_bytes(), a.to_be_bytes(), 64),
    };
    ip.udp(1024 + (i & 0x3fff) as u16, 53).write(&mut v, &[0u8; 18]).unwrap();
    v
}

/// The VIP a mode's frames go to.
#[derive(Clone, Copy)]
enum Vip {
    V4([u8; 4]),
    V6(u128),
}

/// Live connections of the family measured.
fn conns(e: &Engine<Vec<u8>>, v6: bool) -> usize {
    if v6 {
        e.svc.conns6.len()
    } else {
        e.svc.conns.len()
    }
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

/// One measured pass over `order`: packets sent and nanoseconds.
fn pass(e: &mut Engine<Vec<u8>>, cx: &mut Ctx<'_, ReplayIo>, frames: &[Vec<u8>], order: &[u32]) -> (u64, f64) {
    let before = cx.io.sent;
    let t = Instant::now();
    measured(e, cx, frames, order);
    let ns = t.elapsed().as_secs_f64() * 1e9;
    (cx.io.sent - before, ns)
}

/// The lab configuration, with enough FULLNAT local addresses (from
/// 192.168.64.1 on) for `conns` connections: the LIP is picked by a hash
/// of the client, so twice what the ports need, plus one.
fn config(conns: u64) -> rvs_conf::Config {
    let lips = (2 * conns / 64_512 + 1).min(16_000) as u32;
    let list: Vec<String> = (0..lips).map(|k| std::net::Ipv4Addr::from(0xc0a8_4001u32 + k).to_string()).collect();
    let yaml = testkit::LAB_YAML.replace("laddrs: [192.168.0.101]", &format!("laddrs: [{}]", list.join(", ")));
    rvs_conf::load_str("replay", &yaml).expect("the lab configuration")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: replay nat|dr|tun|fullnat|nat6|dr6|fullnat6 FLOWS PACKETS [hit|miss|both]";
    let mode = args.get(1).expect(usage).as_str();
    let flows: u32 = args.get(2).and_then(|a| a.parse().ok()).expect(usage);
    let packets: usize = args.get(3).and_then(|a| a.parse().ok()).expect(usage);
    let path = args.get(4).map(String::as_str).unwrap_or("hit");
    let (hit, miss) = match path {
        "hit" => (true, false),
        "miss" => (false, true),
        "both" => (true, true),
        _ => panic!("{usage}"),
    };
    let vip = match mode {
        "nat" => Vip::V4(testkit::VIP_NAT),
        "dr" => Vip::V4(testkit::VIP_DR),
        "tun" => Vip::V4(testkit::VIP_TUN),
        "fullnat" => Vip::V4(testkit::VIP_FULLNAT),
        "nat6" => Vip::V6(testkit::VIP6_NAT),
        "dr6" => Vip::V6(testkit::VIP6_DR),
        "fullnat6" => Vip::V6(testkit::VIP6_FULLNAT),
        _ => panic!("{usage}"),
    };
    let v6 = matches!(vip, Vip::V6(_));
    let fresh = if miss { packets as u32 } else { 0 };
    let total = u64::from(flows) + u64::from(fresh);
    let cfg = config(total);
    let snap = testkit::snapshot_of(&cfg, 1);
    let sp =
        ServicePath::new(0, 1, total as usize + 64, new_templates(64), 0).with_ipv6_capacity(total as usize + 64, 0);
    let mut e = Engine::new(0, Arc::new(WorkerStats::default()), sp);
    let t = e.neigh.as_mut().unwrap();
    for (port, ip, mac) in [(CLIENT, GATEWAY, GATEWAY_MAC), (SERVER, RS1, RS1_MAC), (SERVER, RS2, RS2_MAC)] {
        t.learn(port, u32::from_be_bytes(ip), mac, 0);
    }
    let t = e.neigh6.as_mut().unwrap();
    for (ip, mac) in [(testkit::RS1_6, RS1_MAC), (testkit::RS2_6, RS2_MAC)] {
        t.learn(SERVER, ip, mac, 0);
    }
    // Flows 0..flows are created by the warm-up; flows..flows+fresh are
    // the fresh ones of the miss pass.
    let frames: Vec<Vec<u8>> = (0..flows + fresh).map(|i| frame(i, vip)).collect();
    let mut io = ReplayIo::default();
    let neigh = Neighbours::default();
    let mut cx = Ctx { snap: &snap, neigh: &neigh, io: &mut io, now: HZ };
    let all: Vec<u32> = (0..flows).collect();
    warm_up(&mut e, &mut cx, &frames, &all);
    let created = conns(&e, v6);
    assert_eq!(created, flows as usize, "the warm-up created every connection");
    if hit {
        // A scattered order: consecutive packets belong to far-apart flows.
        let order: Vec<u32> = (0..packets as u64).map(|k| ((k * 2_654_435_761) % u64::from(flows)) as u32).collect();
        let (sent, ns) = pass(&mut e, &mut cx, &frames, &order);
        report(mode, "hit", flows, packets, sent, ns, &e);
        assert_eq!(sent, packets as u64, "every measured packet forwarded");
        assert_eq!(conns(&e, v6), created, "a hit creates nothing");
    }
    if miss {
        let order: Vec<u32> = (flows..flows + fresh).collect();
        let (sent, ns) = pass(&mut e, &mut cx, &frames, &order);
        report(mode, "miss", flows, packets, sent, ns, &e);
        assert_eq!(sent, packets as u64, "every measured packet forwarded");
        assert_eq!(conns(&e, v6), created + packets, "every measured packet created a connection");
    }
}

fn report(mode: &str, path: &str, flows: u32, packets: usize, sent: u64, ns: f64, e: &Engine<Vec<u8>>) {
    println!(
        "mode {mode} path {path} flows {flows} packets {packets} sent {sent} conns {} ns_per_pkt {:.1} drops {:?}",
        e.svc.conns.len() + e.svc.conns6.len(),
        ns / packets.max(1) as f64,
        e.stats.drop_list()
    );
}

/// One packet per flow, not measured: creates the connections.
#[inline(never)]
fn warm_up(e: &mut Engine<Vec<u8>>, cx: &mut Ctx<'_, ReplayIo>, frames: &[Vec<u8>], order: &[u32]) {
    for burst in order.chunks(32) {
        let pkts: Vec<_> = burst.iter().map(|&i| (frames[i as usize].clone(), CLIENT)).collect();
        e.handle_burst(cx, pkts);
    }
}
