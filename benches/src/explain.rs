//! The prose of docs/benchmarks.md: the method, the caveats, and what
//! each hot symbol of a profile means, so the report can name the next
//! bottleneck from the samples it took rather than from a text that goes
//! stale when the code changes.

pub const METHOD: &str = "\
- **One-way replay.** `rvs-pcapgen` writes one file per flow count: a first pass with one {proto} packet per flow (64 B on the wire), each creating a connection, then the same flows again (established traffic). The file is replayed with `net_pcap0,rx_pcap=FILE,infinite_rx=1` into rvsd's client-side port; the server-side port is `net_pcap1` replaying four ARP replies once (so rvsd learns the real servers' MACs: nothing else could answer its ARP requests on a replay link, and rvsd has no static neighbours) and dropping everything sent to it, as `net_null` would. dpdk-testpmd (`--forward-mode=io`, and `5tswap` for reference) runs on the very same two devices and file, before and after the rvsd runs of each flow count; the mean of its two io runs is the 100% mark. One packet per flow per pass keeps the preloaded file small: `infinite_rx` holds every frame in an mbuf, and without hugepages an mbuf takes a 4 KiB page.
- **Sampling.** Port counters are read live through DPDK's telemetry socket (`/ethdev/stats`) every 5 ms, for rvsd and testpmd alike. The creation rate is the receive rate while the counter is inside the first pass (shown from 50k flows up); the steady rate is the server-side transmit rate over a {window} s window that starts after the first pass plus a warm-up.
- **Cycles per packet** = TSC rate × forwarding lcores ÷ packets per second: the forwarding lcore polls a source that never runs dry, so it is all busy. Beside it, rvsd's own accounting from `rvsadm --workers --json` at the window's ends: TSC cycles of the polls that found work (`busy_cycles`) per received packet, their share of the window, and the packets per such poll.
- **Conversations.** `rvs-gen` (our DPDK client and real-server emulator) is joined to the director by two `net_memif` links (client side, server side). Each conversation is SYN, SYN-ACK, ACK+request, response+FIN, FIN-ACK, last ACK (6 packets) through NAT or FULLNAT and back; the generator keeps 512 of them in flight, derives every reply from the packet it answers, and counts one as done when the client sees the last ACK. Each run lasts {cps} s and is measured after a warm-up; every program runs twice, alternating, and the better run counts (other work on the machine only ever slows a run down). The baseline is the same generator through testpmd io on the same links. Generator on CPU 0, the director's forwarding lcore on CPU 1.
- **Memory.** rvsd allocates its tables in full at boot, so their cost is rvsd's resident memory after booting with `conn.table_size` N minus that with a 1k table, divided by the difference; the structures' own accounting is shown beside it.
- **Bounded and clean.** Every process is started by the harness, recorded by PID, stopped by PID (SIGTERM, then SIGKILL), killed if the harness is interrupted, and the whole run has a time limit.
";

/// The method's IPv6 paragraph, when IPv6 runs were made: {flows6} the
/// flow counts, {size6} the frames' wire size, {lips} the FULLNAT pool.
pub const METHOD6: &str = "\
- **IPv6.** The one-way replay again over IPv6, 1 worker, at {flows6} flows: the same {proto} packets, from 2001:db8:ee::/96 (the IPv4 clients' numbering in the low 32 bits) to an IPv6 VIP, in the smallest frames that hold the headers ({size6} B on the wire: 64 B cannot hold Ethernet, IPv6 and {proto}), through one IPv6 service per mode: NAT and DR to the real servers' IPv6 addresses, TUN as IPv6-in-IPv6 from the director's server-side address (RFC 2473), FULLNAT from {lips} IPv6 local addresses. Instead of ARP replies the server-side port replays each real server's neighbour solicitation for the director's address, once: rvsd learns the sender's MAC from a solicitation for one of its addresses (RFC 4861 7.2.3), while it keeps an advertisement only for a neighbour it is resolving or knows (7.2.5), so advertisements replayed at the start could come before it asks and be ignored. testpmd io forwards the IPv6 file before and after the rvsd runs of each flow count, and their mean is the IPv6 rows' 100% mark. IPv6 is not among the targets: its rows are reported beside the IPv4 ones, not judged.
";

pub const TWO_WORKERS: &str = "\
`net_pcap` loops a file only with one rx queue, and rvsd gives every port one queue per worker, so the 2-worker replay is finite: one file per queue, each holding the flows its worker owns (as a NIC steering by rvsd's flow hash would deliver them), read from the page cache by libpcap inside each worker's rx call. The real servers' ARP replies arrive on the server side's queue 0 only (RSS puts non-IP frames there). That reading is part of both programs' per-packet cost, so these ratios are not comparable with the 1-worker ones. The two workers share the two CPUs with the main lcores (mostly asleep).";

pub const CPS_NOTE: &str = "\
2 workers are not measured: the generator needs a CPU of its own, and this machine has two. The best run of each program is in bold and is the one the targets table uses.";

