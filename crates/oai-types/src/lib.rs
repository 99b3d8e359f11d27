//! Data types of the OpenAI API: plain serde structs and enums, no I/O.
//!
//! **You probably want the `oai` crate**, which re-exports these types with a
//! client around them. Depend on `oai-types` alone when you only need the data
//! model: a proxy, a server that speaks the OpenAI protocol, a test fixture.
//! This crate never depends on an HTTP library or an async runtime.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
