//! [`SyncConn`]s → version 1 datagrams, laid out as a kernel master lays
//! them out (`ip_vs_sync_conn`), into one reused buffer.

use super::consts::*;
use super::{RecordError, SyncConn};
use std::net::IpAddr;

/// Builds version 1 messages of at most `max_len` bytes.
///
/// Push records until [`Encoder::push`] says the message is full, send
/// [`Encoder::finish`]'s bytes, [`Encoder::clear`], push again. The buffer
/// is allocated once, for `max_len`.
#[derive(Debug)]
pub struct Encoder {
    buf: Vec<u8>,
    max_len: usize,
    nr: u8,
}

impl Encoder {
    /// `max_len`: the datagram limit, e.g. [`max_len_for`] or
    /// [`DEFAULT_MAX_LEN_V4`]; clamped to the header's 8 bytes ..= 65535
    /// (the size field is 16 bits).
    pub fn new(max_len: usize) -> Self {
        let max_len = max_len.clamp(MESG_HDR_LEN, usize::from(u16::MAX));
        let mut buf = Vec::with_capacity(max_len);
        buf.resize(MESG_HDR_LEN, 0);
        Encoder { buf, max_len, nr: 0 }
    }

    /// Adds one record. `Ok(false)`: the message is full (by bytes, or at
    /// 255 records) — finish and clear it, then push the record again.
    /// `Err`: the record is invalid, or larger than an empty message.
    pub fn push(&mut self, c: &SyncConn) -> Result<bool, RecordError> {
        let len = record_len(c)?;
        let pad = if self.nr == 0 { 0 } else { (4 - self.buf.len() % 4) % 4 };
        if self.nr == u8::MAX || self.buf.len() + pad + len > self.max_len {
            if self.nr == 0 {
                return Err(RecordError::TooLarge);
            }
            return Ok(false);
        }
        self.buf.resize(self.buf.len() + pad, 0);
        let start = self.buf.len();
        self.write(c, len as u16);
        debug_assert_eq!(self.buf.len() - start, len);
        self.nr += 1;
        Ok(true)
    }

    /// Stamps the header and returns the datagram.
    pub fn finish(&mut self, syncid: u8) -> &[u8] {
        let size = self.buf.len() as u16;
        self.buf[0] = 0;
        self.buf[1] = syncid;
        self.buf[2..4].copy_from_slice(&size.to_be_bytes());
        self.buf[4] = self.nr;
        self.buf[5] = SYNC_PROTO_VER;
        self.buf[6..8].copy_from_slice(&[0, 0]);
        &self.buf
    }

    /// Empties the message, keeping the buffer.
    pub fn clear(&mut self) {
        self.buf.truncate(MESG_HDR_LEN);
        self.nr = 0;
    }

    /// Records in the message.
    pub fn conns(&self) -> u8 {
        self.nr
    }

    pub fn is_empty(&self) -> bool {
        self.nr == 0
    }

    /// Bytes the datagram has now.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    fn write(&mut self, c: &SyncConn, len: u16) {
        let b = &mut self.buf;
        let v6 = c.caddr.is_ipv6();
        b.push(if v6 { STYPE_F_INET6 } else { 0 });
        b.push(c.proto);
        // Record version 0 in the top 4 bits; len < 4096 (record_len).
        b.extend_from_slice(&(len & SVER_MASK).to_be_bytes());
        b.extend_from_slice(&(c.flags & !CONN_F_HASHED).to_be_bytes());
        for v in [c.state, c.cport, c.vport, c.dport] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&c.fwmark.to_be_bytes());
        b.extend_from_slice(&c.timeout.to_be_bytes());
        for a in [c.caddr, c.vaddr, c.daddr] {
            put_ip(b, a);
        }
        if let Some(s) = &c.seq {
            b.extend_from_slice(&[IPVS_OPT_SEQ_DATA, SEQ_OPTS_LEN as u8]);
            for q in [s.in_seq, s.out_seq] {
                for v in [q.init_seq, q.delta, q.previous_delta] {
                    b.extend_from_slice(&v.to_be_bytes());
                }
            }
        }
        // The kernel sends the PE name after the PE data.
        for (opt, d) in [(IPVS_OPT_PE_DATA, &c.pe_data), (IPVS_OPT_PE_NAME, &c.pe_name)] {
            if let Some(d) = d {
                b.extend_from_slice(&[opt, d.len() as u8]);
                b.extend_from_slice(d);
            }
        }
        if let Some((lip, lport)) = c.local {
            let n = if v6 { 18 } else { 6 };
            b.extend_from_slice(&[RVS_OPT_FULLNAT_LOCAL, n]);
            put_ip(b, lip);
            b.extend_from_slice(&lport.to_be_bytes());
        }
    }
}

/// Validates `c` and returns its record size (without padding).
fn record_len(c: &SyncConn) -> Result<usize, RecordError> {
    let v6 = c.caddr.is_ipv6();
    let same = |a: IpAddr| a.is_ipv6() == v6;
    if !same(c.vaddr) || !same(c.daddr) || c.local.is_some_and(|(a, _)| !same(a)) {
        return Err(RecordError::MixedFamily);
    }
    let ok = |d: &Option<Vec<u8>>, max: usize| match d {
        Some(d) => (1..=max).contains(&d.len()),
        None => true,
    };
    if !ok(&c.pe_data, PEDATA_MAXLEN) || !ok(&c.pe_name, PENAME_MAXLEN) {
        return Err(RecordError::BadPe);
    }
    // A kernel backup drops a record with PE data but no name.
    if c.pe_data.is_some() && c.pe_name.is_none() {
        return Err(RecordError::BadPe);
    }
    let alen = if v6 { 16 } else { 4 };
    let opt = |d: &Option<Vec<u8>>| d.as_ref().map_or(0, |d| 2 + d.len());
    Ok((if v6 { CONN_V6_LEN } else { CONN_V4_LEN })
        + c.seq.map_or(0, |_| 2 + SEQ_OPTS_LEN)
        + opt(&c.pe_data)
        + opt(&c.pe_name)
        + c.local.map_or(0, |_| 2 + alen + 2))
}

fn put_ip(b: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(a) => b.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => b.extend_from_slice(&a.octets()),
    }
}
