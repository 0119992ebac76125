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

use crate::flows;
use crate::frame::{self, tcp_flags, Endpoints, Mac, Seg};
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
                let (a, p) = flows::client(*i);
                rvs_dataplane::conn::flow_hash(a, p) % n.max(1) == w
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

    /// Write the file; returns (first-pass frames, all frames).
    pub fn write(&self, path: &Path) -> io::Result<(u64, u64)> {
        let mut w = Writer::create(path)?;
        let mut b = vec![0u8; self.wire_size.max(64) + 64];
        let frame_len = self.wire_size.saturating_sub(4).max(frame::MIN_FRAME);
        let list = self.ids();
        let ids = || list.iter().copied();
        match self.proto {
            Proto::Udp => {
                let payload = frame_len - frame::ETH_LEN - frame::IP_LEN - frame::UDP_LEN;
                for _ in 0..=self.est_passes {
                    for i in ids() {
                        let n = frame::udp(&mut b, &self.endpoints(i), payload, frame::MIN_FRAME);
                        w.frame(&b[..n])?;
                    }
                }
            }
            Proto::Tcp => {
                for i in ids() {
                    let s = Seg { seq: i, ack: 0, flags: tcp_flags::SYN };
                    let n = frame::tcp(&mut b, &self.endpoints(i), s, 0, frame_len);
                    w.frame(&b[..n])?;
                }
                let payload = frame_len - frame::ETH_LEN - frame::IP_LEN - frame::TCP_LEN;
                for _ in 0..self.est_passes {
                    for i in ids() {
                        let s = Seg { seq: i.wrapping_add(1), ack: 1, flags: tcp_flags::ACK | tcp_flags::PSH };
                        let n = frame::tcp(&mut b, &self.endpoints(i), s, payload, frame::MIN_FRAME);
                        w.frame(&b[..n])?;
                    }
                }
            }
        }
        let n = w.finish()?;
        Ok((list.len() as u64, u64::from(n)))
    }
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
        let mac = [0x02, 0x52, 0x53, 0x00, (k >> 8) as u8, k as u8];
        let n = frame::arp(&mut b, frame::ARP_REPLY, frame::BROADCAST, mac, ip, [0xff; 6], target);
        w.frame(&b[..n])?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
