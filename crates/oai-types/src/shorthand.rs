//! Short constructors for the shapes almost every program builds: a chat
//! message from a string, a function tool from a name and a JSON schema.
//!
//! They are written by hand on top of the generated types; everything else is
//! built with the builders of `oai-builders` or with struct literals.

#[cfg(feature = "responses")]
use std::collections::BTreeMap;
#[cfg(any(feature = "chat", feature = "responses"))]
use std::fmt;

#[cfg(any(feature = "chat", feature = "responses"))]
use crate::generated::*;

#[cfg(feature = "chat")]
impl ChatCompletionRequestMessage {
    /// A `system` message with text content.
    pub fn system(text: impl Into<String>) -> Self {
        Self::System(ChatCompletionRequestSystemMessage {
            extra: Default::default(),
            content: ChatCompletionRequestSystemMessageContent::TextContent(text.into()),
            role: consts::System,
            name: None,
        })
    }

    /// A `developer` message with text content.
    pub fn developer(text: impl Into<String>) -> Self {
        Self::Developer(ChatCompletionRequestDeveloperMessage {
            extra: Default::default(),
            content: ChatCompletionRequestDeveloperMessageContent::TextContent(text.into()),
            role: consts::Developer,
            name: None,
        })
    }

    /// A `user` message with text content.
    ///
    /// ```
    /// use oai_types::ChatCompletionRequestMessage;
    ///
    /// let m = ChatCompletionRequestMessage::user("Say hello");
    /// let json = serde_json::to_value(&m).unwrap();
    /// assert_eq!(json, serde_json::json!({"role": "user", "content": "Say hello"}));
    /// ```
    pub fn user(text: impl Into<String>) -> Self {
        Self::User(ChatCompletionRequestUserMessage {
            extra: Default::default(),
            content: ChatCompletionRequestUserMessageContent::TextContent(text.into()),
            role: consts::User,
            name: None,
        })
    }

    /// An `assistant` message with text content (a turn of the conversation
    /// so far).
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::Assistant(ChatCompletionRequestAssistantMessage {
            content: Some(ChatCompletionRequestAssistantMessageContent::TextContent(
                text.into(),
            )),
            ..ChatCompletionRequestAssistantMessage::default()
        })
    }

    /// A `tool` message answering the tool call `tool_call_id` with text.
    pub fn tool(tool_call_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self::Tool(ChatCompletionRequestToolMessage {
            extra: Default::default(),
            role: consts::Tool,
            content: ChatCompletionRequestToolMessageContent::TextContent(text.into()),
            tool_call_id: tool_call_id.into(),
        })
    }
}

#[cfg(feature = "chat")]
impl ChatCompletionTool {
    /// A function tool: its name and the JSON schema of its arguments.
    ///
    /// ```
    /// use oai_types::ChatCompletionTool;
    /// use serde_json::json;
    ///
    /// let tool = ChatCompletionTool::function(
    ///     "get_weather",
    ///     json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    /// );
    /// assert_eq!(tool.function.name, "get_weather");
    /// ```
    pub fn function(name: impl Into<String>, parameters: serde_json::Value) -> Self {
        Self {
            extra: Default::default(),
            r#type: consts::Function,
            function: FunctionObject {
                extra: Default::default(),
                description: None,
                name: name.into(),
                parameters: Some(parameters),
                strict: None,
            },
        }
    }

    /// Sets the function's description.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.function.description = Some(description.into());
        self
    }

    /// Asks the model to follow the schema exactly (`strict: true`).
    #[must_use]
    pub fn strict(mut self) -> Self {
        self.function.strict = Some(true);
        self
    }
}

#[cfg(feature = "chat")]
impl From<ChatCompletionRequestMessage> for Vec<ChatCompletionRequestMessage> {
    fn from(message: ChatCompletionRequestMessage) -> Self {
        vec![message]
    }
}

#[cfg(feature = "responses")]
impl EasyInputMessage {
    fn text(role: EasyInputMessageRole, text: String) -> Self {
        Self {
            extra: Default::default(),
            role,
            content: EasyInputMessageContent::TextInput(text),
            phase: None,
            r#type: None,
        }
    }

    /// A `user` input message with text content.
    pub fn user(text: impl Into<String>) -> Self {
        Self::text(EasyInputMessageRole::User, text.into())
    }

