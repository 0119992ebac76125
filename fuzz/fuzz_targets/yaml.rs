//! `yaml`: see `rvs_ctrl::fuzzing::yaml`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rvs_ctrl::fuzzing::yaml(data));
