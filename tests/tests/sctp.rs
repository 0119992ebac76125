//! SCTP services through rvsd (the lab kernel has no SCTP sockets): rvsd
//! on a `net_pcap` port replays crafted SCTP frames — an association's
//! handshake and data through a NAT service with a port map and through
//! a FULLNAT service, a packet with a wrong CRC32c, one that starts no
//! association — and the frames it sent are checked: addresses and
//! ports rewritten, the CRC32c right (computed here), the named drops
//! counted and the mempool back at its baseline.
//!
//! Needs root and the binaries in target/release (`./scripts/test.sh`).

#![forbid(unsafe_code)]

use etherparse::{IpNumber, PacketBuilder};
use rvs_tests::{pcap, rvsd};

/// net_pcap's first port's MAC (`02:70:63:61:70:<index>`, "pcap").
const OUR_MAC: [u8; 6] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];
const CLI_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const RS_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x10];
const DIR: [u8; 4] = [10, 0, 0, 1];
const CLI: [u8; 4] = [10, 0, 0, 2];
const RS: [u8; 4] = [10, 0, 0, 10];
/// NAT service (Diameter) mapped to the real server's 3869; FULLNAT
/// service (M3UA) to 2906.
const NAT_PORT: u16 = 3868;
const FNAT_PORT: u16 = 2905;

// SCTP chunk types (RFC 9260 3.2).
const DATA: u8 = 0;
const INIT: u8 = 1;
const INIT_ACK: u8 = 2;
const COOKIE_ECHO: u8 = 10;
const COOKIE_ACK: u8 = 11;

fn arp_request(mac: [u8; 6], ip: [u8; 4]) -> Vec<u8> {
    let mut a = vec![0u8; 60];
    a[0..6].copy_from_slice(&[0xff; 6]);
    a[6..12].copy_from_slice(&mac);
    a[12..14].copy_from_slice(&[0x08, 0x06]);
    a[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    a[22..28].copy_from_slice(&mac);
    a[28..32].copy_from_slice(&ip);
    a[38..42].copy_from_slice(&DIR);
    a
}

/// The CRC32c of an SCTP packet, its checksum field counted as zeros, as
/// the field holds it (least significant byte first).
fn crc(p: &[u8]) -> [u8; 4] {
    let mut z = p.to_vec();
    z[8..12].fill(0);
    crc32c::crc32c(&z).to_le_bytes()
}

/// A frame with one SCTP chunk (`value` padded to 4 bytes), CRC right.
fn sctp(src: ([u8; 6], [u8; 4], u16), dst: ([u8; 4], u16), ty: u8, value: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&src.2.to_be_bytes());
    p.extend_from_slice(&dst.1.to_be_bytes());
    p.extend_from_slice(&[0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, ty, 0]);
    p.extend_from_slice(&(4 + value.len() as u16).to_be_bytes());
    p.extend_from_slice(value);
    p.resize(p.len().next_multiple_of(4), 0);
    let c = crc(&p);
    p[8..12].copy_from_slice(&c);
    let mut f = Vec::new();
    PacketBuilder::ethernet2(src.0, OUR_MAC).ipv4(src.1, dst.0, 64).write(&mut f, IpNumber(132), &p).unwrap();
    f
}

const INIT_VALUE: [u8; 16] = [0, 0, 0, 7, 0, 1, 0, 0, 0, 10, 0, 10, 0, 0, 0, 1];

/// (src ip, sport, dst ip, dport, first chunk type) of a sent SCTP frame.
type Sent = ([u8; 4], u16, [u8; 4], u16, u8);

/// The [`Sent`] of an SCTP frame whose CRC32c is right (a wrong one
/// fails the test); `None` for anything else.
fn sctp_of(f: &[u8]) -> Option<Sent> {
    let p = etherparse::SlicedPacket::from_ethernet(f).ok()?;
    let Some(etherparse::NetSlice::Ipv4(ip)) = &p.net else { return None };
    if ip.payload().ip_number != IpNumber(132) {
        return None;
    }
    let s = ip.payload().payload;
    assert!(s.len() >= 16 && s[8..12] == crc(s), "an SCTP frame sent with a wrong CRC32c: {s:02x?}");
    let h = ip.header();
    let port = |i: usize| u16::from_be_bytes([s[i], s[i + 1]]);
    Some((h.source(), port(0), h.destination(), port(2), s[12]))
}