    /// A `system` input message with text content.
    pub fn system(text: impl Into<String>) -> Self {
        Self::text(EasyInputMessageRole::System, text.into())
    }

    /// A `developer` input message with text content.
    pub fn developer(text: impl Into<String>) -> Self {
        Self::text(EasyInputMessageRole::Developer, text.into())
    }

    /// An `assistant` input message with text content.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::text(EasyInputMessageRole::Assistant, text.into())
    }
}

#[cfg(feature = "responses")]
impl From<Vec<EasyInputMessage>> for InputParam {
    fn from(messages: Vec<EasyInputMessage>) -> Self {
        Self::InputItemList(messages.into_iter().map(InputItem::from).collect())
    }
}

/// A JSON schema given where the API needs an object, such as a function
/// tool's parameters, was another kind of value.
#[cfg(any(feature = "chat", feature = "responses"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAnObject {
    /// The JSON kind that was given instead: `array`, `string`, ...
    pub found: &'static str,
}

#[cfg(any(feature = "chat", feature = "responses"))]
impl fmt::Display for NotAnObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON schema must be an object, found {}", self.found)
    }
}

#[cfg(any(feature = "chat", feature = "responses"))]
impl std::error::Error for NotAnObject {}

#[cfg(feature = "responses")]
fn object(value: serde_json::Value) -> Result<BTreeMap<String, serde_json::Value>, NotAnObject> {
    use serde_json::Value;
    match value {
        Value::Object(map) => Ok(map.into_iter().collect()),
        Value::Null => Err(NotAnObject { found: "null" }),
        Value::Bool(_) => Err(NotAnObject { found: "boolean" }),
        Value::Number(_) => Err(NotAnObject { found: "number" }),
        Value::String(_) => Err(NotAnObject { found: "string" }),
        Value::Array(_) => Err(NotAnObject { found: "array" }),
    }
}

#[cfg(feature = "responses")]
impl FunctionTool {
    /// A function tool of the Responses API: its name and the JSON schema of
    /// its arguments, which must be an object. `strict` is left to the
    /// server's default (sent as `null`).
    ///
    /// # Errors
    /// [`NotAnObject`] when `parameters` is not a JSON object.
    ///
    /// ```
    /// use oai_types::FunctionTool;
    /// use serde_json::json;
    ///
    /// let tool = FunctionTool::new("lookup", json!({"type": "object"})).unwrap();
    /// assert_eq!(tool.name, "lookup");
    /// assert!(FunctionTool::new("lookup", json!([1])).is_err());
    /// ```
    pub fn new(
        name: impl Into<String>,
        parameters: serde_json::Value,
    ) -> Result<Self, NotAnObject> {
        Ok(Self {
            extra: Default::default(),
            r#type: consts::Function,
            name: name.into(),
            description: None,
            parameters: Some(object(parameters)?),
            output_schema: None,
            strict: None,
            defer_loading: None,
            allowed_callers: None,
        })
    }

    /// Sets the description.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

#[cfg(feature = "responses")]
impl Response {
    /// The text of every `output_text` part of every message in `output`,
    /// joined in order; empty when there is none (a response that only
    /// called tools, say). The official SDKs' `output_text`.
    ///
    /// ```
    /// let response: oai_types::Response = serde_json::from_value(serde_json::json!({
    ///     "id": "resp_1", "object": "response", "created_at": 1, "model": "m",
    ///     "status": "completed",
    ///     "output": [
    ///         {"type": "reasoning", "id": "rs_1", "summary": []},
    ///         {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
    ///          "content": [{"type": "output_text", "text": "Hello, ", "annotations": []},
    ///                      {"type": "refusal", "refusal": "no"},
    ///                      {"type": "output_text", "text": "world.", "annotations": []}]}
    ///     ]
    /// }))?;
    /// assert_eq!(response.output_text(), "Hello, world.");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn output_text(&self) -> String {
        let mut text = String::new();
        for item in &self.output {
            if let OutputItem::Message(message) = item {
                for part in &message.content {
                    if let OutputMessageContent::OutputText(t) = part {
                        text.push_str(&t.text);
                    }
                }
            }
        }
        text
    }
}
