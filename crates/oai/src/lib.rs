//! A client for the OpenAI HTTP API.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
