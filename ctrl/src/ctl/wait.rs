//! Waiting until every worker runs a published generation.
//!
//! Workers load the snapshot once per loop iteration and write the
//! generation they loaded into their own counter. Once every counter
//! shows generation ≥ G, no worker still uses an older snapshot, so
//! Control knows the change is live everywhere (and that dropping the
//! older snapshot will not happen on a worker thread). Idle workers back
//! off to sleeps of at most `max_sleep_us`, so the wait normally ends
//! within a millisecond; the timeout covers a stopped or wedged worker.

use rvs_dataplane::stats::WorkerStats;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOutcome {
    /// Every worker reached the target generation.
    pub reached: bool,
    /// The oldest generation a worker ran at the end.
    pub min_generation: u64,
    pub waited: Duration,
}

/// The oldest generation any worker runs (`u64::MAX` without workers).
pub fn min_generation(stats: &[Arc<WorkerStats>]) -> u64 {
    stats.iter().map(|s| s.generation.get()).min().unwrap_or(u64::MAX)
}

/// Poll the workers' generation counters until all are ≥ `target` or
/// `timeout` passes. Polls tightly at first (a busy worker answers in
/// microseconds), then every 50 µs.
pub fn wait_generation(stats: &[Arc<WorkerStats>], target: u64, timeout: Duration) -> WaitOutcome {
    let t0 = Instant::now();
    let mut polls = 0u32;
    loop {
        let min = min_generation(stats);
        let waited = t0.elapsed();
        if min >= target {
            return WaitOutcome { reached: true, min_generation: min, waited };
        }
        if waited >= timeout {
            return WaitOutcome { reached: false, min_generation: min, waited };
        }
        polls += 1;
        if polls < 64 {
            std::hint::spin_loop();
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workers(n: usize, gen: u64) -> Vec<Arc<WorkerStats>> {
        (0..n)
            .map(|_| {
                let s = Arc::new(WorkerStats::default());
                s.generation.set(gen);
                s
            })
            .collect()
    }

    #[test]
    fn already_there() {
        let w = workers(2, 5);
        let o = wait_generation(&w, 5, Duration::ZERO);
        assert!(o.reached);
        assert_eq!(o.min_generation, 5);
        assert_eq!(min_generation(&[]), u64::MAX);
    }

    #[test]
    fn waits_for_the_slowest_worker() {
        let w = workers(3, 1);
        let late = w.clone();
        let t = std::thread::spawn(move || {
            for (i, s) in late.iter().enumerate() {
                std::thread::sleep(Duration::from_millis(5 * i as u64 + 1));
                s.generation.set(2);
            }
        });
        let o = wait_generation(&w, 2, Duration::from_secs(5));
        t.join().unwrap();
        assert!(o.reached, "{o:?}");
        assert!(o.waited >= Duration::from_millis(10), "{o:?}");
    }

    #[test]
    fn a_stuck_worker_times_out() {
        let w = workers(2, 7);
        w[0].generation.set(8);
        let o = wait_generation(&w, 8, Duration::from_millis(20));
        assert!(!o.reached);
        assert_eq!(o.min_generation, 7);
        assert!(o.waited >= Duration::from_millis(20));
    }
}
