//! Writing classic pcap files (the format net_pcap reads).

use std::io::Write;
use std::path::Path;

/// Write Ethernet frames to a pcap file (microsecond timestamps).
pub fn write(path: &Path, frames: &[Vec<u8>]) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(24 + frames.iter().map(|f| f.len() + 16).sum::<usize>());
    out.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(i as u32 / 1_000_000).to_le_bytes());
        out.extend_from_slice(&(i as u32 % 1_000_000).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::File::create(path)?.write_all(&out)
}

/// Read the frames of a pcap file written by `write` or by net_pcap.
pub fn read(path: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let b = std::fs::read(path)?;
    let mut frames = Vec::new();
    if b.len() < 24 {
        return Ok(frames);
    }
    let mut off = 24;
    while off + 16 <= b.len() {
        let caplen = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
        off += 16;
        if off + caplen > b.len() {
            break;
        }
        frames.push(b[off..off + caplen].to_vec());
        off += caplen;
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let p = std::env::temp_dir().join(format!("rvs-pcap-{}.pcap", std::process::id()));
        let frames = vec![vec![1u8; 60], vec![2u8; 14]];
        super::write(&p, &frames).unwrap();
        assert_eq!(super::read(&p).unwrap(), frames);
        std::fs::remove_file(p).unwrap();
    }
}