#[test]
fn sctp_associations_cross_nat_and_fullnat_with_right_crcs() {
    rvs_tests::require_root();
    let dir = std::env::temp_dir().join(format!("rvs-sctp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = |port| (CLI_MAC, CLI, port);
    let mut frames = vec![arp_request(CLI_MAC, CLI), arp_request(RS_MAC, RS)];
    // NAT: the handshake and a DATA chunk, both directions.
    frames.push(sctp(c(40000), (DIR, NAT_PORT), INIT, &INIT_VALUE));
    frames.push(sctp((RS_MAC, RS, NAT_PORT + 1), (CLI, 40000), INIT_ACK, &INIT_VALUE));
    frames.push(sctp(c(40000), (DIR, NAT_PORT), COOKIE_ECHO, b"cookie"));
    frames.push(sctp((RS_MAC, RS, NAT_PORT + 1), (CLI, 40000), COOKIE_ACK, b""));
    frames.push(sctp(c(40000), (DIR, NAT_PORT), DATA, b"\0\0\0\x01\0\x01\0\0\0\0\0\x2ediameter"));
    // A corrupted DATA chunk of the same association: not laundered.
    let mut bad = sctp(c(40000), (DIR, NAT_PORT), DATA, b"\0\0\0\x02\0\x01\0\0\0\0\0\x2ediameter");
    *bad.last_mut().unwrap() ^= 0x20;
    frames.push(bad);
    // No association, not an INIT.
    frames.push(sctp(c(40001), (DIR, NAT_PORT), COOKIE_ECHO, b"cookie"));
    // FULLNAT: an INIT out with the local address and port.
    frames.push(sctp(c(40002), (DIR, FNAT_PORT), INIT, &INIT_VALUE));
    let rx = dir.join("rx.pcap");
    let tx = dir.join("tx.pcap");
    pcap::write(&rx, &frames).unwrap();
    let cfg = dir.join("rvsd.yaml");
    std::fs::write(
        &cfg,
        format!(
            "dpdk: {{ memory_mb: 256, mbufs: 4095, file_prefix: rvs-sctp-{pid} }}\n\
             control: {{ socket: {sock} }}\n\
             interfaces:\n\
             \x20 - {{ name: p0, device: 'net_pcap0,rx_pcap={rx},tx_pcap={tx}', addresses: [10.0.0.1/24] }}\n\
             services:\n\
             \x20 - {{ vip: 10.0.0.1, port: {NAT_PORT}, proto: sctp, scheduler: rr, dests: [ {{ addr: 10.0.0.10, port: {np}, fwd: nat }} ] }}\n\
             \x20 - {{ vip: 10.0.0.1, port: {FNAT_PORT}, proto: sctp, scheduler: rr, laddrs: [10.0.0.1], dests: [ {{ addr: 10.0.0.10, port: {fp}, fwd: fullnat }} ] }}\n",
            pid = std::process::id(),
            rx = rx.display(),
            tx = tx.display(),
            sock = dir.join("rvsd.sock").display(),
            np = NAT_PORT + 1,
            fp = FNAT_PORT + 1,
        ),
    )
    .unwrap();
    let d = rvsd::Rvsd::start(&cfg, &dir.join("rvsd.log"));
    let t = std::time::Instant::now();
    let sctp_sent = || pcap::read(&tx).map(|s| s.iter().filter(|f| sctp_of(f).is_some()).count()).unwrap_or(0);
    while sctp_sent() < 6 && t.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (code, out) = d.stop();
    assert_eq!(code, 0, "{out}");
    let counters = rvsd::final_counters(&out);
    assert_eq!(counters.drop("sctp_bad_crc"), 1, "{:?}", counters.drops());
    assert_eq!(counters.drop("sctp_no_init"), 1, "{:?}", counters.drops());
    assert_eq!(counters.total_drops(), 2, "unexpected drops {:?}:\n{out}", counters.drops());
    assert!(counters.mempool_at_baseline(), "mbuf leak:\n{out}");

    let sent: Vec<_> = pcap::read(&tx).unwrap().iter().filter_map(|f| sctp_of(f)).collect();
    let np = NAT_PORT + 1;
    let want = [
        (CLI, 40000, RS, np, INIT),
        (DIR, NAT_PORT, CLI, 40000, INIT_ACK),
        (CLI, 40000, RS, np, COOKIE_ECHO),
        (DIR, NAT_PORT, CLI, 40000, COOKIE_ACK),
        (CLI, 40000, RS, np, DATA),
    ];
    assert_eq!(&sent[..5], &want, "NAT: DNAT to RS:{np}, SNAT back to the VIP");
    let (s, lport, d, dp, ty) = sent[5];
    assert_eq!((s, d, dp, ty), (DIR, RS, FNAT_PORT + 1, INIT), "FULLNAT from the LIP");
    assert_ne!(lport, 40002, "a local port of the director's");
    assert_eq!(sent.len(), 6, "{sent:?}");
    std::fs::remove_dir_all(&dir).ok();
}
