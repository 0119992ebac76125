//! Pcap files for `net_pcap` replay: a streaming writer and the one-way
//! traffic the system benchmark replays.
//!
//! A replay file for N flows holds a first pass of one packet per flow
//! (TCP: SYN; every packet creates a connection) followed by `est_passes`
//! passes over the same flows (TCP: ACK+data; established traffic).
//! `net_pcap`'s `infinite_rx` loops the file, so after the first pass
//! every packet (TCP SYNs included, which IPVS's state table keeps in
//! ESTABLISHED) hits an existing connection.
//!
//! With `infinite_rx` the PMD keeps the whole file in mbufs, and with
//! `--no-huge` an mbuf costs a 4 KiB page: one packet per flow (UDP, or
//! TCP with `est_passes` 0) is what lets 1M flows fit in ~4 GiB.
//!
//! The same traffic over IPv6 ([`Traffic::vip6`]) comes from the clients
//! of [`flows::client6`]; its frames are the smallest that hold the
//! headers (62 bytes for UDP, 66 on the wire, as IPv4's 60-byte minimum
//! cannot hold Ethernet + IPv6 + UDP) or `wire_size`, whichever is larger.

use crate::flows;
use crate::frame::{self, tcp_flags, Endpoints, Mac, Seg};
use crate::frame6::{self, Endpoints6};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Writes classic pcap (microsecond, LINKTYPE_ETHERNET) frame by frame.
pub struct Writer {
    out: BufWriter<File>,
    n: u32,
}

impl Writer {
    pub fn create(path: &Path) -> io::Result<Writer> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&65535u32.to_le_bytes())?;
        out.write_all(&1u32.to_le_bytes())?;
        Ok(Writer { out, n: 0 })
    }

    pub fn frame(&mut self, f: &[u8]) -> io::Result<()> {
        // One microsecond apart: the timestamps mean nothing to net_pcap.
        self.out.write_all(&(self.n / 1_000_000).to_le_bytes())?;
        self.out.write_all(&(self.n % 1_000_000).to_le_bytes())?;
        self.out.write_all(&(f.len() as u32).to_le_bytes())?;
        self.out.write_all(&(f.len() as u32).to_le_bytes())?;
        self.out.write_all(f)?;
        self.n += 1;
        Ok(())
    }

    /// Flush; returns the number of frames written.
    pub fn finish(mut self) -> io::Result<u32> {
        self.out.flush()?;
        Ok(self.n)
    }
}

/// Transport of the replayed flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

/// What to put in a replay file.
#[derive(Debug, Clone)]
pub struct Traffic {
    pub flows: u32,
    /// Frame size on the wire, FCS included (64 = the minimum frame).
    pub wire_size: usize,
    pub proto: Proto,
    /// Established passes after the SYN pass (TCP only).
    pub est_passes: u32,
    pub vip: u32,
    /// `Some`: IPv6 flows to this VIP instead of IPv4 ones to `vip`.
    pub vip6: Option<u128>,
    pub vport: u16,
    pub smac: Mac,
    /// The director's MAC on the replay port (`net_pcap` ports are
    /// 02:70:63:61:70:NN, NN = the pcap device's index in the process).
    pub dmac: Mac,
    /// `Some((w, n))`: only the flows rvsd worker `w` of `n` owns (its
    /// flow hash), one file per rx queue, as a NIC steering flows to
    /// their owner's queue would deliver them.
    pub shard: Option<(u32, u32)>,
    /// Split the shards by flow index (`i % n == w`) instead: as a NIC
    /// that knows nothing of rvsd's hash would spread them.
    pub by_index: bool,
}

impl Traffic {
    pub fn new(flows: u32) -> Traffic {
        Traffic {
            flows,
            wire_size: 64,
            proto: Proto::Tcp,
            est_passes: 1,
            vip: 0xac19_fe64, // 172.25.254.100
            vip6: None,
            vport: 80,
            smac: [0x02, 0x00, 0x00, 0x00, 0x00, 0x01],
            dmac: [0x02, 0x70, 0x63, 0x61, 0x70, 0x00],
            shard: None,
            by_index: false,
        }
    }

