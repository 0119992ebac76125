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
    job()
}

/// Run `f` on worker lcore `lcore`. Fails if the lcore is busy or not a worker.
pub fn launch<F: FnOnce() -> i32 + Send + 'static>(lcore: u32, f: F) -> Result<(), String> {
    let job: Box<Job> = Box::new(Box::new(f));
    let raw = Box::into_raw(job) as *mut libc::c_void;
    // SAFETY: trampoline matches lcore_function_t; raw is a valid Box
    // pointer that the trampoline takes ownership of.
    let rc = unsafe { sys::rte_eal_remote_launch(Some(trampoline), raw, lcore) };
    if rc != 0 {
        // SAFETY: the launch failed, so the trampoline will never run and
        // ownership of the box comes back to us.
        drop(unsafe { Box::from_raw(raw as *mut Job) });
        return Err(format!("cannot launch on lcore {lcore}: rc {rc}"));
    }
    Ok(())
}

/// Wait for the job on `lcore` to finish; returns its return value.
pub fn wait_lcore(lcore: u32) -> i32 {
    // SAFETY: blocks until the lcore is idle; valid for any lcore id.
    unsafe { sys::rte_eal_wait_lcore(lcore) }
}
