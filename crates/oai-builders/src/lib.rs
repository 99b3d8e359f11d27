//! Validated construction of OpenAI API requests.
//!
//! **You probably want the `oai` crate**, which re-exports these builders.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod generated;
pub mod validate;

pub use oai_types as types;
pub use validate::{Validate, ValidationError, Violation};
