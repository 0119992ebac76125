//! IPv4 fragmentation at the egress MTU (RFC 791 §3.2, RFC 1812 §4.2.2.7).
//!
//! A packet without DF that is larger than the output interface's MTU is
//! split, as a router (and IPVS, for tunnelled packets) does; a packet with
//! DF never reaches here: the caller answers ICMP frag-needed instead. The
//! first fragment reuses the packet's own buffer and keeps every IP option;
//! later fragments get fresh buffers and only the options whose copy flag
//! is set. Fragmentation is the slow path: it copies, but it allocates
//! nothing but the packet buffers themselves.

use super::{eth, ipv4};
use crate::wire::ipv4::MAX_HDR;
use crate::wire::Ipv4;

/// How a packet will be split: computed once, then each fragment is
/// written from the original bytes.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    ihl: usize,
    /// Header of the later fragments: base header plus copied options.
    later: [u8; MAX_HDR],
    later_ihl: usize,
    /// Payload bytes in the first fragment and in each later one.
    first_chunk: usize,
    later_chunk: usize,
    payload: usize,
    /// Fragment offset (8-byte units) and MF of the original packet (it
    /// may itself be a fragment).
    offset: u16,
    mf: bool,
}

impl Plan {
    /// Plan the split of the IPv4 packet at [`eth::HDR_LEN`] of `frame` for
    /// `mtu`. None when it fits already, or when the MTU leaves no room
    /// for 8 bytes of data after the header (the caller drops it).
    pub fn new(frame: &[u8], mtu: u16) -> Option<Plan> {
        let ip = Ipv4::new_checked(frame.get(eth::HDR_LEN..)?).ok()?;
        let (ihl, total) = (ip.hdr_len(), ip.total_len());
        let mtu = mtu as usize;
        if total <= mtu {
            return None;
        }
        let mut later = [0u8; MAX_HDR];
        later[..ipv4::MIN_HDR].copy_from_slice(&ip.header()[..ipv4::MIN_HDR]);
        let later_ihl = copy_options(ip.options(), &mut later);
        // The original's IHL in `later` is within its 60 bytes.
        let mut h = Ipv4::new_checked_quoted(&mut later[..]).ok()?;
        if !h.set_hdr_len(later_ihl) {
            return None;
        }
        let first_chunk = mtu.checked_sub(ihl)? & !7;
        let later_chunk = mtu.checked_sub(later_ihl)? & !7;
        if first_chunk == 0 || later_chunk == 0 {
            return None;
        }
        Some(Plan {
            ihl,
            later,
            later_ihl,
            first_chunk,
            later_chunk,
            payload: total - ihl,
            offset: ip.frag_offset(),
            mf: ip.mf(),
        })
    }

    /// Number of fragments, the first included.
    pub fn count(&self) -> usize {
        1 + (self.payload - self.first_chunk).div_ceil(self.later_chunk)
    }

    /// Frame length of later fragment `i` (1-based), for the buffer size.
    pub fn later_len(&self, i: usize) -> usize {
        eth::HDR_LEN + self.later_ihl + self.later_range(i).len()
    }

    fn later_range(&self, i: usize) -> std::ops::Range<usize> {
        let start = self.first_chunk + (i - 1) * self.later_chunk;
        start..(start + self.later_chunk).min(self.payload)
    }

    /// Write later fragment `i` (1..count) of `frame` into `out`, which
    /// is [`Plan::later_len`] bytes long.
    pub fn write_later(&self, frame: &[u8], i: usize, out: &mut [u8]) {
        let r = self.later_range(i);
        let last = r.end == self.payload;
        let data = eth::HDR_LEN + self.ihl;
        out[..eth::HDR_LEN].copy_from_slice(&frame[..eth::HDR_LEN]);
        let h = eth::HDR_LEN;
        out[h..h + self.later_ihl].copy_from_slice(&self.later[..self.later_ihl]);
        let body = h + self.later_ihl;
        out[body..body + r.len()].copy_from_slice(&frame[data + r.start..data + r.end]);
        let off = self.offset + (r.start / 8) as u16;
        self.finish(out, self.later_ihl, self.later_ihl + r.len(), off, !last || self.mf);
    }

    /// Turn the original frame into the first fragment: set its header and
    /// return its new frame length (the caller trims the buffer to it).
    pub fn write_first(&self, frame: &mut [u8]) -> usize {
        let len = self.ihl + self.first_chunk;
        self.finish(frame, self.ihl, len, self.offset, true);
        eth::HDR_LEN + len
    }

