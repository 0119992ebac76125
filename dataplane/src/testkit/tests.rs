//! The harness checks itself (each invariant can fail), the lab forwards
//! in every mode, and the committed fuzz corpora replay clean.

use super::fuzz::{self, Mode};
use super::*;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use std::path::PathBuf;

/// (dst ip, dst port) of a TCP/UDP frame.
fn dst_of(f: &[u8]) -> ([u8; 4], u16) {
    let p = SlicedPacket::from_ethernet(f).unwrap();
    let Some(NetSlice::Ipv4(ip)) = &p.net else { panic!("not ipv4") };
    let port = match p.transport {
        Some(TransportSlice::Tcp(t)) => t.destination_port(),
        Some(TransportSlice::Udp(u)) => u.destination_port(),
        _ => 0,
    };
    (ip.header().destination(), port)
}

#[test]
fn every_mode_forwards_its_handshake_on_one_and_two_workers() {
    for workers in [1, 2] {
        for mode in Mode::ALL {
            for tcp in [true, false] {
                let mut h = Harness::new(workers);
                let fl = fuzz::open(&mut h, mode, tcp, 0, 40001, 2, 0);
                let (port, f) = fl.packet(false, 0x18, &[], b"GET /");
                let step = h.send_on(0, port, f).unwrap();
                let what = format!("{mode:?} tcp={tcp} workers={workers}: {step:?}");
                assert_eq!(step.sent.len(), 1, "{what}");
                let s = &step.sent[0];
                assert_eq!(s.port_id, SERVER, "{what}");
                assert!([RS1_MAC, RS2_MAC].contains(&s.frame.bytes[..6].try_into().unwrap()), "{what}");
                match mode {
                    Mode::Nat | Mode::FullNat => {
                        assert_eq!(dst_of(&s.frame.bytes).1, if tcp { RS_TCP_PORT } else { RS_UDP_PORT }, "{what}")
                    }
                    Mode::Dr => assert_eq!(dst_of(&s.frame.bytes).0, VIP_DR, "{what}"),
                    Mode::Tun => assert!([4, 47, 17].contains(&s.frame.bytes[23]), "{what}"),
                    Mode::Persist => assert!([RS1, RS2].contains(&dst_of(&s.frame.bytes).0), "{what}"),
                }
                if mode.two_way() {
                    let (port, f) = fl.packet(true, 0x18, &[], b"200 OK");
                    let step = h.send_on(1, port, f).unwrap();
                    assert_eq!(step.sent.len(), 1, "reply of {what}");
                    assert_eq!(step.sent[0].port_id, CLIENT);
                    assert_eq!(dst_of(&step.sent[0].frame.bytes), (fl.cip, fl.cport));
                }
            }
        }
    }
}

#[test]
fn redirects_reach_the_owner_and_arp_waits_are_counted() {
    let mut h = Harness::new(2);
    let mut redirected = 0;
    for p in 0..16u16 {
        let (port, f) = fuzz::open(&mut h, Mode::Nat, true, 0, 2000 + p, 0, 0).packet(false, 0x18, &[], b"x");
        let step = h.send_on(0, port, f).unwrap();
        redirected += step.redirects;
        assert_eq!(step.sent.len(), 1, "{step:?}");
    }
    assert!(redirected > 0, "some flows are owned by worker 1");
    // A client the director has never seen: the reply waits for ARP,
    // and a probe goes out.
    let fl = fuzz::open(&mut h, Mode::Nat, true, 1, 3000, 0, 0);
    let (port, f) = fl.packet(true, 0x12, &[], b"");
    let step = h.send_on(1, port, f).unwrap();
    assert!(step.sent.iter().any(|s| s.frame.bytes[12..14] == [8, 6]), "ARP probe: {step:?}");
    assert_eq!(h.engines[0].neigh.as_ref().unwrap().pending_len(), 1);
    // Unanswered: after the probes it is dropped with a counter.
    let step = h.advance(10 * HZ).unwrap();
    assert!(step.drops.contains(&("neigh_failed", 1)), "{step:?}");
}

#[test]
fn accounting_catches_a_frame_that_vanishes() {
    let mut h = Harness::new(1);
    h.io.built += 1; // a frame the director built and never sent or counted
    let err = h.send(CLIENT, vec![0; 10]).unwrap_err();
    assert!(err.starts_with("accounting"), "{err}");
}

#[test]
fn transmitted_frames_are_checked() {
    let h = Harness::new(1);
    let good = fuzz::udp_frame(RS1_MAC, fuzz::Ends { src: DIP, sport: 1, dst: RS1, dport: 2 }, b"x");
    let mut f = good.clone();
    f[6..12].copy_from_slice(&SERVER_MAC);
    let sent = |bytes: Vec<u8>, l4_ok| Sent {
        port_id: SERVER,
        frame: Frame { bytes, origin: Origin::Input { seq: 1, l4_ok } },
    };
    assert_eq!(check::sent_frame(&h.snap, &sent(f.clone(), true)), Ok(()));
    assert!(check::sent_frame(&h.snap, &sent(good, true)).unwrap_err().contains("source MAC"));
    let mut bad_ip = f.clone();
    bad_ip[24] ^= 1;
    assert!(check::sent_frame(&h.snap, &sent(bad_ip, true)).unwrap_err().contains("checksum"));
    let mut bad_l4 = f.clone();
    bad_l4[40] ^= 1;
    assert!(check::sent_frame(&h.snap, &sent(bad_l4.clone(), true)).unwrap_err().contains("L4 checksum"));
    assert_eq!(check::sent_frame(&h.snap, &sent(bad_l4, false)), Ok(()), "bad in, bad out is not asserted");
    let mut padded = f.clone();
    padded.push(0);
    assert!(check::sent_frame(&h.snap, &sent(padded, true)).unwrap_err().contains("total length"));
    let mut ttl0 = f;
    ttl0[22] = 0;
    fuzz::fix_ip_csum(&mut ttl0);
    assert!(check::sent_frame(&h.snap, &sent(ttl0, true)).unwrap_err().contains("TTL"));
    assert!(!check::l4_valid_frame(&[0; 60]));
}

