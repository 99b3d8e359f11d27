//! Fuzz target `responses`: the property lives in `oai_types::fuzzing::responses`
//! so that `cargo test` replays the committed corpus through the same code.
//! Two selector bytes pick the response type; the body follows.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oai_types::fuzzing::responses(data);
});
