//! Internet checksum (RFC 1071) and incremental updates (RFC 1624).

/// One's-complement sum of `data` added to `init` (not folded, not inverted).
#[inline]
pub fn sum(data: &[u8], init: u32) -> u32 {
    let mut acc = init as u64;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        acc += u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64;
    }
    let rest = chunks.remainder();
    let mut i = 0;
    while i + 1 < rest.len() {
        acc += u16::from_be_bytes([rest[i], rest[i + 1]]) as u64;
        i += 2;
    }
    if i < rest.len() {
        acc += (rest[i] as u64) << 8;
    }
    while acc >> 32 != 0 {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    acc as u32
}

/// Incremental update for a region that changed from sum `old` to sum
/// `new` (unfolded sums as returned by [`sum`], over data at the same
/// 16-bit alignment). Like [`update16`], an error in `csum` survives.
#[inline]
pub fn update_sum(csum: u16, old: u32, new: u32) -> u16 {
    let s = (!csum) as u32 + (!fold(old)) as u32 + fold(new) as u32;
    !fold(s)
}

/// Fold a 32-bit sum to 16 bits.
#[inline(always)]
pub fn fold(mut s: u32) -> u16 {
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// The checksum field value for `data` (which has its checksum zeroed).
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(data, 0))
}

/// Pseudo-header sum for TCP/UDP over IPv4.
#[inline]
pub fn pseudo_v4(src: [u8; 4], dst: [u8; 4], proto: u8, len: u16) -> u32 {
    let mut s = 0u32;
    s += u16::from_be_bytes([src[0], src[1]]) as u32;
    s += u16::from_be_bytes([src[2], src[3]]) as u32;
    s += u16::from_be_bytes([dst[0], dst[1]]) as u32;
    s += u16::from_be_bytes([dst[2], dst[3]]) as u32;
    s += proto as u32;
    s += len as u32;
    s
}

/// RFC 1624 eqn. 3: new checksum after a 16-bit field changes old → new.
#[inline(always)]
pub fn update16(csum: u16, old: u16, new: u16) -> u16 {
    let s = (!csum) as u32 + (!old) as u32 + new as u32;
    !fold(s)
}

/// New checksum after a 32-bit field (an IPv4 address) changes.
#[inline(always)]
pub fn update32(csum: u16, old: u32, new: u32) -> u16 {
    let s = (!csum) as u32 + (!(old >> 16) as u16) as u32 + (!(old as u16)) as u32 + (new >> 16) + (new & 0xffff);
    !fold(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc1071_example() {
        // Example from RFC 1071 section 3.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&d, 0)), 0xddf2);
    }

    proptest! {
        #[test]
        fn incremental_matches_full(mut data in proptest::collection::vec(any::<u8>(), 8..64), new16 in any::<u16>(), new32 in any::<u32>()) {
            data[0] = 0; data[1] = 0; // checksum field at 0..2
            let c = checksum(&data);
            // change a 16-bit field at 2..4
            let old16 = u16::from_be_bytes([data[2], data[3]]);
            data[2..4].copy_from_slice(&new16.to_be_bytes());
            let inc = update16(c, old16, new16);
            let full = checksum(&data);
            // 0x0000 and 0xffff are the same value in one's complement.
            prop_assert!(inc == full || (inc == 0xffff && full == 0) || (inc == 0 && full == 0xffff));
            let old32 = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
            data[4..8].copy_from_slice(&new32.to_be_bytes());
            let inc = update32(full, old32, new32);
            let full = checksum(&data);
            prop_assert!(inc == full || (inc == 0xffff && full == 0) || (inc == 0 && full == 0xffff));
        }
    }
}
