//! `wire`: see `rvs_dataplane::wire::fuzz::views`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rvs_dataplane::wire::fuzz::views(data));
