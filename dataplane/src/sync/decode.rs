//! Datagram → [`Message`]: version 0 and version 1, checked the way a
//! kernel backup checks them (`ip_vs_process_message`,
//! `ip_vs_proc_sync_conn`, `ip_vs_process_message_v0`).
//!
//! Every read goes through a length check first, so no input panics.

use super::consts::*;
use super::{Message, RecordError, Seq, SeqAdjust, SkipReason, Skipped, SyncConn, SyncError};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Decodes one sync datagram (the UDP payload).
pub fn decode(buf: &[u8]) -> Result<Message, SyncError> {
    if buf.len() < MESG_V0_HDR_LEN {
        return Err(SyncError::Truncated);
    }
    let declared = be16(buf, 2);
    if usize::from(declared) != buf.len() {
        return Err(SyncError::BadSize { declared, actual: buf.len() });
    }
    if buf[0] != 0 {
        return decode_v0(buf);
    }
    if buf.len() < MESG_HDR_LEN {
        return Err(SyncError::Truncated);
    }
    if buf[5] != SYNC_PROTO_VER {
        return Err(SyncError::BadVersion(buf[5]));
    }
    let spare = be16(buf, 6);
    if spare != 0 {
        return Err(SyncError::BadSpare(spare));
    }
    decode_v1(buf)
}

fn decode_v1(buf: &[u8]) -> Result<Message, SyncError> {
    let nr = buf[4];
    let mut msg = empty(SYNC_PROTO_VER, buf[1], nr);
    let mut p = MESG_HDR_LEN;
    let mut end = p;
    for index in 0..nr {
        let bad = |why| SyncError::BadRecord { index, why };
        if p + CONN_V4_LEN > buf.len() {
            return Err(bad(RecordError::Truncated));
        }
        let ver_size = be16(buf, p + 2);
        let size = ver_size & SVER_MASK;
        // A record shorter than the smallest fixed part would leave
        // nothing to read its type from; refuse it before slicing.
        if usize::from(size) < CONN_V4_LEN {
            return Err(bad(RecordError::BadSize { size }));
        }
        end = p + usize::from(size);
        if end > buf.len() {
            return Err(bad(RecordError::Overrun { size }));
        }
        let ver = (ver_size >> SVER_SHIFT) as u8;
        if ver != 0 {
            return Err(bad(RecordError::BadVersion(ver)));
        }
        match record_v1(&buf[p..end]).map_err(bad)? {
            Ok(conn) => msg.conns.push(conn),
            Err(why) => msg.skipped.push(Skipped { index, why }),
        }
        // The next record starts 4-aligned (relative to the datagram,
        // which the kernel allocates aligned).
        p += (usize::from(size) + 3) & !3;
    }
    trailing(buf.len(), end)?;
    Ok(msg)
}

/// One v1 record, exactly `size` bytes. The outer error refuses the
/// datagram, the inner one skips just this record.
fn record_v1(r: &[u8]) -> Result<Result<SyncConn, SkipReason>, RecordError> {
    let kind = r[0];
    let v6 = if kind & STYPE_F_INET6 != 0 {
        true
    } else if kind == 0 {
        false
    } else {
        return Err(RecordError::BadType(kind));
    };
    let fixed = if v6 { CONN_V6_LEN } else { CONN_V4_LEN };
    if r.len() < fixed {
        return Err(RecordError::BadSize { size: r.len() as u16 });
    }
    let alen = if v6 { 16 } else { 4 };
    let addr = |i: usize| ip_at(r, 24 + i * alen, v6);
    let mut conn = SyncConn {
        proto: r[1],
        flags: be32(r, 4),
        state: be16(r, 8),
        cport: be16(r, 10),
        vport: be16(r, 12),
        dport: be16(r, 14),
        fwmark: be32(r, 16),
        timeout: be32(r, 20),
        caddr: addr(0),
        vaddr: addr(1),
        daddr: addr(2),
        seq: None,
        pe_name: None,
        pe_data: None,
        local: None,
    };
    let mut p = fixed;
    while p < r.len() {
        if p + 2 > r.len() {
            return Err(RecordError::OptionTruncated);
        }
        let (opt, len) = (r[p], r[p + 1]);
        p += 2;
        if len == 0 {
            return Err(RecordError::EmptyOption(opt));
        }
        let Some(data) = r.get(p..p + usize::from(len)) else {
            return Err(RecordError::OptionTruncated);
        };
        p += usize::from(len);
        let bad_len = RecordError::BadOptionLen { opt, len };
        let dup = RecordError::DuplicateOption(opt);
        if opt == RVS_OPT_FULLNAT_LOCAL {
            if usize::from(len) != alen + 2 {
                return Err(bad_len);
            }
            if conn.local.is_some() {
                return Err(dup);
            }
            conn.local = Some((ip_at(data, 0, v6), be16(data, alen)));
            continue;
        }
        match opt & !IPVS_OPT_F_PARAM {
            IPVS_OPT_SEQ_DATA => {
                if usize::from(len) != SEQ_OPTS_LEN {
                    return Err(bad_len);
                }
                if conn.seq.is_some() {
                    return Err(dup);
                }
                conn.seq = Some(seq_adjust(data, be32));
            }
            IPVS_OPT_PE_DATA => {
                // len <= PEDATA_MAXLEN (255) by its type.
                if conn.pe_data.is_some() {
                    return Err(dup);
                }
                conn.pe_data = Some(data.to_vec());
            }
            IPVS_OPT_PE_NAME => {
                if usize::from(len) > PENAME_MAXLEN {
                    return Err(bad_len);
                }
                if conn.pe_name.is_some() {
                    return Err(dup);
                }
                conn.pe_name = Some(data.to_vec());
            }
            // Like the kernel, stop reading a record at its first unknown
            // mandatory option: what follows it is not checked.
            _ if opt & IPVS_OPT_F_PARAM == 0 => {
                return Ok(Err(SkipReason::UnknownMandatoryOption(opt)));
            }
            _ => {}
        }
    }
    if conn.pe_data.is_some() && conn.pe_name.is_none() {
        return Ok(Err(SkipReason::PeDataWithoutName));
    }
    Ok(Ok(conn))
}

