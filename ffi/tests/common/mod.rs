//! Helpers shared by the ffi integration tests.

use rvs_ffi::Burst;
use std::time::{Duration, Instant};

/// Receive on `rx` until something comes (a ring PMD is immediate; allow
/// a moment anyway).
pub fn rx_some(b: &mut Burst, rx: &mut rvs_ffi::RxQueue) -> usize {
    let t = Instant::now();
    loop {
        let n = b.rx(rx, 32);
        if n > 0 || t.elapsed() > Duration::from_secs(2) {
            return n;
        }
    }
}
