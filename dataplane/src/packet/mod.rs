//! Sans-IO packet access: a buffer trait and header helpers.
//!
//! Everything here works on byte slices, so the same code runs on DPDK
//! mbufs in the worker and on `Vec<u8>` frames in tests. Headers are read
//! and written through the checked views of [`crate::wire`], never at raw
//! offsets.

pub mod arp;
pub mod csum;
pub mod eth;
pub mod frag;
pub mod icmp;
pub mod icmp6;
pub mod ipv4;
pub mod ipv6;
pub mod l4;

/// A packet the data path can read and rewrite in place, grow at the front
/// (encapsulation) and resize at the end.
pub trait PacketBuf {
    fn data(&self) -> &[u8];
    fn data_mut(&mut self) -> &mut [u8];
    /// Grow by `n` bytes at the front. False when there is no headroom.
    fn prepend(&mut self, n: usize) -> bool;
    /// Remove `n` bytes at the front.
    fn adj(&mut self, n: usize) -> bool;
    /// Make the packet exactly `n` bytes long (new bytes are zero).
    fn set_len(&mut self, n: usize) -> bool;
    #[inline(always)]
    fn len(&self) -> usize {
        self.data().len()
    }
    #[inline(always)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// What the NIC found of the IPv4 header checksum (rx offload): good,
    /// bad, or `None` when it did not check (then software does).
    #[inline(always)]
    fn rx_ip_csum(&self) -> Option<bool> {
        None
    }
}

impl PacketBuf for Vec<u8> {
    fn data(&self) -> &[u8] {
        self
    }
    fn data_mut(&mut self) -> &mut [u8] {
        self
    }
    /// The new bytes are zero. Grown at the end and shifted with one
    /// `memmove`: `splice` fed the zeros one at a time (about 350
    /// instructions per TUN packet in the replay).
    fn prepend(&mut self, n: usize) -> bool {
        let old = self.len();
        self.resize(old + n, 0);
        self.copy_within(..old, n);
        self[..n].fill(0);
        true
    }
    fn adj(&mut self, n: usize) -> bool {
        if n > self.len() {
            return false;
        }
        self.drain(..n);
        true
    }
    fn set_len(&mut self, n: usize) -> bool {
        self.resize(n, 0);
        true
    }
}

// Raw big-endian access at an offset: only for tests, which craft and
// corrupt frames byte by byte (the packet path goes through `wire`).

#[cfg(test)]
#[inline(always)]
pub fn get16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}

#[cfg(test)]
#[inline(always)]
pub fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
#[inline(always)]
pub fn get32(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

#[cfg(test)]
#[inline(always)]
pub fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_be_bytes());
}

/// A test buffer that cannot grow or gain headroom (like a full mbuf):
/// builders and encapsulations must refuse it cleanly. It may shrink.
#[cfg(test)]
pub(crate) struct Fixed(pub Vec<u8>);

#[cfg(test)]
impl PacketBuf for Fixed {
    fn data(&self) -> &[u8] {
        &self.0
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
    fn prepend(&mut self, _: usize) -> bool {
        false
    }
    fn adj(&mut self, _: usize) -> bool {
        false
    }
    fn set_len(&mut self, n: usize) -> bool {
        n <= self.0.len()
    }
}
