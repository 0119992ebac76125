//! EAL initialisation and cleanup.

use crate::sys;
use std::ffi::CString;
use std::fmt;

#[derive(Debug)]
pub struct EalError(pub String);

impl fmt::Display for EalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for EalError {}

/// The initialised EAL. Dropping it runs `rte_eal_cleanup`; it must outlive
/// every port, pool and ring, so the daemon keeps it until the very end.
pub struct Eal {
    _priv: (),
}

impl Eal {
    /// Initialise from an argument list (`args[0]` is the program name).
    /// EAL can be initialised once per process.
    pub fn init(args: &[String]) -> Result<Eal, EalError> {
        let cargs: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_str()).map_err(|_| EalError(format!("NUL in EAL argument {a:?}"))))
            .collect::<Result<_, _>>()?;
        // rte_eal_init may permute argv; give it its own pointer array. The
        // strings stay alive (leaked) because EAL may keep pointers to them.
        let mut ptrs: Vec<*mut libc::c_char> = cargs.into_iter().map(CString::into_raw).collect();
        ptrs.push(std::ptr::null_mut());
        let argc = (ptrs.len() - 1) as i32;
        let argv = ptrs.leak().as_mut_ptr();
        // SAFETY: argv is a NULL-terminated array of argc valid C strings
        // that live for the rest of the process.
        let rc = unsafe { sys::rte_eal_init(argc, argv) };
        if rc < 0 {
            return Err(EalError(format!("rte_eal_init failed: {}", crate::last_error())));
        }
        Ok(Eal { _priv: () })
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        // SAFETY: EAL was initialised by Eal::init, and all DPDK objects are
        // dropped before the Eal (the daemon owns it last).
        unsafe {
            sys::rte_eal_cleanup();
        }
    }
}
