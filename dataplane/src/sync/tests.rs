//! Datagrams built byte by byte from the kernel's structure layout
//! (`struct ip_vs_sync_mesg`, `ip_vs_sync_v4/v6`, options,
//! `ip_vs_sync_mesg_v0`, `ip_vs_sync_conn_v0`), independently of the
//! encoder, then decoded and compared, and re-encoded byte for byte.

use super::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// A v1 header, then the records, each but the first preceded by zero
/// padding to a 4-byte boundary.
fn v1_msg(syncid: u8, records: &[Vec<u8>]) -> Vec<u8> {
    let mut m = vec![0u8, syncid, 0, 0, records.len() as u8, 1];
    m.extend(0u16.to_be_bytes());
    for (i, r) in records.iter().enumerate() {
        while i > 0 && m.len() % 4 != 0 {
            m.push(0);
        }
        m.extend(r);
    }
    let size = m.len() as u16;
    m[2..4].copy_from_slice(&size.to_be_bytes());
    m
}

/// A v1 record of `c`'s fields (type from caddr's family), then `opts`;
/// ver_size = version 0 | the record's length.
fn rec(c: &SyncConn, opts: &[u8]) -> Vec<u8> {
    let mut r = vec![u8::from(c.caddr.is_ipv6()), c.proto, 0, 0];
    r.extend(c.flags.to_be_bytes());
    r.extend(c.state.to_be_bytes());
    r.extend(c.cport.to_be_bytes());
    r.extend(c.vport.to_be_bytes());
    r.extend(c.dport.to_be_bytes());
    r.extend(c.fwmark.to_be_bytes());
    r.extend(c.timeout.to_be_bytes());
    for a in [c.caddr, c.vaddr, c.daddr] {
        r.extend(octets(a));
    }
    r.extend_from_slice(opts);
    let size = r.len() as u16;
    r[2..4].copy_from_slice(&size.to_be_bytes());
    r
}

fn opt(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut o = vec![kind, data.len() as u8];
    o.extend_from_slice(data);
    o
}

fn seq_bytes(s: &SeqAdjust) -> Vec<u8> {
    let mut d = Vec::new();
    for q in [s.in_seq, s.out_seq] {
        for v in [q.init_seq, q.delta, q.previous_delta] {
            d.extend(v.to_be_bytes());
        }
    }
    d
}

fn conn(flags: u32) -> SyncConn {
    SyncConn {
        proto: 6,
        flags,
        state: TCP_S_ESTABLISHED,
        cport: 40000,
        vport: 80,
        dport: 8080,
        fwmark: 0,
        timeout: 900,
        caddr: v4(198, 51, 100, 7),
        vaddr: v4(192, 0, 2, 1),
        daddr: v4(10, 0, 0, 11),
        seq: None,
        pe_name: None,
        pe_data: None,
        local: None,
    }
}

fn encode(conns: &[SyncConn], syncid: u8) -> Vec<u8> {
    let mut e = Encoder::new(65535);
    for c in conns {
        assert_eq!(e.push(c), Ok(true));
    }
    e.finish(syncid).to_vec()
}

/// Decodes `bytes` to exactly `conns` and encodes `conns` to exactly `bytes`.
fn both_ways(bytes: &[u8], syncid: u8, conns: &[SyncConn]) {
    let m = decode(bytes).expect("decodes");
    assert_eq!((m.version, m.syncid), (1, syncid));
    assert_eq!(m.conns, conns);
    assert!(m.skipped.is_empty());
    assert_eq!(encode(conns, syncid), bytes);
}

