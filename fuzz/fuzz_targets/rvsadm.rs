//! `rvsadm`: see `rvs_ctrl::fuzzing::rvsadm`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rvs_ctrl::fuzzing::rvsadm(data));
