//! Fuzz target `page_envelope`: the property lives in `oai_transport::fuzzing::page_envelope`
//! so that `cargo test` replays the committed corpus through the same code.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oai_transport::fuzzing::page_envelope(data));
