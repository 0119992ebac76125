//! `frames`: see `rvs_dataplane::testkit::fuzz::frames`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rvs_dataplane::testkit::fuzz::frames(data));
