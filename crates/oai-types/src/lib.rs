//! Data types of the OpenAI API: plain serde structs and enums, no I/O.
//!
//! **You probably want the `oai` crate**, which re-exports these types with a
//! client around them. Depend on `oai-types` alone when you only need the data
//! model: a proxy, a server that speaks the OpenAI protocol, a test fixture.
//! This crate never depends on an HTTP library or an async runtime.
//!
//! Each API area has a module, behind the area's feature, holding its types
//! and the ones it shares with other areas; every type is also at the root:
//!
//! ```
//! # #[cfg(all(feature = "chat", feature = "files"))] {
//! use oai_types::chat::{ChatCompletionRequestMessage, CreateChatCompletionRequest};
//! use oai_types::files::ListFilesParams;
//!
//! let _same: Option<oai_types::CreateChatCompletionRequest> = None::<CreateChatCompletionRequest>;
//! let _order = ListFilesParams { order: Some(oai_types::files::OrderEnum::Asc), ..Default::default() };
//! let _message = ChatCompletionRequestMessage::user("hi");
//! # }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

#[doc(hidden)]
pub mod const_str;
mod embedding_vector;
mod extra;
mod fields;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod generated;
mod input_file;
mod secret;
mod shorthand;
mod support;
pub mod tolerant;

pub use embedding_vector::EmbeddingVector;
pub use extra::Extra;
pub use generated::*;
pub use input_file::{FileSource, InputFile};
pub use secret::SecretValue;
#[cfg(any(feature = "chat", feature = "responses"))]
pub use shorthand::NotAnObject;

/// Paths the macro expansions use; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::fields::{Fields, fields};
    pub use crate::support::{
        StringEnum, TagFirst, Tagged, WithTag, deserialize_string_enum, deserialize_tagged,
        read_value, string_enum_from_str, string_enum_from_string, unknown_tag,
    };
    pub use crate::tolerant::{
        BoolSeed, Empty, FloatSeed, IntSeed, Key, OptIntSeed, OptTextSeed, OptUintSeed,
        OrEmptySeed, TOLERANT, TextSeed, UintSeed, field, finish, keep, or_absent, present,
        required, set_tolerated, tolerated, try_exact_variant, try_tolerant_variant,
    };
    pub use serde;
    pub use serde_json;
}