    /// Cut the header at [`eth::HDR_LEN`] of `frame` (`ihl` bytes, the
    /// fragment's data after it) to `total` bytes at `offset`.
    fn finish(&self, frame: &mut [u8], ihl: usize, total: usize, offset: u16, mf: bool) {
        // `write_first` keeps the original header, `write_later` copied
        // one with a valid IHL, within `frame` either way: the quoted gate
        // (the total length is the original's until set here) holds.
        let Ok(mut ip) = Ipv4::new_checked_quoted(&mut frame[eth::HDR_LEN..]) else { return };
        debug_assert_eq!(ip.hdr_len(), ihl);
        ip.set_total_len(total as u16);
        ip.set_frag(mf, offset);
        ip.fill_checksum();
    }
}

/// Copy the options with the copy flag (RFC 791: type bit 0x80) into
/// `out` after its 20-byte base header, padded with end-of-list to a
/// multiple of 4. Returns the resulting header length. A malformed option
/// ends the copy (what follows cannot be trusted).
fn copy_options(opts: &[u8], out: &mut [u8; MAX_HDR]) -> usize {
    let mut w = ipv4::MIN_HDR;
    let mut i = 0;
    while let Some(&kind) = opts.get(i) {
        match kind {
            0 => break,
            1 => i += 1,
            _ => {
                let Some(&len) = opts.get(i + 1) else { break };
                let len = len as usize;
                if len < 2 || i + len > opts.len() {
                    break;
                }
                if kind & 0x80 != 0 {
                    out[w..w + len].copy_from_slice(&opts[i..i + len]);
                    w += len;
                }
                i += len;
            }
        }
    }
    let padded = w.div_ceil(4) * 4;
    out[w..padded].fill(0);
    padded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{get16, put16};
    use etherparse::{PacketBuilder, SlicedPacket};

    fn udp(payload_len: usize) -> Vec<u8> {
        let mut b = Vec::new();
        let payload: Vec<u8> = (0..payload_len).map(|i| i as u8).collect();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(1, 2)
            .write(&mut b, &payload)
            .unwrap();
        // etherparse sets DF; this packet may be fragmented.
        b[20] &= !0x40;
        ipv4::set_checksum(&mut b, 14, 20);
        b
    }

    /// Split `frame` for `mtu` the way the engine does.
    fn split(frame: &[u8], mtu: u16) -> Vec<Vec<u8>> {
        let plan = Plan::new(frame, mtu).unwrap();
        let mut out = Vec::new();
        for i in 1..plan.count() {
            let mut f = vec![0u8; plan.later_len(i)];
            plan.write_later(frame, i, &mut f);
            out.push(f);
        }
        let mut first = frame.to_vec();
        let n = plan.write_first(&mut first);
        first.truncate(n);
        out.insert(0, first);
        out
    }

    #[test]
    fn fragments_fit_and_reassemble() {
        let orig = udp(3000);
        let frags = split(&orig, 1500);
        assert_eq!(frags.len(), 3);
        let mut data = vec![0u8; 3008];
        for (k, f) in frags.iter().enumerate() {
            assert!(f.len() - 14 <= 1500);
            let info = ipv4::validate(f, 14).unwrap();
            assert!(info.fragment);
            let fl = get16(f, 20);
            let off = (fl & 0x1fff) as usize * 8;
            assert_eq!(fl & 0x2000 != 0, k + 1 < frags.len(), "MF on all but the last");
            let body = &f[14 + info.hdr_len..];
            data[off..off + body.len()].copy_from_slice(body);
            // The independent parser accepts each fragment's header.
            let p = SlicedPacket::from_ethernet(f).unwrap();
            assert!(p.net.is_some());
        }
        assert_eq!(&data[..], &orig[34..]);
    }

    #[test]
    fn fits_or_impossible_mtu_gives_no_plan() {
        let p = udp(100);
        assert!(Plan::new(&p, 1500).is_none());
        assert!(Plan::new(&udp(3000), 24).is_none());
    }

    #[test]
    fn only_copied_options_repeat() {
        // Header with a copied option (type 0x94: router alert, 4 bytes)
        // and an uncopied one (record route type 7, 7 bytes) + EOL.
        let mut b = udp(2000);
        let opts = [0x94, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0];
        b.splice(34..34, opts.iter().copied());
        b[14] = 0x45 + 3;
        let total = (b.len() - 14) as u16;
        put16(&mut b, 16, total);
        ipv4::set_checksum(&mut b, 14, 32);
        let frags = split(&b, 1000);
        assert_eq!(ipv4::validate(&frags[0], 14).unwrap().hdr_len, 32);
        for f in &frags[1..] {
            let info = ipv4::validate(f, 14).unwrap();
            assert_eq!(info.hdr_len, 24);
            assert_eq!(&f[34..38], &[0x94, 4, 0, 0]);
        }
    }
}
