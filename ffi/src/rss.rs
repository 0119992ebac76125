//! Receive-side scaling on a port: rvs's key and a redirection table (RETA)
//! rvs knows, so that software can tell which rx queue (and so which
//! worker) a flow arrives on; and DPDK's own software Toeplitz
//! (`rte_softrss`), which rvs's hash is checked against.
//!
//! The mechanism lives here; the key is the caller's ([`crate::PortConf`]
//! `rss_key`). RSS is used only when rvs can predict it: the device hashes
//! IPv4 and IPv6 TCP/UDP with ports, takes a key of 40 bytes or more, and
//! has a power-of-two RETA that rvs may program. Otherwise the port runs
//! without RSS and the redirect ring names a flow's owner.

use crate::sys;

/// Bytes of the Toeplitz key that matter for rvs: an IPv6 L4 tuple is 36
/// bytes, and the hash of input bit `i` uses key bits `i..i+32`.
pub const RSS_KEY_LEN: usize = 40;

/// What a port's RSS was configured with, read back from the device where
/// it can tell (else what rvs asked for, which it accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RssConf {
    /// The first [`RSS_KEY_LEN`] bytes of the device's key.
    pub key: [u8; RSS_KEY_LEN],
    /// RETA entry → rx queue; the device picks entry `hash & (len - 1)`.
    pub reta: Vec<u16>,
    /// The `RTE_ETH_RSS_*` types the device hashes.
    pub types: u64,
}

/// DPDK's software Toeplitz (`rte_softrss`) over `input_words`: 32-bit
/// words in host order, laid out as `rte_thash_tuple` (IPv4: source,
/// destination, then `sport << 16 | dport`; IPv6: the 16-byte addresses as
/// four big-endian words each, converted to host order, then the ports).
/// `key` is the key in network order, as a NIC takes it.
///
/// # Panics
/// If the input is longer than 16 words or the key shorter than
/// `4 * (input_words.len() + 1)` bytes (the hash reads one key word past
/// the input).
pub fn softrss(input_words: &[u32], key: &[u8]) -> u32 {
    let need = 4 * (input_words.len() + 1);
    assert!(input_words.len() <= sys::RVS_SOFTRSS_MAX_WORDS as usize, "softrss: input over 16 words");
    assert!(key.len() >= need, "softrss: a {}-word input needs a key of {need} bytes", input_words.len());
    // SAFETY: both pointers cover the lengths passed (checked above); the
    // shim copies them to aligned buffers and only reads.
    unsafe { sys::rvs_softrss(input_words.as_ptr(), input_words.len() as u32, key.as_ptr(), need as u32) }
}

/// The RSS rvs will ask of a device, decided before configuring it.
#[derive(Debug)]
pub(crate) struct RssPlan {
    /// Our key, extended (repeating) to the device's key size: bytes past
    /// the 40th only touch inputs longer than any rvs hashes.
    key: Vec<u8>,
    types: u64,
    reta_size: u16,
    queues: u16,
}

/// Whether and how a device can run RSS that rvs predicts; `Err` says
/// why not (for the operator's log line).
pub(crate) fn plan(info: &sys::rte_eth_dev_info, queues: u16, key: &[u8; RSS_KEY_LEN]) -> Result<RssPlan, String> {
    if queues < 2 {
        return Err("one rx queue".into());
    }
    // SAFETY: plain functions returning constants.
    let (wanted, required) = unsafe { (sys::rvs_rss_types_l3l4(), sys::rvs_rss_types_l4_required()) };
    let offered = info.flow_type_rss_offloads;
    if offered & required != required {
        return Err(format!("device hashes types {offered:#x}, not IPv4/IPv6 TCP/UDP ports"));
    }
    let reta_size = info.reta_size;
    if reta_size == 0 {
        return Err("device has no redirection table".into());
    }
    if !reta_size.is_power_of_two() {
        return Err(format!("redirection table of {reta_size} entries (not a power of two)"));
    }
    let key_size = match info.hash_key_size as usize {
        0 => RSS_KEY_LEN, // the PMD does not say (net_null): ours.
        n if n < RSS_KEY_LEN => return Err(format!("device key of {n} bytes, IPv6 L4 needs {RSS_KEY_LEN}")),
        n => n,
    };
    let key = key.iter().copied().cycle().take(key_size).collect();
    Ok(RssPlan { key, types: wanted & offered, reta_size, queues })
}

impl RssPlan {
    /// The RSS part of the device configuration. The key pointer is
    /// into `self`, which must outlive the `rte_eth_dev_configure` call.
    pub(crate) fn rss_conf(&mut self) -> sys::rte_eth_rss_conf {
        sys::rte_eth_rss_conf { rss_key: self.key.as_mut_ptr(), rss_key_len: self.key.len() as u8, rss_hf: self.types }
    }

