//! rvsd: the rvs director daemon.
fn main() {
    std::process::exit(rvs_ctrl::daemon::main());
}
