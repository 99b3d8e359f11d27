//! Fuzz target `error_body`: the property lives in `oai_transport::fuzzing::error_body`
//! so that `cargo test` replays the committed corpus through the same code.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oai_transport::fuzzing::error_body(data));
