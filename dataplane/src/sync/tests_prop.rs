//! Properties: what the encoder writes decodes to what was pushed, however
//! the records split into datagrams; no input makes the decoder panic.

use super::*;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn addr(v6: bool) -> BoxedStrategy<IpAddr> {
    if v6 {
        any::<[u8; 16]>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))).boxed()
    } else {
        any::<[u8; 4]>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))).boxed()
    }
}

fn seq() -> impl Strategy<Value = Seq> {
    any::<(u32, u32, u32)>().prop_map(|(init_seq, delta, previous_delta)| Seq { init_seq, delta, previous_delta })
}

prop_compose! {
    fn fields()(proto in any::<u8>(), flags in any::<u32>(), state in any::<u16>(),
                ports in any::<(u16, u16, u16)>(), fwmark in any::<u32>(), timeout in any::<u32>())
        -> (u8, u32, u16, (u16, u16, u16), u32, u32) {
        (proto, flags & !CONN_F_HASHED, state, ports, fwmark, timeout)
    }
}

prop_compose! {
    fn pe()(data in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..=255)),
            name in proptest::collection::vec(any::<u8>(), 1..=16), lone_name in any::<bool>())
        -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let name = (data.is_some() || lone_name).then_some(name);
        (data, name)
    }
}

fn sync_conn() -> impl Strategy<Value = SyncConn> {
    any::<bool>().prop_flat_map(|v6| {
        (
            fields(),
            (addr(v6), addr(v6), addr(v6)),
            proptest::option::of((seq(), seq())),
            pe(),
            proptest::option::of((addr(v6), any::<u16>())),
        )
            .prop_map(
                |(
                    (proto, flags, state, (cport, vport, dport), fwmark, timeout),
                    (caddr, vaddr, daddr),
                    s,
                    (pe_data, pe_name),
                    local,
                )| SyncConn {
                    proto,
                    flags,
                    state,
                    cport,
                    vport,
                    dport,
                    fwmark,
                    timeout,
                    caddr,
                    vaddr,
                    daddr,
                    seq: s.map(|(in_seq, out_seq)| SeqAdjust { in_seq, out_seq }),
                    pe_name,
                    pe_data,
                    local,
                },
            )
    })
}

/// Pushes all of `conns`, flushing whenever the encoder is full, and
/// returns the datagrams.
fn encode_all(conns: &[SyncConn], max_len: usize, syncid: u8) -> Vec<Vec<u8>> {
    let mut e = Encoder::new(max_len);
    let mut out = Vec::new();
    for c in conns {
        if !e.push(c).expect("valid conn") {
            out.push(e.finish(syncid).to_vec());
            e.clear();
            assert_eq!(e.push(c), Ok(true), "fits an empty message");
        }
    }
    if !e.is_empty() {
        out.push(e.finish(syncid).to_vec());
    }
    out
}

proptest! {
    #[test]
    fn round_trip(conns in proptest::collection::vec(sync_conn(), 0..40),
                  max_len in 500usize..3000, syncid in any::<u8>()) {
        let mut back = Vec::new();
        for d in encode_all(&conns, max_len, syncid) {
            prop_assert!(d.len() <= max_len);
            let m = decode(&d).expect("own datagram decodes");
            prop_assert_eq!((m.version, m.syncid), (SYNC_PROTO_VER, syncid));
            prop_assert!(m.skipped.is_empty());
            back.extend(m.conns);
        }
        prop_assert_eq!(back, conns);
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode(&bytes);
    }

    /// Arbitrary bytes rarely pass the size check; corrupt valid datagrams
    /// (size kept right) to reach the record and option parsers.
    #[test]
    fn never_panics_on_corrupted_datagrams(conns in proptest::collection::vec(sync_conn(), 1..6),
                                           edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
                                           cut in any::<usize>(), v0 in any::<bool>()) {
        let mut d = encode_all(&conns, 65535, 1).remove(0);
        if v0 {
            d[0] = d[4].max(1);
        }
        for (at, b) in edits {
            let i = 4 + at % (d.len() - 4);
            d[i] = b;
        }
        d.truncate(4 + cut % (d.len() - 3));
        let size = d.len() as u16;
        d[2..4].copy_from_slice(&size.to_be_bytes());
        let _ = decode(&d);
    }
}
