//! Ethernet II constants and header writing (both go through
//! [`crate::wire::Ethernet`]).

pub const HDR_LEN: usize = 14;
pub const TYPE_IPV4: u16 = 0x0800;
pub const TYPE_ARP: u16 = 0x0806;
pub const TYPE_IPV6: u16 = 0x86dd;
pub const TYPE_VLAN: u16 = 0x8100;

pub type Mac = [u8; 6];
pub const BROADCAST: Mac = [0xff; 6];

/// Write destination, source and type (an untagged header). False
/// (nothing written) when `b` is shorter than the header.
#[inline(always)]
pub fn write(b: &mut [u8], dst: Mac, src: Mac, ty: u16) -> bool {
    crate::wire::Ethernet::emit(b, dst, src, ty).is_ok()
}

pub fn fmt_mac(m: &Mac) -> String {
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
}
