//! Lcores: launching closures on worker lcores, time stamp counter.

use crate::sys;

/// The lcore this thread runs as (u32::MAX outside EAL threads).
#[inline(always)]
pub fn lcore_id() -> u32 {
    // SAFETY: reads a thread-local variable set by EAL.
    unsafe { sys::rvs_lcore_id() }
}

pub fn main_lcore() -> u32 {
    // SAFETY: plain getter, valid after rte_eal_init.
    unsafe { sys::rte_get_main_lcore() }
}

/// Worker (non-main) lcores enabled in EAL, in order.
pub fn worker_lcores() -> Vec<u32> {
    let mut out = Vec::new();
    // SAFETY: iteration helper over EAL's lcore config; -1 starts the walk.
    let mut id = unsafe { sys::rte_get_next_lcore(u32::MAX, 1, 0) };
    while id < sys::RTE_MAX_LCORE {
        out.push(id);
        // SAFETY: as above.
        id = unsafe { sys::rte_get_next_lcore(id, 1, 0) };
    }
    out
}

/// Read the time stamp counter.
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no preconditions.
    unsafe { sys::rvs_rdtsc() }
}

/// TSC ticks per second as measured by EAL.
pub fn tsc_hz() -> u64 {
    // SAFETY: plain getter, valid after rte_eal_init.
    unsafe { sys::rte_get_tsc_hz() }
}

/// CPU pause hint for spin loops.
#[inline(always)]
pub fn pause() {
    // SAFETY: the pause instruction has no preconditions.
    unsafe { sys::rvs_pause() }
}

type Job = Box<dyn FnOnce() -> i32 + Send>;

unsafe extern "C" fn trampoline(arg: *mut libc::c_void) -> i32 {
    // SAFETY: arg was produced by Box::into_raw in `launch` and is consumed
    // exactly once here.
    let job: Box<Job> = unsafe { Box::from_raw(arg as *mut Job) };
    // A panic must not unwind into DPDK's C frames: report it as -1.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or(-1)
}

/// Whether `lcore` is a worker lcore EAL launches on: in range, enabled,
/// not the main lcore. EAL indexes its tables by the id unchecked, so
/// `launch`/`wait_lcore` refuse anything else.
fn is_worker(lcore: u32) -> bool {
    // SAFETY: plain getter (bounds-checked by DPDK); valid after init,
    // which the caller checked.
    lcore < sys::RTE_MAX_LCORE && lcore != main_lcore() && unsafe { sys::rte_lcore_is_enabled(lcore) } != 0
}

/// Run `f` on worker lcore `lcore`. Fails if the EAL is not initialised,
/// or the lcore is busy or not a worker.
pub fn launch<F: FnOnce() -> i32 + Send + 'static>(lcore: u32, f: F) -> Result<(), String> {
    let _eal = crate::eal::eal_ref()?;
    if !is_worker(lcore) {
        return Err(format!("cannot launch on lcore {lcore}: not a worker lcore"));
    }
    let job: Box<Job> = Box::new(Box::new(f));
    let raw = Box::into_raw(job) as *mut libc::c_void;
    // SAFETY: trampoline matches lcore_function_t; raw is a valid Box
    // pointer that the trampoline takes ownership of; lcore is a worker.
    let rc = unsafe { sys::rte_eal_remote_launch(Some(trampoline), raw, lcore) };
    if rc != 0 {
        // SAFETY: the launch failed, so the trampoline will never run and
        // ownership of the box comes back to us.
        drop(unsafe { Box::from_raw(raw as *mut Job) });
        return Err(format!("cannot launch on lcore {lcore}: rc {rc}"));
    }
    Ok(())
}

/// Wait for the job on worker `lcore` to finish; returns its return value
/// (-1 if it panicked; None if `lcore` is not a worker lcore).
pub fn wait_lcore(lcore: u32) -> Option<i32> {
    let _eal = crate::eal::eal_ref().ok()?;
    if !is_worker(lcore) {
        return None;
    }
    // SAFETY: blocks until the lcore is idle; lcore is a valid worker id.
    Some(unsafe { sys::rte_eal_wait_lcore(lcore) })
}