    /// Program the RETA (round-robin over the queues) and the key on the
    /// started port, then read back what the device runs with. `Err`
    /// says what failed (`-ENOTSUP`: the PMD has no RETA update); the
    /// caller then runs the port without RSS.
    pub(crate) fn program(&mut self, port: u16) -> Result<RssConf, String> {
        let size = self.reta_size as usize;
        let want: Vec<u16> = (0..size).map(|i| (i % self.queues as usize) as u16).collect();
        let mut groups = reta_groups(size);
        for (i, &q) in want.iter().enumerate() {
            groups[i / 64].reta[i % 64] = q;
        }
        // SAFETY: valid started port; `groups` covers reta_size entries
        // (masks limited to them), each below the port's rx queue count.
        let rc = unsafe { sys::rte_eth_dev_rss_reta_update(port, groups.as_mut_ptr(), self.reta_size) };
        if rc < 0 {
            return Err(format!("RETA update: {}", crate::port::errno_text(rc)));
        }
        // Most PMDs took the key at configure; some only at run time
        // (net_null). An error here is not fatal: the read-back below
        // tells what the device has.
        let mut conf = self.rss_conf();
        // SAFETY: valid port; `conf` points into self.key, alive here.
        let _ = unsafe { sys::rte_eth_dev_rss_hash_update(port, &mut conf) };

        let mut key = [0u8; RSS_KEY_LEN];
        key.copy_from_slice(&self.key[..RSS_KEY_LEN]);
        let mut types = self.types;
        let mut buf = [0u8; 256];
        let mut got = sys::rte_eth_rss_conf {
            rss_key: buf.as_mut_ptr(),
            rss_key_len: self.key.len().max(RSS_KEY_LEN) as u8,
            rss_hf: 0,
        };
        // SAFETY: valid port; `buf` holds 256 bytes, more than any key
        // (hash_key_size is a u8) or the 40 bytes some PMDs always copy.
        if unsafe { sys::rte_eth_dev_rss_hash_conf_get(port, &mut got) } == 0 {
            key.copy_from_slice(&buf[..RSS_KEY_LEN]);
            types = got.rss_hf;
        }

        let mut back = reta_groups(size);
        // SAFETY: as for the update; the PMD fills the masked entries.
        let reta = if unsafe { sys::rte_eth_dev_rss_reta_query(port, back.as_mut_ptr(), self.reta_size) } == 0 {
            (0..size).map(|i| back[i / 64].reta[i % 64]).collect()
        } else {
            want
        };
        Ok(RssConf { key, reta, types })
    }
}

/// RETA groups of 64 entries covering `size`, every entry selected.
fn reta_groups(size: usize) -> Vec<sys::rte_eth_rss_reta_entry64> {
    (0..size.div_ceil(64))
        .map(|g| {
            let n = (size - g * 64).min(64);
            let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
            sys::rte_eth_rss_reta_entry64 { mask, reta: [0; 64] }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reta_groups_cover_exactly_the_table() {
        let g = reta_groups(128);
        assert_eq!(g.len(), 2);
        assert!(g.iter().all(|e| e.mask == u64::MAX));
        let g = reta_groups(8);
        assert_eq!((g.len(), g[0].mask), (1, 0xff));
    }

    #[test]
    fn plan_refuses_what_rvs_cannot_predict() {
        let key = [7u8; RSS_KEY_LEN];
        // SAFETY: constants.
        let all = unsafe { sys::rvs_rss_types_l3l4() };
        let ok = sys::rte_eth_dev_info { flow_type_rss_offloads: u64::MAX, reta_size: 128, ..Default::default() };
        let p = plan(&ok, 4, &key).unwrap();
        assert_eq!((p.types, p.reta_size, p.key.len()), (all, 128, 40));
        assert!(plan(&ok, 1, &key).unwrap_err().contains("one rx queue"));
        let no_reta = sys::rte_eth_dev_info { reta_size: 0, ..ok };
        assert!(plan(&no_reta, 4, &key).unwrap_err().contains("no redirection table"));
        let odd = sys::rte_eth_dev_info { reta_size: 96, ..ok };
        assert!(plan(&odd, 4, &key).is_err());
        let v4_only = sys::rte_eth_dev_info { flow_type_rss_offloads: all & !(1 << 10), ..ok };
        assert!(plan(&v4_only, 4, &key).unwrap_err().contains("not IPv4/IPv6 TCP/UDP"));
        let short = sys::rte_eth_dev_info { hash_key_size: 16, ..ok };
        assert!(plan(&short, 4, &key).is_err());
        let long = sys::rte_eth_dev_info { hash_key_size: 52, ..ok };
        let p = plan(&long, 4, &key).unwrap();
        assert_eq!(p.key.len(), 52);
        // Types the device lacks are not asked for.
        let some = sys::rte_eth_dev_info { flow_type_rss_offloads: all & !(1 << 3), ..ok };
        assert_eq!(plan(&some, 4, &key).unwrap().types, all & !(1 << 3));
    }

    #[test]
    fn softrss_refuses_a_short_key() {
        let r = std::panic::catch_unwind(|| softrss(&[1, 2, 3], &[0u8; 15]));
        assert!(r.is_err());
        assert_eq!(softrss(&[0, 0, 0], &[0xffu8; 16]), 0, "no input bit set, no key bits");
    }
}
