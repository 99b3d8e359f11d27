//! Fuzz target `retry_after`: the property lives in `oai_transport::fuzzing::retry_after_header`
//! so that `cargo test` replays the committed corpus through the same code.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oai_transport::fuzzing::retry_after_header(data));
