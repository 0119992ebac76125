//! Helpers for rvs' integration tests: pcap files, running rvsd, the lab.

#![forbid(unsafe_code)]

pub mod counters;
pub mod ecmp;
pub mod lab;
pub mod lb;
pub mod pcap;
pub mod rvsd;

use std::path::PathBuf;

/// The workspace root (tests run from their crate directory).
/// The regular files of `dir`, sorted (corpora, examples): a test that
/// reads a directory checks what is added to it without being told.
pub fn sorted_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Fail loudly (never skip) when the environment cannot run the test.
pub fn require_root() {
    // SAFETY-free: geteuid via libc is a plain syscall wrapper.
    let uid = unsafe_free_geteuid();
    assert_eq!(uid, 0, "this test needs root (network namespaces, /dev/net/tun, DPDK): run ./scripts/test.sh as root");
    assert!(std::path::Path::new("/dev/net/tun").exists(), "/dev/net/tun is missing: net_tap cannot work here");
}

fn unsafe_free_geteuid() -> u32 {
    // /proc/self/status has the effective uid without any unsafe call.
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .unwrap_or(u32::MAX)
}

/// Run `args` in network namespace `ns` (one a lab made).
pub fn netns_exec(ns: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new("ip").args(["netns", "exec", ns]).args(args).output().expect("ip netns exec")
}

/// [`netns_exec`], asserting success; stdout. `context` (e.g. rvsd's log)
/// is added to the failure message.
pub fn netns_sh(ns: &str, args: &[&str], context: impl FnOnce() -> String) -> String {
    let o = netns_exec(ns, args);
    assert!(
        o.status.success(),
        "{ns}: {args:?} failed ({}):\n{}\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
        context()
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}