fn decode_v0(buf: &[u8]) -> Result<Message, SyncError> {
    let nr = buf[0];
    let mut msg = empty(0, buf[1], nr);
    let mut p = MESG_V0_HDR_LEN;
    for index in 0..nr {
        let Some(r) = buf.get(p..p + CONN_V0_LEN) else {
            return Err(SyncError::BadRecord { index, why: RecordError::Truncated });
        };
        let flags = u32::from(be16(r, 20));
        let seq = if flags & CONN_F_SEQ_MASK != 0 {
            let Some(s) = buf.get(p + CONN_V0_LEN..p + CONN_V0_FULL_LEN) else {
                return Err(SyncError::BadRecord { index, why: RecordError::OptionTruncated });
            };
            p += CONN_V0_FULL_LEN;
            Some(seq_adjust(s, le32))
        } else {
            p += CONN_V0_LEN;
            None
        };
        msg.conns.push(SyncConn {
            proto: r[1],
            flags,
            state: be16(r, 22),
            cport: be16(r, 2),
            vport: be16(r, 4),
            dport: be16(r, 6),
            fwmark: 0,
            timeout: 0,
            caddr: ip_at(r, 8, false),
            vaddr: ip_at(r, 12, false),
            daddr: ip_at(r, 16, false),
            seq,
            pe_name: None,
            pe_data: None,
            local: None,
        });
    }
    trailing(buf.len(), p)?;
    Ok(msg)
}

fn empty(version: u8, syncid: u8, nr: u8) -> Message {
    Message { version, syncid, conns: Vec::with_capacity(usize::from(nr)), skipped: Vec::new() }
}

/// Up to 3 bytes of padding may follow the last record; more means
/// nr_conns did not cover the datagram.
fn trailing(len: usize, end: usize) -> Result<(), SyncError> {
    match len.saturating_sub(end) {
        0..=3 => Ok(()),
        n => Err(SyncError::TrailingBytes(n)),
    }
}

/// `d` holds at least 24 bytes.
fn seq_adjust(d: &[u8], rd: fn(&[u8], usize) -> u32) -> SeqAdjust {
    let seq = |o: usize| Seq { init_seq: rd(d, o), delta: rd(d, o + 4), previous_delta: rd(d, o + 8) };
    SeqAdjust { in_seq: seq(0), out_seq: seq(12) }
}

// Callers have checked the bounds.
fn be16(b: &[u8], o: usize) -> u16 {
    u16::from_be_bytes([b[o], b[o + 1]])
}

fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn ip_at(b: &[u8], o: usize, v6: bool) -> IpAddr {
    if v6 {
        let mut a = [0u8; 16];
        a.copy_from_slice(&b[o..o + 16]);
        IpAddr::V6(Ipv6Addr::from(a))
    } else {
        IpAddr::V4(Ipv4Addr::new(b[o], b[o + 1], b[o + 2], b[o + 3]))
    }
}
