//! Hand-written types for the payloads the benchmarks decode: what a client
//! written by hand for these answers would declare, with every field the
//! fixtures carry and plain `#[derive(Deserialize)]` (no tolerance, no map of
//! unknown fields). They are the limit the generated types are measured
//! against (`type_decode` bench).
//!
//! [`flattened`] repeats the chat chunk with a `#[serde(flatten)]` map of the
//! fields it does not name on each struct, which is how the generated types
//! kept unknown fields before they had their own `Deserialize`; the bench keeps
//! it to show what that construct costs.

use serde::Deserialize;

/// `finish_reason` of a chat choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
    FunctionCall,
}

/// `role` of a chat delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Role {
    Developer,
    System,
    User,
    Assistant,
    Tool,
}

/// A streamed tool call's function part.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct FunctionDelta {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<String>,
}

/// A streamed tool call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct ToolCallDelta {
    pub index: u32,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub function: Option<FunctionDelta>,
}

/// A chat chunk's delta.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct Delta {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub refusal: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

/// A chat chunk's choice.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct Choice {
    pub index: u32,
    pub delta: Delta,
    #[serde(default)]
    pub logprobs: Option<serde_json::Value>,
    pub finish_reason: Option<FinishReason>,
}

/// Token counts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// One chunk of a streamed chat completion.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct ChatChunk {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub model: String,
    #[serde(default)]
    pub service_tier: Option<String>,
    #[serde(default)]
    pub system_fingerprint: Option<String>,
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<Usage>,
    #[serde(default)]
    pub obfuscation: Option<String>,
}

/// A Responses `response.output_text.delta` event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct TextDelta {
    #[serde(rename = "type")]
    pub kind: String,
    pub sequence_number: u64,
    pub item_id: String,
    pub output_index: u32,
    pub content_index: u32,
    pub delta: String,
    #[serde(default)]
    pub logprobs: Vec<serde_json::Value>,
    #[serde(default)]
    pub obfuscation: Option<String>,
}

/// The chat chunk again, each struct with a flattened map of unknown fields.
pub mod flattened {
    use serde::Deserialize;
    use serde_json::{Map, Value};

    pub use super::{FinishReason, Role, ToolCallDelta, Usage};

    /// A chat chunk's delta.
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    #[allow(missing_docs)]
    pub struct Delta {
        #[serde(default)]
        pub role: Option<Role>,
        #[serde(default)]
        pub content: Option<String>,
        #[serde(default)]
        pub refusal: Option<String>,
        #[serde(default)]
        pub tool_calls: Option<Vec<ToolCallDelta>>,
        #[serde(flatten)]
        pub extra: Map<String, Value>,
    }

    /// A chat chunk's choice.
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    #[allow(missing_docs)]
    pub struct Choice {
        pub index: u32,
        pub delta: Delta,
        #[serde(default)]
        pub logprobs: Option<Value>,
        pub finish_reason: Option<FinishReason>,
        #[serde(flatten)]
        pub extra: Map<String, Value>,
    }

    /// One chunk of a streamed chat completion.
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    #[allow(missing_docs)]
    pub struct ChatChunk {
        pub id: String,
        pub object: String,
        pub created: i64,
        pub model: String,
        #[serde(default)]
        pub service_tier: Option<String>,
        #[serde(default)]
        pub system_fingerprint: Option<String>,
        pub choices: Vec<Choice>,
        #[serde(default)]
        pub usage: Option<Usage>,
        #[serde(default)]
        pub obfuscation: Option<String>,
        #[serde(flatten)]
        pub extra: Map<String, Value>,
    }
}
