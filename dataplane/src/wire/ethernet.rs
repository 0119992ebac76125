//! Ethernet II header view.

use super::{rd16, wr16, DropReason, Field};
use crate::packet::eth::Mac;

mod field {
    use super::Field;
    pub const DST: Field = 0..6;
    pub const SRC: Field = 6..12;
    pub const TYPE: Field = 12..14;
}

/// Header length (no VLAN tag).
pub const HDR_LEN: usize = field::TYPE.end;

/// An Ethernet frame, checked to hold at least its header.
#[derive(Debug, Clone, Copy)]
pub struct Ethernet<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ethernet<T> {
    pub fn new_checked(buf: T) -> Result<Self, DropReason> {
        if buf.as_ref().len() < HDR_LEN {
            return Err(DropReason::EthTruncated);
        }
        Ok(Ethernet { buf })
    }

    pub fn dst(&self) -> Mac {
        let b = self.buf.as_ref();
        std::array::from_fn(|i| b[field::DST.start + i])
    }

    pub fn src(&self) -> Mac {
        let b = self.buf.as_ref();
        std::array::from_fn(|i| b[field::SRC.start + i])
    }

    pub fn ethertype(&self) -> u16 {
        rd16(self.buf.as_ref(), field::TYPE)
    }

    /// Broadcast or multicast destination (the I/G bit).
    pub fn is_group(&self) -> bool {
        self.buf.as_ref()[field::DST.start] & 1 != 0
    }

    /// What follows the header.
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[HDR_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ethernet<T> {
    pub fn set_dst(&mut self, m: Mac) {
        self.buf.as_mut()[field::DST].copy_from_slice(&m);
    }

    pub fn set_src(&mut self, m: Mac) {
        self.buf.as_mut()[field::SRC].copy_from_slice(&m);
    }

    pub fn set_ethertype(&mut self, t: u16) {
        wr16(self.buf.as_mut(), field::TYPE, t);
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buf.as_mut()[HDR_LEN..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{EtherType, Ethernet2Header};

    #[test]
    fn fields_match_etherparse() {
        let h = Ethernet2Header { source: [1, 2, 3, 4, 5, 6], destination: [0xff; 6], ether_type: EtherType::ARP };
        let mut b = h.to_bytes().to_vec();
        b.extend_from_slice(b"payload");
        let v = Ethernet::new_checked(&b[..]).unwrap();
        assert_eq!((v.src(), v.dst(), v.ethertype()), (h.source, h.destination, 0x0806));
        assert!(v.is_group());
        assert_eq!(v.payload(), b"payload");
        assert_eq!(Ethernet::new_checked(&b[..13]).unwrap_err(), DropReason::EthTruncated);
        let mut m = Ethernet::new_checked(&mut b[..]).unwrap();
        m.set_dst([2, 0, 0, 0, 0, 1]);
        m.set_src([2, 0, 0, 0, 0, 2]);
        m.set_ethertype(0x0800);
        let (p, _) = Ethernet2Header::from_slice(&b).unwrap();
        assert_eq!((p.destination, p.source, p.ether_type), ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], EtherType::IPV4));
    }
}
