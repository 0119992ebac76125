//! rvs-pcapgen: write a replay file of N client flows to a VIP for
//! `net_pcap,rx_pcap=FILE,infinite_rx=1`.
//!
//! TCP: a SYN per flow (pass 1, creates the connections), then
//! `--est-passes` passes of ACK+data per flow (established traffic).
//! UDP: one packet per flow. `--vip6` makes them IPv6 flows (from
//! 2001:db8:ee::/96, in the smallest frames that hold the headers when
//! `--size` is too small). `--arp-out` also writes the ARP replies that
//! teach the director its real servers' MACs on the server-side port,
//! `--nd-out` the IPv6 servers' neighbour solicitations that do the same.

#![forbid(unsafe_code)]

use clap::Parser;
use rvs_benches::pcap::{self, Proto, Traffic};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "rvs-pcapgen", about = "Write pcap replay files for rvs benchmarks")]
struct Args {
    /// Output pcap file.
    #[arg(short, long)]
    out: PathBuf,
    /// Distinct flows (client address:port pairs).
    #[arg(short = 'n', long, default_value_t = 1000)]
    flows: u32,
    /// Frame size on the wire, FCS included (64..1518).
    #[arg(short, long, default_value_t = 64)]
    size: usize,
    /// tcp (SYN pass + established passes) or udp (one packet per flow).
    #[arg(long, default_value = "tcp")]
    proto: String,
    /// Passes over the flows after the first (TCP: ACK+data; default 1
    /// for TCP, 0 for UDP).
    #[arg(long)]
    est_passes: Option<u32>,
    #[arg(long, default_value = "172.25.254.100")]
    vip: Ipv4Addr,
    /// IPv6 flows to this VIP instead (e.g. 2001:db8:c::100).
    #[arg(long)]
    vip6: Option<Ipv6Addr>,
    #[arg(long, default_value_t = 80)]
    vport: u16,
    /// Destination MAC (the director's replay port).
    #[arg(long, default_value = "02:70:63:61:70:00")]
    dmac: String,
    /// Write only the flows rvsd worker `part` of `split` owns (one file per rx queue).
    #[arg(long, default_value_t = 1)]
    split: u32,
    #[arg(long, default_value_t = 0)]
    part: u32,
    /// Also write ARP replies from these real servers to --arp-target.
    #[arg(long)]
    arp_out: Option<PathBuf>,
    #[arg(long, value_delimiter = ',', default_value = "192.168.0.10,192.168.0.11,192.168.0.12,192.168.0.13")]
    arp_rs: Vec<Ipv4Addr>,
    #[arg(long, default_value = "192.168.0.100")]
    arp_target: Ipv4Addr,
    /// Also write neighbour solicitations from these IPv6 real servers
    /// for --nd-target (what rvsd learns their MACs from).
    #[arg(long)]
    nd_out: Option<PathBuf>,
    #[arg(long, value_delimiter = ',', default_value = "2001:db8:1::10,2001:db8:1::11,2001:db8:1::12,2001:db8:1::13")]
    nd_rs: Vec<Ipv6Addr>,
    #[arg(long, default_value = "2001:db8:1::100")]
    nd_target: Ipv6Addr,
}

fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let v: Vec<u8> = s
        .split(':')
        .map(|x| u8::from_str_radix(x, 16))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad MAC {s}: {e}"))?;
    v.try_into().map_err(|_| format!("bad MAC {s}"))
}

fn main() {
    let a = Args::parse();
    let run = || -> Result<(), String> {
        if !(64..=1518).contains(&a.size) {
            return Err("--size must be 64..1518".into());
        }
        let mut t = Traffic::new(a.flows);
        t.wire_size = a.size;
        t.proto = match a.proto.as_str() {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            p => return Err(format!("--proto {p}: tcp or udp")),
        };
        t.est_passes = a.est_passes.unwrap_or(if t.proto == Proto::Tcp { 1 } else { 0 });
        t.vip = a.vip.into();
        t.vip6 = a.vip6.map(u128::from);
        t.vport = a.vport;
        t.dmac = parse_mac(&a.dmac)?;
        if a.split > 1 {
            t.shard = Some((a.part, a.split));
        }
        let (first, n) = t.write(&a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
        println!("rvs-pcapgen: {n} frames ({} flows, first pass {first}) in {}", a.flows, a.out.display());
        if let Some(p) = &a.arp_out {
            let rs: Vec<u32> = a.arp_rs.iter().map(|&x| x.into()).collect();
            let n =
                pcap::write_arp_replies(p, &rs, a.arp_target.into()).map_err(|e| format!("{}: {e}", p.display()))?;
            println!("rvs-pcapgen: {n} ARP replies in {}", p.display());
        }
        if let Some(p) = &a.nd_out {
            let rs: Vec<u128> = a.nd_rs.iter().map(|&x| x.into()).collect();
            let n = pcap::write_nd_solicits(p, &rs, a.nd_target.into()).map_err(|e| format!("{}: {e}", p.display()))?;
            println!("rvs-pcapgen: {n} neighbour solicitations in {}", p.display());
        }
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("rvs-pcapgen: {e}");
        std::process::exit(1);
    }
}
