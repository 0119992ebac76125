//! rvsd: the rvs director daemon.

#![forbid(unsafe_code)]

fn main() {
    std::process::exit(rvs_ctrl::daemon::main());
}