    /// The flows this file carries.
    pub fn ids(&self) -> Vec<u32> {
        let mine = |i: &u32| match self.shard {
            None => true,
            Some((w, n)) if self.by_index => *i % n.max(1) == w,
            Some((w, n)) => {
                let h = match self.vip6 {
                    None => {
                        let (a, p) = flows::client(*i);
                        rvs_dataplane::conn::flow_hash(a, p)
                    }
                    Some(_) => {
                        let (a, p) = flows::client6(*i);
                        rvs_dataplane::conn::flow_hash(a, p)
                    }
                };
                h % n.max(1) == w
            }
        };
        (0..self.flows).filter(mine).collect()
    }

    /// All frames in a file whose first pass has `first_pass` frames.
    pub fn frames(&self, first_pass: u64) -> u64 {
        first_pass * (1 + u64::from(self.est_passes))
    }

    fn endpoints(&self, i: u32) -> Endpoints {
        let (src, sport) = flows::client(i);
        Endpoints { smac: self.smac, dmac: self.dmac, src, sport, dst: self.vip, dport: self.vport }
    }

    fn endpoints6(&self, i: u32, vip6: u128) -> Endpoints6 {
        let (src, sport) = flows::client6(i);
        Endpoints6 { smac: self.smac, dmac: self.dmac, src, sport, dst: vip6, dport: self.vport }
    }

    /// Flow `i`'s UDP frame with `payload` bytes; its length.
    fn udp_frame(&self, b: &mut [u8], i: u32, payload: usize) -> usize {
        match self.vip6 {
            None => frame::udp(b, &self.endpoints(i), payload, frame::MIN_FRAME),
            Some(v) => frame6::udp6(b, &self.endpoints6(i, v), payload, frame::MIN_FRAME),
        }
    }

    /// Flow `i`'s TCP segment `s` with `payload` bytes, padded to `pad_to`.
    fn tcp_frame(&self, b: &mut [u8], i: u32, s: Seg, payload: usize, pad_to: usize) -> usize {
        match self.vip6 {
            None => frame::tcp(b, &self.endpoints(i), s, payload, pad_to),
            Some(v) => frame6::tcp6(b, &self.endpoints6(i, v), s, payload, pad_to),
        }
    }

    /// Ethernet, IP and the transport's header: what a frame holds before
    /// its payload.
    fn headers(&self) -> usize {
        let ip = if self.vip6.is_some() { frame6::IP6_LEN } else { frame::IP_LEN };
        let l4 = if self.proto == Proto::Tcp { frame::TCP_LEN } else { frame::UDP_LEN };
        frame::ETH_LEN + ip + l4
    }

    /// Write the file; returns (first-pass frames, all frames).
    pub fn write(&self, path: &Path) -> io::Result<(u64, u64)> {
        let mut w = Writer::create(path)?;
        let mut b = vec![0u8; self.wire_size.max(64) + 64];
        // The wire size without its FCS, at least the smallest frame that
        // holds the headers (IPv6's do not fit in 60 bytes).
        let frame_len = self.wire_size.saturating_sub(4).max(frame::MIN_FRAME).max(self.headers());
        let payload = frame_len - self.headers();
        let list = self.ids();
        let ids = || list.iter().copied();
        match self.proto {
            Proto::Udp => {
                for _ in 0..=self.est_passes {
                    for i in ids() {
                        let n = self.udp_frame(&mut b, i, payload);
                        w.frame(&b[..n])?;
                    }
                }
            }
            Proto::Tcp => {
                for i in ids() {
                    let s = Seg { seq: i, ack: 0, flags: tcp_flags::SYN };
                    let n = self.tcp_frame(&mut b, i, s, 0, frame_len);
                    w.frame(&b[..n])?;
                }
                for _ in 0..self.est_passes {
                    for i in ids() {
                        let s = Seg { seq: i.wrapping_add(1), ack: 1, flags: tcp_flags::ACK | tcp_flags::PSH };
                        let n = self.tcp_frame(&mut b, i, s, payload, frame::MIN_FRAME);
                        w.frame(&b[..n])?;
                    }
                }
            }
        }
        let n = w.finish()?;
        Ok((list.len() as u64, u64::from(n)))
    }
}