#[test]
fn v4_nat_dr_tun_records() {
    let nat = conn(CONN_F_MASQ);
    let mut dr = conn(CONN_F_DROUTE | CONN_F_INACTIVE);
    dr.state = TCP_S_SYN_RECV;
    let mut tun = conn(CONN_F_TUNNEL);
    tun.proto = 17;
    tun.state = UDP_S_NORMAL;
    let recs: Vec<_> = [&nat, &dr, &tun].iter().map(|c| rec(c, &[])).collect();
    assert_eq!(recs[0].len(), 36);
    let bytes = v1_msg(7, &recs);
    assert_eq!(&bytes[..8], &[0, 7, 0, 8 + 3 * 36, 3, 1, 0, 0]);
    assert_eq!(&bytes[8..12], &[0, 6, 0, 36]);
    assert_eq!(&bytes[12..16], &[0, 0, 0, 0]);
    assert_eq!(&bytes[16..18], &TCP_S_ESTABLISHED.to_be_bytes());
    both_ways(&bytes, 7, &[nat, dr, tun]);
}

#[test]
fn v6_record() {
    let mut c = conn(CONN_F_DROUTE);
    (c.caddr, c.vaddr, c.daddr) = (v6(7), v6(1), v6(11));
    let r = rec(&c, &[]);
    assert_eq!((r[0], r.len()), (STYPE_F_INET6, 72));
    both_ways(&v1_msg(0, &[r]), 0, &[c]);
}

#[test]
fn persistence_templates_and_ftp_data() {
    // Port template <TCP, caddr, 0, vaddr, vport, daddr, dport>.
    let mut port = conn(CONN_F_MASQ | CONN_F_TEMPLATE);
    (port.cport, port.state, port.timeout) = (0, CTPL_S_NONE, 360);
    // Fwmark template <IPPROTO_IP, caddr, 0, fwmark, 0, daddr, 0>.
    let mut mark = conn(CONN_F_DROUTE | CONN_F_TEMPLATE);
    (mark.proto, mark.cport, mark.vport, mark.dport) = (IPPROTO_IP, 0, 0, 0);
    (mark.fwmark, mark.vaddr, mark.state) = (5, v4(0, 0, 0, 5), CTPL_S_ASSURED);
    // FTP data connection: the client port is not known yet.
    let mut ftp = conn(CONN_F_MASQ | CONN_F_NO_CPORT);
    (ftp.cport, ftp.vport, ftp.dport) = (0, 20, 20);
    let recs: Vec<_> = [&port, &mark, &ftp].iter().map(|c| rec(c, &[])).collect();
    assert_eq!(&recs[0][4..8], &0x1000u32.to_be_bytes());
    assert_eq!(&recs[2][4..8], &0x0800u32.to_be_bytes());
    both_ways(&v1_msg(1, &recs), 1, &[port, mark, ftp]);
}

#[test]
fn seq_pe_and_fullnat_options_with_padding() {
    let mut a = conn(CONN_F_MASQ | CONN_F_IN_SEQ | CONN_F_OUT_SEQ);
    let s = |x: u32| Seq { init_seq: x, delta: x + 1, previous_delta: x + 2 };
    a.seq = Some(SeqAdjust { in_seq: s(0x0102_0304), out_seq: s(0xa0b0_c0d0) });
    let mut b = conn(CONN_F_MASQ);
    (b.proto, b.pe_data, b.pe_name) = (17, Some(b"call-1@x".to_vec()), Some(b"sip".to_vec()));
    let mut f = conn(CONN_F_MASQ);
    f.local = Some((v4(10, 0, 0, 254), 1025));
    let mut g = conn(CONN_F_MASQ);
    (g.caddr, g.vaddr, g.daddr) = (v6(7), v6(1), v6(11));
    g.local = Some((v6(0xfe), 61000));
    let ra = rec(&a, &opt(1, &seq_bytes(a.seq.as_ref().unwrap())));
    assert_eq!(ra.len(), 36 + 26);
    let mut pe = opt(2, b"call-1@x");
    pe.extend(opt(3, b"sip"));
    let rb = rec(&b, &pe);
    assert_eq!(rb.len(), 36 + 10 + 5); // 51: 1 byte of padding follows
    let mut lf = octets(v4(10, 0, 0, 254));
    lf.extend(1025u16.to_be_bytes());
    let rf = rec(&f, &opt(0x7f, &lf));
    let mut lg = octets(v6(0xfe));
    lg.extend(61000u16.to_be_bytes());
    let rg = rec(&g, &opt(0x7f, &lg));
    assert_eq!((rf.len(), rg.len()), (36 + 8, 72 + 20));
    let bytes = v1_msg(9, &[ra, rb, rf, rg]);
    // 62 bytes + 2 of padding, 51 + 1, 44, 92 (the last one unpadded).
    assert_eq!((&bytes[70..72], bytes[123]), (&[0u8, 0][..], 0), "padding");
    assert_eq!(&bytes[72..76], &[0, 17, 0, 51]);
    assert_eq!(bytes.len(), 8 + 64 + 52 + 44 + 92);
    both_ways(&bytes, 9, &[a, b, f, g]);
}

