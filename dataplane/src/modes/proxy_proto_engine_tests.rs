//! Proxy Protocol through the whole sans-IO engine (gate, service path,
//! FULLNAT, transmit), IPv4 and IPv6: what leaves toward the real server
//! and back toward the client, read with etherparse and the spec-only
//! PROXY reader.

use super::tests::{read_proxy, tcp_of};
use crate::conn::HZ;
use crate::engine::Engine;
use crate::engine_tests::{self as et, engine, TestIo, CLI_MAC, C_MAC, RS1_MAC, S_MAC};
use crate::l3::neigh::Neighbours;
use crate::snapshot::{Iface, Service, ServiceTable, Snapshot};
use etherparse::{IpNumber, PacketBuilder};
use rvs_conf::{DestConf, FwdMethod, Proto, ProxyProtocol, SchedKind, ServiceConf, ServiceKey};
use std::net::{IpAddr, Ipv6Addr};

const CIP6: u128 = 0x2001_0db8_000c_0000_0000_0000_0000_0200;
const VIP6: u128 = 0x2001_0db8_000c_0000_0000_0000_0000_0100;
const DIP6: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0100;
const RS6: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0010;
const LIP6: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0101;

/// The two ends of a test conversation, in the frames' family.
#[derive(Clone, Copy)]
struct Net {
    v6: bool,
}

impl Net {
    fn cip(self) -> IpAddr {
        if self.v6 {
            Ipv6Addr::from(CIP6).into()
        } else {
            et::ip(et::CIP)
        }
    }
    fn vip(self) -> IpAddr {
        if self.v6 {
            Ipv6Addr::from(VIP6).into()
        } else {
            et::ip(et::VIP)
        }
    }
    fn rip(self) -> IpAddr {
        if self.v6 {
            Ipv6Addr::from(RS6).into()
        } else {
            et::ip(et::RS1)
        }
    }
    fn lip(self) -> IpAddr {
        if self.v6 {
            Ipv6Addr::from(LIP6).into()
        } else {
            et::ip(et::LIP)
        }
    }

    fn service(self, pp: ProxyProtocol) -> ServiceConf {
        let mut s = ServiceConf::new(ServiceKey::Inet { proto: Proto::Tcp, addr: self.vip(), port: 80 });
        s.scheduler = SchedKind::Rr;
        s.dests = vec![DestConf::new(self.rip(), 8080, FwdMethod::FullNat, 1)];
        s.laddrs = vec![self.lip()];
        s.proxy_protocol = pp;
        s.validate().unwrap();
        s
    }

    fn snapshot(self, pp: ProxyProtocol) -> Snapshot {
        if !self.v6 {
            return et::snapshot(1, 1, &[self.service(pp)], None);
        }
        let iface = |name: &str, port_id, mac, addr| Iface {
            name: name.into(),
            port_id,
            mac,
            addrs: vec![],
            addrs6: vec![(addr, 64)],
            mtu: 1500,
            rss: None,
            kernel: None,
        };
        let ifaces = vec![iface("client", 0, C_MAC, VIP6), iface("server", 1, S_MAC, DIP6)];
        let list = vec![Service::build(&self.service(pp), 1, None)];
        Snapshot::new(1, 1, ifaces, &[]).with_services(ServiceTable::new(list))
    }

    fn engine(self) -> Engine<Vec<u8>> {
        let mut e = engine(0, 1, 64);
        let t = e.neigh6.as_mut().unwrap();
        t.learn(0, CIP6, CLI_MAC, 0);
        t.learn(1, RS6, RS1_MAC, 0);
        e
    }

    /// A segment `src:sport → dst:dport` received on `port`.
    /// `tcp` is the segment's sequence number, acknowledgment (if ACK is
    /// set) and SYN flag.
    fn seg(
        self,
        port: u16,
        (src, sport): (IpAddr, u16),
        (dst, dport): (IpAddr, u16),
        (seq, ack, syn): (u32, Option<u32>, bool),
        opts: &[u8],
        payload: &[u8],
    ) -> Vec<u8> {
        let (dmac, smac) = if port == 0 { (C_MAC, CLI_MAC) } else { (S_MAC, RS1_MAC) };
        let eth = PacketBuilder::ethernet2(smac, dmac);
        let ip = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), 64),
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                eth.ip(crate::modes::testpkt6::ip(s.into(), d.into(), IpNumber::TCP, false))
            }
            _ => unreachable!(),
        };
        let mut t = ip.tcp(sport, dport, seq, 65535);
        if syn {
            t = t.syn();
        }
        if let Some(a) = ack {
            t = t.ack(a);
        }
        let mut b = Vec::new();
        t.options_raw(opts).unwrap().write(&mut b, payload).unwrap();
        b
    }
}

fn run(e: &mut Engine<Vec<u8>>, snap: &Snapshot, pkt: Vec<u8>, port: u16) -> Vec<u8> {
    let mut io = TestIo::default();
    e.handle(snap, &Neighbours::default(), &mut io, pkt, port, HZ);
    assert_eq!(io.sent.len(), 1, "drops {:?}", e.stats.drop_list());
    io.sent.pop().unwrap().1
}

