//! Tunnel headers the director builds after the outer IPv4 header of a
//! TUN packet: GRE (RFC 2784) and GUE (draft-ietf-intarea-gue, after its
//! outer UDP header). They are only ever written: the real server, not
//! the director, takes them off.

use super::{wr16, DropReason, Field};

mod field {
    use super::Field;
    /// GRE: checksum-present bit, reserved bits, version.
    pub const GRE_FLAGS_VER: Field = 0..2;
    pub const GRE_PROTO: Field = 2..4;
    /// GUE: version (2 bits), control bit, header length in words (5).
    pub const GUE_VER_C_HLEN: usize = 0;
    pub const GUE_PROTO: usize = 1;
    pub const GUE_FLAGS: Field = 2..4;
}

pub const GRE_LEN: usize = field::GRE_PROTO.end;
pub const GUE_LEN: usize = field::GUE_FLAGS.end;

/// A GRE header without checksum, key or sequence number, version 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreRepr {
    /// The ethertype of the payload.
    pub proto: u16,
}

impl GreRepr {
    /// Write the 4-byte header at the start of `buf`. `IpTruncated` (the
    /// outer packet is short) when `buf` cannot hold it.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), DropReason> {
        let h = buf.get_mut(..GRE_LEN).ok_or(DropReason::IpTruncated)?;
        wr16(h, field::GRE_FLAGS_VER, 0);
        wr16(h, field::GRE_PROTO, self.proto);
        Ok(())
    }
}

/// A GUE header version 0: a data message, no options, no flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GueRepr {
    /// The IP protocol number of the payload.
    pub proto: u8,
}

impl GueRepr {
    /// Write the 4-byte header at the start of `buf`. `L4Truncated` when
    /// `buf` cannot hold it.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), DropReason> {
        let h = buf.get_mut(..GUE_LEN).ok_or(DropReason::L4Truncated)?;
        h[field::GUE_VER_C_HLEN] = 0;
        h[field::GUE_PROTO] = self.proto;
        wr16(h, field::GUE_FLAGS, 0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_written_in_place() {
        let mut b = [0xeeu8; 6];
        GreRepr { proto: 0x0800 }.emit(&mut b[..]).unwrap();
        assert_eq!(b, [0, 0, 0x08, 0x00, 0xee, 0xee]);
        GueRepr { proto: 4 }.emit(&mut b[..]).unwrap();
        assert_eq!(b, [0, 4, 0, 0, 0xee, 0xee]);
        assert_eq!(GreRepr { proto: 1 }.emit(&mut b[..3]), Err(DropReason::IpTruncated));
        assert_eq!(GueRepr { proto: 1 }.emit(&mut b[..3]), Err(DropReason::L4Truncated));
    }
}