pub const CPS_ROOM: &str = "\
**Room.** Every conversation ends in TIME_WAIT (the server's FIN, then the client's), which rvsd keeps, as IPVS does, for 120 s, far longer than a run: nothing a run opens is freed before it ends, so the live count is every connection the run opened, and each rvsd run needs a connection table and, for FULLNAT, a local-address pool (LIPs × 64,512 ports, 1024–65535) holding every conversation of the run. Without that room a run hits a plateau: once the pool or the table is full, rvsd refuses each new SYN with a named drop (`lport_exhausted`, `conn_table_full`), the generator's conversations in flight are lost and the rate collapses. The harness therefore sizes both for 1.25 × the generator's rate through testpmd io (which the director cannot beat) × the run's length; the room column shows what each run got and the refused column its drops (both zero when the sizing held). A director in service needs its rate × 120 s of local ports in each FULLNAT service's pool, split between its workers.";

pub const MEM_NOTE: &str = "\
rvsd sizes one connection table per worker to `conn.table_size` and one shared persistence-template table to `conn.template_size` (default 65,536); both are allocated and written at boot. The issue's measure is the connection table with its entries (the ConnTable column); the RSS column is what the daemon as configured pays per connection it can hold.";

pub const RUNNING: &str = "\
## Running it

- `./scripts/bench.sh` — this report (about 15 minutes; root, after `scripts/setup.sh`). `--smoke` runs every part with tiny flow counts in about a minute and fails if any part produced nothing; `scripts/test.sh` runs it.
- The engine alone: `cargo build --release -p rvs-dataplane --features testkit --example replay`, then `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' target/release/examples/replay nat 1000 20000 [hit|miss]` and divide the collected instructions by the packets (20000); without valgrind it prints nanoseconds per packet (`both` measures hit, then miss). Other options go to `rvs-bench` (`--flows 1000,100000`, `--flows6 1000` and `--modes6 nat,fullnat` for the IPv6 replay, `--tcp` for one-way TCP with a SYN pass and an ACK pass, `--window SECS`, `--nice 0`).
- The tools on their own: `rvs-pcapgen -o FILE -n FLOWS [--size 64] [--proto tcp|udp] [--split N --part I] [--vip6 ADDR] [--arp-out FILE] [--nd-out FILE]`; `rvs-gen --client-dev VDEV --server-dev VDEV [--window 512] [--duration 10]` against a director on two `net_memif` links.
- Micro benchmarks of the sans-IO core: `cargo bench -p rvs-benches --bench modes` (rewrites, seconds), `--bench conn` (lookup hit/miss at 1k and 1M, 10M with `RVS_BENCH_10M=1`, insert + expire), `--bench sched` (each scheduler's pick, Maglev table build).
";

pub const READING: &str = "\
### Reading it

- testpmd io is bounded by the replay device (`net_pcap` copies each frame from its preloaded ring into a fresh mbuf) and the sink's free: it is the ceiling on these virtual devices, not on a NIC, and rvsd pays the same device cost inside its cycles per packet.
- The one-way rows at 1k flows, where the table fits in cache, show the per-packet path's fixed cost; the rows at 1M add what the table's memory costs. The profiles say which functions the samples fall in.";

/// What a hot symbol in rvsd's profile stands for, and what would cut it.
/// The first pattern a symbol contains wins, so the specific ones come
/// first (`handle_burst` before `handle`, `lookup_burst` before `lookup`).
pub fn symbol(sym: &str) -> Option<&'static str> {
    const KNOWN: [(&str, &str); 35] = [
        (
            "ConnTable::lookup_burst",
            "connection lookup, batched per burst (`ConnTable::lookup_burst`: the burst's hashes, then its index buckets, then its entries, each prefetched together): once the table outgrows the caches, what is left is the memory latency of those misses (and TLB misses on 4 KiB pages without hugepages)",
        ),
        (
            "ConnTable::lookup",
            "connection lookup, one packet at a time (`ConnTable::lookup`: when the table changed within the burst, redirected packets, ICMP errors)",
        ),
        ("ConnTable::insert", "connection creation: index insert, slab slot, timer"),
        ("ConnTable::expire", "idle expiry through the timer wheel"),
        ("ConnTable::remove", "connection removal"),
        ("forward::established", "state transition and rewrite of a packet on a known connection (`forward::established`)"),
        ("forward::", "the mode's transmit (DR MAC rewrite, TUN encapsulation)"),
        (
            "pipeline::classify",
            "ingress of a TCP/UDP packet: fragment and L4 header checks, TTL, flow owner, its metadata (`pipeline::classify`)",
        ),
        ("pipeline::run", "the burst's lookup and per-packet dispatch (`pipeline::run`)"),
        ("pipeline::", "the burst pipeline's other stages"),
        ("service_path::create", "connection creation: scheduling, FULLNAT local port"),
        ("service_path::resolve", "finding a connection's service and destination in the snapshot"),
        ("service_path::", "new-connection path (service lookup, templates)"),
        ("sched::", "the scheduler's pick (new connections)"),
        ("Engine<P>::handle_burst", "the burst's Ethernet and IPv4 checks (`Engine::handle_burst`, ingress inlined)"),
        ("Engine<P>::handle_redirected", "packets handed over by the other worker (with their metadata)"),
        ("Engine<P>::handle", "Ethernet/IPv4 checks and dispatch, one packet at a time"),
        ("Engine<P>::ingress", "Ethernet checks and the L2/L3 dispatch (`Engine::ingress`)"),
        ("Engine<P>::ipv4", "IPv4 header checks and the address-class filter (`Engine::ipv4`)"),
        ("Engine<P>>::hop", "the per-worker next-hop cache, once per forwarded packet (`egress::hop`)"),
        ("Engine<P>>::emit", "transmit: Ethernet header and the port's tx buffer (`egress::emit`)"),
        ("Engine<P>>::xmit", "transmit through a neighbour lookup (`egress::xmit`)"),
        ("Engine<P>>::route_out", "transmit through a route lookup (`egress::route_out`)"),
        ("lport::", "FULLNAT local-port allocation"),
        ("WorkerIo", "the worker's I/O: tx buffering per port, mbuf allocation (`WorkerIo`)"),
        ("rvs_rx_burst", "the C shim's rx burst call"),
        ("rvs_tx_burst", "the C shim's tx burst call"),
        ("redirect::", "the redirect rings between workers"),
        ("wire::", "header rewrite: addresses, ports, incremental checksums (`wire::` views)"),
        ("arc_swap", "loading the published snapshots (service and neighbour) once per poll"),
        ("__udivti3", "a 128-bit division per poll (TSC to connection-clock ticks)"),
        ("worker::run", "the poll loop itself (per-poll work weighs when polls carry few packets)"),
        ("rvs_rdtsc", "TSC reads, per poll"),
        ("librte_net_pcap", "the replay device (testpmd pays it too)"),
        ("librte_net_memif", "the memif link's copy (testpmd pays it too)"),
    ];
    KNOWN.iter().find(|(k, _)| sym.contains(k)).map(|(_, v)| *v)
}