#[test]
fn options_as_a_kernel_backup_reads_them() {
    let c = conn(CONN_F_MASQ);
    let mut want_seq = c.clone();
    want_seq.seq = Some(SeqAdjust::default());
    let mut o = opt(0x41, &[0; 24]); // SEQ_DATA with the param bit: still seq
    o.extend(opt(0x45, &[9, 9, 9])); // unknown optional: skipped
    let ok = rec(&c, &o);
    let mandatory = rec(&c, &opt(5, &[1])); // unknown mandatory: record dropped
    let pe_only = rec(&c, &opt(2, b"x")); // PE data without a name: dropped
    let name_only = rec(&c, &opt(3, b"sip")); // a lone name is harmless
    let m = decode(&v1_msg(0, &[ok, mandatory, pe_only, name_only])).unwrap();
    let mut want_name = c.clone();
    want_name.pe_name = Some(b"sip".to_vec());
    assert_eq!(m.conns, [want_seq, want_name]);
    let skip = |index, why| Skipped { index, why };
    assert_eq!(m.skipped, [skip(1, SkipReason::UnknownMandatoryOption(5)), skip(2, SkipReason::PeDataWithoutName)]);
}

#[test]
fn v0_messages() {
    let v0_rec = |c: &SyncConn, seq: Option<&SeqAdjust>| {
        let mut r = vec![0u8, c.proto];
        for p in [c.cport, c.vport, c.dport] {
            r.extend(p.to_be_bytes());
        }
        for a in [c.caddr, c.vaddr, c.daddr] {
            r.extend(octets(a));
        }
        r.extend((c.flags as u16).to_be_bytes());
        r.extend(c.state.to_be_bytes());
        if let Some(s) = seq {
            // Host order of the (x86) sender: little-endian.
            for q in [s.in_seq, s.out_seq] {
                for v in [q.init_seq, q.delta, q.previous_delta] {
                    r.extend(v.to_le_bytes());
                }
            }
        }
        r
    };
    let mut a = conn(CONN_F_DROUTE);
    a.timeout = 0;
    let mut b = conn(CONN_F_MASQ | CONN_F_OUT_SEQ);
    b.timeout = 0;
    let s = SeqAdjust { out_seq: Seq { init_seq: 1000, delta: 4, previous_delta: 0 }, ..Default::default() };
    b.seq = Some(s);
    let (ra, rb) = (v0_rec(&a, None), v0_rec(&b, Some(&s)));
    assert_eq!((ra.len(), rb.len()), (24, 48));
    let mut m = vec![2u8, 3, 0, 0];
    m.extend(ra);
    m.extend(rb);
    let size = m.len() as u16;
    m[2..4].copy_from_slice(&size.to_be_bytes());
    let got = decode(&m).unwrap();
    assert_eq!((got.version, got.syncid), (0, 3));
    assert_eq!(got.conns, [a, b]);
    // The options a SEQ flag promises must be there.
    let short = &m[..m.len() - 1];
    let mut short = short.to_vec();
    short[2..4].copy_from_slice(&(size - 1).to_be_bytes());
    assert_eq!(decode(&short), Err(SyncError::BadRecord { index: 1, why: RecordError::OptionTruncated }));
}

