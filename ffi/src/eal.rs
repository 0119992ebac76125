//! EAL initialisation and cleanup.
//!
//! Every DPDK object of the safe layer (pool, port, ring) holds an
//! [`EalRef`]: a share of the initialised EAL. `rte_eal_cleanup` unmaps
//! DPDK's memory, so it runs only when the [`Eal`] handle *and* every
//! object are gone — dropping the `Eal` first merely defers it. Objects
//! cannot be made before `Eal::init` (their constructors fail instead of
//! touching an uninitialised EAL) nor after the cleanup.

use crate::sys;
use std::ffi::CString;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};

#[derive(Debug)]
pub struct EalError(pub String);

impl fmt::Display for EalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for EalError {}

/// The live EAL; its drop is the cleanup.
pub(crate) struct EalInner {
    _priv: (),
}

impl Drop for EalInner {
    fn drop(&mut self) {
        let dir = runtime_dir();
        // SAFETY: EAL was initialised by Eal::init, and this is the last
        // share: no pool, port or ring (hence no mbuf, see Mempool) is left.
        unsafe {
            sys::rte_eal_cleanup();
        }
        // DPDK leaves its runtime directory (config, hugepage info,
        // telemetry and mp sockets: about 3 MB with --no-huge) behind;
        // the file prefix is this process's own, so nothing else uses it.
        if let Some(d) = dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// The EAL's runtime directory (`/var/run/dpdk/<file-prefix>` for root).
fn runtime_dir() -> Option<std::path::PathBuf> {
    // SAFETY: called while the EAL is initialised (before the cleanup);
    // the result is a NUL-terminated path in EAL-owned static storage,
    // copied out at once.
    let p = unsafe { sys::rte_eal_get_runtime_dir() };
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null, NUL-terminated (see above), valid until cleanup.
    let s = unsafe { std::ffi::CStr::from_ptr(p) }.to_str().ok()?;
    (!s.is_empty() && s.contains("dpdk")).then(|| std::path::PathBuf::from(s))
}

/// A share of the EAL that keeps it initialised.
pub(crate) type EalRef = Arc<EalInner>;

/// The EAL of this process, while it lives (at most one per process).
static CURRENT: Mutex<Weak<EalInner>> = Mutex::new(Weak::new());

/// A share of the running EAL, or an error before `Eal::init` / after
/// the cleanup.
pub(crate) fn eal_ref() -> Result<EalRef, String> {
    CURRENT
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .upgrade()
        .ok_or_else(|| "the DPDK EAL is not initialised (Eal::init first)".to_string())
}

/// The initialised EAL. Dropping it gives up this handle's share; the
/// cleanup runs once every pool, port and ring is gone too.
pub struct Eal {
    _inner: EalRef,
}

impl Eal {
    /// Initialise from an argument list (`args[0]` is the program name).
    /// EAL can be initialised once per process.
    /// Route DPDK's own log messages (EAL, PMDs) into `tracing`, target
    /// `dpdk`, so they follow the daemon's log format and filter instead of
    /// going to stderr and syslog on their own. Call before [`Eal::init`].
    pub fn log_to_tracing() -> Result<(), EalError> {
        // SAFETY: the callback is a plain function that lives as long as
        // the process; the stream it is wired to is never closed.
        let rc = unsafe { sys::rvs_log_to(Some(dpdk_log)) };
        if rc != 0 {
            return Err(EalError("cannot redirect DPDK's log stream".into()));
        }
        Ok(())
    }

    pub fn init(args: &[String]) -> Result<Eal, EalError> {
        let cargs: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_str()).map_err(|_| EalError(format!("NUL in EAL argument {a:?}"))))
            .collect::<Result<_, _>>()?;
        let mut cur = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        // rte_eal_init may permute argv; give it its own pointer array. The
        // strings stay alive (leaked) because EAL may keep pointers to them.
        let mut ptrs: Vec<*mut libc::c_char> = cargs.into_iter().map(CString::into_raw).collect();
        ptrs.push(std::ptr::null_mut());
        let argc = (ptrs.len() - 1) as i32;
        let argv = ptrs.leak().as_mut_ptr();
        // SAFETY: argv is a NULL-terminated array of argc valid C strings
        // that live for the rest of the process. DPDK refuses a second
        // init itself (the lock above keeps two from racing).
        let rc = unsafe { sys::rte_eal_init(argc, argv) };
        if rc < 0 {
            return Err(EalError(format!("rte_eal_init failed: {}", crate::last_error())));
        }
        let inner = Arc::new(EalInner { _priv: () });
        *cur = Arc::downgrade(&inner);
        Ok(Eal { _inner: inner })
    }
}

/// One write of DPDK's log stream: one message (rte_log flushes each).
extern "C" fn dpdk_log(buf: *const libc::c_char, len: usize) {
    if buf.is_null() {
        return;
    }
    // SAFETY: stdio passes `len` readable bytes at `buf` for this call.
    let bytes = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) };
    for line in String::from_utf8_lossy(bytes).lines().filter(|l| !l.trim().is_empty()) {
        tracing::info!(target: "dpdk", "{line}");
    }
}
