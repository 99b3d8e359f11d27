//! Benchmarks of the `oai` client against the bare baseline (`reqwest` +
//! `serde_json` doing the same work by hand), and a load driver.
//!
//! This library holds what the criterion benches (`benches/`) and the load
//! driver (`src/bin/load.rs`) share:
//!
//! - [`fixtures`]: deterministic payloads (a chat completion, chat and
//!   Responses event streams, embeddings as floats and base64, a large chat
//!   request);
//! - [`server`]: a local hyper server on 127.0.0.1 answering every request
//!   with one fixed reply;
//! - [`bare`]: the baseline event splitter (split on a blank line, take the
//!   `data:` payload) that the client's decoder is compared with;
//! - [`handwritten`]: hand-written types for the fixtures' payloads, the
//!   limit the generated types' decoding is measured against;
//! - [`memory`]: `VmRSS`/`VmHWM` readings from `/proc/self/status`.
//!
//! Run everything with `cargo xtask bench`; it writes `target/bench/report.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bare;
pub mod fixtures;
pub mod handwritten;
pub mod memory;
pub mod server;