/// (src, sport, dst, dport) of a sent frame.
fn ends(b: &[u8]) -> (IpAddr, u16, IpAddr, u16) {
    let p = etherparse::SlicedPacket::from_ethernet(b).unwrap();
    let (s, d) = match &p.net {
        Some(etherparse::NetSlice::Ipv4(ip)) => {
            (ip.header().source_addr().into(), ip.header().destination_addr().into())
        }
        Some(etherparse::NetSlice::Ipv6(ip)) => {
            (ip.header().source_addr().into(), ip.header().destination_addr().into())
        }
        _ => panic!(),
    };
    let Some(etherparse::TransportSlice::Tcp(t)) = &p.transport else { panic!() };
    (s, t.source_port(), d, t.destination_port())
}

#[test]
fn a_conversation_through_the_engine() {
    for v6 in [false, true] {
        for pp in [ProxyProtocol::V1, ProxyProtocol::V2] {
            conversation(Net { v6 }, pp);
        }
    }
}

fn conversation(n: Net, pp: ProxyProtocol) {
    let ctx = format!("v6 {} {pp}", n.v6);
    let snap = n.snapshot(pp);
    let mut e = n.engine();
    let (cli, vip) = ((n.cip(), 40000), (n.vip(), 80));
    let isn = 100_000;
    let base = isn + 1;
    let out = run(&mut e, &snap, n.seg(0, cli, vip, (isn, None, true), &[2, 4, 5, 0xb4], b""), 0);
    let (s, lport, d, dp) = ends(&out);
    assert_eq!((s, d, dp), (n.lip(), n.rip(), 8080), "{ctx}");
    assert_eq!(tcp_of(&out).0, isn, "{ctx}: the SYN is not shifted");
    let (rs, lip) = ((n.rip(), 8080), (n.lip(), lport));
    let back = run(&mut e, &snap, n.seg(1, rs, lip, (9000, Some(base), true), &[], b""), 1);
    assert_eq!(ends(&back), (n.vip(), 80, n.cip(), 40000), "{ctx}");
    assert_eq!(tcp_of(&back).1, base, "{ctx}: the SYN-ACK is not shifted");
    // The final ACK carries the header; no TOA beside it.
    let out = run(
        &mut e,
        &snap,
        n.seg(0, cli, vip, (base, Some(9001), false), &[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0], b""),
        0,
    );
    assert_eq!(ends(&out), (n.lip(), lport, n.rip(), 8080), "{ctx}");
    let (seq, _, _, opts, payload) = tcp_of(&out);
    assert_eq!(seq, base, "{ctx}");
    assert!(!opts.contains(&254), "{ctx}: no TOA with Proxy Protocol: {opts:?}");
    let (src, dst, h) = read_proxy(&payload).unwrap_or_else(|| panic!("{ctx}: {payload:?}"));
    assert_eq!((src, dst, h), (cli, vip, payload.len()), "{ctx}: the server reads the client and the VIP");
    let h = h as u32;
    // The request: at base again before the server acknowledged.
    let out = run(&mut e, &snap, n.seg(0, cli, vip, (base, Some(9001), false), &[], b"GET /"), 0);
    let (seq, _, _, _, payload) = tcp_of(&out);
    assert_eq!((seq, &payload[h as usize..]), (base, &b"GET /"[..]), "{ctx}");
    // The server's answer acknowledges header and request, SACKs more.
    let mut opts = vec![1, 1, 5, 10];
    opts.extend_from_slice(&(base + h + 10).to_be_bytes());
    opts.extend_from_slice(&(base + h + 20).to_be_bytes());
    let back = run(&mut e, &snap, n.seg(1, rs, lip, (9001, Some(base + h + 5), false), &opts, b"200"), 1);
    assert_eq!(ends(&back), (n.vip(), 80, n.cip(), 40000), "{ctx}");
    let (_, ack, _, o, payload) = tcp_of(&back);
    assert_eq!((ack, &payload[..]), (base + 5, &b"200"[..]), "{ctx}");
    assert_eq!(&o[4..12], &[(base + 10).to_be_bytes(), (base + 20).to_be_bytes()].concat()[..], "{ctx}");
    // The next request, and a late copy of the first: shifted only.
    for (seq, data) in [(base + 5, &b"more"[..]), (base, &b"GET /"[..])] {
        let out = run(&mut e, &snap, n.seg(0, cli, vip, (seq, Some(9004), false), &[], data), 0);
        let (s, _, _, _, payload) = tcp_of(&out);
        assert_eq!((s, &payload[..]), (seq + h, data), "{ctx}");
    }
    assert_eq!(e.stats.total_drops(), 0, "{ctx}: {:?}", e.stats.drop_list());
}

#[test]
fn without_proxy_protocol_the_final_ack_carries_toa_and_nothing_shifts() {
    for v6 in [false, true] {
        let n = Net { v6 };
        let snap = n.snapshot(ProxyProtocol::Off);
        let mut e = n.engine();
        let (cli, vip) = ((n.cip(), 40000), (n.vip(), 80));
        let out = run(&mut e, &snap, n.seg(0, cli, vip, (500, None, true), &[], b""), 0);
        let lport = ends(&out).1;
        let out = run(&mut e, &snap, n.seg(0, cli, vip, (501, Some(1), false), &[], b"GET /"), 0);
        let (seq, _, _, opts, payload) = tcp_of(&out);
        assert_eq!((seq, &payload[..]), (501, &b"GET /"[..]));
        assert!(opts.contains(&254), "TOA: {opts:?}");
        let back = run(&mut e, &snap, n.seg(1, (n.rip(), 8080), (n.lip(), lport), (1, Some(506), false), &[], b""), 1);
        assert_eq!(tcp_of(&back).1, 506);
    }
}
