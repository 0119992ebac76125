//! Per-worker counters: written by one worker, summed by Control.
//!
//! A cell is only ever written by the worker that owns it, so an update is a
//! relaxed load and store (no locked read-modify-write, no cache line shared
//! between writers). Readers sum the cells of all workers.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A counter with a single writer.
#[derive(Debug, Default)]
#[repr(transparent)]
pub struct Counter(AtomicU64);

impl Counter {
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }
    #[inline(always)]
    pub fn inc(&self) {
        self.add(1);
    }
    /// Decrement that never wraps below zero.
    #[inline(always)]
    pub fn dec(&self) {
        let v = self.0.load(Relaxed);
        self.0.store(v.saturating_sub(1), Relaxed);
    }
    #[inline(always)]
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
    /// Reset (`rvsadm -Z`); racy by design, like IPVS's zeroing.
    pub fn reset(&self) {
        self.0.store(0, Relaxed);
    }
}
