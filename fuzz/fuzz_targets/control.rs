//! `control`: see `rvs_ctrl::fuzzing::control`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rvs_ctrl::fuzzing::control(data));