#[test]
fn seeds_run_clean() {
    for (name, s) in fuzz::frames_seeds() {
        eprintln!("frames {name}");
        fuzz::frames(&s);
    }
    for (name, s) in fuzz::flows_seeds() {
        eprintln!("flows {name}");
        fuzz::flows(&s);
    }
}

fn fuzz_dir(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz").join(rel)
}

/// Every file of a corpus directory, which must exist and not be empty.
fn corpus(rel: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir(rel);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    v.sort();
    assert!(!v.is_empty(), "{} is empty", dir.display());
    v
}

fn replay(rel: &str, f: fn(&[u8])) -> usize {
    let files = corpus(rel);
    for (p, b) in &files {
        if let Err(e) = std::panic::catch_unwind(|| f(b)) {
            eprintln!("failing input: {}", p.display());
            std::panic::resume_unwind(e);
        }
    }
    files.len()
}

#[test]
fn corpus_frames_replays_clean() {
    assert!(replay("corpus/frames", fuzz::frames) > 0);
}

#[test]
fn corpus_flows_replays_clean() {
    assert!(replay("corpus/flows", fuzz::flows) > 0);
}

/// Inputs the fuzzers found failing in the packet path before issue 11's
/// fixes, minimised and named for what they broke (see
/// `fuzz/regressions/README.md`); all pass since those fixes. Kept apart
/// from the corpus, which `cmin` may rewrite.
#[test]
fn regressions_replay_clean() {
    assert!(replay("regressions/frames", fuzz::frames) >= 3);
    assert!(replay("regressions/flows", fuzz::flows) >= 5);
}

/// Write the seed inputs into `fuzz/corpus/` (by hand: `cargo test -p
/// rvs-dataplane --lib write_seeds -- --ignored`; seeds are ordinary
/// corpus files once written).
#[test]
#[ignore = "writes files: run by hand to (re)create the seeds"]
fn write_seeds() {
    for (target, seeds) in [("frames", fuzz::frames_seeds()), ("flows", fuzz::flows_seeds())] {
        let dir = fuzz_dir(&format!("corpus/{target}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, s) in seeds {
            std::fs::write(dir.join(name), s).unwrap();
        }
    }
}

/// The harness checks IPv6 like IPv4: IPv6 NAT SYNs leave on the server
/// port with valid checksums on one and two workers, and a flow to a real
/// server not yet known waits for ND (its solicitation is a checked frame)
/// with the accounting intact.
#[test]
fn ipv6_handshake_and_nd_wait_are_checked() {
    use etherparse::PacketBuilder;
    for workers in [1, 2] {
        let mut h = Harness::new(workers);
        for cport in [40000u16, 40001] {
            let mut syn = Vec::new();
            PacketBuilder::ethernet2(CIP_MAC, CLIENT_MAC)
                .ipv6(CIP6.to_be_bytes(), VIP6_NAT.to_be_bytes(), 64)
                .tcp(cport, 80, 1, 1000)
                .syn()
                .write(&mut syn, b"")
                .unwrap();
            let step = h.send_on(0, CLIENT, syn).unwrap();
            // Each SYN leaves on the server port: forwarded to RS1 (known)
            // or, for RS2 (unknown), as its Neighbour Solicitation while the
            // SYN waits (which of the two depends on the worker's rr start).
            assert_eq!(step.sent.len(), 1, "{step:?}");
            assert!(check::l4_valid_ip6(&step.sent[0].frame.bytes), "{step:?}");
            assert_eq!(step.sent[0].port_id, SERVER);
        }
    }
}

/// NAT64 through the harness: an IPv6 SYN to the NAT64 VIP leaves the
/// server port as IPv4 with valid checksums (the harness knows both IPv4
/// servers), on one and two workers, accounting intact.
#[test]
fn nat64_handshake_is_checked() {
    use etherparse::PacketBuilder;
    for workers in [1, 2] {
        let mut h = Harness::new(workers);
        for cport in [40000u16, 40001] {
            let mut syn = Vec::new();
            PacketBuilder::ethernet2(CIP_MAC, CLIENT_MAC)
                .ipv6(CIP6.to_be_bytes(), VIP6_NAT64.to_be_bytes(), 64)
                .tcp(cport, 80, 1, 1000)
                .syn()
                .write(&mut syn, b"")
                .unwrap();
            let step = h.send_on(0, CLIENT, syn).unwrap();
            assert_eq!(step.sent.len(), 1, "{step:?}");
            let f = &step.sent[0].frame.bytes;
            assert_eq!(step.sent[0].port_id, SERVER);
            assert!(f[12..14] == [0x08, 0x00] && check::l4_valid_frame(f), "an IPv4 SYN: {step:?}");
        }
    }
}