/// The MAC of the `k`-th real server of a replay file: 02:52:53:00:00:NN,
/// the same for its ARP replies and its neighbour solicitations.
fn rs_mac(k: usize) -> Mac {
    [0x02, 0x52, 0x53, 0x00, (k >> 8) as u8, k as u8]
}

/// A file of ARP replies from `senders` (each with its own MAC
/// 02:52:53:00:00:NN) to `target`, broadcast: replayed once on the
/// director's server-side port, it teaches the director the real
/// servers' MACs, since nothing else on a replay link would answer its
/// ARP requests.
pub fn write_arp_replies(path: &Path, senders: &[u32], target: u32) -> io::Result<u32> {
    let mut w = Writer::create(path)?;
    let mut b = [0u8; 64];
    for (k, &ip) in senders.iter().enumerate() {
        let n = frame::arp(&mut b, frame::ARP_REPLY, frame::BROADCAST, rs_mac(k), ip, [0xff; 6], target);
        w.frame(&b[..n])?;
    }
    w.finish()
}

/// The IPv6 twin of [`write_arp_replies`]: a neighbour solicitation from
/// each of `senders` (MACs as there) for the director's `target`, with
/// the sender's MAC in its source link-layer option.
///
/// Not advertisements: rvsd keeps an advertisement only for a neighbour
/// it is resolving or already knows (RFC 4861 7.2.5; `learn_advert` in
/// dataplane/src/l3/neigh.rs), so an unsolicited one replayed before its
/// first packet to that server wants the MAC is dropped, and one after is
/// learnt only while the resolution is pending (3 probes, a second
/// apart), a race with the replay's start. A solicitation for one of its
/// own addresses it answers, and learns the asker's mapping from it
/// unconditionally (RFC 4861 7.2.3), as it learns from an ARP request:
/// replayed once at the start, as the ARP replies are, it holds for
/// rvsd's 300 s reachability, longer than any run.
pub fn write_nd_solicits(path: &Path, senders: &[u128], target: u128) -> io::Result<u32> {
    let mut w = Writer::create(path)?;
    let mut b = [0u8; 128];
    for (k, &ip) in senders.iter().enumerate() {
        let n = frame6::neighbor_solicit(&mut b, rs_mac(k), ip, target);
        w.frame(&b[..n])?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket};

    fn read(path: &Path) -> Vec<Vec<u8>> {
        let b = std::fs::read(path).unwrap();
        let mut out = Vec::new();
        let mut off = 24;
        while off + 16 <= b.len() {
            let n = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
            out.push(b[off + 16..off + 16 + n].to_vec());
            off += 16 + n;
        }
        out
    }

    #[test]
    fn tcp_file_has_a_syn_pass_then_established_passes() {
        let p = std::env::temp_dir().join(format!("rvs-pcapgen-{}.pcap", std::process::id()));
        let mut t = Traffic::new(5);
        t.est_passes = 2;
        assert_eq!(t.write(&p).unwrap(), (5, 15));
        let f = read(&p);
        assert_eq!(f.len() as u64, t.frames(5));
        assert!(f.iter().all(|x| x.len() == 60));
        let v: Vec<_> = f.iter().map(|x| frame::parse_tcp(x).unwrap()).collect();
        assert!(v[..5].iter().all(|x| x.seg.flags == tcp_flags::SYN));
        assert!(v[5..].iter().all(|x| x.seg.flags & tcp_flags::ACK != 0 && x.payload_len == 6));
        assert_eq!(v[1].ep.sport, v[6].ep.sport);
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn shards_partition_the_flows_by_owner() {
        let mut t = Traffic::new(1000);
        t.shard = Some((0, 2));
        let a = t.ids();
        t.shard = Some((1, 2));
        let b = t.ids();
        assert_eq!(a.len() + b.len(), 1000);
        assert!(a.len() > 400 && b.len() > 400);
        assert!(a.iter().all(|i| !b.contains(i)));
        // By index: the same partition sizes, but about half of each
        // shard is owned by the other worker.
        t.by_index = true;
        let c = t.ids();
        assert_eq!(c.len(), 500);
        let foreign = c.iter().filter(|i| !b.contains(i)).count();
        assert!(foreign > 150 && foreign < 350, "{foreign}");
    }

    #[test]
    fn ipv6_udp_file_holds_minimum_ipv6_frames_from_the_v6_clients() {
        let p = std::env::temp_dir().join(format!("rvs-pcapgen6-{}.pcap", std::process::id()));
        let mut t = Traffic::new(40000);
        t.proto = Proto::Udp;
        t.est_passes = 0;
        t.vip6 = Some(0x2001_0db8_000c_u128 << 80 | 0x100);
        assert_eq!(t.write(&p).unwrap(), (40000, 40000));
        let f = read(&p);
        std::fs::remove_file(&p).unwrap();
        assert!(f.iter().all(|x| x.len() == frame6::MIN_UDP6_FRAME));
        for (i, x) in [(0usize, 0u32), (39999, 39999)] {
            let s = SlicedPacket::from_ethernet(&f[i]).unwrap();
            let Some(NetSlice::Ipv6(ip)) = &s.net else { panic!("not IPv6") };
            let (src, port) = flows::client6(x);
            assert_eq!(ip.header().source(), src.to_be_bytes());
            assert_eq!(ip.header().destination(), t.vip6.unwrap().to_be_bytes());
            assert_eq!(&f[i][54..56], &port.to_be_bytes());
        }
        // TCP over IPv6: a SYN of Ethernet + IPv6 + TCP, no padding needed.
        t.proto = Proto::Tcp;
        t.flows = 3;
        t.est_passes = 1;
        assert_eq!(t.write(&p).unwrap(), (3, 6));
        let f = read(&p);
        std::fs::remove_file(&p).unwrap();
        assert!(f.iter().all(|x| x.len() == 74), "{:?}", f.iter().map(Vec::len).collect::<Vec<_>>());
    }

    #[test]
    fn ipv6_shards_partition_by_the_v6_flow_hash() {
        let mut t = Traffic::new(1000);
        t.vip6 = Some(1);
        t.shard = Some((0, 2));
        let a = t.ids();
        t.shard = Some((1, 2));
        let b = t.ids();
        assert_eq!(a.len() + b.len(), 1000);
        t.vip6 = None;
        assert_ne!(t.ids(), b, "the IPv6 clients hash apart from the IPv4 ones");
    }

    #[test]
    fn nd_file_has_one_solicitation_per_server() {
        let p = std::env::temp_dir().join(format!("rvs-pcapnd-{}.pcap", std::process::id()));
        let rs = [0x2001_0db8_0001_u128 << 80 | 0x10, 0x2001_0db8_0001_u128 << 80 | 0x11];
        let dip = 0x2001_0db8_0001_u128 << 80 | 0x100;
        assert_eq!(write_nd_solicits(&p, &rs, dip).unwrap(), 2);
        let f = read(&p);
        std::fs::remove_file(&p).unwrap();
        for (k, x) in f.iter().enumerate() {
            let Ok(rvs_dataplane::l3::nd::Nd::Solicit(ns)) = rvs_dataplane::l3::nd::parse(x) else { panic!() };
            assert_eq!((ns.sender(), ns.target), (Some((rs[k], rs_mac(k))), dip));
        }
    }
}