/// Whether an explanation is a device cost testpmd pays as well.
pub fn is_device(what: &str) -> bool {
    what.contains("testpmd pays it too")
}

/// Group a profile's lines by explanation: (share %, what, symbols).
pub fn group(lines: &[String]) -> Vec<(f64, &'static str)> {
    let mut out: Vec<(f64, &'static str)> = Vec::new();
    for l in lines {
        let Some(pct) = l.split('%').next().and_then(|p| p.trim().parse::<f64>().ok()) else { continue };
        let Some(what) = symbol(l) else { continue };
        match out.iter_mut().find(|(_, w)| *w == what) {
            Some(e) => e.0 += pct,
            None => out.push((pct, what)),
        }
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_by_meaning() {
        let l = vec![
            "46.36% rvsd [.] rvs_dataplane::conn::table::ConnTable::lookup".to_string(),
            "7.77% librte_net_pcap.so.23.0 [.] 0x42c3".to_string(),
            "3.10% librte_net_pcap.so.23.0 [.] 0x42f5".to_string(),
            "0.37% [kernel.kallsyms] [k] clear_page_rep".to_string(),
        ];
        let g = super::group(&l);
        assert_eq!(g.len(), 2);
        assert!((g[0].0 - 46.36).abs() < 1e-9 && g[0].1.starts_with("connection lookup, one"));
        assert!(super::is_device(g[1].1));
        assert!((g[1].0 - 10.87).abs() < 1e-9);
    }

    /// The pipeline's symbols as `perf report` names them.
    #[test]
    fn pipeline_symbols() {
        let s = |x: &str| super::symbol(x).unwrap_or_else(|| panic!("{x}"));
        assert!(s("rvs_dataplane::engine::Engine<P>::handle_burst").contains("handle_burst"));
        assert!(s("rvs_dataplane::engine::Engine<P>::handle").contains("one packet at a time"));
        assert!(s("rvs_dataplane::egress::<impl rvs_dataplane::engine::Engine<P>>::hop").contains("next-hop"));
        assert!(s("rvs_dataplane::egress::<impl rvs_dataplane::engine::Engine<P>>::emit_hop").contains("transmit"));
        assert!(s("rvs_dataplane::conn::table::ConnTable::lookup_burst").contains("batched"));
        assert!(s("rvs_dataplane::conn::table::ConnTable::lookup").contains("one packet"));
        assert!(s("rvs_dataplane::pipeline::classify").contains("classify"));
        assert!(s("rvs_dataplane::pipeline::run").contains("dispatch"));
        assert!(s("rvs_dataplane::forward::established").contains("known connection"));
        assert!(s("rvs_dataplane::engine::Engine<P>::ipv4").contains("IPv4"));
        let tx = "<rvs_dataplane::worker::WorkerIo as rvs_dataplane::engine::Io<rvs_ffi::mbuf::Mbuf>>::tx";
        assert!(s(tx).contains("tx buffering"));
    }
}