/// A one-record v1 message with `opts`, then `edit` applied.
fn bad(opts: &[u8], v6rec: bool, edit: impl FnOnce(&mut Vec<u8>)) -> Result<Message, SyncError> {
    let mut c = conn(CONN_F_MASQ);
    if v6rec {
        (c.caddr, c.vaddr, c.daddr) = (v6(7), v6(1), v6(11));
    }
    let mut m = v1_msg(0, &[rec(&c, opts)]);
    edit(&mut m);
    decode(&m)
}

fn set16(m: &mut [u8], at: usize, v: u16) {
    m[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

#[test]
fn malformed_datagrams_are_refused() {
    let rec_err = |why| Err(SyncError::BadRecord { index: 0, why });
    assert_eq!(decode(&[]), Err(SyncError::Truncated));
    assert_eq!(decode(&[0, 0, 0]), Err(SyncError::Truncated));
    assert_eq!(decode(&[0, 0, 0, 4]), Err(SyncError::Truncated));
    // size field vs datagram length, both ways.
    assert_eq!(bad(&[], false, |m| set16(m, 2, 45)), Err(SyncError::BadSize { declared: 45, actual: 44 }));
    assert_eq!(bad(&[], false, |m| m.push(0)), Err(SyncError::BadSize { declared: 44, actual: 45 }));
    assert_eq!(bad(&[], false, |m| m[5] = 2), Err(SyncError::BadVersion(2)));
    assert_eq!(bad(&[], false, |m| m[7] = 1), Err(SyncError::BadSpare(1)));
    // nr_conns too large / too small for the records present.
    assert_eq!(bad(&[], false, |m| m[4] = 2), Err(SyncError::BadRecord { index: 1, why: RecordError::Truncated }));
    assert_eq!(bad(&[], false, |m| m[4] = 0), Err(SyncError::TrailingBytes(36)));
    // Record size past the datagram, below its fixed part, bad version/type.
    assert_eq!(bad(&[], false, |m| set16(m, 10, 37)), rec_err(RecordError::Overrun { size: 37 }));
    assert_eq!(bad(&[], false, |m| set16(m, 10, 35)), rec_err(RecordError::BadSize { size: 35 }));
    // Found by the property test: a zero-length record has no type byte.
    assert_eq!(bad(&[], false, |m| set16(m, 10, 0)), rec_err(RecordError::BadSize { size: 0 }));
    assert_eq!(bad(&[], true, |m| set16(m, 10, 71)), rec_err(RecordError::BadSize { size: 71 }));
    assert_eq!(bad(&[], false, |m| set16(m, 10, 0x1000 | 36)), rec_err(RecordError::BadVersion(1)));
    assert_eq!(bad(&[], false, |m| m[8] = 2), rec_err(RecordError::BadType(2)));
    // A v4 record claiming IPv6 runs out of bytes for its addresses.
    assert_eq!(bad(&[], false, |m| m[8] = 1), rec_err(RecordError::BadSize { size: 36 }));
}

#[test]
fn malformed_options_are_refused() {
    let rec_err = |why| Err(SyncError::BadRecord { index: 0, why });
    assert_eq!(bad(&[3], false, |_| ()), rec_err(RecordError::OptionTruncated));
    assert_eq!(bad(&[3, 4, b's'], false, |_| ()), rec_err(RecordError::OptionTruncated));
    assert_eq!(bad(&[2, 0], false, |_| ()), rec_err(RecordError::EmptyOption(2)));
    assert_eq!(bad(&opt(1, &[0; 23]), false, |_| ()), rec_err(RecordError::BadOptionLen { opt: 1, len: 23 }));
    assert_eq!(bad(&opt(3, &[b'a'; 17]), false, |_| ()), rec_err(RecordError::BadOptionLen { opt: 3, len: 17 }));
    let mut twice = opt(3, b"sip");
    twice.extend(opt(0x43, b"sip"));
    assert_eq!(bad(&twice, false, |_| ()), rec_err(RecordError::DuplicateOption(0x43)));
    // The FULLNAT option's length follows the record's family.
    assert_eq!(bad(&opt(0x7f, &[0; 18]), false, |_| ()), rec_err(RecordError::BadOptionLen { opt: 0x7f, len: 18 }));
    assert_eq!(bad(&opt(0x7f, &[0; 6]), true, |_| ()), rec_err(RecordError::BadOptionLen { opt: 0x7f, len: 6 }));
    assert_eq!(bad(&opt(0x7f, &[0; 5]), false, |_| ()), rec_err(RecordError::BadOptionLen { opt: 0x7f, len: 5 }));
}

#[test]
fn encoder_limits_and_validation() {
    let c = conn(CONN_F_MASQ | CONN_F_HASHED);
    let mut e = Encoder::new(MESG_HDR_LEN + 2 * 36);
    assert_eq!(e.push(&c), Ok(true));
    assert_eq!(e.push(&c), Ok(true));
    assert_eq!(e.push(&c), Ok(false), "full by bytes");
    let bytes = e.finish(4).to_vec();
    assert_eq!(bytes.len(), 80);
    // The master clears HASHED, as the kernel does.
    assert_eq!(decode(&bytes).unwrap().conns, [conn(CONN_F_MASQ), conn(CONN_F_MASQ)]);
    e.clear();
    assert!(e.is_empty());
    assert_eq!(e.push(&c), Ok(true));
    assert_eq!(e.finish(4).len(), 44);

    let mut big = Encoder::new(65535);
    for _ in 0..255 {
        assert_eq!(big.push(&c), Ok(true));
    }
    assert_eq!(big.push(&c), Ok(false), "nr_conns is one byte");
    assert_eq!(decode(big.finish(0)).unwrap().conns.len(), 255);

    assert_eq!(Encoder::new(40).push(&c), Err(RecordError::TooLarge));
    let mut mixed = conn(0);
    mixed.daddr = v6(1);
    assert_eq!(Encoder::new(1500).push(&mixed), Err(RecordError::MixedFamily));
    let mut lip = conn(0);
    lip.local = Some((v6(1), 1));
    assert_eq!(Encoder::new(1500).push(&lip), Err(RecordError::MixedFamily));
    for (data, name) in [(Some(vec![1]), None), (Some(vec![]), Some(vec![1])), (None, Some(vec![b'a'; 17]))] {
        let mut p = conn(0);
        (p.pe_data, p.pe_name) = (data, name);
        assert_eq!(Encoder::new(1500).push(&p), Err(RecordError::BadPe));
    }
}

#[test]
fn message_length_rule() {
    assert_eq!(max_len_for(1500, false, None), DEFAULT_MAX_LEN_V4);
    assert_eq!(max_len_for(1500, true, None), DEFAULT_MAX_LEN_V6);
    assert_eq!((DEFAULT_MAX_LEN_V4, DEFAULT_MAX_LEN_V6), (1472, 1452));
    assert_eq!(max_len_for(9000, false, None), 8972);
    assert_eq!(max_len_for(1500, false, Some(65535)), 65507);
    assert_eq!(max_len_for(1500, false, Some(1000)), 1000);
    assert_eq!(MCAST_GROUP.octets(), [224, 0, 0, 81]);
    assert_eq!((PORT, SYNC_PROTO_VER), (8848, 1));
    assert_eq!(CONN_F_BACKUP_MASK, 0x1f87);
    let c = conn(CONN_F_DROUTE | CONN_F_HASHED | CONN_F_ONE_PACKET | CONN_F_NFCT | CONN_F_INACTIVE);
    assert_eq!(c.backup_flags(), CONN_F_DROUTE | CONN_F_INACTIVE | CONN_F_SYNC);
    assert_eq!(RVS_OPT_FULLNAT_LOCAL & IPVS_OPT_F_PARAM, IPVS_OPT_F_PARAM);
}
