//! Validated construction of OpenAI API requests.
//!
//! **You probably want the `oai` crate**, which re-exports these builders.
//!
//! Every struct a request reaches has a builder, `<Type>Builder`. Its `new`
//! takes the required fields, so none can be forgotten; each field has a
//! setter taking `impl Into<_>` (numbers and booleans as they are), list fields
//! have an appender named after one item (`message`, `tool`), and `build`
//! checks the spec's constraints, listing every violation with its path.
//!
//! ```
//! use oai_builders::CreateChatCompletionRequestBuilder;
//! use oai_builders::types::ChatCompletionRequestMessage as Message;
//!
//! let request = CreateChatCompletionRequestBuilder::new(Message::system("Be brief."), "gpt-4o-mini")
//!     .message(Message::user("What is Rust?"))
//!     .temperature(0.3)
//!     .build()?;
//! assert_eq!(request.messages.len(), 2);
//!
//! let err = CreateChatCompletionRequestBuilder::new(Vec::new(), "gpt-4o-mini")
//!     .top_logprobs(40)
//!     .build()
//!     .unwrap_err();
//! assert_eq!(err.violations().len(), 2); // empty `messages`, `top_logprobs` above 20
//! # Ok::<(), oai_builders::ValidationError>(())
//! ```
//!
//! A required field left out does not compile:
//!
//! ```compile_fail
//! use oai_builders::CreateChatCompletionRequestBuilder;
//! let request = CreateChatCompletionRequestBuilder::new("gpt-4o-mini").build();
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod generated;
pub mod validate;

pub use generated::*;
pub use oai_types as types;
pub use validate::{Validate, ValidationError, Violation};
